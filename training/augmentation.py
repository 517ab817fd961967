"""Data augmentation: shifts for the scikit-learn models; warps and pen styles for the CNN.

The CNN sees MNIST training digits only, but re-drawn as other writers and devices would
produce them (issue #7): elastic distortions (Simard et al. 2003), slant and aspect
changes, a uniform round pen of varied width, thinner and thicker pens, and low
resolution. Each style is precomputed once with NumPy/SciPy (`augment_styles`), and each
augmented digit is re-normalised into the MNIST frame (20-pixel box, centre of mass) as the
app's preprocessing normalises every input. Keras' random rotation/shift/zoom stay on top.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from preprocessing import normalisation

# (rows, columns) moves: the original, then one pixel up, down, left and right.
SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))

STYLES = ("warp", "pen", "thickness", "low_resolution", "scan")
"""The augmentation ideas measured by training/augmentation_ideas.py, besides "strokes" (add_stroke)."""

PEN_STYLES = ("pen", "low_resolution")
"""The styles of `cnn` and of the line reader's touching groups: the two that raised load_digits accuracy
without lowering validation accuracy in the short runs of assets/reports/augmentation_ideas.json (pen
+1.7 and low resolution +0.8 points over the same-seed baseline). "warp" and "thickness" did not help
load_digits and cost validation accuracy."""

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

STYLE_SHARES = {1: 0.5, 4: 0.5, 7: 0.3}
"""Share of the re-drawn 1s given a flag (most of those a base too), of 4s whose stem barely rises
above the bar or whose top is closed (half each) and of 7s given a cross bar: styles common in Europe
that MNIST's American writers rarely used (the issue's misread 1s and 7s; other writers' 4s read as 6)."""

BASE_SHARE = 0.7
"""Share of the flagged 1s that get a base too: most 1s written with a flag in the mfeat scans have one."""

SCAN_PEN_WIDTHS = (16.0, 30.0)
"""Stroke widths of a frame-filling scan at the working resolution (80 px): the mfeat development half
measures 14..28 (10th..90th percentile) after the app's crop, against MNIST's 7.2..14.1."""

SCAN_ASPECTS = (0.75, 1.0)
"""Width over height of a numeral scanned into a fixed frame: forms stretch a narrow 1 or 7 to it."""

SCAN_SIDE = 16
"""A scanned numeral's longest side in pixels before it is enlarged again (mfeat-pix is 16x15)."""

SCAN_LEVELS = 6
"""Grey levels of such a scan above white (mfeat-pix counts 0..6)."""

SHORT_STEM_RISE = (0.05, 0.25)
"""How far a shortened 4's stem still rises above its bar, as a share of the digit's height."""

_INKED = 0.05
"""A pixel above this (of 1.0) counts as ink when cropping; MNIST's background is exactly 0."""


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


