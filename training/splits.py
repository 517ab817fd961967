"""The validation split shared by every model, taken from the training set."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

# The split itself lives in digit_models (bench/ builds validation numbers from it too); training
# keeps using it through this module.
from digit_data.splits import SPLIT_SEED, VALIDATION_SIZE, train_validation_indices

__all__ = ["SPLIT_SEED", "VALIDATION_SIZE", "stratified_subset", "to_float_images", "train_validation_indices"]


def stratified_subset(labels: np.ndarray, size: int, *, seed: int = SPLIT_SEED) -> np.ndarray:
    """Sorted indices of a stratified subset of `size` rows (all rows when size >= n)."""
    if size >= len(labels):
        return np.arange(len(labels))
    subset, _ = train_test_split(np.arange(len(labels)), train_size=size, stratify=labels, random_state=seed)
    return np.sort(subset)


def to_float_images(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 28, 28) in [0, 1], the models' input."""
    return np.asarray(images, dtype=np.float32) / 255.0
