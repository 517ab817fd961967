"""Which MNIST training digit is each row the KNN was fitted on? Written next to the KNN.

The KNN explains itself by its nearest training digits (digit_models/explain.py). It stores
its fitted rows as PCA features, not as positions in MNIST, so the training command writes
`knn_rows.npy`: int32 (n_fitted,), the index in the source's training set (for the default
source, MNIST's official 60,000-image order) of every fitted row, and names it with its
sha256 in the KNN's manifest entry. `python -m training knn-indices` writes it for a KNN that
was trained before the file existed, recomputing the split with training/splits.py and
checking every label against the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from digit_models import artifacts, explain
from training import augmentation

FIELD = explain.TRAINING_ROWS_FIELD
FILE_NAME = "knn_rows.npy"


def write_rows(train_rows: np.ndarray, shifted: bool, models_dir: Path) -> dict[str, Any]:
    """Save the fitted rows' source indices; returns the manifest field {"file", "sha256", ...}.

    train_rows: int (n,), the source index of each training image. With shift augmentation the
    KNN was fitted on the originals followed by one block per shift (augmentation.shift_augment),
    so every block maps to the same indices.
    """
    rows = np.asarray(train_rows, dtype=np.int32)
    if shifted:
        rows = np.tile(rows, len(augmentation.SHIFTS))
    path = Path(models_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, rows, allow_pickle=False)
    return {
        "file": path.name,
        "sha256": artifacts.sha256_of(path),
        "size_bytes": path.stat().st_size,
        "fitted_rows": len(rows),
        "shift_copies": len(augmentation.SHIFTS) if shifted else 1,
        "meaning": "index in the source's training set (MNIST's official 60,000 order) of each fitted KNN row",
    }


def main(data_path: str | None, models_dir: Path, *, quick: bool) -> dict[str, Any]:
    """Write knn_rows.npy for the KNN already in `models_dir`, after checking it against the data.

    Recomputes the training split exactly as `python -m training knn` made it and refuses
    (ValueError) unless the KNN holds as many rows and the same label on every row.
    """
    from training import preparation

    prepared = preparation.prepare(data_path, quick=quick)
    entry = artifacts.read_manifest(models_dir)["models"]["knn"]
    model = artifacts.load_model("knn", entry, models_dir)
    knn = model.pipeline.steps[-1][1]
    shifted = bool(entry.get("shift_augmented"))
    copies = len(augmentation.SHIFTS) if shifted else 1
    fitted_labels = np.asarray(knn.classes_)[np.asarray(knn._y)]  # scikit-learn keeps labels as positions.
    if len(fitted_labels) != copies * len(prepared.train_rows):
        raise ValueError(
            f"{models_dir / entry['file']}: the KNN holds {len(fitted_labels):,} rows but the split gives "
            f"{copies} x {len(prepared.train_rows):,}; was it trained with other data or --quick?"
        )
    expected = np.tile(prepared.y_train, copies)
    if not np.array_equal(fitted_labels, expected):
        raise ValueError(f"{models_dir / entry['file']}: the KNN's labels differ from the split's labels")
    entry[FIELD] = write_rows(prepared.train_rows, shifted, models_dir)
    artifacts.update_manifest_entry("knn", entry, models_dir)
    print(
        f"knn-indices: {len(fitted_labels):,} fitted rows mapped to training indices, every label checked; "
        f"wrote {models_dir / FILE_NAME}",
        flush=True,
    )
    return entry[FIELD]
