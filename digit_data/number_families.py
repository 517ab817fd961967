"""Images of whole numbers built from MNIST digits: spaced, close, touching, canvas, photos (plain or notebook paper).

Each family turns a few MNIST digits (uint8 (k, 28, 28), ink bright, 2 to 6 of them) and a
seeded random generator into what a person would hand the app: PNG or JPEG bytes of a written
number, or a Sketchpad canvas array. `number_input(family, digits, seed, index)` is
deterministic; `bench/number_accuracy.py` measures whole-number accuracy on many of each, and
the tests use a few. `digits_of("test")` feeds the acceptance test; `digits_of("validation")`
(the validation split every model holds out) feeds `bench/number_tuning.py`, which chooses the
segmentation's thresholds: nothing may be chosen by looking at numbers of test digits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from digit_data import families, mnist, splits

NUMBER_FAMILIES: dict[str, str] = {
    "spaced": "dark ink on white paper (scan), gaps of 0.2-0.6 digit heights, heights jittered by up to 10%",
    "close": "as spaced, gaps of 0-0.08 digit heights: boxes almost touch, ink does not",
    "touching": "as spaced, each digit pushed left until its ink overlaps its neighbour's by 1-3 px",
    "canvas": "Sketchpad canvas 1200x400: re-drawn with a round pen 10-30 px, black on opaque white, "
    "gaps of 0.15-0.5 digit heights, baseline wandering by up to 10%",
    "photo": "phone photo of the number on paper: blue, grey or black ink on white or cream, uneven light, "
    "soft shadow, noise, blur, JPEG q60-85",
    "notebook": "as photo, on ruled or squared notebook paper (light blue, grey or dark grey lines 0.45-1.2 digit "
    "heights apart), tilted by up to 3 degrees",
    "desk": "as photo, on a note lying on a desk that shows round it (dark or light wood, grey, black or green), "
    "the note tilted by up to 10 degrees",
    "sharp-shadow": "as photo, with the sharp-edged shadow of a phone or a hand across the paper (one straight edge "
    "or a corner), 30-55% darker than the lit paper",
}

CANVAS_SIZE = (1200, 400)
"""The number canvas of the app: width, height in pixels."""

DIGIT_SOURCES = ("test", "validation")


def digits_of(source: str, data: mnist.MnistData | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST digits numbers are built from: uint8 (n, 28, 28) ink bright, and int labels (n,).

    source: "test" (MNIST's test set, for measuring) or "validation" (the part of the training set
    that `digit_data.splits.train_validation_indices` holds out of every model, for tuning).
    """
    if source not in DIGIT_SOURCES:
        raise ValueError(f"unknown digit source {source!r}; expected one of {DIGIT_SOURCES}")
    data = data if data is not None else mnist.load_mnist()
    if source == "test":
        return data.X_test, data.y_test
    _, validation = splits.train_validation_indices(data.y_train)
    return data.X_train[validation], data.y_train[validation]


def number_input(family: str, digits: np.ndarray, seed: int, index: int) -> Any:
    """The input of `family` showing `digits` (uint8 (k, 28, 28), ink bright) left to right, for image `index`.

    Returns image file bytes or a uint8 RGBA canvas array (H, W, 4).
    """
    if family not in _MAKERS:
        raise ValueError(f"unknown number family {family!r}; expected one of {sorted(_MAKERS)}")
    rng = np.random.default_rng([seed, list(_MAKERS).index(family), index])
    return _MAKERS[family](digits, rng, index)