def crop_ink(image: np.ndarray) -> np.ndarray:
    """float32 (h, w) -> the smallest box holding every pixel above _INKED (the image itself if none)."""
    inked = image > _INKED
    if not inked.any():
        return image
    rows, columns = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return image[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def resize(image: np.ndarray, height: int, width: int, resample: Image.Resampling) -> np.ndarray:
    """float32 (h, w) -> float32 (height, width) with PIL's filter `resample`."""
    return np.asarray(Image.fromarray(np.asarray(image, np.float32), "F").resize((width, height), resample))


def renormalise(image: np.ndarray) -> np.ndarray:
    """Any float32 (h, w) digit, ink bright -> MNIST frame float32 (28, 28): box of 20, centre of mass.

    Keeps the digit's own grey levels and stroke width (preprocessing.normalisation's
    fit_into_digit_box and centre_by_mass, the last two steps of the app's preprocessing).
    """
    digit = crop_ink(image)
    return normalisation.centre_by_mass(normalisation.fit_into_digit_box(digit))


def pen_redraw(image: np.ndarray, width: float) -> np.ndarray:
    """Re-draw a digit with a uniform round pen: float32 (h, w) -> MNIST frame float32 (28, 28).

    The stroke is enlarged to the working resolution (80 px), reduced to its centre line
    (the ridge of its distance transform) and dilated by a disc of diameter `width`
    (working pixels), then box-averaged into the 20-pixel box: a mouse or finger stroke.
    """
    digit = crop_ink(image)
    scale = normalisation.WORK_SIDE / max(digit.shape)
    work = resize(digit, max(round(digit.shape[0] * scale), 1), max(round(digit.shape[1] * scale), 1), Image.BILINEAR)
    mask = np.pad(work > 0.5 * work.max(), int(width))
    centre_line = normalisation.ridge(mask, ndimage.distance_transform_edt(mask))
    pen = ndimage.distance_transform_edt(~centre_line) <= (width - 2) / 2
    return renormalise(pen.astype(np.float32))


def low_resolution(image: np.ndarray, side: int) -> np.ndarray:
    """Shrink a digit to `side` px (longest side, box average), enlarge it back, and normalise it as the app does.

    float32 (h, w) -> float32 (28, 28). The enlarged copy (bilinear, 4x the 20-px box) is
    blurry like a photo of a small digit; preprocessing.normalisation.to_mnist_frame then
    redraws it with MNIST's stroke width, exactly as the app treats such an input.
    """
    digit = crop_ink(image)
    scale = side / max(digit.shape)
    small = resize(digit, max(round(digit.shape[0] * scale), 1), max(round(digit.shape[1] * scale), 1), Image.BOX)
    scale = 4 * normalisation.DIGIT_SIDE / max(small.shape)
    large = resize(small, round(small.shape[0] * scale), round(small.shape[1] * scale), Image.BILINEAR)
    return normalisation.to_mnist_frame(np.clip(large / max(large.max(), 1e-6), 0.0, 1.0))


def add_stroke(image: np.ndarray, digit: int, rng: np.random.Generator) -> np.ndarray:
    """Draw a flag (and maybe a base) on a 1, or a cross bar on a 7: float32 (h, w) -> MNIST frame (28, 28).

    The new strokes are drawn at the working resolution (80 px) with the digit's own stroke
    width, from the digit's own top, bottom or middle, so only the style changes.
    """
    digit_image = crop_ink(image)
    scale = normalisation.WORK_SIDE / max(digit_image.shape)
    height, width = (max(round(side * scale), 1) for side in digit_image.shape)
    stroke = resize(digit_image, height, width, Image.BILINEAR) > 0.5 * digit_image.max()
    pen = int(np.clip(normalisation.stroke_width(stroke), 6, 14))
    margin = normalisation.WORK_SIDE // 2
    canvas = Image.fromarray(np.pad(stroke, margin).astype(np.uint8) * 255)
    draw = ImageDraw.Draw(canvas)
    rows, columns = np.nonzero(np.asarray(canvas))
    top, bottom = rows.min(), rows.max()
    extent = bottom - top

    def line(row: float, column: float, end_row: float, end_column: float) -> None:
        draw.line([(column, row), (end_column, end_row)], fill=255, width=pen)

    if digit == 1:
        column = columns[rows == top].mean()
        length, angle = extent * rng.uniform(0.3, 0.5), np.radians(rng.uniform(20, 70))
        line(top, column, top + length * np.sin(angle), column - length * np.cos(angle))
        if rng.uniform() < BASE_SHARE:
            column, half = columns[rows == bottom].mean(), extent * rng.uniform(0.2, 0.35)
            line(bottom, column - half, bottom, column + half)
    elif digit == 7:
        row = int(top + extent * rng.uniform(0.45, 0.6))
        column, half = columns[rows == row].mean(), extent * rng.uniform(0.15, 0.25)
        line(row, column - half, row, column + half)
    return renormalise(np.asarray(canvas, dtype=np.float32) / 255)


def shorten_stem(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 4 whose stem barely rises above its bar (a "ч"-like 4): float32 (h, w) -> MNIST frame (28, 28).

    The bar is the row of the digit's middle band whose ink spans widest. Above it, in each row that holds
    two separate strokes (the open arm and the stem), the stem's part is erased, up to a random
    rise above the bar. A closed 4 (one stroke across its top) is left as it is.
    """
    digit = crop_ink(image).copy()
    inked = digit > 0.5 * digit.max()
    height = len(digit)
    middle = np.arange(int(0.35 * height), max(int(0.75 * height), int(0.35 * height) + 1))
    # The bar spans the digit from the open arm to the stem: the middle row whose ink reaches furthest apart.
    spans = [np.ptp(np.flatnonzero(inked[row])) if inked[row].any() else 0 for row in middle]
    bar = int(middle[int(np.argmax(spans))])
    keep_from = max(bar - round(rng.uniform(*SHORT_STEM_RISE) * height), 0)
    # Above that row an open 4 is two strokes, the arm and the stem: the stem's is the one reaching furthest right.
    parts, count = ndimage.label(inked[:keep_from])
    if count >= 2:
        rightmost = [np.flatnonzero((parts == label).any(axis=0)).max() for label in range(1, count + 1)]
        stem = parts == 1 + int(np.argmax(rightmost))
        digit[:keep_from][ndimage.binary_dilation(stem) & (parts != 1 + int(np.argmin(rightmost)))] = (
            0.0  # and its grey edge
        )
    return renormalise(digit)


def close_top(image: np.ndarray) -> np.ndarray:
    """A 4 whose arm joins the stem at the top (a closed 4): float32 (h, w) -> MNIST frame (28, 28).

    Above the bar an open 4 is two strokes, the arm on the left and the stem on the right (as in
    `shorten_stem`); a line of the digit's own stroke width joins the top of the arm to the top of the
    stem. A 4 that is already closed (one stroke across its top) is left as it is.
    """
    digit = crop_ink(image)
    inked = digit > 0.5 * digit.max()
    parts, count = ndimage.label(inked[: int(0.5 * len(digit))])
    if count < 2:
        return renormalise(digit)
    sizes = ndimage.sum(inked[: int(0.5 * len(digit))], parts, index=range(1, count + 1))
    arm, stem = sorted(np.argsort(sizes)[-2:] + 1, key=lambda label: np.flatnonzero((parts == label).any(axis=0)).min())
    tops = []
    for label in (arm, stem):
        rows, columns = np.nonzero(parts == label)
        tops.append((rows.min(), columns[rows == rows.min()].mean()))
    canvas = Image.fromarray(np.round(digit / max(digit.max(), 1e-6) * 255).astype(np.uint8))
    width = max(round(normalisation.stroke_width(inked)), 1)
    ImageDraw.Draw(canvas).line([(tops[0][1], tops[0][0]), (tops[1][1], tops[1][0])], fill=255, width=width)
    return renormalise(np.asarray(canvas, dtype=np.float32) / 255)


def scan(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A numeral scanned into a fixed frame: float32 (h, w) -> float32 (28, 28) as the app normalises it.

    The digit is stretched to a frame of nearly square shape (SCAN_ASPECTS; a digit wider than that
    keeps its width), drawn with a thick pen (SCAN_PEN_WIDTHS), scanned at SCAN_SIDE pixels with
    SCAN_LEVELS grey levels, enlarged again (bilinear) and given to the app's own
    `normalisation.to_mnist_frame`, so the network learns what the app makes of such a scan. A pen so
    thick that the app's thinning breaks the digit into pieces (an 8 whose loops closed up) is not a
    legible digit to learn from: the thinnest scan pen is used instead, and if that breaks too, the
    thick digit keeps its strokes.
    """
    digit = crop_ink(image)
    height, width = digit.shape
    width = max(width, round(height * rng.uniform(*SCAN_ASPECTS)))
    work_width = max(round(normalisation.WORK_SIDE * width / height), 1)
    work = resize(digit, normalisation.WORK_SIDE, work_width, Image.BILINEAR)
    mask = work > 0.5 * work.max()
    centre_line = ndimage.distance_transform_edt(~normalisation.ridge(mask, ndimage.distance_transform_edt(mask)))
    for pen_width in (rng.uniform(*SCAN_PEN_WIDTHS), SCAN_PEN_WIDTHS[0]):
        scanned = _scanned(crop_ink((centre_line <= (pen_width - 2) / 2).astype(np.float32)))
        normalised = normalisation.to_mnist_frame(scanned)
        if _in_one_piece(normalised):
            return normalised
    return renormalise(scanned)


def _scanned(pen: np.ndarray) -> np.ndarray:
    """A binary stroke float32 (h, w) scanned at SCAN_SIDE px with SCAN_LEVELS levels, enlarged back to WORK_SIDE."""
    scale = SCAN_SIDE / max(pen.shape)
    small = resize(pen, max(round(pen.shape[0] * scale), 1), max(round(pen.shape[1] * scale), 1), Image.BOX)
    small = np.round(np.clip(small, 0.0, 1.0) * SCAN_LEVELS) / SCAN_LEVELS
    scale = normalisation.WORK_SIDE / max(small.shape)
    large = resize(small, round(small.shape[0] * scale), round(small.shape[1] * scale), Image.BILINEAR)
    return np.clip(large, 0.0, 1.0)


IN_ONE_PIECE = 0.9
"""A normalised digit is in one piece when its largest stroke holds this share of its ink."""


def _in_one_piece(digit: np.ndarray) -> bool:
    """Whether float32 (28, 28) holds one main stroke (IN_ONE_PIECE of the ink above a third of full ink)."""
    parts, count = ndimage.label(digit > 1 / 3)
    if count <= 1:
        return True
    mass = ndimage.sum(digit, parts, index=range(1, count + 1))
    return float(mass.max()) >= IN_ONE_PIECE * float(mass.sum())


def _restroke(image: np.ndarray, digit: int, rng: np.random.Generator) -> np.ndarray:
    """One of the strokes MNIST's writers rarely drew, for a digit of class `digit`: float32 -> MNIST frame."""
    if digit == 4:
        return shorten_stem(image, rng) if rng.uniform() < 0.5 else close_top(image)
    return add_stroke(image, digit, rng)


def augment_styles(
    images: np.ndarray, styles: tuple[str, ...], *, seed: int, labels: np.ndarray | None = None
) -> np.ndarray:
    """One augmented copy of each image, each drawing one of `styles` at random.

    images: uint8 (n, 28, 28) MNIST digits. Returns uint8 (n, 28, 28) in the MNIST frame.
    "warp" (elastic + slant + aspect) is applied first to the digits that draw a pen style
    too, when "warp" is among the styles, so that shapes and pens vary together. With
    "strokes" and the labels (n,), some 1s get a flag, some 4s a short stem and some 7s a bar
    (STYLE_SHARES), before the pen styles, so that the new strokes are re-drawn with the rest.
    """
    rng = np.random.default_rng(seed)
    floats = np.asarray(images, dtype=np.float32) / 255.0
    if "strokes" in styles and labels is not None:
        floats = floats.copy()
        for digit, share in STYLE_SHARES.items():
            for index in np.flatnonzero((labels == digit) & (rng.uniform(size=len(labels)) < share)):
                floats[index] = _restroke(floats[index], digit, rng)
    if "warp" in styles:
        floats = warp(floats, rng)
    pens = [style for style in styles if style not in ("warp", "strokes")]
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
            out[index] = scan(image, rng)
        else:
            out[index] = renormalise(image)
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
