"""The "Models" tab: the report's metrics table, how each model works, and the report's figures."""

from __future__ import annotations

import json
from pathlib import Path

from digit_models.artifacts import MEMBER_KEYS, SEGMENTATION_KEYS, read_manifest
from digit_models.names import DISPLAY_NAMES


def models_markdown(reports_dir: Path, models_dir: Path) -> str:
    """Markdown for the "Models" tab: the metrics table and how each model works.

    Reads reports_dir/metrics.json (written by `python -m training report`); falls back to
    the manifest's test metrics when the report has not been written yet.
    """
    metrics_path = Path(reports_dir) / "metrics.json"
    report_only: dict = {}
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())
        models = metrics["models"]
        # `python -m training extras`: a decision tree and XGBoost, compared here but not served.
        report_only = metrics.get("report_only", {})
        count = metrics.get("test_images")
        count = f"{count:,}" if isinstance(count, int) else "MNIST"
        source = f"Scored on the {count} MNIST test images by `python -m training report`."
    else:
        entries = read_manifest(models_dir)["models"]
        models = {
            key: {
                "accuracy": entry.get("test_accuracy"),
                "log_loss": entry.get("test_log_loss"),
                "size_bytes": entry.get("size_bytes"),
                "how_it_works": entry.get("how_it_works", ""),
            }
            for key, entry in entries.items()
            if key not in SEGMENTATION_KEYS  # the segmentation's networks, not digit models
        }
        source = "From the model manifest; run `python -m training report` for the full report."
    lines = [
        "| model | test accuracy | log loss | size | latency, one image | how it works |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    rows = [(DISPLAY_NAMES.get(key, key), models[key]) for key in (*MEMBER_KEYS, "ensemble") if key in models]
    rows += [(f"{row.get('name', key)} (report only)", row) for key, row in report_only.items()]
    for name, row in rows:
        lines.append(
            f"| {name} | {_percent(row.get('accuracy'))} | {_number(row.get('log_loss'), 4)} "
            f"| {_megabytes(row.get('size_bytes'))} | {_number(row.get('latency_ms_one_image'), 1, ' ms')} "
            f"| {row.get('how_it_works', '')} |"
        )
    if report_only:
        source += (
            " Models marked *report only* are trained by `python -m training extras` for the comparison and not "
            "served: they earned no weight in the ensemble on validation, and the page stays four models wide."
        )
    return "\n".join([*lines, "", source])


def report_figures(reports_dir: Path) -> list[tuple[str, str]]:
    """(path, caption) of the report's figures that exist: confusion matrices, then misclassified digits."""
    reports_dir = Path(reports_dir)
    candidates = [("confusion_matrices.png", "Confusion matrices on the MNIST test set (rows: true digit)")]
    candidates += [
        (f"misclassified_{key}.png", f"{DISPLAY_NAMES[key]}: misclassified test digits (true→predicted)")
        for key in (*MEMBER_KEYS, "ensemble")
    ]
    return [(str(reports_dir / name), caption) for name, caption in candidates if (reports_dir / name).exists()]


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "–"


def _number(value: float | None, decimals: int, unit: str = "") -> str:
    return f"{value:.{decimals}f}{unit}" if isinstance(value, int | float) else "–"


def _megabytes(size: int | None) -> str:
    if not isinstance(size, int | float):
        return "–"
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