def layout(
    inks: list[np.ndarray], rng: np.random.Generator, gap_range: tuple[float, float], touch: bool = False
) -> np.ndarray:
    """Place digit inks (float32 (h, w) in [0, 1]) left to right on one ink amount map, float32 (H, W).

    gap_range: gaps between neighbouring boxes in digit heights; touch: instead of a gap, move
    each digit left until its ink overlaps its neighbour's by 1-3 pixels.
    """
    height = max(ink.shape[0] for ink in inks)
    margin = height // 2
    offsets = [round(rng.uniform(-0.1, 0.1) * height) for _ in inks]
    canvas = np.zeros((height * 2 + 2 * margin, sum(ink.shape[1] for ink in inks) * 2 + 2 * margin), np.float32)
    x = margin
    for position, ink in enumerate(inks):
        top = margin + (height - ink.shape[0]) // 2 + offsets[position] + height // 4
        if position > 0 and touch:
            x = _touching_position(canvas, ink, top, x, int(rng.integers(1, 4)))
        region = canvas[top : top + ink.shape[0], x : x + ink.shape[1]]
        np.maximum(region, ink, out=region)
        x += ink.shape[1]
        if not touch:
            x += round(rng.uniform(*gap_range) * height)
    return families.crop_to_ink((canvas * 255).astype(np.uint8)).astype(np.float32) / 255


