"""Make a cropped digit look like MNIST: stroke width, 20-pixel box, centre of mass at the centre.

MNIST's recipe (LeCun et al.): each binary digit was fitted into a 20x20 box keeping its
aspect ratio, anti-aliased by the scaling, and placed in a 28x28 frame so that its
centre of mass sits at the centre. Canvas pens and photos add one difference MNIST never
had, strokes far thicker or thinner than a pen on a 20-pixel digit, so the stroke width
is set to MNIST's typical width first, at a working resolution four times MNIST's. Blurred
digits (a scan or photo enlarged from a few pixels) keep their grey levels instead: a redraw from
their binary mask would draw shapes the blur made.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from preprocessing import geometry, statistics

WORK_SIDE = 80
"""Longest side of the digit while its strokes are measured and adjusted (4 x DIGIT_SIDE)."""

DIGIT_SIDE = 20
"""Longest side of the digit in the final frame, as in MNIST."""

FRAME_SIDE = 28

MNIST_CENTRE = (14, 14)
"""MNIST's mean centre of mass, (row, column) with 0-indexed pixels: 13.99 and 14.00 measured
on 5,000 training digits, each within half a pixel (the original placement moved whole pixels)."""

MNIST_STROKE_WIDTH = 10.0
"""MNIST's median stroke width in pixels at WORK_SIDE, as `stroke_width` measures it on 2,000
training digits scaled to WORK_SIDE. Every digit redrawn from a larger image gets this width:
the pen it was drawn with says nothing about which digit it is."""

STROKE_WIDTH_RANGE = (7.2, 14.1)
"""The 10th and 90th percentiles of the same measure. A digit that arrives at about MNIST's size
keeps its own strokes when their width lies in this range."""

PEAK_QUANTILE = 0.95
"""The stroke's peak level is this quantile of the inked pixels at WORK_SIDE."""

BINARISE_FRACTION = 0.5
"""A pixel belongs to the stroke when it reaches this fraction of the peak level."""

LOW_RESOLUTION_SIDE = 2 * DIGIT_SIDE
"""Digits up to this size arrive already anti-aliased at about MNIST's scale (see to_mnist_frame)."""

HAIRLINE_WIDTH = 4.0
"""Strokes measuring at most this at WORK_SIDE (about two pixels) were thinner than a working
pixel before shrinking: they are binarised keeping their faint parts."""

FAINT_FRACTION = 0.2
"""Pixels down to this fraction of the peak level extend the stroke they touch."""

BLUR_SOFTNESS = 0.5
"""A digit is blurred when at least this share of its inked pixels at WORK_SIDE are half-tones
(`softness`). Measured on 200 inputs per family made of MNIST validation digits (median, 95th
percentile): canvas pen strokes 0.13 / 0.26, thick pens 0.07 / 0.09, photos 0.42 / 0.52, clean MNIST
digits 0.44 / 0.54, digits enlarged from 8-32 px 0.49 / 0.64. Chosen on 600 validation digits per
family of `digit_data/families.py` and every model: at 0.4 the ensemble read one more photo and one more
odd format of 600, but many photos took the grey path, which cost the forest and the linear model
there (photos -0.3, tight crops and odd formats -0.5 points); at 0.5 the ensemble reads every family
at least as well as with no grey path, and the classic models lose on the enlarged digits (forest
-0.9, linear -0.5 points) and the linear model 0.3 on tight crops. `load_digits` only checked the
idea (docs/results.md, "Beyond MNIST's writers")."""

HALF_TONES = (0.2, 0.8)
"""A half-tone pixel lies between these fractions of the stroke's peak level."""

_INKED = 0.05


def to_work_resolution(ink: np.ndarray) -> np.ndarray:
    """Scale a cropped digit so its longest side is WORK_SIDE: float32 (h, w) -> float32 (h', w').

    Shrinking averages boxes of pixels, so a 1-pixel pen line becomes a faint line rather
    than vanishing; enlarging interpolates bilinearly.
    """
    return geometry.resize_longest_side(ink, WORK_SIDE)


