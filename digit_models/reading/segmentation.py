"""Read a whole number: an image of several digits -> one MNIST-style crop per digit, left to right.

1. load and find the ink as for one digit (`loading`, `detection.find_ink_of_several`), on the
   reduced copy detection works on, without the lines of ruled or squared paper (they run through every digit);
2. its strokes (connected components) become pieces (`grouping`); specks, far smaller than the tallest
   stroke, are dropped;
3. pieces whose horizontal extents overlap substantially are one digit (a 5 whose top bar is
   a separate stroke, a crossed 7, a 4 in two strokes, a broken pencil line);
4. a group wider than one digit may hold touching digits: candidate cut paths (through the thin
   points of the ink, round overhangs, `cut_paths`) are scored by a classifier, and by a line
   reader that reads the whole group at once (`line_image`), and the cuts whose digits are most
   probable together win (dynamic programming over the cuts, in `cuts`);
5. each digit's ink is read from the full working copy and goes through the same
   MNIST-style normalisation as a single digit (`normalisation.to_mnist_frame`).

No digit model is imported here: `segment` takes a `score` callable (28x28 images -> probabilities and
distances to the training digits) and a `read_lines` callable (line images -> log probabilities per
frame), which `digit_models.reading.numbers` builds from the loaded models.

The thresholds (`settings.Settings`, with the cut search's inside) were chosen on numbers made of
MNIST *validation* digits by `python -m bench.number_tuning` (bench/results/number_tuning.json).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from digit_models.reading import cuts
from digit_models.reading.grouping import attach_loose_pieces, extent, height, merge_overlapping, pieces_of
from digit_models.reading.settings import Settings
from digit_models.reading.spans import Chosen, Piece, Reading, Score, Scores, Span, span_support
from preprocessing import background, detection, geometry, line_image, loading, normalisation, pipeline, shadow, sheet

Score = Score
"""float32 (n, 28, 28) in [0, 1], ink bright -> probabilities (n, 10) rows summing to 1, or `Scores`."""

ReadLines = Callable[[list[np.ndarray]], list[np.ndarray]]
"""Line images float32 (LINE_HEIGHT, W_i) (`line_image.to_line_image`) -> log probabilities per frame
float64 (W_i / FRAME_STRIDE, 11), blank first: the line reader (`digit_models.reading.line_reader`)."""

BORDER_STROKE_HEIGHT = 0.6
"""On a photo evened out under a shadow, a stroke touching the border at least this share of the tallest stroke's
height may be a digit cut by the border, and the evened photo is not read. What the shadow's edge leaves there is
lower: flat lines along the border and specks, 0.57 of the tallest at most on 60 numbers of validation digits;
digits touching the border 0.64 and more."""


@dataclass(frozen=True)
class DigitCrop:
    """One digit of the number.

    image: float32 (28, 28) in [0, 1], ink bright, as `to_mnist` makes it for a single digit.
    box: (left, top, right, bottom) in the input image's pixels (after EXIF rotation), right/bottom exclusive.
    line: the line reader's log P(the frames under the digit read as exactly d), float64 (10,), when
        it was cut out of a group of touching digits read as a line; None otherwise.
    """

    image: np.ndarray
    box: geometry.Box
    line: np.ndarray | None = None


@dataclass(frozen=True)
class Segmentation:
    """The digits found, left to right, or why there are none.

    digits: the crops in reading order; empty when no digit was found.
    reason: "" when digits were found; otherwise a short phrase a person understands.
    inverted: the input had dark ink on a light background.
    """

    digits: tuple[DigitCrop, ...]
    reason: str = ""
    inverted: bool = False

    @property
    def found(self) -> bool:
        return bool(self.digits)


def segment(
    source: Any, score: Score | None = None, settings: Settings = Settings(), read_lines: ReadLines | None = None
) -> Segmentation:
    """Split an image of a number into its digits, left to right.

    source: anything `preprocessing.to_mnist` accepts (canvas dict, PIL image, array, path, bytes).
    score: the classifier that chooses between cuts of touching digits; without it, groups of
        touching digits stay whole. read_lines: the line reader that also weighs those cuts, if any.
    Raises `loading.ImageError` for unreadable inputs.
    """
    found = prepare(source, score, read_lines)
    return found if isinstance(found, Segmentation) else found.segment(settings)


def prepare(source: Any, score: Score | None = None, read_lines: ReadLines | None = None) -> NumberImage | Segmentation:
    """Load the image and find its ink and strokes: what every setting of the segmentation shares.

    Returns the image ready to segment, or a Segmentation with no digits and the reason.
    Raises `loading.ImageError` for unreadable inputs.
    """
    loaded = loading.load_image(source)
    reason = _why_empty(loaded)
    if reason:
        return Segmentation(digits=(), reason=reason)
    gray, origin = loaded.gray, (0, 0)
    ink_map = detection.find_ink_of_several(gray)
    if not loaded.from_canvas and _desk_may_show(ink_map):
        # Read on the note alone, or on the photo evened out under a shadow, as a single digit is (`to_mnist`).
        again = pipeline.on_even_paper(gray, detection.find_ink_of_several, _written_on_even_paper)
        if again is not None:
            ink_map, gray, origin = again
    if isinstance(ink_map, detection.NoDigit):
        nothing = loaded.from_canvas and ink_map.kind is detection.NoDigitKind.NOTHING_STANDS_OUT
        return Segmentation(digits=(), reason=loading.CANVAS_EMPTY if nothing else ink_map.message)
    labels, count = ink_map.strokes()
    pieces = pieces_of(labels, count, ink_map.ink)
    tallest = max((piece.box[3] - piece.box[1] for piece in pieces), default=0)
    limit = max(detection.MIN_DIGIT_EXTENT_PIXELS, detection.MIN_DIGIT_EXTENT_FRACTION * max(labels.shape))
    if tallest < limit:
        return Segmentation(digits=(), reason=detection.NoDigitKind.ONLY_SPECKS.value, inverted=ink_map.inverted)
    return NumberImage(loaded, ink_map, labels, pieces, score, read_lines, gray=gray, origin=origin)


class NumberImage:
    """An image of a number with its ink and strokes found, ready to be segmented (with any settings).

    The crops read and scored are kept, so segmenting again with other settings (bench/number_tuning.py)
    only reads the spans it has not seen.
    """

    def __init__(
        self,
        loaded: loading.LoadedImage,
        ink_map: detection.InkMap,
        labels: np.ndarray,
        pieces: list[Piece],
        score: Score | None,
        read_lines: ReadLines | None = None,
        gray: np.ndarray | None = None,
        origin: tuple[int, int] = (0, 0),
    ) -> None:
        """gray: the working copy the ink was found on (loaded.gray unless it is a note cut from it, see
        `preprocessing.sheet`), starting at `origin` (top, left) in loaded.gray."""
        self.loaded = loaded
        self.gray = loaded.gray if gray is None else gray
        self.origin = origin
        self.ink_map = ink_map
        self.labels = labels
        self.pieces = pieces
        self.tallest = max(piece.box[3] - piece.box[1] for piece in pieces)
        self.reader = _Reader(labels, ink_map, self.gray, score, read_lines)

    def spans(self, settings: Settings = Settings()) -> list[Chosen]:
        """The digits found as spans of the reduced copy, left to right (some may hold no ink), with what
        the line reader says of each."""
        pieces = [piece for piece in self.pieces if extent(piece.box) >= settings.speck_fraction * self.tallest]
        groups = attach_loose_pieces(
            merge_overlapping(pieces, settings.merge_overlap),
            settings.small_group_fraction,
            settings.loose_reach_fraction,
        )
        line_height = float(np.median([height(group) for group in groups]))
        reader = self.reader if self.reader.score is not None else None
        return cuts.split_groups(groups, self.labels, self.ink_map.ink, reader, line_height, settings.cuts)

    def _in_loaded(self, box: geometry.Box) -> geometry.Box:
        """A box of `gray` in loaded.gray's pixels."""
        top, left = self.origin
        return box[0] + left, box[1] + top, box[2] + left, box[3] + top

    def segment(self, settings: Settings = Settings()) -> Segmentation:
        """The digits' crops and boxes in the input's pixels, left to right."""
        chosen = self.spans(settings)
        crops = [self.reader.read(digit.span) for digit in chosen]
        gray, inverted = self.loaded.gray, self.ink_map.inverted
        digits = tuple(
            DigitCrop(
                image=crop[0],
                box=geometry.to_input_box(self._in_loaded(crop[1]), gray.shape, self.loaded.input_size),
                line=digit.line,
            )
            for crop, digit in zip(crops, chosen, strict=True)
            if crop is not None
        )
        if not digits:
            return Segmentation(digits=(), reason=detection.NoDigitKind.ONLY_SPECKS.value, inverted=inverted)
        return Segmentation(digits=digits, inverted=inverted)


