"""Data augmentation: one-pixel shifts for the scikit-learn models, random affine for the CNN."""

from __future__ import annotations

import numpy as np

# (rows, columns) moves: the original, then one pixel up, down, left and right.
SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


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
