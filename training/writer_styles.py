"""Strokes and scans MNIST's writers rarely produced: flagged and based 1s, crossed 7s, short-stemmed and
closed 4s, flat-topped 6s, and numerals scanned thick into a fixed frame.

Each takes one digit float32 (h, w) in [0, 1], ink bright, and returns it in the MNIST frame,
float32 (28, 28), so that `training.augmentation.augment_styles` can mix them with the pens.
The committed `cnn` learns two of them (augmentation.CNN_STYLES): `scanned_flagged_one`, a 1 whose long
flag and thick pen fill a form's frame, and `low_bar_four`, a 4 whose bar sits low with a short stem.
The others were measured on the mfeat development half and not kept (CHANGELOG.md).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from preprocessing import normalisation
from training import redrawing

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

LONG_FLAG_ANGLES = (45.0, 80.0)
"""Degrees below the horizontal of the long flag of `scanned_flagged_one`: in the mfeat development half
the flag runs steeply down and left from the top, close to the stem, so that a thick pen fills the
angle between them and the 1 becomes a wedge (1s read as 4, 7, 8 or 9 there)."""

LONG_FLAG_LENGTHS = (0.35, 0.7)
"""The long flag's length as a share of the 1's height."""

FRAME_PEN_SHARES = (0.18, 0.32)
"""Pen width of a 1 written into a form's frame, as a share of its height (mfeat's 1s: 3-5 of 16 rows)."""

FRAME_ASPECTS = (0.75, 1.0)
"""Width over height of the frame a scanned 1 is stretched to, pen and all (mfeat-pix is 15 by 16)."""

LOW_BAR_TAILS = (0.08, 0.25)
"""How far a low-bar 4's stem goes on below its bar, as a share of the digit's height."""

LOW_BAR_HEIGHTS = (1.0, 1.3)
"""Height over width a low-bar 4 is stretched to when shorter: its arm runs from the frame's top down
to the low bar (the Dutch 4s of the mfeat scans that read as 6)."""


def add_stroke(image: np.ndarray, digit: int, rng: np.random.Generator) -> np.ndarray:
    """Draw a flag (and maybe a base) on a 1, or a cross bar on a 7: float32 (h, w) -> MNIST frame (28, 28).

    The new strokes are drawn at the working resolution (80 px) with the digit's own stroke
    width, from the digit's own top, bottom or middle, so only the style changes.
    """
    digit_image = redrawing.crop_ink(image)
    scale = normalisation.WORK_SIDE / max(digit_image.shape)
    height, width = (max(round(side * scale), 1) for side in digit_image.shape)
    stroke = redrawing.resize(digit_image, height, width, Image.BILINEAR) > 0.5 * digit_image.max()
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
    return redrawing.renormalise(np.asarray(canvas, dtype=np.float32) / 255)


def shorten_stem(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 4 whose stem barely rises above its bar (a "ч"-like 4): float32 (h, w) -> MNIST frame (28, 28).

    The bar is the row of the digit's middle band whose ink spans widest. Above it, in each row that holds
    two separate strokes (the open arm and the stem), the stem's part is erased, up to a random
    rise above the bar. A closed 4 (one stroke across its top) is left as it is.
    """
    digit = redrawing.crop_ink(image).copy()
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
    return redrawing.renormalise(digit)