def _written_on_even_paper(found: detection.InkMap | detection.NoDigit, evened: shadow.Evened) -> bool:
    """Whether a number's ink found on a photo evened out under a shadow looks written on the paper: dark ink standing
    out (`sheet.written_on_the_note`), no digit cut by the border (`_strokes_reach_border`), and strokes far narrower
    than the shade (`shadow.shade_wider_than_strokes`)."""
    return (
        sheet.written_on_the_note(found)
        and isinstance(found, detection.InkMap)
        and not _strokes_reach_border(found)
        and shadow.shade_wider_than_strokes(evened, found.ink > found.threshold)
    )


def _strokes_reach_border(ink_map: detection.InkMap) -> bool:
    """Whether a stroke of the ink as tall as a digit (BORDER_STROKE_HEIGHT of the tallest) touches the image's
    border: what a shadow's edge leaves there on an evened photo is specks and flat lines along it."""
    labels, _ = ink_map.strokes()
    heights = np.array([rows.stop - rows.start for rows, _ in ndimage.find_objects(labels)])
    if heights.size == 0:
        return False
    on_border = geometry.labels_on_border(labels)
    return bool((heights[on_border - 1] >= BORDER_STROKE_HEIGHT * heights.max()).any())


def _desk_may_show(ink_map: detection.InkMap | detection.NoDigit) -> bool:
    """`sheet.desk_may_show` for the ink of a number, which reaches the border where any pixel of it does."""
    if isinstance(ink_map, detection.NoDigit):
        return sheet.desk_may_show(ink_map, reaches_border=False)
    return sheet.desk_may_show(ink_map, _reaches_border(ink_map))


