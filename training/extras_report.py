"""The report-only models' part of the report: `metrics.json["report_only"]` and a REPORT.md section.

Both come from `extras.json` (written by `python -m training extras`, training/extras.py), so
`python -m training report` keeps them when it rewrites the report, and the extras step can
fold them into an existing report without rescoring the four models. No extras.json, no section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXTRAS_FILE = "extras.json"
START, END = "<!-- extras: python -m training extras -->", "<!-- /extras -->"
# Published results on the same 10,000 test images, raw pixels, for comparison.
ANCHORS = {"tree": "about 88%", "xgboost": "about 97-98%"}
# Keys kept out of metrics.json: the tuning table stays in extras.json.
EXTRAS_ONLY = ("tuning",)


def read_extras(reports_dir: Path) -> dict[str, Any] | None:
    path = Path(reports_dir) / EXTRAS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def metrics_part(reports_dir: Path) -> dict[str, Any]:
    """{"report_only": {"tree": {...}, "xgboost": {...}}} for metrics.json, or {} before the extras step."""
    extras = read_extras(reports_dir)
    if not extras:
        return {}
    return {
        "report_only": {
            key: {name: value for name, value in entry.items() if name not in EXTRAS_ONLY}
            for key, entry in extras["models"].items()
        }
    }


def markdown_section(reports_dir: Path) -> list[str]:
    """REPORT.md lines for the report-only models, between START and END markers; [] without extras."""
    extras = read_extras(reports_dir)
    if not extras:
        return []
    models = extras["models"]
    lines = [
        START,
        "## Report-only models: a decision tree and gradient-boosted trees",
        "",
        f"Trained by `{extras['command']}`, a separate step ({extras['total_seconds'] / 60:.1f} min here,",
        "grid search and both shift choices included), on the random forest's deskewed features.",
        "Validation chose whether one-pixel shifts help, as for the forest; the test images chose nothing.",
        "Their files are not committed (sha256 and size in `extras.json`).",
        "",
        "| model | accuracy | published anchor (raw pixels) | log loss | validation accuracy "
        "| size | latency, 1 image | training |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for model in models.values():
        lines.append(
            f"| {model['name']} | **{model['accuracy']:.2%}** | {model['published_anchor']} | "
            f"{model['log_loss']:.4f} | {model['validation_accuracy']:.2%} | {model['size_bytes'] / 1e6:.1f} MB | "
            f"{model['latency_ms_one_image']:.1f} ms | {model['training_seconds'] / 60:.1f} min |"
        )
    lines.append("")
    if "tree" in models:
        tree = models["tree"]
        chosen = ", ".join(f"{name.split('__')[-1]}={value}" for name, value in tree["parameters"].items())
        lines += [
            f"- **{tree['name']}**: {tree['how_it_works']} GridSearchCV (3 folds, {tree['tuning_images']:,} "
            f"images, the forest's folds) chose {chosen}: depth {tree['depth']}, {tree['leaves']:,} leaves, "
            f"{_shift_text(tree)}.",
        ]
    if "xgboost" in models:
        boosting = models["xgboost"]
        settings = ", ".join(
            f"{name}={boosting['parameters'][name]}"
            for name in ("max_depth", "learning_rate", "max_bin", "subsample")
            if name in boosting["parameters"]
        )
        lines += [
            f"- **{boosting['name']}**: {boosting['how_it_works']} `tree_method=hist`, {settings}; early "
            f"stopping on the validation log loss kept {boosting['rounds']} rounds; {_shift_text(boosting)}.",
        ]
    lines += ["", *_ensemble_text(extras.get("ensemble_check")), END, ""]
    return lines


def _shift_text(entry: dict[str, Any]) -> str:
    return (
        f"{'with' if entry['shift_augmented'] else 'without'} one-pixel shifts "
        f"(validation {entry['validation_accuracy_without_shifts']:.2%} without, "
        f"{entry['validation_accuracy_with_shifts']:.2%} with; {entry['training_images']:,} training images)"
    )


def _ensemble_text(check: dict[str, Any] | None) -> list[str]:
    why = (
        "The app's live comparison stays the four models and their ensemble: six bars per model "
        "would crowd the page, and neither extra beats the CNN"
    )
    if not check:
        return [f"{why}."]
    four, with_extras = check["four"], check["with_extras"]
    shares = ", ".join(f"{key} {weight:.2f}" for key, weight in with_extras["weights"].items())
    return [
        f"{why}. Would either earn a place in the ensemble? Weights re-learned on the "
        f"{check['validation_images']:,} validation images with both extras as candidates: {shares}; "
        f"validation accuracy {four['accuracy']:.2%} → {with_extras['accuracy']:.2%}, "
        f"log loss {four['log_loss']:.4f} → {with_extras['log_loss']:.4f} (four members → with extras).",
    ]


def fold_into_report(reports_dir: Path) -> None:
    """Put the extras into an existing metrics.json and REPORT.md, replacing any earlier extras section."""
    reports_dir = Path(reports_dir)
    metrics_path = reports_dir / "metrics.json"
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())
        metrics.update(metrics_part(reports_dir))
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
    report_path = reports_dir / "REPORT.md"
    if report_path.exists():
        text = report_path.read_text()
        if START in text and END in text:
            text = text[: text.index(START)] + text[text.index(END) + len(END) :].lstrip("\n")
        section = "\n".join(markdown_section(reports_dir)) + "\n"
        anchor = "## Per-class precision"
        text = text.replace(anchor, section + anchor, 1) if anchor in text else text.rstrip("\n") + "\n\n" + section
        report_path.write_text(text)
