"""The validation split shared by every model, taken from MNIST's training set.

It lives here, below training/ and bench/, because both need it: training fits every model on
the first part and chooses checkpoints, temperatures and ensemble weights on the second, and
bench/ builds the numbers that choose the segmentation's thresholds from the same validation
digits (never from the test set).
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

VALIDATION_SIZE = 5_000
SPLIT_SEED = 0


def train_validation_indices(
    labels: np.ndarray, *, validation_size: int = VALIDATION_SIZE, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train_indices, validation_indices) into the training set, each int (n,) sorted.

    labels: int (n,), the training set's labels (MNIST's official 60,000 order). Every model trains
    on the first part only, so the validation part can choose the CNN's checkpoint, its temperature,
    the ensemble's weights and the segmentation's thresholds without touching the test set.
    """
    indices = np.arange(len(labels))
    validation_size = min(validation_size, len(labels) // 5)
    train_indices, validation_indices = train_test_split(
        indices, test_size=validation_size, stratify=labels, random_state=seed
    )
    return np.sort(train_indices), np.sort(validation_indices)