def close_top(image: np.ndarray) -> np.ndarray:
    """A 4 whose arm joins the stem at the top (a closed 4): float32 (h, w) -> MNIST frame (28, 28).

    Above the bar an open 4 is two strokes, the arm on the left and the stem on the right (as in
    `shorten_stem`); a line of the digit's own stroke width joins the top of the arm to the top of the
    stem. A 4 that is already closed (one stroke across its top) is left as it is.
    """
    digit = redrawing.crop_ink(image)
    inked = digit > 0.5 * digit.max()
    parts, count = ndimage.label(inked[: int(0.5 * len(digit))])
    if count < 2:
        return redrawing.renormalise(digit)
    sizes = ndimage.sum(inked[: int(0.5 * len(digit))], parts, index=range(1, count + 1))
    arm, stem = sorted(np.argsort(sizes)[-2:] + 1, key=lambda label: np.flatnonzero((parts == label).any(axis=0)).min())
    tops = []
    for label in (arm, stem):
        rows, columns = np.nonzero(parts == label)
        tops.append((rows.min(), columns[rows == rows.min()].mean()))
    canvas = Image.fromarray(np.round(digit / max(digit.max(), 1e-6) * 255).astype(np.uint8))
    width = max(round(normalisation.stroke_width(inked)), 1)
    ImageDraw.Draw(canvas).line([(tops[0][1], tops[0][0]), (tops[1][1], tops[1][0])], fill=255, width=width)
    return redrawing.renormalise(np.asarray(canvas, dtype=np.float32) / 255)


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
    digit = redrawing.crop_ink(image)
    height, width = digit.shape
    width = max(width, round(height * rng.uniform(*SCAN_ASPECTS)))
    work_width = max(round(normalisation.WORK_SIDE * width / height), 1)
    work = redrawing.resize(digit, normalisation.WORK_SIDE, work_width, Image.BILINEAR)
    mask = work > 0.5 * work.max()
    centre_line = ndimage.distance_transform_edt(~normalisation.ridge(mask, ndimage.distance_transform_edt(mask)))
    for pen_width in (rng.uniform(*SCAN_PEN_WIDTHS), SCAN_PEN_WIDTHS[0]):
        scanned = _scanned(redrawing.crop_ink((centre_line <= (pen_width - 2) / 2).astype(np.float32)))
        normalised = normalisation.to_mnist_frame(scanned)
        if _in_one_piece(normalised):
            return normalised
    return redrawing.renormalise(scanned)


def _scanned(pen: np.ndarray) -> np.ndarray:
    """A binary stroke float32 (h, w) scanned at SCAN_SIDE px with SCAN_LEVELS levels, enlarged back to WORK_SIDE."""
    scale = SCAN_SIDE / max(pen.shape)
    small = redrawing.resize(pen, max(round(pen.shape[0] * scale), 1), max(round(pen.shape[1] * scale), 1), Image.BOX)
    small = np.round(np.clip(small, 0.0, 1.0) * SCAN_LEVELS) / SCAN_LEVELS
    scale = normalisation.WORK_SIDE / max(small.shape)
    large = redrawing.resize(small, round(small.shape[0] * scale), round(small.shape[1] * scale), Image.BILINEAR)
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


def scanned_flagged_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1 with a long, steep flag written with a thick pen and scanned into a form's frame: float32 (h, w)
    -> float32 (28, 28) as the app normalises it.

    The flag (and, half the time, a base) is drawn on the 1 at its natural shape; the pen is then
    thickened to FRAME_PEN_SHARES of the height, so the angle between flag and stem fills in, and only
    then is the whole 1 stretched to its frame (FRAME_ASPECTS), widening the strokes with it, as a scan
    of a fixed-size field does. `scan` draws the pen after stretching and keeps thin 1s thin.
    """
    digit = redrawing.crop_ink(image)
    scale = normalisation.WORK_SIDE / max(digit.shape)
    height, width = (max(round(side * scale), 1) for side in digit.shape)
    stroke = redrawing.resize(digit, height, width, Image.BILINEAR) > 0.5 * digit.max()
    canvas = Image.fromarray(np.pad(stroke, normalisation.WORK_SIDE).astype(np.uint8) * 255)
    draw = ImageDraw.Draw(canvas)
    rows, columns = np.nonzero(np.asarray(canvas))
    top, bottom = rows.min(), rows.max()
    extent = bottom - top
    column = columns[rows == top].mean()
    length, angle = extent * rng.uniform(*LONG_FLAG_LENGTHS), np.radians(rng.uniform(*LONG_FLAG_ANGLES))
    thin_pen = 8  # about MNIST's stroke at the working resolution; the thick pen comes after
    flag_end = (column - length * np.cos(angle), top + length * np.sin(angle))
    draw.line([(column, top), flag_end], fill=255, width=thin_pen)
    if rng.uniform() < 0.5:
        column, half = columns[rows == bottom].mean(), extent * rng.uniform(0.2, 0.35)
        draw.line([(column - half, bottom), (column + half, bottom)], fill=255, width=thin_pen)
    radius = normalisation.WORK_SIDE * rng.uniform(*FRAME_PEN_SHARES) / 2
    thick_pen = ndimage.distance_transform_edt(~np.asarray(canvas, dtype=bool)) <= radius
    thick = redrawing.crop_ink(thick_pen.astype(np.float32))
    frame_width = round(len(thick) * rng.uniform(*FRAME_ASPECTS))
    if thick.shape[1] < frame_width:
        thick = redrawing.resize(thick, len(thick), frame_width, Image.BILINEAR)
    return normalisation.to_mnist_frame(_scanned(thick))


def low_bar_four(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 4 whose bar sits low, with a short stem above and below it: float32 (h, w) -> MNIST frame (28, 28).

    `shorten_stem` cuts the stem above the bar; below the bar the stem stops after LOW_BAR_TAILS of
    the height, and a digit left wider than tall is stretched so that its arm runs from the top
    down to the bar (LOW_BAR_HEIGHTS). A 4 that the cut breaks into pieces keeps its shape.
    """
    shortened = redrawing.crop_ink(shorten_stem(image, rng))
    inked = shortened > 0.5 * shortened.max()
    height = len(shortened)
    middle = np.arange(int(0.35 * height), max(int(0.8 * height), int(0.35 * height) + 1))
    spans = [np.ptp(np.flatnonzero(inked[row])) if inked[row].any() else 0 for row in middle]
    bar = int(middle[int(np.argmax(spans))])
    cut = bar + max(round(rng.uniform(*LOW_BAR_TAILS) * height), 2)
    digit = redrawing.crop_ink(shortened[:cut])
    frame_height = round(digit.shape[1] * rng.uniform(*LOW_BAR_HEIGHTS))
    if len(digit) < frame_height:
        digit = redrawing.resize(digit, frame_height, digit.shape[1], Image.BILINEAR)
    restyled = redrawing.renormalise(digit)
    return restyled if _in_one_piece(restyled) else redrawing.renormalise(image)


