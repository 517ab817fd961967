"""`to_mnist`: any image in, one MNIST-style 28x28 digit out, or the reason there is none.

1. load: any input -> grayscale on white, EXIF orientation, size limits (loading.py);
2. detect, on a reduced copy: polarity, background, ink, and the strokes of the digit,
   specks dropped (detection.py); a digit whose thick strokes cover most of the image's border
   (a numeral scanned into a tight frame) is looked for again inside a margin of paper; a digit on a
   note photographed on a desk is looked for again on the note alone (sheet.py), and one under a
   sharp-edged shadow on the photo evened out by its paper's level (shadow.py);
3. crop the digit from the working copy, as ink in [0, 1];
4. stroke width into MNIST's range, fit into 20 px, centre of mass at (14, 14) in 28x28
   (normalisation.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from scipy import ndimage

from preprocessing import background, detection, geometry, loading, normalisation, shadow, sheet, statistics

MIN_INPUT_SIDE = 4
"""An image narrower or lower than this many pixels cannot hold a readable digit."""

PAPER_MARGIN_FRACTION = 0.1
"""The margin of paper put around a frame-filling digit, as a fraction of the image's longest side."""

FRAME_FILLING_CONTRAST = 0.5
"""A frame-filling digit's image spans at least this much between its 5th and 95th percentile levels..."""

FRAME_FILLING_TWO_LEVELS = 0.6
"""...holds at least this share of its pixels within a quarter of that span of one end or the other (ink
and paper): 0.69 and more on the 1,000 scans of the mfeat development half, 0.5 for an even gradient,
whose levels spread evenly..."""

FRAME_FILLING_EDGES = 0.15
"""...or, when blur spreads its levels (a small digit enlarged, a soft photo: 0.28-0.59 of them near an end),
at least this share of its pixels lie on edges, where the level changes by more than the span over
EDGE_RUN_FRACTION of the image's longest side per pixel: 0.18-0.62 on the blurred frame-filling digits that
were not found (21 of 4,000 low-resolution inputs made from MNIST *training* digits), none on an even
gradient or a vignette, which are smooth everywhere..."""

EDGE_RUN_FRACTION = 0.25
"""An edge runs from one level to the other within a quarter of the image's longest side."""

FRAME_FILLING_MAX_PIECES = 4
"""...and its dark half is at most this many pieces on the detection copy: a thick digit is one to a few
strokes, where noise of the same contrast (salt and pepper) is thousands of specks."""

BOX_FRACTION = 0.05
"""The digit's box takes in every pixel of its strokes above this fraction of the ink level:
low, because a small input's faint anti-aliased edge pixels belong to the digit's extent."""


@dataclass(frozen=True)
class Preprocessed:
    """What the models receive, and what was found.

    image: float32 (28, 28) in [0, 1], ink bright (white ink on black); all zeros when
        `found` is False.
    found: a digit was found.
    reason: "" when found; otherwise a short phrase a person understands.
    box: the ink's bounding box (left, top, right, bottom), right/bottom exclusive, in the
        coordinates of the input image after EXIF rotation; None when nothing was found.
    inverted: the input had dark ink on a light background, so it was inverted.
    """

    image: np.ndarray
    found: bool
    reason: str = ""
    box: geometry.Box | None = None
    inverted: bool = False


