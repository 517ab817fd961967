"""`python -m training corrections`: every model's accuracy on the corrections people made, and an export.

Reads every correction stored by the app (digit_models/corrections.py, under $DIGITS_DATA_DIR, or
in each `--data-dir` given: replicas behind nginx keep one database each, merged here), runs
today's models on the stored 28x28 inputs, and
- prints and writes each model's accuracy on them, today and when the person corrected it,
  to `<reports dir>/corrections.json` (numbers only, no drawings);
- exports the drawings into `$DIGITS_DATA_DIR/export/` (git-ignored, like the database; the first
  `--data-dir` when several are merged): one PNG per correction, oldest first, and
  `corrections.csv` in Kaggle's train.csv format (`label,pixel0..pixel783`, integers 0-255),
  which every training command reads with `--data`, and `examples.csv` (`file,label`, one row per PNG),
  which `python -m digit_models predict ... --personal` reads as a person's examples.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from digit_models import artifacts, classify
from digit_models import corrections as store
from digit_models.names import ALL_KEYS

REPORT_NAME = "corrections.json"
CSV_NAME = "corrections.csv"
EXAMPLES_NAME = "examples.csv"


def main(models_dir: Path, reports_dir: Path, data_dirs: Sequence[Path] = ()) -> int:
    """Score and export the stored corrections; returns the exit status (2 if they cannot be read).

    data_dirs: the app's data folders to merge (each with its own database); none means
    $DIGITS_DATA_DIR (default .data).
    """
    folders = list(data_dirs) or [store.data_dir()]
    try:
        # Oldest first across every database; ids restart at 1 in each, so they only break ties.
        stored = sorted(
            (correction for folder in folders for correction in store.list_corrections(folder=folder)),
            key=lambda correction: (correction.created_at, correction.id),
        )
    except store.CorrectionsError as error:
        print(f"error: {error}")
        return 2
    if not stored:
        print(f"no corrections stored yet in {', '.join(str(store.database_path(folder)) for folder in folders)}")
        return 0
    models = artifacts.load_models(models_dir)
    report = {**score(models, stored), "databases": [str(store.database_path(folder)) for folder in folders]}
    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / REPORT_NAME).write_text(json.dumps(report, indent=2) + "\n")
    output_dir = folders[0] / "export"
    csv_path = export(stored, output_dir)
    print(f"{report['corrections']} corrections ({report['per_digit']} meant per digit)")
    print(f"  {'model':9s} {'today':>7s} {'then':>7s}")
    for key, row in report["models"].items():
        then = f"{row['accuracy_when_corrected']:.1%}" if row["accuracy_when_corrected"] is not None else "-"
        print(f"  {key:9s} {row['accuracy']:7.1%} {then:>7s}")
    print(f"wrote {reports_dir / REPORT_NAME}; exported {len(stored)} PNGs and {csv_path}")
    return 0


def score(models: dict[str, Any], stored: list[store.Correction]) -> dict[str, Any]:
    """Accuracy of every model on the corrections, now and as stored when the person clicked."""
    images = np.stack([correction.image for correction in stored])
    meant = np.array([correction.meant for correction in stored])
    probabilities = classify.predict_all(models, images)
    rows = {}
    for key in [key for key in ALL_KEYS if key in probabilities]:
        then = [correction.model_digits().get(key) for correction in stored]
        known = [(digit, truth) for digit, truth in zip(then, meant, strict=True) if digit is not None]
        rows[key] = {
            "accuracy": float(np.mean(probabilities[key].argmax(axis=1) == meant)),
            "accuracy_when_corrected": float(np.mean([d == t for d, t in known])) if known else None,
        }
    return {
        "corrections": len(stored),
        "per_digit": dict(sorted(Counter(int(digit) for digit in meant).items())),
        "app_versions": sorted({correction.app_version for correction in stored}),
        "models": rows,
        "note": "accuracy: today's models on the stored 28x28 inputs; when corrected: the answers stored with them",
    }


def export(stored: list[store.Correction], output_dir: Path) -> Path:
    """One PNG per correction (`00012_meant_7.png`: the 12th in `stored`, 28x28, ink bright), their list as a
    person's examples (`examples.csv`) and Kaggle's CSV; returns the Kaggle CSV's path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    pixels = [np.round(correction.image * 255).astype(np.uint8) for correction in stored]
    examples = ["file,label"]
    for number, (correction, image) in enumerate(zip(stored, pixels, strict=True), start=1):
        name = f"{number:05d}_meant_{correction.meant}.png"
        Image.fromarray(image, mode="L").save(output_dir / name)
        examples.append(f"{name},{correction.meant}")
    (output_dir / EXAMPLES_NAME).write_text("\n".join(examples) + "\n")
    header = ",".join(["label", *(f"pixel{index}" for index in range(28 * 28))])
    lines = [header]
    lines += [
        f"{correction.meant}," + ",".join(map(str, image.ravel().tolist()))
        for correction, image in zip(stored, pixels, strict=True)
    ]
    path = output_dir / CSV_NAME
    path.write_text("\n".join(lines) + "\n")
    return path
