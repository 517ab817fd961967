"""The one interface every model honours: `predict_proba(images) -> (n, 10)`."""

from __future__ import annotations

from typing import Protocol

import numpy as np

N_CLASSES = 10
SIDE = 28


class DigitModel(Protocol):
    """A digit classifier.

    `predict_proba` takes float32 images (n, 28, 28) in [0, 1], ink bright (MNIST's
    convention), and returns float64 probabilities (n, 10) whose rows sum to 1,
    column d being the probability of digit d.
    """

    key: str
    name: str

    def predict_proba(self, images: np.ndarray) -> np.ndarray: ...


def as_image_batch(images: np.ndarray) -> np.ndarray:
    """Check and convert images to float32 (n, 28, 28) in [0, 1]; one (28, 28) image becomes n=1."""
    batch = np.asarray(images, dtype=np.float32)
    if batch.ndim == 2:
        batch = batch[None]
    if batch.ndim == 2 + 1 and batch.shape[1:] == (SIDE * SIDE,):
        batch = batch.reshape(-1, SIDE, SIDE)
    if batch.ndim != 3 or batch.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"expected images of shape (n, 28, 28), got {np.shape(images)}")
    return batch


def normalise_rows(probabilities: np.ndarray) -> np.ndarray:
    """Rows (n, 10) made non-negative and summing to exactly 1 in float64."""
    probabilities = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    totals = probabilities.sum(axis=1, keepdims=True)
    uniform = np.full_like(probabilities, 1.0 / probabilities.shape[1])
    return np.where(totals > 0, probabilities / np.where(totals > 0, totals, 1.0), uniform)