def _reaches_border(ink_map: detection.InkMap) -> bool:
    """Whether any of the ink's stroke pixels (above its low threshold) lies on the image's border."""
    inked = ink_map.ink > ink_map.low_threshold
    return bool(inked[0].any() or inked[-1].any() or inked[:, 0].any() or inked[:, -1].any())


def _why_empty(loaded: loading.LoadedImage) -> str:
    """The same checks as `to_mnist` makes before looking for ink; "" when there is something to look at."""
    if loaded.gray is None:
        return loaded.empty_reason
    height, width = loaded.gray.shape
    if loaded.fully_transparent:
        return loading.CANVAS_EMPTY if loaded.from_canvas else "the image is fully transparent"
    if min(height, width) < pipeline.MIN_INPUT_SIDE:
        return f"the image is too small ({loaded.input_size[0]}x{loaded.input_size[1]} pixels)"
    if float(loaded.gray.max() - loaded.gray.min()) < background.MIN_SPREAD:
        return loading.CANVAS_EMPTY if loaded.from_canvas else "the image is one uniform colour"
    return ""


# --- from a span to the models' 28x28 ----------------------------------------------------


class _Reader:
    """Reads spans of one image as the models' 28x28 and scores them, each span once (the cut search,
    the answer and every setting tried share them)."""

    def __init__(
        self,
        labels: np.ndarray,
        ink_map: detection.InkMap,
        gray: np.ndarray,
        score: Score | None,
        read_lines: ReadLines | None = None,
    ) -> None:
        self.labels = labels
        self.ink_map = ink_map
        self.gray = gray
        self.score = score
        self.read_lines = read_lines
        self._lines: dict[Span, line_image.LineFrames | None] = {}
        self._ink: dict[Span, tuple[np.ndarray, geometry.Box] | None] = {}
        self._read: dict[Span, tuple[np.ndarray, geometry.Box] | None] = {}
        self._readings: dict[Span, Reading | None] = {}

    def read(self, span: Span) -> tuple[np.ndarray, geometry.Box] | None:
        """float32 (28, 28) in [0, 1] of the span and its ink's box in the working copy; None when it holds no ink."""
        if span not in self._read:
            found = self.ink(span)
            self._read[span] = None if found is None else (normalisation.to_mnist_frame(found[0]), found[1])
        return self._read[span]

    def heights(self, spans: Sequence[Span]) -> list[float | None]:
        """Each span's ink height in reduced pixels, None without ink: no normalisation, no model."""
        boxes = [None if found is None else found[1] for found in map(self.ink, spans)]
        return [None if box is None else (box[3] - box[1]) / self.ink_map.factor for box in boxes]

    def ink(self, span: Span) -> tuple[np.ndarray, geometry.Box] | None:
        """The span's ink cropped tight from the working copy, float32 (h, w) in [0, 1], and its box there."""
        if span not in self._ink:
            self._ink[span] = self._crop(span)
        return self._ink[span]

    def readings(self, spans: Sequence[Span]) -> list[Reading | None]:
        """Each span's probabilities (one call of `score` for all new ones), aspect and height; None without ink."""
        new = [span for span in dict.fromkeys(spans) if span not in self._readings]
        crops = {span: self.read(span) for span in new}
        inked = [span for span in new if crops[span] is not None]
        if inked and self.score is not None:
            scores = self.score(np.stack([crops[span][0] for span in inked]))
            if not isinstance(scores, Scores):
                scores = Scores(probabilities=np.asarray(scores))
            for row, span in enumerate(inked):
                left, top, right, bottom = crops[span][1]
                height = bottom - top
                self._readings[span] = Reading(
                    probabilities=scores.probabilities[row],
                    aspect=(right - left) / max(height, 1),
                    height=height / self.ink_map.factor,
                    distance=None if scores.distances is None else float(scores.distances[row]),
                    whole=None if scores.whole is None else float(scores.whole[row]),
                )
        for span in new:
            self._readings.setdefault(span, None)
        return [self._readings[span] for span in spans]

    def lines(self, groups: Sequence[Span]) -> list[line_image.LineFrames | None]:
        """The line reader's frames of each group (a whole span), one call for the new ones; None without
        a line reader or ink. Frames map to the reduced copy's columns, as the cuts' do."""
        new = [group for group in dict.fromkeys(groups) if group not in self._lines]
        inked = [(group, found) for group in new if (found := self.ink(group)) is not None]
        if inked and self.read_lines is not None:
            made = [line_image.to_line_image(found[0]) for _, found in inked]
            frames = self.read_lines([line for line, _ in made])
            for (group, found), (_, scale), log_probabilities in zip(inked, made, frames, strict=True):
                # The crop's columns are the working copy's; the cuts' are the reduced copy's.
                factor = self.ink_map.factor
                self._lines[group] = line_image.LineFrames(log_probabilities, found[1][0] / factor, scale * factor)
        for group in new:
            self._lines.setdefault(group, None)
        return [self._lines[group] for group in groups]

    def _crop(self, span: Span) -> tuple[np.ndarray, geometry.Box] | None:
        support = span_support(span, self.labels)
        box = geometry.bounding_box(support)
        if box is None:
            return None
        factor, gray = self.ink_map.factor, self.gray
        left, top, right, bottom = box
        left, top = left * factor, top * factor
        right, bottom = min(right * factor, gray.shape[1]), min(bottom * factor, gray.shape[0])
        found = detection.Detection(
            factor=factor,
            inverted=self.ink_map.inverted,
            background=self.ink_map.background,
            ink_level=self.ink_map.ink_level,
            support=support,
            box=box,
        )
        ink = found.ink_in(gray, top, bottom, left, right)
        tight = geometry.bounding_box(ink > pipeline.BOX_FRACTION)
        if tight is None:
            return None
        crop_left, crop_top, crop_right, crop_bottom = tight
        return geometry.crop(ink, tight), (left + crop_left, top + crop_top, left + crop_right, top + crop_bottom)