def peak_level(image: np.ndarray) -> float:
    """The stroke's peak level in float32 (h, w), ink bright: the PEAK_QUANTILE of its inked pixels
    (above _INKED); 0.0 without ink."""
    inked = image[image > _INKED]
    return statistics.quantile(inked, PEAK_QUANTILE) if inked.size else 0.0


def binarise(work: np.ndarray, *, keep_faint: bool = False) -> np.ndarray:
    """The stroke at working resolution: bool (h, w), pixels above half the stroke's peak level.

    work: float32 (h, w) in [0, 1], ink bright. The peak is measured rather than assumed
    to be 1, because a pen line thinner than a working pixel arrives as a faint line.
    keep_faint: also keep fainter pixels (down to FAINT_FRACTION of the peak) connected to
    the stroke. Such a line is uneven as well as faint, and a single threshold would break
    it into pieces; for strokes of ordinary width it would only add a fringe.
    """
    peak = peak_level(work)
    if peak == 0.0:
        return np.zeros(work.shape, dtype=bool)
    strong = work > BINARISE_FRACTION * peak
    if not keep_faint:
        return strong
    return geometry.hysteresis(work, FAINT_FRACTION * peak, BINARISE_FRACTION * peak)


def ridge(mask: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """The stroke's centre line: bool (h, w), pixels whose distance to the background is a local maximum."""
    return mask & (distance >= ndimage.maximum_filter(distance, footprint=geometry.EIGHT_NEIGHBOURS))


def softness(work: np.ndarray) -> float:
    """The share of the inked pixels of float32 (h, w) in [0, 1] (ink bright, at WORK_SIDE) that are
    half-tones (HALF_TONES of the peak level): a pen stroke is half-tone only along its edge, a blur
    across its whole width. 0.0 without ink."""
    inked = work[work > _INKED]
    if inked.size == 0:
        return 0.0
    peak = peak_level(work)
    return float(np.mean((inked > HALF_TONES[0] * peak) & (inked < HALF_TONES[1] * peak)))


def stretch_to_peak(ink: np.ndarray) -> np.ndarray:
    """float32 (h, w) in [0, 1], ink bright -> the same with the stroke's peak level (PEAK_QUANTILE of
    the inked pixels) brought to 1: a faint photo or scan gets MNIST's full-ink strokes."""
    peak = peak_level(ink)
    if peak == 0.0:
        return ink
    return np.clip(ink / peak, 0.0, 1.0).astype(np.float32)


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width of a bool mask (h, w) in pixels: twice the median distance-to-background on its ridge.

    0.0 for an empty mask. A 1-pixel line measures 2, a disc-pen stroke of width w about w + 1.
    """
    if not mask.any():
        return 0.0
    distance = ndimage.distance_transform_edt(mask)
    return 2.0 * statistics.median(distance[ridge(mask, distance)])


def set_stroke_width(
    mask: np.ndarray,
    width: float | None = None,
    low: float = STROKE_WIDTH_RANGE[0],
    high: float = STROKE_WIDTH_RANGE[1],
) -> np.ndarray:
    """Bring a stroke whose width is outside [low, high] to MNIST_STROKE_WIDTH: bool (h, w) -> bool (h, w).

    width: the mask's `stroke_width` when already measured. A mask already in range is
    returned as is (the same object).
    Thickening adds every pixel within r of the stroke (r = half the missing width);
    thinning keeps pixels farther than r inside it, plus a band of the typical width
    around the centre line, so parts thinner than the typical stroke are never erased.
    Both are exact Euclidean distance transforms, linear in the number of pixels.
    """
    width = stroke_width(mask) if width is None else width
    if width == 0.0 or low <= width <= high:
        return mask
    # Out-of-range strokes go to MNIST's typical width, each side moving by `radius`;
    # less than a pixel is no change at all.
    radius = abs(width - MNIST_STROKE_WIDTH) / 2
    if radius < 1:
        return mask
    if width < low:
        return ndimage.distance_transform_edt(~mask) <= radius
    distance = ndimage.distance_transform_edt(mask)
    # A one-pixel centre line grown by r measures 2r + 2, so r = (MNIST_STROKE_WIDTH - 2) / 2.
    centre_band = ndimage.distance_transform_edt(~ridge(mask, distance)) <= (MNIST_STROKE_WIDTH - 2) / 2
    return (distance > radius) | (centre_band & mask)


def fit_into_digit_box(work: np.ndarray) -> np.ndarray:
    """Shrink float32 (h, w) so the longest side is DIGIT_SIDE, averaging boxes of pixels.

    Averaging a binary stroke gives grey edges in proportion to how much of each pixel the
    stroke covers, which is how MNIST's digits were anti-aliased.
    """
    return np.clip(geometry.resize_longest_side(work, DIGIT_SIDE), 0.0, 1.0)


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Paste float32 (h, w), h and w at most 28, into a 28x28 frame with its centre of mass at MNIST_CENTRE.

    The digit moves by whole pixels, as in MNIST, and is kept inside the frame.
    Returns float32 (28, 28) in [0, 1].
    """
    height, width = digit.shape
    frame = np.zeros((FRAME_SIDE, FRAME_SIDE), dtype=np.float32)
    mass = float(digit.sum())
    if mass > 0:
        row_centre, column_centre = ndimage.center_of_mass(digit)
    else:
        row_centre, column_centre = (height - 1) / 2, (width - 1) / 2
    top = int(np.clip(round(MNIST_CENTRE[0] - row_centre), 0, FRAME_SIDE - height))
    left = int(np.clip(round(MNIST_CENTRE[1] - column_centre), 0, FRAME_SIDE - width))
    frame[top : top + height, left : left + width] = digit
    return frame


def to_mnist_frame(ink: np.ndarray) -> np.ndarray:
    """A tightly cropped digit, float32 (h, w) in [0, 1] ink bright -> MNIST-style float32 (28, 28) in [0, 1].

    The digit is redrawn from its binary stroke at WORK_SIDE with MNIST_STROKE_WIDTH, then
    shrunk into DIGIT_SIDE with box averaging and centred by mass. A digit that is already
    about MNIST's size (longest side at most LOW_RESOLUTION_SIDE) with strokes in
    STROKE_WIDTH_RANGE keeps its own grey levels instead: redrawing it would only throw its
    anti-aliasing away, so a clean MNIST digit passes through almost unchanged. So does a blurred
    digit (`softness` at least BLUR_SOFTNESS) whose strokes are not thinner than MNIST's, whatever
    its size, with its peak level stretched to 1: a blur merges what the edges of its strokes would
    tell apart (the open top of a 4, the gap of a 9's loop), and the binary mask that a redraw starts
    from shows a shape the writer never drew, where the grey levels keep the writer's.
    """
    work = to_work_resolution(ink)
    stroke = binarise(work)
    width = stroke_width(stroke)
    if width >= STROKE_WIDTH_RANGE[0] and softness(work) >= BLUR_SOFTNESS:
        return centre_by_mass(fit_into_digit_box(stretch_to_peak(ink)))
    if width <= HAIRLINE_WIDTH:
        stroke = binarise(work, keep_faint=True)
        width = stroke_width(stroke)
    # Room for thickening, which grows the stroke outwards.
    stroke = np.pad(stroke, math.ceil(MNIST_STROKE_WIDTH / 2))
    if max(ink.shape) <= LOW_RESOLUTION_SIDE:
        adjusted = set_stroke_width(stroke, width)
        if adjusted is stroke:
            return centre_by_mass(fit_into_digit_box(ink))
    else:
        adjusted = set_stroke_width(stroke, width, MNIST_STROKE_WIDTH, MNIST_STROKE_WIDTH)
    # The box is taken again after the change: a pen's round caps make a thick-pen digit
    # longer, and thinning takes them off again, so the digit keeps its proportions.
    return centre_by_mass(fit_into_digit_box(geometry.crop_to_mask(adjusted).astype(np.float32)))