def to_mnist(source: Any) -> Preprocessed:
    """Turn an image into the 28x28 array MNIST models expect.

    source: a Gradio Sketchpad/ImageEditor value, a PIL image (any mode), a numpy array
    ((H, W), (H, W, 1|3|4); uint8, uint16 or float in [0, 1] or [0, 255]), a file path or
    the bytes of an image file. Never raises for a readable image: a blank, uniform or
    noise-only image gives `found=False` and the reason. Raises `loading.ImageError`
    (a ValueError) for files that are not readable images or exceed the size limits.
    """
    loaded = loading.load_image(source)
    if loaded.gray is None:
        return _nothing(loaded.empty_reason)
    gray = loaded.gray
    if loaded.fully_transparent:
        return _nothing(loading.CANVAS_EMPTY if loaded.from_canvas else "the image is fully transparent")
    if min(gray.shape) < MIN_INPUT_SIDE:
        return _nothing(f"the image is too small ({loaded.input_size[0]}x{loaded.input_size[1]} pixels)")
    if float(gray.max() - gray.min()) < background.MIN_SPREAD:
        return _nothing(loading.CANVAS_EMPTY if loaded.from_canvas else "the image is one uniform colour")

    found = detection.detect(gray)
    # Where the working copy that `found` was made on starts in loaded.gray: (top, left), negative for a margin.
    origin = (0, 0)
    if _paper_hidden(found, gray) and fills_the_frame(gray):
        # The border is mostly ink, so nothing tells paper from ink; scans and photos are dark ink on
        # light paper, so the light level is taken as the paper and a margin of it added around.
        margin = round(PAPER_MARGIN_FRACTION * max(gray.shape))
        framed = np.pad(gray, margin, constant_values=statistics.quantile(gray, 0.95))
        retried = detection.detect(framed)
        if not isinstance(retried, detection.NoDigit):
            found, gray, origin = retried, framed, (-margin, -margin)
    elif _desk_may_show(found, loaded) and (
        again := on_even_paper(gray, detection.detect, shadow.written_on_the_paper, clear_of_the_border=True)
    ):
        found, gray, origin = again
    if isinstance(found, detection.NoDigit):
        # On a canvas, nothing standing out means nothing was drawn; anything else is worth saying.
        blank_canvas = loaded.from_canvas and found.kind is detection.NoDigitKind.NOTHING_STANDS_OUT
        return _nothing(loading.CANVAS_EMPTY if blank_canvas else found.message)
    cropped = crop_digit(found, gray)
    if cropped is None:
        return _nothing(detection.NoDigitKind.NOTHING_STANDS_OUT.value)
    digit, (left, top, right, bottom) = cropped
    height, width = loaded.gray.shape
    row, column = origin
    box_in_gray = (
        max(left + column, 0),
        max(top + row, 0),
        min(right + column, width),
        min(bottom + row, height),
    )
    return Preprocessed(
        image=normalisation.to_mnist_frame(digit),
        found=True,
        box=geometry.to_input_box(box_in_gray, (height, width), loaded.input_size),
        inverted=found.inverted,
    )


def _paper_hidden(found: detection.Detection | detection.NoDigit, gray: np.ndarray) -> bool:
    """Whether detection may have missed the paper: no digit at all, or light "ink" touching all four sides
    of the image (the paper showing in the corners around a thick dark digit, taken for a light digit)."""
    if isinstance(found, detection.NoDigit):
        return True
    if found.inverted:
        return False
    left, top, right, bottom = (side * found.factor for side in found.box)
    return left == 0 and top == 0 and right >= gray.shape[1] and bottom >= gray.shape[0]


def _desk_may_show(found: detection.Detection | detection.NoDigit, loaded: loading.LoadedImage) -> bool:
    """`sheet.desk_may_show` for a single digit, whose strokes reach the border when their box does. Never on the
    app's canvas (`loaded`)."""
    if loaded.from_canvas:
        return False
    if isinstance(found, detection.NoDigit):
        return sheet.desk_may_show(found, reaches_border=False)
    return sheet.desk_may_show(found, found.reaches_border)


Found = TypeVar("Found", detection.Detection, detection.InkMap)


