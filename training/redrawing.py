"""The MNIST frame every re-drawn digit lands in: crop to the ink, resize, re-normalise as the app does."""

from __future__ import annotations

import numpy as np
from PIL import Image

from preprocessing import normalisation

_INKED = 0.05
"""A pixel above this (of 1.0) counts as ink when cropping; MNIST's background is exactly 0."""


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
