"""The background of an image and the ink that stands out from it.

A smooth surface (a low-degree polynomial) is fitted to the background, robustly, so that
uneven light, vignettes and soft shadows are followed while the ink is ignored; polarity
says on which side of it the ink lies; `ink_map` measures every pixel's departure from
it towards the ink. Works on the reduced copy of detection.py, in the coordinates of the
full working copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preprocessing import geometry, statistics

BACKGROUND_DEGREE = 3
"""Degree of the polynomial surface fitted to the background: gradients, vignettes, soft shadows."""

BACKGROUND_SAMPLES_SIDE = 40
"""The background is fitted to at most this many samples per side (a strided grid)."""

BACKGROUND_ITERATIONS = 3
"""Rounds of fitting the surface and dropping the pixels that are not background."""

OUTLIER_SPREADS = 3.0
"""Residuals beyond this many robust standard deviations are not background."""

EXTREME_QUANTILE = 0.02
"""The image's darkest and brightest levels are these quantiles (a few odd pixels do not count)."""

EXTREME_TOLERANCE = 0.25
"""A pixel within this fraction of the dark-to-bright range of an extreme is at that extreme."""

BORDER_SHARE = 0.4
"""Paper found from the border must make at least this share of it. Noise spreads over all levels:
uniform noise puts a quarter of the border within EXTREME_TOLERANCE of either extreme."""

BORDER_MAJORITY = 0.5
"""The border's paper overrules the image's median when it is at least this share of the border."""

PAPER_TIGHTNESS = 0.35
"""Paper's robust spread around a plane (an even gradient of light taken away) is at most this fraction of
EXTREME_TOLERANCE. Measured on families made of 100 MNIST *training* digits: photos (a digit on a sheet,
shadow and uneven light) 0.15 median, 0.28 at most; tight crops of a sheet lit from one side 0.06, 0.15
at most; low-resolution digits 0.04, 0.25 at most. Without the plane, a tight crop's gradient alone
reached 0.38-0.58 and 7% of tight crops answered "no digit found"."""

MIN_SPREAD = 1 / 255
"""The smallest noise level assumed: one step of an 8-bit image."""


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


def fit_background(
    small: np.ndarray,
    factor: int,
    shape: tuple[int, int],
    *,
    ink_sign: int = 0,
    start: Background | None = None,
    border_first: bool = False,
) -> Background:
    """Fit a smooth surface to the background of `small`, ignoring the ink.

    small: float32 (h, w), the working copy of shape `shape` reduced by `factor`.
    ink_sign: +1 when ink is brighter than the background, -1 when darker, 0 when unknown.
    start: a surface to start from, else a flat level (see `_starting_level`, which takes
    `border_first`).
    Robust iterative least squares on a grid of samples: residuals beyond OUTLIER_SPREADS
    robust standard deviations on the ink side (on both sides when the side is unknown)
    are dropped and the surface refitted, so ink never pulls the background towards itself.
    """
    stride = sample_stride(small)
    sample_rows = np.arange(0, small.shape[0], stride)
    sample_columns = np.arange(0, small.shape[1], stride)
    values = small[np.ix_(sample_rows, sample_columns)].ravel().astype(np.float64)
    coefficients = np.zeros((BACKGROUND_DEGREE + 1, BACKGROUND_DEGREE + 1))
    keep = np.ones(len(values), dtype=bool)
    if start is None:
        level, spread, from_border = _starting_level(small, values, border_first)
        coefficients[0, 0] = level
        if spread <= MIN_SPREAD:
            # Most of the reference pixels sit within one 8-bit step of one level (a canvas, a
            # clean scan, MNIST itself): that level is the background, no surface to fit.
            return Background(coefficients=coefficients, shape=shape, spread=spread)
        if from_border:
            # The ink is most of the image: only pixels near the border's level start as background.
            keep = np.abs(values - level) <= OUTLIER_SPREADS * spread
    else:
        coefficients = start.coefficients.copy()
    terms, design = _design(sample_rows, sample_columns, factor, shape)
    solution = np.array([coefficients[j, i] for j, i in terms])
    if start is not None:
        # Start from the background the start found, not from every pixel: ink may be most of them.
        residual = (values - design @ solution) * (ink_sign or 1)
        keep = (residual if ink_sign else np.abs(residual)) <= OUTLIER_SPREADS * start.spread
    solution, spread = _refit_without_ink(values, design, solution, keep, ink_sign)
    for (j, i), value in zip(terms, solution, strict=True):
        coefficients[j, i] = value
    return Background(coefficients=coefficients, shape=shape, spread=spread)


