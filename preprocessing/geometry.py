"""The few image operations every step needs, written once: shrink, crop, resize, hysteresis.

Pillow and SciPy do the work; these functions only fix the conventions: boxes are
(left, top, right, bottom) with right/bottom exclusive, float images are float32.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

Box = tuple[int, int, int, int]
"""(left, top, right, bottom) in pixels, right and bottom exclusive."""

EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)
"""Connectivity of strokes: a diagonal step continues a line."""


def reduction_factor(size: tuple[int, int], max_side: int) -> int:
    """The smallest whole factor that brings the longest of `size` down to at most `max_side`."""
    return max(1, math.ceil(max(size) / max_side))


def reduce_image(image: Image.Image, max_side: int) -> tuple[Image.Image, int]:
    """Shrink a PIL image by a whole factor (box average) until its longest side fits `max_side`.

    Averaging whole blocks keeps a thin pen line as a faint line instead of dropping it.
    Returns the image (the same object when already small enough) and the factor.
    """
    factor = reduction_factor(image.size, max_side)
    return (image.reduce(factor) if factor > 1 else image), factor


def reduce_array(array: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """`reduce_image` for float32 (H, W): the reduced float32 copy and the factor."""
    if reduction_factor(array.shape, max_side) == 1:
        return array, 1
    reduced, factor = reduce_image(Image.fromarray(np.ascontiguousarray(array, dtype=np.float32), "F"), max_side)
    return np.asarray(reduced), factor


def bounding_box(mask: np.ndarray) -> Box | None:
    """The box of the True pixels of a bool (h, w) mask; None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def to_input_box(box: Box, shape: tuple[int, int], input_size: tuple[int, int]) -> Box:
    """A box in a (possibly reduced) copy of shape (height, width), grown outwards to whole
    pixels of the input of size (width, height)."""
    scale_x, scale_y = input_size[0] / shape[1], input_size[1] / shape[0]
    left, top, right, bottom = box
    return (
        math.floor(left * scale_x),
        math.floor(top * scale_y),
        min(math.ceil(right * scale_x), input_size[0]),
        min(math.ceil(bottom * scale_y), input_size[1]),
    )


def crop(array: np.ndarray, box: Box) -> np.ndarray:
    """The part of an (h, w, ...) array inside `box` (a view)."""
    left, top, right, bottom = box
    return array[top:bottom, left:right]


def crop_to_mask(array: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """`array` cropped to the box of `mask` (default: its own non-zero pixels); as it is when the mask is empty."""
    box = bounding_box(array != 0 if mask is None else mask)
    return array if box is None else crop(array, box)


def resize_longest_side(image: np.ndarray, side: int) -> np.ndarray:
    """Scale float32 (h, w) keeping its aspect so its longest side is `side`: float32 (h', w').

    Shrinking averages boxes of pixels (anti-aliasing, as MNIST's digits were made; a thin
    line fades rather than vanishes); enlarging interpolates bilinearly.
    """
    height, width = image.shape
    scale = side / max(height, width)
    return resize(image, max(1, round(height * scale)), max(1, round(width * scale)))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale float32 (h, w) to float32 (height, width): box averaging when shrinking, bilinear when enlarging."""
    resample = Image.Resampling.BOX if height * width < image.size else Image.Resampling.BILINEAR
    return np.asarray(
        Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), "F").resize((width, height), resample)
    )


def strokes(values: np.ndarray, low: float, high: float) -> tuple[np.ndarray, int]:
    """Hysteresis: 8-connected groups of pixels above `low` that reach above `high` somewhere.

    values: float (h, w). Returns int32 labels (h, w), 0 off the strokes and 1..count on
    them, and count. A faint stretch of a line stays part of it when it joins a clear part.
    """
    labels, count = ndimage.label(values > low, structure=EIGHT_NEIGHBOURS)
    strong = np.zeros(count + 1, dtype=bool)
    strong[labels[values > high]] = True
    strong[0] = False
    # Number the strong groups 1..n in their order and send every other pixel to 0.
    numbering = np.where(strong, np.cumsum(strong), 0).astype(np.int32)
    return numbering[labels], int(strong.sum())


def hysteresis(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """bool (h, w): the pixels of `strokes(values, low, high)`."""
    return strokes(values, low, high)[0] > 0


def labels_on_border(labels: np.ndarray) -> np.ndarray:
    """The labels (ints > 0) of int (h, w) `labels` that have a pixel on the image's border, sorted."""
    on_border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return on_border[on_border > 0]
