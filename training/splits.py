"""The validation split shared by every model, taken from the training set."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

VALIDATION_SIZE = 5_000
SPLIT_SEED = 0


def train_validation_indices(labels: np.ndarray, *, validation_size: int = VALIDATION_SIZE, seed: int = SPLIT_SEED):
    """Stratified (train_indices, validation_indices) into the training set.

    Every model trains on the first part only, so the validation part can choose the CNN's
    checkpoint, its temperature and the ensemble's weights without touching the test set.
    """
    indices = np.arange(len(labels))
    validation_size = min(validation_size, len(labels) // 5)
    train_indices, validation_indices = train_test_split(
        indices, test_size=validation_size, stratify=labels, random_state=seed
    )
    return np.sort(train_indices), np.sort(validation_indices)


def stratified_subset(labels: np.ndarray, size: int, *, seed: int = SPLIT_SEED) -> np.ndarray:
    """Sorted indices of a stratified subset of `size` rows (all rows when size >= n)."""
    if size >= len(labels):
        return np.arange(len(labels))
    subset, _ = train_test_split(np.arange(len(labels)), train_size=size, stratify=labels, random_state=seed)
    return np.sort(subset)


def to_float_images(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 28, 28) in [0, 1], the models' input."""
    return np.asarray(images, dtype=np.float32) / 255.0
