"""Crops a number's segmentation may hand the models, labelled "one whole digit" or not.

When digits touch, the cut search (`digit_models.reading.cuts`) reads every stretch between candidate
cuts. The digit classifiers were trained on whole digits only: they read half a 0 as a confident
1 and two touching digits as an 8. The whole-digit check learns the difference from pairs of
MNIST training digits pushed together until their ink touches or overlaps, as in handwriting:

- whole (label 1): one digit's own ink, sometimes with the few pixels of its neighbour that a cut
  through their junction leaves on it;
- not whole (label 0): both digits as one; one digit with a part of its neighbour; a piece of a
  digit (cut by a slanted line); a piece of each across their junction.

Every crop goes through `preprocessing.normalisation.to_mnist_frame`, as the segmentation's crops do.
Pure NumPy/SciPy on uint8 (n, 28, 28) digits; deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from preprocessing import normalisation

INK_LEVEL = 60
"""A pixel (of 255) holds ink above this: where a digit's own ink and its neighbour's are told apart."""

JUNCTION_REACH = 2
"""A whole digit may keep its neighbour's ink within this many pixels of its own (at 28-px scale):
what a cut through the point where they touch leaves behind."""

PIECE_FRACTIONS = (0.15, 0.8)
"""A piece of a digit keeps this share of its width (a slanted cut anywhere between)."""

PARTIAL_NEIGHBOUR = (0.3, 0.8)
"""A digit with part of its neighbour takes this share of the neighbour's width."""


def crop_to_ink(image: np.ndarray) -> np.ndarray:
    """The image (h, w) cut to the box of its pixels above zero; the image itself when it has none."""
    rows = np.flatnonzero(image.max(axis=1) > 0)
    columns = np.flatnonzero(image.max(axis=0) > 0)
    if len(rows) == 0:
        return image
    return image[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def touching_pair(first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two digits (uint8 (28, 28)) side by side, the second pushed left until their ink overlaps by 0-3 px.

    Returns the pair's ink float32 (h, w) in [0, 1] and whose each pixel is (int8 (h, w): 0 paper,
    1 first, 2 second; where both have ink, the darker one's).
    """
    left, right = (crop_to_ink(digit).astype(np.float32) / 255 for digit in (first, second))
    drop = int(rng.integers(-3, 4))  # the second digit a little higher or lower
    height = max(left.shape[0], right.shape[0] + abs(drop)) + 2
    width = left.shape[1] + right.shape[1] + 2
    top_left = (height - left.shape[0]) // 2
    top_right = int(np.clip((height - right.shape[0]) // 2 + drop, 0, height - right.shape[0]))
    placed = np.zeros((height, width), np.float32)
    placed[top_left : top_left + left.shape[0], : left.shape[1]] = left
    inked = placed > INK_LEVEL / 255
    moving = right > INK_LEVEL / 255
    overlap = int(rng.integers(0, 4))
    x = left.shape[1]
    # Slide left until the inks meet, then `overlap` columns further.
    while x > 0 and not (inked[top_right : top_right + right.shape[0], x : x + right.shape[1]] & moving).any():
        x -= 1
    x = max(x - overlap, 0)
    second_layer = np.zeros_like(placed)
    second_layer[top_right : top_right + right.shape[0], x : x + right.shape[1]] = right
    ink = np.maximum(placed, second_layer)
    owner = np.where(second_layer > placed, 2, np.where(placed > 0, 1, 0)).astype(np.int8)
    owner[ink == 0] = 0
    width = int(np.flatnonzero(ink.max(axis=0) > 0)[-1]) + 1
    return ink[:, :width], owner[:, :width]


def slanted_side(shape: tuple[int, int], column: float, slant: float, keep_left: bool) -> np.ndarray:
    """bool (h, w): the pixels left (or right) of the line through `column` at mid-height,
    leaning by `slant` columns per row."""
    rows, columns = np.indices(shape)
    line = column + slant * (rows - shape[0] / 2)
    return columns < line if keep_left else columns >= line


def _extent(mask: np.ndarray) -> tuple[int, int]:
    """First and one-past-last column holding True."""
    columns = np.flatnonzero(mask.any(axis=0))
    return int(columns[0]), int(columns[-1]) + 1


def crops_of_pair(ink: np.ndarray, owner: np.ndarray, rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
    """One whole and one not-whole crop of a touching pair: [(float32 (h, w) ink, label)]."""
    side = int(rng.integers(1, 3))  # the digit the crops are about
    own = owner == side
    other = owner == 3 - side
    whole = own.copy()
    if rng.random() < 0.5:
        whole |= other & ndimage.binary_dilation(own, iterations=int(rng.integers(1, JUNCTION_REACH + 1)))
    slant = rng.uniform(-0.3, 0.3)
    kind = int(rng.integers(4))
    if kind == 0:  # both digits as one
        broken = own | other
    elif kind == 1:  # the digit and part of its neighbour, from the side where they meet
        start, stop = _extent(other)
        share = rng.uniform(*PARTIAL_NEIGHBOUR)
        column = start + share * (stop - start) if side == 1 else stop - share * (stop - start)
        broken = own | (other & slanted_side(ink.shape, column, slant, keep_left=side == 1))
    elif kind == 2:  # a piece of the digit
        start, stop = _extent(own)
        column = start + rng.uniform(*PIECE_FRACTIONS) * (stop - start)
        broken = own & slanted_side(ink.shape, column, slant, keep_left=bool(rng.integers(2)))
    else:  # a piece of each, across their junction
        first_start, first_stop = _extent(owner == 1)
        second_start, second_stop = _extent(owner == 2)
        left_cut = first_start + rng.uniform(0.2, 0.7) * (first_stop - first_start)
        right_cut = second_start + rng.uniform(0.3, 0.8) * (second_stop - second_start)
        broken = ((owner == 1) & slanted_side(ink.shape, left_cut, slant, keep_left=False)) | (
            (owner == 2) & slanted_side(ink.shape, right_cut, slant, keep_left=True)
        )
    crops = []
    for mask, label in ((whole, 1), (broken, 0)):
        kept = np.where(mask, ink, 0)
        if (kept > INK_LEVEL / 255).sum() >= 4:
            crops.append((crop_to_ink(kept), label))
    return crops


def whole_digit_examples(digits: np.ndarray, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """About `count` crops from random touching pairs of `digits` (uint8 (n, 28, 28), ink bright), half whole.

    Returns uint8 (m, 28, 28) in the MNIST frame (ink bright) and labels int8 (m,): 1 whole digit, 0 not.
    """
    images, labels = [], []
    while len(images) < count:
        first, second = rng.choice(len(digits), 2, replace=False)
        ink, owner = touching_pair(digits[first], digits[second], rng)
        for crop, label in crops_of_pair(ink, owner, rng):
            images.append(np.round(normalisation.to_mnist_frame(crop) * 255).astype(np.uint8))
            labels.append(label)
    return np.stack(images[:count]), np.asarray(labels[:count], dtype=np.int8)
