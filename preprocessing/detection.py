"""Find the digit: polarity, background, ink, and the strokes that belong to the digit.

Everything here runs on a reduced copy of the image (longest side at most
DETECTION_MAX_SIDE), so its cost does not grow with the input. The result, a
`Detection`, says where the digit is and how to turn any region of the full
working copy into an ink map: float32 in [0, 1], 0 for background, 1 for full ink; when
there is none, a `NoDigit` says why.

`find_ink` stops one step earlier, with the ink of the whole image and its strokes
(`InkMap.strokes()`); `find_ink_of_several` also takes a notebook's lines out of it: what a reader of
several digits needs to split them.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from preprocessing import background, geometry, rules, statistics

DETECTION_MAX_SIDE = 256
"""Longest side of the copy the digit is looked for in."""

MIN_CONTRAST = 0.1
"""Ink must differ from the background by at least a tenth of the background-to-extreme range."""

NOISE_SPREADS = 4.0
"""Ink must also stand this many noise standard deviations above the background."""

INK_LEVEL_QUANTILE = 0.9
"""The ink level (what becomes 1.0) is this quantile of the clearly inked pixels."""

THRESHOLD_FRACTION = 0.5
"""A pixel is ink when it reaches this fraction of the ink level."""

LOW_THRESHOLD_FRACTION = 0.25
"""Pixels down to this fraction of the ink level extend a stroke that reaches the threshold."""

KEEP_MASS_FRACTION = 0.08
KEEP_EXTENT_FRACTION = 0.15
"""A stroke separate from the main one is kept when it holds at least KEEP_MASS_FRACTION of its
ink or spans KEEP_EXTENT_FRACTION of its length (a thin pen's short line holds little ink)..."""

NEAR_FRACTION = 0.5
"""...and lies within this fraction of the size of the strokes kept so far from them..."""

MIN_REACH_FRACTION = 0.3
"""...where that size counts as at least this fraction of the image's longest side."""

MIN_DIGIT_EXTENT_FRACTION = 0.04
MIN_DIGIT_EXTENT_PIXELS = 6
"""The main stroke must span this fraction of the image's longest side, and this many pixels of
the reduced copy: anything smaller is a speck, a dot or noise."""


SPAN_FOR_RULES = 0.9
"""A digit whose strokes span this share of the image's width or height is looked at again without the lines of
ruled or squared paper (rules.rule_mask), if it has any."""

PRINT_QUANTILE = 0.75
PEN_OVER_PRINT = 0.5
"""On the rules' bands, ink counts as the pen's when it stands PEN_OVER_PRINT of the way from the bands' own print
to the ink level: pens are darker than a notebook's printed lines. The print is the PRINT_QUANTILE of the bands' ink:
a band is a little wider than its line, and the pen crosses it only here and there."""


class NoDigitKind(enum.Enum):
    """Why no digit was found."""

    NOTHING_STANDS_OUT = "no marks stand out from the background"
    TOO_FAINT = "the marks are too faint or too noisy to be a digit"
    ONLY_SPECKS = "only specks or noise, no stroke large enough to be a digit"


@dataclass(frozen=True)
class NoDigit:
    """No digit in the image: `kind` for code to act on, `message` for a person."""

    kind: NoDigitKind

    @property
    def message(self) -> str:
        return self.kind.value


@dataclass(frozen=True)
class InkMap:
    """The ink of a whole image, on the reduced copy that detection works on.

    factor: the reduced copy is the working copy shrunk by this whole factor (box average);
        reduced pixel (r, c) covers working pixels [r*factor, (r+1)*factor) likewise for c.
    inverted: the ink is darker than its background (dark ink on light paper).
    background: the background surface in the working copy's coordinates.
    ink: float32 (h, w) of the reduced copy, `ink_map` units: 0 background, larger is more ink; 0 on the
        lines of ruled or squared paper.
    ink_level: ink strength that counts as full ink (1.0 once normalised).
    threshold, low_threshold: a stroke is pixels above low_threshold that reach threshold.
    floor: the background's noise floor in `ink` units: what lies above it is ink at all.
    """

    factor: int
    inverted: bool
    background: background.Background
    ink: np.ndarray
    ink_level: float
    threshold: float
    low_threshold: float
    floor: float

    def strokes(self) -> tuple[np.ndarray, int]:
        """Connected strokes of the reduced copy: int32 labels (h, w), 0 off ink, 1..count on it; and count."""
        return geometry.strokes(self.ink, self.low_threshold, self.threshold)

    @property
    def noise_bound(self) -> bool:
        """The strokes' threshold was set by the noise floor, not by the ink level: the image varies as much as ink
        does away from the strokes (heavy noise, or a desk round a note taken for ink)."""
        return self.floor >= THRESHOLD_FRACTION * self.ink_level


@dataclass(frozen=True)
class Detection:
    """Where the digit is in a reduced copy, and how to read ink anywhere in the working copy.

    factor: the reduced copy is the working copy shrunk by this whole factor (box average).
    inverted: the ink is darker than its background (dark ink on light paper).
    background: the background surface in the working copy's coordinates.
    ink_level: ink strength (in `ink_map` units) that maps to 1.0.
    support: bool (h, w) of the reduced copy: the kept strokes, grown by a pixel; ink
        anywhere else (specks, smudges) reads as background.
    box: (left, top, right, bottom) of the kept strokes in the reduced copy, right/bottom exclusive.
    noise_bound: `InkMap.noise_bound` of the ink the digit was found in.
    """

    factor: int
    inverted: bool
    background: background.Background
    ink_level: float
    support: np.ndarray
    box: tuple[int, int, int, int]
    noise_bound: bool = False

    @property
    def reaches_border(self) -> bool:
        """The digit's box touches the border of the image it was found in."""
        left, top, right, bottom = self.box
        height, width = self.support.shape
        return left == 0 or top == 0 or right >= width or bottom >= height

    @property
    def extent(self) -> float:
        """How far the digit's box spans the image it was found in: the larger of its width's share of the image's
        width and its height's share of the image's height."""
        left, top, right, bottom = self.box
        height, width = self.support.shape
        return max((right - left) / width, (bottom - top) / height)

    def ink_in(self, gray: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
        """Ink of the working copy's region [top:bottom, left:right]: float32 in [0, 1], 0 off the digit.

        gray: float32 (H, W) in [0, 1], the working copy this detection was made on.
        """
        region = gray[top:bottom, left:right]
        surface = self.background.values(np.arange(top, bottom), np.arange(left, right))
        ink = background.ink_map(region, surface, inverted=self.inverted) * np.float32(1 / self.ink_level)
        # The support is on the reduced grid, where each pixel covers factor x factor pixels here.
        factor = self.factor
        support = self.support[top // factor : -(-bottom // factor), left // factor : -(-right // factor)]
        support = support.repeat(factor, axis=0).repeat(factor, axis=1)
        row_offset, column_offset = top % factor, left % factor
        support = support[row_offset : row_offset + bottom - top, column_offset : column_offset + right - left]
        return np.clip(ink, 0.0, 1.0) * support


def select_digit(ink: np.ndarray, threshold: float, low_threshold: float) -> tuple[np.ndarray, geometry.Box] | NoDigit:
    """The strokes that make up the digit, or why there is none.

    ink: float32 (h, w), background 0. Strokes are 8-connected groups of pixels above
    `low_threshold` that reach `threshold` somewhere (hysteresis): a 1-pixel pen line,
    faint where it runs straight after the image was reduced, stays one stroke. The
    heaviest stroke must span MIN_DIGIT_EXTENT_*; other strokes are kept (the bar of a 5,
    a broken line) when they hold a fair share of its ink or length and lie near the
    strokes kept so far, so specks and smudges elsewhere are dropped.
    Returns (bool mask (h, w) of the kept strokes grown by one pixel, their box (left, top,
    right, bottom) grown likewise).
    """
    labels, count = geometry.strokes(ink, low_threshold, threshold)
    if count == 0:
        return NoDigit(NoDigitKind.NOTHING_STANDS_OUT)
    masses = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
    slices = ndimage.find_objects(labels)
    order = np.argsort(masses)[::-1]
    main = order[0]
    top, bottom = slices[main][0].start, slices[main][0].stop
    left, right = slices[main][1].start, slices[main][1].stop
    extent = max(bottom - top, right - left)
    if extent < max(MIN_DIGIT_EXTENT_PIXELS, MIN_DIGIT_EXTENT_FRACTION * max(ink.shape)):
        return NoDigit(NoDigitKind.ONLY_SPECKS)
    kept = [main + 1]
    extents = np.array([max(rows.stop - rows.start, columns.stop - columns.start) for rows, columns in slices])
    candidates = [
        index
        for index in order[1:]
        if masses[index] >= KEEP_MASS_FRACTION * masses[main] or extents[index] >= KEEP_EXTENT_FRACTION * extent
    ]
    added = True
    while added:
        # Each stroke kept widens the reach, so a dotted or broken line is followed to its end.
        added = False
        reach = NEAR_FRACTION * max(bottom - top, right - left, MIN_REACH_FRACTION * max(ink.shape))
        for index in candidates:
            rows, columns = slices[index]
            gap = max(top - rows.stop, rows.start - bottom, left - columns.stop, columns.start - right, 0)
            if index + 1 not in kept and gap <= reach:
                kept.append(index + 1)
                top, bottom = min(top, rows.start), max(bottom, rows.stop)
                left, right = min(left, columns.start), max(right, columns.stop)
                added = True
    # The kept strokes grown by one pixel, so that their faint anti-aliased edges count too.
    top, left = max(top - 1, 0), max(left - 1, 0)
    bottom, right = min(bottom + 1, ink.shape[0]), min(right + 1, ink.shape[1])
    is_kept = np.zeros(len(masses) + 1, dtype=bool)
    is_kept[kept] = True
    grown = ndimage.maximum_filter(is_kept[labels[top:bottom, left:right]], size=3)
    mask = np.zeros(ink.shape, dtype=bool)
    mask[top:bottom, left:right] = grown
    return mask, (left, top, right, bottom)


def find_ink(gray: np.ndarray, *, border_first: bool = False) -> InkMap | NoDigit:
    """The ink of a whole working copy, float32 (H, W) in [0, 1] on white, or why there is none.

    Polarity and background come first; the ink level is measured on what stands clearly
    above the noise, and the thresholds of a stroke follow from it. border_first: start the
    background from the paper along the border (`background.border_paper`) whenever there is
    such paper, not only when the image's median is ink.
    """
    small, factor = geometry.reduce_array(gray, DETECTION_MAX_SIDE)
    rows = background.centres(np.arange(small.shape[0]), factor)
    columns = background.centres(np.arange(small.shape[1]), factor)
    first_fit = background.fit_background(small, factor, gray.shape, border_first=border_first)
    inverted = background.decide_polarity(small - first_fit.values(rows, columns), first_fit.spread)
    if inverted is None:
        return NoDigit(NoDigitKind.NOTHING_STANDS_OUT)
    fitted = first_fit
    if not first_fit.is_flat:
        fitted = background.fit_background(small, factor, gray.shape, ink_sign=-1 if inverted else 1, start=first_fit)
    ink = background.ink_map(small, fitted.values(rows, columns), inverted=inverted)
    stride = background.sample_stride(small)
    floor = max(MIN_CONTRAST, NOISE_SPREADS * background.noise_level(ink[::stride, ::stride]))
    unmeasured = InkMap(factor, inverted, fitted, ink, ink_level=0.0, threshold=0.0, low_threshold=0.0, floor=floor)
    return _with_levels(unmeasured)


def without_rules(found: InkMap) -> InkMap | None:
    """`found` with the lines of ruled or squared paper (`rules.rule_mask`) taken out of its ink, except the pen's
    ink on them; its levels measured again. None when it has no such lines or nothing is left above the floor."""
    on_rules = rules.rule_mask(found.ink > found.floor)
    if not on_rules.any():
        return None
    cleaned = _with_levels(dataclasses.replace(found, ink=np.where(on_rules, np.float32(0), found.ink)))
    if isinstance(cleaned, NoDigit):
        return None
    # The pen's ink on a band comes back: what stands well above the band's own print. A stroke crossing a rule
    # stays one stroke, and one written along a rule (a 7's bar, a 5's top) stays.
    printed = statistics.quantile(found.ink[on_rules], PRINT_QUANTILE)
    pen = on_rules & (found.ink > printed + PEN_OVER_PRINT * (cleaned.ink_level - printed))
    return dataclasses.replace(cleaned, ink=np.where(pen, found.ink, cleaned.ink))


def find_ink_of_several(gray: np.ndarray) -> InkMap | NoDigit:
    """`find_ink` for an image of several digits (a number), with the lines of ruled or squared paper taken out
    (`without_rules`) wherever it has some: they run through the whole line of digits and would join them.

    gray: float32 (H, W) in [0, 1] on white.
    """
    found = find_ink(gray)
    if isinstance(found, NoDigit):
        return found
    cleaned = without_rules(found)
    return found if cleaned is None else cleaned


def _with_levels(found: InkMap) -> InkMap | NoDigit:
    """`found` with its ink level and stroke thresholds measured on what stands above its floor."""
    inked = found.ink[found.ink > found.floor]
    if inked.size == 0:
        return NoDigit(NoDigitKind.TOO_FAINT)
    ink_level = statistics.quantile(inked, INK_LEVEL_QUANTILE)
    return dataclasses.replace(
        found,
        ink_level=ink_level,
        threshold=max(THRESHOLD_FRACTION * ink_level, found.floor),
        low_threshold=max(LOW_THRESHOLD_FRACTION * ink_level, found.floor),
    )


def detect(gray: np.ndarray) -> Detection | NoDigit:
    """Find the digit in a working copy: float32 (H, W) in [0, 1] on white; `NoDigit` when none."""
    found = find_ink(gray)
    selected = found if isinstance(found, NoDigit) else select_digit(found.ink, found.threshold, found.low_threshold)
    if isinstance(selected, NoDigit):
        # A digit covering much of a tight crop inflates the image's spread until nothing stands
        # out from the median's background; the paper along the border may still show it.
        found = find_ink(gray, border_first=True)
        if isinstance(found, NoDigit):
            return selected
        selected = select_digit(found.ink, found.threshold, found.low_threshold)
        if isinstance(selected, NoDigit):
            return selected
    if _spans_the_image(selected[1], found.ink.shape):
        # A notebook's lines join the digit and run to the image's edges; without them the digit stands alone.
        cleaned = without_rules(found)
        if cleaned is not None:
            reselected = select_digit(cleaned.ink, cleaned.threshold, cleaned.low_threshold)
            if not isinstance(reselected, NoDigit):
                found, selected = cleaned, reselected
    support, box = selected
    return Detection(
        factor=found.factor,
        inverted=found.inverted,
        background=found.background,
        ink_level=found.ink_level,
        support=support,
        box=box,
        noise_bound=found.noise_bound,
    )


def _spans_the_image(box: geometry.Box, shape: tuple[int, int]) -> bool:
    """Whether the digit's box (left, top, right, bottom) covers SPAN_FOR_RULES of the width or the height of an
    image of `shape` (h, w): where a notebook's lines taken for strokes would put it."""
    left, top, right, bottom = box
    return right - left >= SPAN_FOR_RULES * shape[1] or bottom - top >= SPAN_FOR_RULES * shape[0]
