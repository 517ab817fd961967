"""Groups of touching digits for the line reader: MNIST training digits pushed together, with their labels.

A group is what the segmentation hands the line reader (`preprocessing.line_image`): 1 to
MAX_DIGITS digits joined into one stroke, written a little higher or lower and a little larger or
smaller than each other, each pushed left until its ink meets its neighbour's and then up to
MAX_OVERLAP columns further (sometimes stopping short of it: strokes merged by overlapping boxes
without touching). Half the digits come re-drawn in the CNNs' styles (a round pen, low resolution:
`training.augmentation`), as a canvas or a photo would give them.

Pure NumPy/SciPy on uint8 (n, 28, 28) digits; deterministic for a seed.
"""

from __future__ import annotations

import numpy as np

from preprocessing import geometry, line_image
from training import whole_digit_data

MAX_DIGITS = 6
"""The most digits in one group (the read-number budget's 6-digit number, all touching)."""

MAX_OVERLAP = 2
"""Columns (at MNIST's 28-px scale) by which a digit may run into its neighbour once their inks meet."""

SIZE_CHANGE = 0.15
"""A digit may be up to this much larger or smaller than 20 px (relative)."""

RISE = 0.12
"""A digit may sit up to this share of its height higher or lower than the line."""


def touching_group(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Digits (uint8 (28, 28), ink bright) side by side, each pushed into the one before: float32 (h, w) in [0, 1]."""
    inks = []
    for digit in digits:
        crop = whole_digit_data.crop_to_ink(digit).astype(np.float32) / 255
        scale = 1 + rng.uniform(-SIZE_CHANGE, SIZE_CHANGE)
        inks.append(geometry.resize(crop, max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))))
    tallest = max(ink.shape[0] for ink in inks)
    rise = round(RISE * tallest) + 1
    height = tallest + 2 * rise
    canvas = np.zeros((height, sum(ink.shape[1] for ink in inks) + 2), np.float32)
    right_edge = 0
    for ink in inks:
        top = int(np.clip((height - ink.shape[0]) // 2 + rng.integers(-rise, rise + 1), 0, height - ink.shape[0]))
        left = _meeting_column(canvas, ink, top, right_edge) if right_edge else 0
        if right_edge:
            left = int(np.clip(left - rng.integers(-1, MAX_OVERLAP + 1), 0, right_edge))
        region = canvas[top : top + ink.shape[0], left : left + ink.shape[1]]
        np.maximum(region, ink, out=region)
        right_edge = max(right_edge, left + ink.shape[1])
    return whole_digit_data.crop_to_ink(canvas)


def _meeting_column(canvas: np.ndarray, ink: np.ndarray, top: int, right_edge: int) -> int:
    """The left edge at which `ink`, slid left from `right_edge`, first meets the ink already on `canvas`."""
    inked = ink > whole_digit_data.INK_LEVEL / 255
    placed = canvas[top : top + ink.shape[0]] > whole_digit_data.INK_LEVEL / 255
    for left in range(right_edge, 0, -1):
        window = placed[:, left : left + ink.shape[1]]
        if (window & inked[:, : window.shape[1]]).any():
            return left
    return 0


def line_examples(
    digits: np.ndarray, labels: np.ndarray, count: int, rng: np.random.Generator, max_digits: int = MAX_DIGITS
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """`count` line images of touching groups of `digits` (uint8 (n, 28, 28)) and their digit sequences.

    Returns line images float32 (LINE_HEIGHT, W) (`preprocessing.line_image.to_line_image`) and
    int64 (k,) digit labels, left to right; groups of 1 to `max_digits` digits, equally often.
    """
    images, sequences = [], []
    for _ in range(count):
        chosen = rng.choice(len(digits), int(rng.integers(1, max_digits + 1)), replace=False)
        line, _ = line_image.to_line_image(touching_group([digits[index] for index in chosen], rng))
        images.append(line)
        sequences.append(np.asarray(labels[chosen], dtype=np.int64))
    return images, sequences