def on_even_paper(
    gray: np.ndarray,
    find: Callable[[np.ndarray], Found | detection.NoDigit],
    written_on_the_paper: Callable[[Found | detection.NoDigit, shadow.Evened], bool],
    clear_of_the_border: bool = False,
) -> tuple[Found, np.ndarray, tuple[int, int]] | None:
    """The ink looked for again (`find`) where what lies round the paper, or across it, may have been taken for ink:
    (what `find` found, the working copy it looked in, that copy's (top, left) in `gray`); None when neither look
    finds dark ink written on the paper. Shared by a single digit (`detection.detect`) and a number
    (`detection.find_ink_of_several`), each with its own tests of the result.

    A desk round the note, darker than the paper, is taken for ink along the border, or the note for a light digit
    on it: the note alone (`sheet.note_alone`), kept when `sheet.written_on_the_note`. A sharp-edged shadow across the
    paper likewise: the photo evened out by its paper's level (`shadow.evened_out`), kept when
    `written_on_the_paper`. With `clear_of_the_border` (a single digit), a digit found there with pieces of ink on the
    photo's border (the shade's edge, a desk beyond the note) is looked for again without them
    (`shadow.without_border_pieces`).
    """
    note = sheet.note_alone(gray, detection.DETECTION_MAX_SIDE)
    if note is not None:
        cut, origin_on_sheet = note
        on_note = find(cut)
        if sheet.written_on_the_note(on_note):
            return on_note, cut, origin_on_sheet
    evened = shadow.evened_out(gray, detection.DETECTION_MAX_SIDE)
    if evened is not None:
        on_even = find(evened.gray)
        if written_on_the_paper(on_even, evened):
            return on_even, evened.gray, (0, 0)
        if clear_of_the_border and isinstance(on_even, detection.Detection):
            cleared = shadow.without_border_pieces(evened.gray, on_even)
            if cleared is not None and written_on_the_paper(again := find(cleared), evened):
                return again, cleared, (0, 0)
    return None


def fills_the_frame(gray: np.ndarray) -> bool:
    """Whether float32 (H, W) in [0, 1] looks like a thick dark digit filling the frame: strong contrast
    (FRAME_FILLING_CONTRAST) between two levels (FRAME_FILLING_TWO_LEVELS) or across edges, blurred or not
    (FRAME_FILLING_EDGES), and a dark half of few pieces (FRAME_FILLING_MAX_PIECES)."""
    small, _ = geometry.reduce_array(gray, detection.DETECTION_MAX_SIDE)
    low, high = statistics.quantile(small, 0.05), statistics.quantile(small, 0.95)
    span = high - low
    if span < FRAME_FILLING_CONTRAST:
        return False
    near_an_end = (small <= low + span / 4) | (small >= high - span / 4)
    if near_an_end.mean() < FRAME_FILLING_TWO_LEVELS and _edge_share(small, span) < FRAME_FILLING_EDGES:
        return False
    _, pieces = ndimage.label(small < (low + high) / 2, structure=geometry.EIGHT_NEIGHBOURS)
    return 0 < pieces <= FRAME_FILLING_MAX_PIECES


def _edge_share(small: np.ndarray, span: float) -> float:
    """The share of float32 (h, w)'s pixels whose level changes by more than `span` over EDGE_RUN_FRACTION of
    its longest side, per pixel (central differences)."""
    rows, columns = np.gradient(small.astype(np.float64))
    return float(np.mean(np.hypot(rows, columns) > span / (EDGE_RUN_FRACTION * max(small.shape))))


def crop_digit(found: detection.Detection, gray: np.ndarray) -> tuple[np.ndarray, geometry.Box] | None:
    """The detected digit's ink cut from the working copy, and its box there; None when too faint to box.

    gray: float32 (H, W) in [0, 1], the working copy `found` was made on. Returns float32
    (h, w) in [0, 1], ink bright, 0 off the digit's strokes, cropped to the pixels above
    BOX_FRACTION, with that crop's box (left, top, right, bottom) in the working copy.
    """
    height, width = gray.shape
    left, top, right, bottom = (side * found.factor for side in found.box)
    bottom, right = min(bottom, height), min(right, width)
    ink = found.ink_in(gray, top, bottom, left, right)
    tight = geometry.bounding_box(ink > BOX_FRACTION)
    if tight is None:
        return None
    crop_left, crop_top, crop_right, crop_bottom = tight
    return geometry.crop(ink, tight), (left + crop_left, top + crop_top, left + crop_right, top + crop_bottom)


def _nothing(reason: str) -> Preprocessed:
    return Preprocessed(image=np.zeros((normalisation.FRAME_SIDE,) * 2, dtype=np.float32), found=False, reason=reason)
