"""The data every model trains on, prepared once per command: MNIST loaded, validation split off.

Below `train` and every step that trains (the CNNs, the ensemble, the number networks, the personal
rule, the KNN's row map), which all take a `Prepared`; it imports none of them.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from digit_data import mnist
from training import splits

QUICK_TRAIN_SIZE = 3_000
QUICK_TEST_SIZE = 1_000


@dataclasses.dataclass
class Prepared:
    """The data every model trains on: uint8 images (n, 28, 28), labels (n,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str
    quick: bool
    cache_key: str
    # Position of each X_train row in the source's training set (MNIST's official 60,000 order),
    # so the KNN can name its neighbours (training/neighbours.py).
    train_rows: np.ndarray | None = None


def prepare(data_path: str | None, *, quick: bool) -> Prepared:
    """Load MNIST, split off the validation part, and shrink everything for --quick."""
    dataset = mnist.load_mnist(data_path)
    X_train, y_train, X_test, y_test = dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test
    source_rows = np.arange(len(y_train))
    if quick:
        keep = splits.stratified_subset(y_train, QUICK_TRAIN_SIZE)
        X_train, y_train, source_rows = X_train[keep], y_train[keep], keep
        keep = splits.stratified_subset(y_test, QUICK_TEST_SIZE)
        X_test, y_test = X_test[keep], y_test[keep]
    train_indices, validation_indices = splits.train_validation_indices(y_train)
    print(f"data: {dataset.describe()}")
    print(
        f"      {len(train_indices):,} train / {len(validation_indices):,} validation / {len(X_test):,} test"
        + (" (--quick subset)" if quick else "")
    )
    return Prepared(
        X_train=X_train[train_indices],
        y_train=y_train[train_indices],
        X_val=X_train[validation_indices],
        y_val=y_train[validation_indices],
        X_test=X_test,
        y_test=y_test,
        source=dataset.describe(),
        quick=quick,
        cache_key=hashlib.sha256(f"{dataset.source}|{len(dataset.y_train)}|{quick}".encode()).hexdigest()[:12],
        train_rows=source_rows[train_indices],
    )


def log(message: str) -> None:
    """One progress line, printed at once even when the output is a pipe."""
    print(message, flush=True)