def _design(
    sample_rows: np.ndarray, sample_columns: np.ndarray, factor: int, shape: tuple[int, int]
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The polynomial's terms (row power j, column power i) and its design matrix, float64 (samples, terms),
    one row per sample of the grid `sample_rows` x `sample_columns` of the copy reduced by `factor`."""
    terms = [(j, i) for j in range(BACKGROUND_DEGREE + 1) for i in range(BACKGROUND_DEGREE + 1 - j)]
    row_powers = _powers(_normalised(centres(sample_rows, factor), shape[0]), BACKGROUND_DEGREE + 1)
    column_powers = _powers(_normalised(centres(sample_columns, factor), shape[1]), BACKGROUND_DEGREE + 1)
    design = np.stack([np.outer(row_powers[:, j], column_powers[:, i]).ravel() for j, i in terms], axis=1)
    return terms, design


def _refit_without_ink(
    values: np.ndarray, design: np.ndarray, solution: np.ndarray, keep: np.ndarray, ink_sign: int
) -> tuple[np.ndarray, float]:
    """BACKGROUND_ITERATIONS rounds of dropping the samples beyond OUTLIER_SPREADS on the ink side and
    refitting: (the polynomial's coefficients, the robust spread of the kept residuals)."""
    spread = MIN_SPREAD
    for _ in range(BACKGROUND_ITERATIONS):
        if keep.sum() < 2 * design.shape[1]:
            break
        residual = values - design @ solution
        centre = statistics.median(residual[keep])
        spread = max(statistics.robust_spread(residual[keep]), MIN_SPREAD)
        deviation = (residual - centre) * ink_sign if ink_sign else np.abs(residual - centre)
        keep = deviation <= OUTLIER_SPREADS * spread
        if keep.sum() < 2 * design.shape[1]:
            break
        # Normal equations: a 10x10 solve, far cheaper than a least-squares routine per round.
        kept_design = design[keep]
        gram = kept_design.T @ kept_design + 1e-9 * np.eye(design.shape[1])
        solution = np.linalg.solve(gram, kept_design.T @ values[keep])
    return solution, spread


def _starting_level(small: np.ndarray, values: np.ndarray, border_first: bool) -> tuple[float, float, bool]:
    """The flat level the background fit starts from, its robust spread, and whether the border gave it.

    Usually the median of the whole image: most of an image is background, so a large digit
    cannot bend the first surface towards itself. A digit that fills a tight crop can cover
    half of it or more; the image's middle level is then ink, or between ink and paper. The
    paper still lies at one extreme of the image's levels and makes most of its border, which
    even such a digit only touches here and there: when that paper's level is far from the
    median, counted in the paper's own spread, it is the start; with `border_first`, whenever
    the border holds such paper.
    """
    level = statistics.median(values)
    spread = max(statistics.robust_spread(values), MIN_SPREAD)
    paper = border_paper(small, values)
    if paper is not None:
        paper_level, paper_spread, share = paper
        median_is_ink = abs(level - paper_level) > OUTLIER_SPREADS * paper_spread and paper_spread <= spread
        if border_first or (median_is_ink and share >= BORDER_MAJORITY):
            return paper_level, paper_spread, True
    return level, spread, False


def border_paper(small: np.ndarray, values: np.ndarray) -> tuple[float, float, float] | None:
    """Paper as the image's border shows it: (level, robust spread, share of the border), or None.

    small: float32 (h, w); values: samples of it. The paper is the border's pixels near the
    darker or the brighter extreme of the image, whichever holds more of it; None when they
    are fewer than BORDER_SHARE of the border or, once an even gradient of light is taken away,
    spread over more than PAPER_TIGHTNESS of the tolerance (a shadow across the border, not one
    sheet of paper).
    """
    low, high = statistics.quantile(values, EXTREME_QUANTILE), statistics.quantile(values, 1 - EXTREME_QUANTILE)
    tolerance = EXTREME_TOLERANCE * (high - low)
    border, rows, columns = _border_pixels(small)
    on_paper = max((np.abs(border - extreme) <= tolerance for extreme in (high, low)), key=np.count_nonzero)
    paper = border[on_paper]
    if paper.size < BORDER_SHARE * border.size:
        return None
    paper_spread = max(statistics.robust_spread(paper), MIN_SPREAD)
    # A sheet lit from one side darkens evenly across the crop: a plane along the border takes
    # that away before judging whether the border is one sheet. A shadow's edge is no plane.
    if _spread_off_plane(paper, rows[on_paper], columns[on_paper]) > PAPER_TIGHTNESS * tolerance:
        return None
    return statistics.median(paper), paper_spread, paper.size / border.size


def _border_pixels(small: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The outermost pixels of `small` (h, w): their values, rows and columns, each (2h + 2w - 4,)."""
    height, width = small.shape
    inner_rows, all_columns = np.arange(1, height - 1), np.arange(width)
    rows = np.concatenate([np.zeros(width, int), np.full(width, height - 1), inner_rows, inner_rows])
    columns = np.concatenate([all_columns, all_columns, np.zeros(height - 2, int), np.full(height - 2, width - 1)])
    return small[rows, columns], rows, columns


def _spread_off_plane(levels: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> float:
    """Robust spread of `levels` (n,) around the least-squares plane through them at pixels (rows, columns)."""
    design = np.stack([np.ones(len(levels)), rows, columns], axis=1).astype(np.float64)
    plane = np.linalg.lstsq(design, levels.astype(np.float64), rcond=None)[0]
    return max(statistics.robust_spread(levels - design @ plane), MIN_SPREAD)


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


def noise_level(ink: np.ndarray) -> float:
    """The background's noise (a standard deviation) in an ink map, however much of it is ink.

    Ink only ever moves a pixel to the positive side; the negative side is background noise
    alone, half of a zero-centred distribution: 1.4826 x its median distance from 0.
    """
    below = ink[ink <= 0]
    if below.size == 0:
        return 0.0
    return statistics.MAD_TO_STANDARD_DEVIATION * statistics.median(-below)


def sample_stride(small: np.ndarray) -> int:
    """Step of the grid of at most BACKGROUND_SAMPLES_SIDE samples a side that statistics are taken on."""
    return geometry.reduction_factor(small.shape, BACKGROUND_SAMPLES_SIDE)


def centres(indices: np.ndarray, factor: int) -> np.ndarray:
    """Centres, in working-copy pixels, of reduced-copy pixels `indices`."""
    return indices * factor + (factor - 1) / 2


def _normalised(positions: np.ndarray, length: int) -> np.ndarray:
    """Pixel centres 0..length-1 mapped onto [-1, 1]."""
    return (2 * (np.asarray(positions, dtype=np.float64) + 0.5) / length) - 1


def _powers(values: np.ndarray, count: int) -> np.ndarray:
    """(n,) -> (n, count): columns values**0, values**1, ..."""
    return np.vander(values, count, increasing=True)