def _touching_position(canvas: np.ndarray, ink: np.ndarray, top: int, x: int, overlap: int) -> int:
    """The left edge that makes `ink` overlap the ink already on `canvas` by `overlap` pixels of columns."""
    inked = ink > 0.5
    placed = canvas[top : top + ink.shape[0]] > 0.5
    for left in range(x, max(x - ink.shape[1], 0), -1):
        window = placed[:, left : left + ink.shape[1]]
        if (window & inked[:, : window.shape[1]]).any():
            return max(left - overlap + 1, 0)
    return max(x - ink.shape[1] // 2, 0)


def paper(amount: np.ndarray, rng: np.random.Generator, margin: float) -> Image.Image:
    """Dark ink of `amount` on white paper with a margin of `margin` ink heights: a grayscale scan."""
    pad = int(margin * amount.shape[0])
    sheet = np.pad(amount, pad)
    return Image.fromarray(np.round(255 * (1 - sheet)).astype(np.uint8), "L")


def photograph(amount: np.ndarray, rng: np.random.Generator, index: int, sharp_shadow: bool = False) -> bytes:
    """A phone photo of ink `amount` (float32 (h, w) in [0, 1]) written on paper: JPEG bytes.

    `digit_data.families.photograph_sheet`'s recipe (`sharp_shadow` included), for a sheet holding a whole number.
    """
    height = int(amount.shape[0] * rng.uniform(2.0, 3.0))
    width = int(amount.shape[1] * rng.uniform(1.2, 1.5))
    top = int(rng.integers(0, height - amount.shape[0] + 1))
    left = int(rng.integers(0, width - amount.shape[1] + 1))
    sheet = np.zeros((height, width), dtype=np.float32)
    sheet[top : top + amount.shape[0], left : left + amount.shape[1]] = amount * rng.uniform(0.85, 1.0)
    return families.photograph_sheet(sheet, rng, index, sharp_shadow=sharp_shadow)


def photograph_notebook(amount: np.ndarray, rng: np.random.Generator, index: int) -> bytes:
    """A phone photo of ink `amount` (float32 (h, w) in [0, 1]) written on a notebook's ruled (even `index`)
    or squared (odd) paper, tilted: JPEG bytes (`digit_data.families.photograph_notebook`)."""
    # Margins all round, so that the tilt carries no digit out of the photo.
    height = int(amount.shape[0] * rng.uniform(2.2, 3.0))
    width = int(amount.shape[1] * rng.uniform(1.25, 1.5))
    top = int(rng.integers(height // 8, height - amount.shape[0] - height // 8 + 1))
    left = int(rng.integers(width // 10, width - amount.shape[1] - width // 10 + 1))
    sheet = np.zeros((height, width), dtype=np.float32)
    sheet[top : top + amount.shape[0], left : left + amount.shape[1]] = amount * rng.uniform(0.85, 1.0)
    return families.photograph_notebook(sheet, amount.shape[0], rng, index)


def draw_number(digits: np.ndarray, rng: np.random.Generator, canvas_size: tuple[int, int] = CANVAS_SIZE) -> np.ndarray:
    """The digits re-drawn with one round pen across a canvas: float32 coverage (H, W) in [0, 1]."""
    width, height = canvas_size
    aspects = [families.crop_to_ink(digit).shape[1] / families.crop_to_ink(digit).shape[0] for digit in digits]
    gaps = rng.uniform(0.15, 0.5, len(digits) - 1)
    pen = rng.uniform(10, 30)
    # The tallest digit height that fits the canvas, and a random share of it.
    room = (width - 2 * pen - 20) / (sum(aspects) + gaps.sum())
    digit_height = min(room, (height - 2 * pen - 20) / 1.2) * rng.uniform(0.7, 1.0)
    total = digit_height * (sum(aspects) + gaps.sum())
    x = pen + 10 + rng.uniform(0, max(width - 2 * pen - 20 - total, 0))
    baseline = rng.uniform(pen + 10, max(height - pen - 10 - 1.2 * digit_height, pen + 10))
    coverage = np.zeros((height, width), dtype=np.float32)
    for position, digit in enumerate(digits):
        y = baseline + rng.uniform(0, 0.1) * digit_height
        coverage = np.maximum(coverage, families.draw_strokes(digit, canvas_size, digit_height, pen, (x, y)))
        x += digit_height * aspects[position]
        if position < len(gaps):
            x += gaps[position] * digit_height
    return coverage


def draw_single(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One digit (uint8 (28, 28), ink bright) drawn alone with a round pen of 10-30 px, 0.4-0.85 of the
    canvas high, somewhere on the wide canvas: uint8 RGBA (H, W, 4), black on opaque white.

    What a person drawing a single digit on the number tab hands the app: it must stay one digit.
    """
    width, height = CANVAS_SIZE
    pen = rng.uniform(10, 30)
    digit_height = rng.uniform(0.4, 0.85) * height
    ink = families.crop_to_ink(digit)
    aspect = ink.shape[1] / ink.shape[0]
    x = rng.uniform(pen, max(width - pen - aspect * digit_height, pen + 1))
    y = rng.uniform(pen, max(height - pen - digit_height, pen + 1))
    return families.opaque_canvas(families.draw_strokes(digit, (width, height), digit_height, pen, (x, y)))


def _inks(digits: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    scale = rng.uniform(3, 6)
    return [families.upscale(digit, scale) for digit in digits]


def make_spaced(digits: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    amount = layout(_inks(digits, rng), rng, (0.2, 0.6))
    return families.encode(paper(amount, rng, rng.uniform(0.2, 0.6)), "PNG")


def make_close(digits: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    amount = layout(_inks(digits, rng), rng, (0.0, 0.08))
    return families.encode(paper(amount, rng, rng.uniform(0.2, 0.6)), "PNG")


def make_touching(digits: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    amount = layout(_inks(digits, rng), rng, (0.0, 0.0), touch=True)
    return families.encode(paper(amount, rng, rng.uniform(0.2, 0.6)), "PNG")


def make_canvas(digits: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    return families.opaque_canvas(draw_number(digits, rng))


def make_photo(digits: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    amount = layout([families.upscale(digit, rng.uniform(5, 8)) for digit in digits], rng, (0.2, 0.6))
    return photograph(amount, rng, index)


def make_sharp_shadow(digits: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    amount = layout([families.upscale(digit, rng.uniform(5, 8)) for digit in digits], rng, (0.2, 0.6))
    return photograph(amount, rng, index, sharp_shadow=True)


def make_notebook(digits: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    amount = layout([families.upscale(digit, rng.uniform(5, 8)) for digit in digits], rng, (0.2, 0.6))
    return photograph_notebook(amount, rng, index)


def make_desk(digits: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    amount = layout([families.upscale(digit, rng.uniform(4, 7)) for digit in digits], rng, (0.2, 0.6))
    # A landscape photo round the number; the note (45-85% of each side) holds it.
    width = int(amount.shape[1] * rng.uniform(2.7, 3.5))
    height = max(int(amount.shape[0] * rng.uniform(3.0, 5.0)), width // 3)
    return families.photograph_desk(amount, rng, index, (height, width))


_MAKERS: dict[str, Callable[[np.ndarray, np.random.Generator, int], Any]] = {
    "spaced": make_spaced,
    "close": make_close,
    "touching": make_touching,
    "canvas": make_canvas,
    "photo": make_photo,
    "notebook": make_notebook,
    "desk": make_desk,
    "sharp-shadow": make_sharp_shadow,
}
