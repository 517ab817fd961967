"""Data augmentation: shifts for the scikit-learn models; warps and pen styles for the CNN.

The CNN sees MNIST training digits only, but re-drawn as other writers and devices would
produce them (issue #7): elastic distortions (Simard et al. 2003), slant and aspect
changes, a uniform round pen of varied width, thinner and thicker pens, and low
resolution; the strokes and scans MNIST's writers lacked live in `training/writer_styles.py`.
Each style is precomputed once with NumPy/SciPy (`augment_styles`), and each augmented digit
is re-normalised into the MNIST frame (20-pixel box, centre of mass; `training/redrawing.py`)
as the app's preprocessing normalises every input. Keras' random rotation/shift/zoom stay on top.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from digit_data import drawing, trajectories
from preprocessing import normalisation
from training import redrawing, writer_styles

# (rows, columns) moves: the original, then one pixel up, down, left and right.
SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))

STYLES = ("warp", "pen", "thickness", "low_resolution", "scan")
"""The augmentation ideas measured by training/augmentation_ideas.py, besides "strokes" (add_stroke)."""

PEN_STYLES = ("pen", "low_resolution")
"""The styles of `cnn` and of the line reader's touching groups: the two that raised load_digits accuracy
without lowering validation accuracy in the short runs of assets/reports/augmentation_ideas.json (pen
+1.7 and low resolution +0.8 points over the same-seed baseline). "warp" and "thickness" did not help
load_digits and cost validation accuracy."""

CNN_STYLES = ("pen", "low_resolution", "scanned_one", "low_bar_four")
"""The styles of `cnn`'s re-drawn copy: the pens, plus a share of the 1s re-drawn as
`writer_styles.scanned_flagged_one` (SCANNED_ONE_SHARE) and of the 4s as `writer_styles.low_bar_four`
(LOW_BAR_FOUR_SHARE) before their pen. Chosen on the mfeat development half, load_digits and MNIST
validation together by `python -m training.style_ideas` (assets/reports/style_ideas.json: one epoch
of fine-tuning the previous CNN): mfeat development 86.8 -> 93.3% and load_digits 96.8 -> 97.3%
against the pens alone, for validation log loss 0.0115 -> 0.0140."""

STYLE_WORDS = {
    "warp": "warped shapes",
    "pen": "round pens",
    "thickness": "thin and thick strokes",
    "low_resolution": "low resolution",
    "scan": "frame-filling scans",
    "strokes": "flagged 1s and crossed 7s",
    "scanned_one": "scanned flagged 1s",
    "low_bar_four": "low-bar 4s",
    "flat_top_six": "flat-topped 6s",
    "few_points": "strokes through a few points",
}
"""Each style in a few words, for the manifest's and the page's description of a CNN."""

SCANNED_ONE_SHARE = 0.5
"""Share of the 1s of a CNN_STYLES copy re-drawn as scanned flagged 1s (the rest take a pen)."""

LOW_BAR_FOUR_SHARE = 0.4
"""Share of the 4s of a CNN_STYLES copy given a low bar before their pen."""

SHAPE_STYLES = ("warp", "strokes", "scanned_one", "low_bar_four", "flat_top_six")
"""The styles that change a digit's shape, not its pen: augment_styles draws one of the others on top."""

FLAT_TOP_SIX_SHARE = 0.4
"""Share of the 6s of a copy with "flat_top_six" given a straight stroke and a flat top before their pen
(writer_styles.flat_top_six; measured with CNN_STYLES, not kept: docs/results.md)."""

WRITER_STYLES = ("strokes", "pen", "low_resolution", "scan")
"""The pens plus the styles MNIST's writers lack that the mfeat development half holds
(digit_models.cross_writer): the strokes of European writers (flagged and based 1s, crossed 7s,
short-stemmed and closed 4s) and frame-filling thick scans. Measured, not kept: in both CNNs they
raised the mfeat development half (CNN 86.6 -> 88.6%) and load_digits (96.5 -> 97.3%) but cost
validation (ensemble 99.62 -> 99.54%); in cnn_2 only, validation fell to 99.38% with weights learned
on a copy in these styles and mfeat fell (87.1 -> 86.7%) with weights learned on the pens' (CHANGELOG.md)."""

