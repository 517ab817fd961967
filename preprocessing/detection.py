"""Find the digit: polarity, background, ink, and the strokes that belong to the digit.

Everything here runs on a reduced copy of the image (longest side at most
DETECTION_MAX_SIDE), so its cost does not grow with the input. The result, a
`Detection`, says where the digit is and how to turn any region of the full
working copy into an ink map: float32 in [0, 1], 0 for background, 1 for full ink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from preprocessing import statistics

DETECTION_MAX_SIDE = 256
"""Longest side of the copy the digit is looked for in."""

BACKGROUND_DEGREE = 3
"""Degree of the polynomial surface fitted to the background: gradients, vignettes, soft shadows."""

BACKGROUND_SAMPLES_SIDE = 40
"""The background is fitted to at most this many samples per side (a strided grid)."""

BACKGROUND_ITERATIONS = 3
"""Rounds of fitting the surface and dropping the pixels that are not background."""

OUTLIER_SPREADS = 3.0
"""Residuals beyond this many robust standard deviations are not background."""

MIN_SPREAD = 1 / 255
"""The smallest noise level assumed: one step of an 8-bit image."""

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


@dataclass(frozen=True)
class Background:
    """A smooth background surface: a polynomial in the working copy's normalised coordinates.

    coefficients: float64 (d + 1, d + 1); entry [j, i] multiplies y**j * x**i, where x and y
    run from -1 to 1 across the working copy of shape `shape` (height, width).
    spread: robust standard deviation of the background around the surface (its noise).
    """

    coefficients: np.ndarray
    shape: tuple[int, int]
    spread: float

    @property
    def is_flat(self) -> bool:
        """The surface is one constant level."""
        return not self.coefficients.ravel()[1:].any()

    def values(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """The surface at pixel centres rows (h,) x columns (w,) of the working copy: float32 (h, w)."""
        if self.is_flat:
            return np.full((len(rows), len(columns)), self.coefficients[0, 0], dtype=np.float32)
        row_powers = _powers(_normalised(rows, self.shape[0]), len(self.coefficients))
        column_powers = _powers(_normalised(columns, self.shape[1]), len(self.coefficients))
        return (row_powers @ self.coefficients @ column_powers.T).astype(np.float32)


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
    """

    factor: int
    inverted: bool
    background: Background
    ink_level: float
    support: np.ndarray
    box: tuple[int, int, int, int]

    def ink_in(self, gray: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
        """Ink of the working copy's region [top:bottom, left:right]: float32 in [0, 1], 0 off the digit.

        gray: float32 (H, W) in [0, 1], the working copy this detection was made on.
        """
        region = gray[top:bottom, left:right]
        background = self.background.values(np.arange(top, bottom), np.arange(left, right))
        ink = ink_map(region, background, inverted=self.inverted) * np.float32(1 / self.ink_level)
        # The support is on the reduced grid, where each pixel covers factor x factor pixels here.
        factor = self.factor
        support = self.support[top // factor : -(-bottom // factor), left // factor : -(-right // factor)]
        support = support.repeat(factor, axis=0).repeat(factor, axis=1)
        row_offset, column_offset = top % factor, left % factor
        support = support[row_offset : row_offset + bottom - top, column_offset : column_offset + right - left]
        return np.clip(ink, 0.0, 1.0) * support


def reduce_for_detection(gray: np.ndarray) -> tuple[np.ndarray, int]:
    """Shrink float32 (H, W) by a whole factor (box average) until its longest side fits DETECTION_MAX_SIDE.

    Returns the reduced float32 copy and the factor (1 when already small enough).
    """
    factor = math.ceil(max(gray.shape) / DETECTION_MAX_SIDE)
    if factor == 1:
        return gray, 1
    return np.asarray(Image.fromarray(gray, "F").reduce(factor)), factor


def fit_background(
    small: np.ndarray, factor: int, shape: tuple[int, int], *, ink_sign: int = 0, start: Background | None = None
) -> Background:
    """Fit a smooth surface to the background of `small`, ignoring the ink.

    small: float32 (h, w), the working copy of shape `shape` reduced by `factor`.
    ink_sign: +1 when ink is brighter than the background, -1 when darker, 0 when unknown.
    start: a surface to start from, else the median level.
    Robust iterative least squares on a grid of samples: residuals beyond OUTLIER_SPREADS
    robust standard deviations on the ink side (on both sides when the side is unknown)
    are dropped and the surface refitted, so ink never pulls the background towards itself.
    """
    stride = max(1, math.ceil(max(small.shape) / BACKGROUND_SAMPLES_SIDE))
    sample_rows = np.arange(0, small.shape[0], stride)
    sample_columns = np.arange(0, small.shape[1], stride)
    values = small[np.ix_(sample_rows, sample_columns)].ravel().astype(np.float64)
    coefficients = np.zeros((BACKGROUND_DEGREE + 1, BACKGROUND_DEGREE + 1))
    if start is None:
        # Start from the median level, which most of the image shares, so that a large
        # digit cannot bend the first surface towards itself.
        coefficients[0, 0] = statistics.median(values)
        spread = max(statistics.robust_spread(values), MIN_SPREAD)
        if spread <= MIN_SPREAD:
            # Most of the image sits within one 8-bit step of one level (a canvas, a clean
            # scan, MNIST itself): that level is the background, no surface to fit.
            return Background(coefficients=coefficients, shape=shape, spread=spread)
    else:
        coefficients = start.coefficients.copy()
    terms = [(j, i) for j in range(BACKGROUND_DEGREE + 1) for i in range(BACKGROUND_DEGREE + 1 - j)]
    row_powers = _powers(_normalised(_centres(sample_rows, factor), shape[0]), BACKGROUND_DEGREE + 1)
    column_powers = _powers(_normalised(_centres(sample_columns, factor), shape[1]), BACKGROUND_DEGREE + 1)
    design = np.stack([np.outer(row_powers[:, j], column_powers[:, i]).ravel() for j, i in terms], axis=1)
    solution = np.array([coefficients[j, i] for j, i in terms])
    keep = np.ones(len(values), dtype=bool)
    spread = MIN_SPREAD
    for _ in range(BACKGROUND_ITERATIONS):
        residual = values - design @ solution
        centre = statistics.median(residual[keep])
        spread = max(statistics.robust_spread(residual[keep]), MIN_SPREAD)
        deviation = (residual - centre) * ink_sign if ink_sign else np.abs(residual - centre)
        keep = deviation <= OUTLIER_SPREADS * spread
        if keep.sum() < 2 * len(terms):
            break
        # Normal equations: a 10x10 solve, far cheaper than a least-squares routine per round.
        kept_design = design[keep]
        gram = kept_design.T @ kept_design + 1e-9 * np.eye(len(terms))
        solution = np.linalg.solve(gram, kept_design.T @ values[keep])
    for (j, i), value in zip(terms, solution, strict=True):
        coefficients[j, i] = value
    return Background(coefficients=coefficients, shape=shape, spread=spread)


def decide_polarity(residual: np.ndarray, spread: float) -> bool | None:
    """True when the ink is darker than the background, False when lighter, None when nothing stands out.

    residual: float32 (h, w), the image minus a background fitted without knowing the ink's
    side; spread: the background's robust standard deviation. The background is what most
    of the image is; ink is the minority that deviates from it. Whichever side holds more
    deviation beyond OUTLIER_SPREADS spreads is the ink; where the image came from plays no part.
    """
    margin = OUTLIER_SPREADS * spread
    darker = float(np.clip(-residual - margin, 0, None).sum())
    lighter = float(np.clip(residual - margin, 0, None).sum())
    if max(darker, lighter) == 0:
        return None
    return darker > lighter


def ink_map(gray: np.ndarray, background: np.ndarray, *, inverted: bool) -> np.ndarray:
    """How far each pixel goes from the background towards the ink's extreme: float32, background 0.

    gray, background: float32 (h, w) in [0, 1]. Dark ink is measured as a fraction of the
    background's brightness, so ink in a shadow counts as much as ink in full light; light
    ink as a fraction of the way from the background to white.
    """
    if inverted:
        return (background - gray) / np.maximum(background, np.float32(0.05))
    return (gray - background) / np.maximum(1 - background, np.float32(0.05))


def select_digit(
    ink: np.ndarray, threshold: float, low_threshold: float
) -> tuple[np.ndarray, tuple[int, int, int, int]] | str:
    """The strokes that make up the digit, or the reason there is none.

    ink: float32 (h, w), background 0. Strokes are 8-connected groups of pixels above
    `low_threshold` that reach `threshold` somewhere (hysteresis): a 1-pixel pen line,
    faint where it runs straight after the image was reduced, stays one stroke. The
    heaviest stroke must span MIN_DIGIT_EXTENT_*; other strokes are kept (the bar of a 5,
    a broken line) when they hold a fair share of its ink or length and lie near the
    strokes kept so far, so specks and smudges elsewhere are dropped.
    Returns (bool mask (h, w) of the kept strokes grown by one pixel, their box (left, top,
    right, bottom) grown likewise).
    """
    labels, count = ndimage.label(ink > low_threshold, structure=np.ones((3, 3), dtype=bool))
    strong = np.zeros(count + 1, dtype=bool)
    strong[labels[ink > threshold]] = True
    strong[0] = False
    if not strong.any():
        return "no marks stand out from the background"
    masses = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:] * strong[1:]
    slices = ndimage.find_objects(labels)
    order = np.argsort(masses)[::-1]
    main = order[0]
    top, bottom = slices[main][0].start, slices[main][0].stop
    left, right = slices[main][1].start, slices[main][1].stop
    extent = max(bottom - top, right - left)
    if extent < max(MIN_DIGIT_EXTENT_PIXELS, MIN_DIGIT_EXTENT_FRACTION * max(ink.shape)):
        return "only specks or noise, no stroke large enough to be a digit"
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


def detect(gray: np.ndarray) -> Detection | str:
    """Find the digit in a working copy: float32 (H, W) in [0, 1] on white. A reason string when none."""
    small, factor = reduce_for_detection(gray)
    rows = _centres(np.arange(small.shape[0]), factor)
    columns = _centres(np.arange(small.shape[1]), factor)
    first_fit = fit_background(small, factor, gray.shape)
    inverted = decide_polarity(small - first_fit.values(rows, columns), first_fit.spread)
    if inverted is None:
        return "no marks stand out from the background"
    background = first_fit
    if not first_fit.is_flat:
        background = fit_background(small, factor, gray.shape, ink_sign=-1 if inverted else 1, start=first_fit)
    ink = ink_map(small, background.values(rows, columns), inverted=inverted)
    stride = max(1, math.ceil(max(small.shape) / BACKGROUND_SAMPLES_SIDE))
    noise = statistics.robust_spread(ink[::stride, ::stride])
    floor = max(MIN_CONTRAST, NOISE_SPREADS * noise)
    inked = ink[ink > floor]
    if inked.size == 0:
        return "the marks are too faint or too noisy to be a digit"
    ink_level = statistics.quantile(inked, INK_LEVEL_QUANTILE)
    threshold = max(THRESHOLD_FRACTION * ink_level, floor)
    selected = select_digit(ink, threshold, max(LOW_THRESHOLD_FRACTION * ink_level, floor))
    if isinstance(selected, str):
        return selected
    kept, box = selected
    return Detection(
        factor=factor,
        inverted=inverted,
        background=background,
        ink_level=ink_level,
        support=kept,
        box=box,
    )


def _centres(indices: np.ndarray, factor: int) -> np.ndarray:
    """Centres, in working-copy pixels, of reduced-copy pixels `indices`."""
    return indices * factor + (factor - 1) / 2


def _normalised(positions: np.ndarray, length: int) -> np.ndarray:
    """Pixel centres 0..length-1 mapped onto [-1, 1]."""
    return (2 * (np.asarray(positions, dtype=np.float64) + 0.5) / length) - 1


def _powers(values: np.ndarray, count: int) -> np.ndarray:
    """(n,) -> (n, count): columns values**0, values**1, ..."""
    return np.vander(values, count, increasing=True)