FLAT_TOP_LEANS = (0.0, 0.3)
"""How far a flat-topped 6's straight stroke leans right as it rises, as a share of its rise."""
FLAT_TOP_BARS = (0.3, 0.8)
"""The length of its flat top, as a share of the loop's width."""
FLAT_TOP_TILTS = (-10.0, 15.0)
"""The top's tilt in degrees (anticlockwise, rising to the right)."""


def flat_top_six(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 6 drawn as a loop, a straight stroke up from its left side and a flat top (a "б"-like 6, as the
    mfeat scans' writers draw it): float32 (h, w) -> MNIST frame (28, 28).

    The loop is the part of the digit from the top of its hole down; above it the curved stroke is erased
    and redrawn straight, from the loop's top-left ink up to the digit's top row, leaning right by
    FLAT_TOP_LEANS of the rise, then across by FLAT_TOP_BARS of the loop's width. A 6 without a closed loop
    is left as it is.
    """
    digit = redrawing.crop_ink(image)
    inked = digit > 0.5 * digit.max()
    hole = ndimage.binary_fill_holes(inked) & ~inked
    if hole.sum() < 2:
        return redrawing.renormalise(digit)
    hole_rows, hole_columns = np.nonzero(hole)
    width = max(round(normalisation.stroke_width(inked)), 1)
    loop_top = max(int(hole_rows.min()) - width, 0)
    if loop_top < 0.25 * len(digit):  # the hole reaches near the top: nothing above it to redraw
        return redrawing.renormalise(digit)
    kept = digit.copy()
    kept[:loop_top] = 0.0
    # (column, row) points: the loop's top-left ink, the top of the straight stroke, the end of the flat top.
    left_ink = np.flatnonzero(inked[loop_top])
    start = (float(left_ink.min()) + width / 2 if left_ink.size else float(hole_columns.min()), loop_top + width / 2)
    top = (start[0] + loop_top * rng.uniform(*FLAT_TOP_LEANS), 0.0)
    loop_width = float(np.ptp(np.flatnonzero(inked[loop_top:].any(axis=0)))) + 1
    bar, tilt = loop_width * rng.uniform(*FLAT_TOP_BARS), np.radians(rng.uniform(*FLAT_TOP_TILTS))
    end = (top[0] + bar * np.cos(tilt), top[1] - bar * np.sin(tilt))
    pad = width + round(bar)  # room for the top to lean and tilt beyond the old box
    canvas = Image.fromarray(np.round(np.pad(kept, pad) / max(digit.max(), 1e-6) * 255).astype(np.uint8))
    points = [(column + pad, row + pad) for column, row in (start, top, end)]
    ImageDraw.Draw(canvas).line(points, fill=255, width=width, joint="curve")
    return redrawing.renormalise(np.asarray(canvas, dtype=np.float32) / 255)


def restroke(image: np.ndarray, digit: int, rng: np.random.Generator) -> np.ndarray:
    """One of the strokes MNIST's writers rarely drew, for a digit of class `digit`: float32 -> MNIST frame."""
    if digit == 4:
        return shorten_stem(image, rng) if rng.uniform() < 0.5 else close_top(image)
    return add_stroke(image, digit, rng)