ELASTIC_ALPHA = 20.0
ELASTIC_SIGMA = 4.0
"""Simard et al. (2003), section 2: displacement fields uniform in [-1, 1], smoothed by a Gaussian
of sigma 4 pixels and scaled by alpha (34 in the paper, on 28x28 digits). At 34 our fields moved
pixels by up to 7.5 px (standard deviation 1.6) and visibly smeared 3s and 9s; 20 keeps strokes
legible (standard deviation 0.9 px)."""

SLANT = 0.3
"""Largest horizontal shear (columns moved per row): about +-17 degrees of slant either way."""

ASPECT = 0.25
"""Largest relative change of width against height (MNIST's writers mostly write narrow 1s and wide 0s)."""

PEN_WIDTHS = (7.0, 14.0)
"""Round-pen widths at the working resolution (80 px): MNIST's 10th to 90th percentile stroke width
is 7.2..14.1 (preprocessing.normalisation.STROKE_WIDTH_RANGE)."""

LOW_RESOLUTION_SIDES = (8, 16)
"""Longest side of the digit once shrunk: load_digits is 8x8; tight phone crops are 10..16 px."""

FEW_POINTS = (7, 14)
"""Points of a "few_points" trajectory, the whole digit's (`few_point_pen`): at 8 a 0 is an
octagon; below 7 some digits stop being legible (an 8 through 6 points reads as a 1)."""


