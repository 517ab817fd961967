"""The printed lines of ruled or squared paper, found so that they are not taken for the digit's strokes.

A notebook's rules are lighter than most ink but still stand out from the paper: they cross the whole
image, join the digit wherever it touches them, and the strokes found by hysteresis then run along them
(the digit read inside a grid, or a bar through it). Rules are long, thin, straight, parallel and several:
runs of rows (or columns) of the ink map, sheared by the photo's small tilt, that are inked across most of
the image and only a few pixels thick, at least MIN_RULES of them. A digit's own straight strokes are one
at most per direction, or thicker, or shorter. Works on the reduced copy of detection.py.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

RULE_COVERAGE = 0.6
"""A rule is inked along at least this share of the image's width (or height) once its tilt is taken away:
a light line under JPEG noise is not above the noise floor everywhere."""

RULE_MAX_THICKNESS = 0.025
"""A rule is at most this share of the image's height thick (a digit's stroke is 8% or more)..."""

RULE_MIN_THICKNESS_PIXELS = 3
"""...or this many pixels, whichever is more."""

RULE_STEP = 0.35
"""...and stands out: the rows two and three beyond it are inked along at least this share of the width less
(where most of the image is ink, a frame-filling digit's rows hover about RULE_COVERAGE in thin runs)."""

MIN_RULES = 2
"""Ruled paper shows at least this many parallel rules; a lone line could be a digit's bar."""

MAX_TILT_DEGREES = 4.0
COARSE_STEP_DEGREES = 1.0
FINE_STEP_DEGREES = 0.25
"""The photo's tilt is looked for within +-MAX_TILT_DEGREES, by COARSE_STEP_DEGREES, then around the best of
those by FINE_STEP_DEGREES (a 1.5-pixel rule across 256 pixels stays within two rows at 0.25 degrees off)."""


def rule_mask(inked: np.ndarray) -> np.ndarray:
    """bool (h, w): the pixels on ruled or squared paper's lines, their blurred edges included, found in
    `inked` (bool (h, w), the ink map above its noise floor); all False in a direction with fewer than
    MIN_RULES of them."""
    return _rules_along_rows(inked) | _rules_along_rows(inked.T).T


def _rules_along_rows(inked: np.ndarray) -> np.ndarray:
    """rule_mask's horizontal rules only."""
    height, width = inked.shape
    nothing = np.zeros_like(inked)
    if height < 2 or width < 2:
        return nothing
    coarse = np.arange(-MAX_TILT_DEGREES, MAX_TILT_DEGREES + COARSE_STEP_DEGREES / 2, COARSE_STEP_DEGREES)
    best = max((_sheared_coverage(inked, degrees) for degrees in coarse), key=lambda found: found[2].max())
    fine = best[0] + np.arange(-COARSE_STEP_DEGREES / 2, COARSE_STEP_DEGREES / 2 + 1e-9, FINE_STEP_DEGREES)
    _, sheared, coverage = max(
        (_sheared_coverage(inked, degrees) for degrees in fine), key=lambda found: found[2].max()
    )
    # A rule is a run of sheared rows inked across the image, a few rows thick: a stroke running along it
    # covers less of the width and does not thicken it.
    runs, _ = ndimage.label(coverage >= RULE_COVERAGE)
    thickest = max(RULE_MIN_THICKNESS_PIXELS, RULE_MAX_THICKNESS * height)
    thin = []
    for label, (run,) in enumerate(ndimage.find_objects(runs), start=1):
        beside = np.r_[run.start - 3 : run.start - 1, run.stop + 1 : run.stop + 3]
        beside = beside[(beside >= 0) & (beside < len(coverage))]
        step = coverage[run].max() - (coverage[beside].max() if beside.size else 0.0)
        if run.stop - run.start <= thickest and step >= RULE_STEP:
            thin.append(label)
    if len(thin) < MIN_RULES:
        return nothing
    # Each rule grown by a sheared row each side: its blurred edges, and what the tilt's rounding moves off it.
    return ndimage.binary_dilation(np.isin(runs, thin))[sheared]


def _sheared_coverage(inked: np.ndarray, degrees: float) -> tuple[float, np.ndarray, np.ndarray]:
    """For a tilt of `degrees`: (degrees, each pixel's sheared row int (h, w), the share of the width inked
    along each sheared row float (rows,))."""
    height, width = inked.shape
    columns = np.arange(width)
    shift = np.round(np.tan(np.radians(degrees)) * (columns - width / 2)).astype(int)
    # Row r, column c lies on sheared row r - shift[c], offset by the largest shift so that none is negative.
    sheared = np.arange(height)[:, None] - shift[None, :] + shift.max()
    coverage = np.bincount(sheared[inked], minlength=height + int(np.ptp(shift)) + 1) / width
    return degrees, sheared, coverage