def shift_images(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Move images (..., height, width) by whole pixels (down and right are positive).

    Pixels moved in from outside the image are zero; pixels moved out are lost.
    """
    shifted = np.zeros_like(images)
    height, width = images.shape[-2:]
    shifted[..., max(rows, 0) : height + min(rows, 0), max(columns, 0) : width + min(columns, 0)] = images[
        ..., max(-rows, 0) : height + min(-rows, 0), max(-columns, 0) : width + min(-columns, 0)
    ]
    return shifted


def shift_augment(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image plus its copies moved one pixel up, down, left and right.

    images: (n, 28, 28) any dtype; labels: (n,). Returns (5n, 28, 28) and (5n,), the
    originals first, then one block per shift in the order of SHIFTS.
    """
    blocks = [shift_images(images, rows, columns) for rows, columns in SHIFTS]
    return np.concatenate(blocks), np.tile(labels, len(SHIFTS))


def warp(images: np.ndarray, rng: np.random.Generator, *, elastic: bool = True, affine: bool = True) -> np.ndarray:
    """Elastic distortion plus random slant and aspect: float32 (n, 28, 28) -> float32 (n, 40, 40).

    All images are warped at once with one `map_coordinates` call over the stack. The
    result has a 6-pixel margin so that nothing is cut off; `renormalise` crops it again.
    """
    images = np.pad(np.asarray(images, dtype=np.float32), ((0, 0), (6, 6), (6, 6)))
    count, height, width = images.shape
    rows, columns = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij")
    centre = (height - 1) / 2
    source_rows = np.broadcast_to(rows - centre, images.shape).copy()
    source_columns = np.broadcast_to(columns - centre, images.shape).copy()
    if affine:
        slant = rng.uniform(-SLANT, SLANT, (count, 1, 1)).astype(np.float32)
        aspect = np.exp(rng.uniform(-ASPECT, ASPECT, (count, 1, 1))).astype(np.float32)
        source_columns = source_columns * aspect + slant * source_rows
    if elastic:
        for coordinates in (source_rows, source_columns):
            field = rng.uniform(-1, 1, images.shape).astype(np.float32)
            coordinates += ELASTIC_ALPHA * ndimage.gaussian_filter(field, sigma=(0, ELASTIC_SIGMA, ELASTIC_SIGMA))
    image_index = np.broadcast_to(np.arange(count, dtype=np.float32)[:, None, None], images.shape)
    coordinates = np.stack([image_index, source_rows + centre, source_columns + centre])
    return ndimage.map_coordinates(images, coordinates, order=1, mode="constant", cval=0.0)


def thickness(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A thinner or thicker pen: grey erosion or dilation by a 2x2 square, float32 (n, h, w) -> same.

    A third of the digits get thinner, two thirds thicker (thin digits that vanish keep their
    original stroke): finger and mouse strokes are mostly thicker than a pen's.
    """
    images = np.asarray(images, dtype=np.float32)
    thicker = ndimage.grey_dilation(images, size=(1, 2, 2))
    thinner = ndimage.grey_erosion(images, size=(1, 2, 2))
    faded = thinner.reshape(len(images), -1).max(axis=1) < 0.5
    thinner[faded] = images[faded]
    choose_thin = (rng.uniform(size=len(images)) < 1 / 3)[:, None, None]
    return np.where(choose_thin, thinner, thicker)


def pen_redraw(image: np.ndarray, width: float) -> np.ndarray:
    """Re-draw a digit with a uniform round pen: float32 (h, w) -> MNIST frame float32 (28, 28).

    The stroke is enlarged to the working resolution (80 px), reduced to its centre line
    (the ridge of its distance transform) and dilated by a disc of diameter `width`
    (working pixels), then box-averaged into the 20-pixel box: a mouse or finger stroke.
    """
    digit = redrawing.crop_ink(image)
    scale = normalisation.WORK_SIDE / max(digit.shape)
    work = redrawing.resize(
        digit, max(round(digit.shape[0] * scale), 1), max(round(digit.shape[1] * scale), 1), Image.BILINEAR
    )
    mask = np.pad(work > 0.5 * work.max(), int(width))
    centre_line = normalisation.ridge(mask, ndimage.distance_transform_edt(mask))
    pen = ndimage.distance_transform_edt(~centre_line) <= (width - 2) / 2
    return redrawing.renormalise(pen.astype(np.float32))


def few_point_pen(image: np.ndarray, width: float, points: int) -> np.ndarray:
    """The digit float32 (h, w) (ink bright) re-drawn as a pen trajectory through `points` points in all
    (`digit_data.trajectories`), with a round pen of `width` working pixels: MNIST frame float32 (28, 28).
    Too little ink to trace: re-normalised as it is."""
    digit = redrawing.crop_ink(image)
    scale = normalisation.WORK_SIDE / max(digit.shape)
    height, width_px = max(round(digit.shape[0] * scale), 1), max(round(digit.shape[1] * scale), 1)
    work = redrawing.resize(digit, height, width_px, Image.BILINEAR)
    centre_line = drawing.skeleton(np.pad(work > 0.5 * work.max(), int(width)))
    polylines = trajectories.corners(centre_line, points)
    if not polylines:
        return redrawing.renormalise(image)
    canvas = Image.new("F", (centre_line.shape[1], centre_line.shape[0]), 0.0)
    pen = ImageDraw.Draw(canvas)
    for polyline in polylines:
        corners = [(float(column), float(row)) for row, column in polyline]
        pen.line(corners, fill=1.0, width=max(round(width), 1), joint="curve")
        for column, row in (corners[0], corners[-1]):  # Round ends, as a pen's.
            pen.ellipse([column - width / 2, row - width / 2, column + width / 2, row + width / 2], fill=1.0)
    return redrawing.renormalise(np.asarray(canvas, dtype=np.float32))


def low_resolution(image: np.ndarray, side: int) -> np.ndarray:
    """Shrink a digit to `side` px (longest side, box average), enlarge it back, and normalise it as the app does.

    float32 (h, w) -> float32 (28, 28). The enlarged copy (bilinear, 4x the 20-px box) is
    blurry like a photo of a small digit; preprocessing.normalisation.to_mnist_frame then
    redraws it with MNIST's stroke width, exactly as the app treats such an input.
    """
    digit = redrawing.crop_ink(image)
    scale = side / max(digit.shape)
    small = redrawing.resize(
        digit, max(round(digit.shape[0] * scale), 1), max(round(digit.shape[1] * scale), 1), Image.BOX
    )
    scale = 4 * normalisation.DIGIT_SIDE / max(small.shape)
    large = redrawing.resize(small, round(small.shape[0] * scale), round(small.shape[1] * scale), Image.BILINEAR)
    return normalisation.to_mnist_frame(np.clip(large / max(large.max(), 1e-6), 0.0, 1.0))


def augment_styles(
    images: np.ndarray, styles: tuple[str, ...], *, seed: int, labels: np.ndarray | None = None
) -> np.ndarray:
    """One augmented copy of each image, each drawing one of `styles` at random.

    images: uint8 (n, 28, 28) MNIST digits. Returns uint8 (n, 28, 28) in the MNIST frame.
    "warp" (elastic + slant + aspect) is applied first to the digits that draw a pen style
    too, when "warp" is among the styles, so that shapes and pens vary together. With
    "strokes" and the labels (n,), some 1s get a flag, some 4s a short stem and some 7s a bar
    (STYLE_SHARES), before the pen styles, so that the new strokes are re-drawn with the rest.
    With "low_bar_four" some 4s get a low bar first (LOW_BAR_FOUR_SHARE), with "flat_top_six" some 6s a
    flat top (FLAT_TOP_SIX_SHARE); with "scanned_one" some 1s are re-drawn as scanned flagged 1s instead of
    a pen (SCANNED_ONE_SHARE). A style not asked for draws no random numbers, so a recipe's copy stays the
    same as styles are added to the module.
    """
    rng = np.random.default_rng(seed)
    floats = np.asarray(images, dtype=np.float32) / 255.0
    originals = floats
    if "low_bar_four" in styles and labels is not None:
        floats = floats.copy()
        for index in np.flatnonzero((labels == 4) & (rng.uniform(size=len(labels)) < LOW_BAR_FOUR_SHARE)):
            floats[index] = writer_styles.low_bar_four(floats[index], rng)
    if "flat_top_six" in styles and labels is not None:
        floats = floats.copy()
        for index in np.flatnonzero((labels == 6) & (rng.uniform(size=len(labels)) < FLAT_TOP_SIX_SHARE)):
            floats[index] = writer_styles.flat_top_six(floats[index], rng)
    if "strokes" in styles and labels is not None:
        floats = floats.copy()
        for digit, share in writer_styles.STYLE_SHARES.items():
            for index in np.flatnonzero((labels == digit) & (rng.uniform(size=len(labels)) < share)):
                floats[index] = writer_styles.restroke(floats[index], digit, rng)
    if "warp" in styles:
        floats = warp(floats, rng)
    pens = [style for style in styles if style not in SHAPE_STYLES]
    choice = rng.integers(len(pens), size=len(floats)) if pens else np.zeros(len(floats), int)
    if "thickness" in pens:
        thick = thickness(floats, rng)
        floats = np.where((choice == pens.index("thickness"))[:, None, None], thick, floats)
    widths = rng.uniform(*PEN_WIDTHS, size=len(floats))
    sides = rng.integers(LOW_RESOLUTION_SIDES[0], LOW_RESOLUTION_SIDES[1] + 1, size=len(floats))
    out = np.empty((len(floats), 28, 28), dtype=np.float32)
    for index, image in enumerate(floats):
        style = pens[choice[index]] if pens else None
        if style == "pen":
            out[index] = pen_redraw(image, widths[index])
        elif style == "low_resolution":
            out[index] = low_resolution(image, int(sides[index]))
        elif style == "scan":
            out[index] = writer_styles.scan(image, rng)
        elif style == "few_points":
            points = int(rng.integers(FEW_POINTS[0], FEW_POINTS[1] + 1))
            out[index] = few_point_pen(image, widths[index], points)
        else:
            out[index] = redrawing.renormalise(image)
    if "scanned_one" in styles and labels is not None:
        for index in np.flatnonzero((labels == 1) & (rng.uniform(size=len(labels)) < SCANNED_ONE_SHARE)):
            out[index] = writer_styles.scanned_flagged_one(originals[index], rng)
    return np.round(np.clip(out, 0.0, 1.0) * 255).astype(np.uint8)


def cnn_augmentation(*, rotation_degrees: float, shift_fraction: float, zoom_fraction: float, seed: int):
    """Keras layers that rotate, shift and zoom a batch (b, 28, 28, 1) at random, training only.

    The fill is a constant zero: Keras' default 'reflect' would mirror strokes into the
    empty border of a digit, which MNIST never has.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomRotation(rotation_degrees / 360, fill_mode="constant", fill_value=0.0, seed=seed),
            layers.RandomTranslation(
                shift_fraction, shift_fraction, fill_mode="constant", fill_value=0.0, seed=seed + 1
            ),
            layers.RandomZoom(zoom_fraction, fill_mode="constant", fill_value=0.0, seed=seed + 2),
        ],
        name="augmentation",
    )
