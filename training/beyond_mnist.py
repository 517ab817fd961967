"""REPORT.md's "Beyond MNIST" section: every model on other writers' digits, next to MNIST's test set.

Other writers: scikit-learn's load_digits through the whole pipeline (digit_models.cross_writer).
Families: bench/results/family_accuracy.json (`python -m bench.family_accuracy`), shown only
when it was measured on the artifacts the manifest names now. Nothing here chooses anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from digit_models import cross_writer
from digit_models.names import DISPLAY_NAMES

FAMILIES_FILE = Path(__file__).resolve().parent.parent / "bench" / "results" / "family_accuracy.json"
CROSS_WRITER_FILE = Path(__file__).resolve().parent.parent / "bench" / "results" / "cross_writer.json"


def measure(models, manifest: dict[str, Any], test_accuracy: dict[str, float]) -> dict[str, Any]:
    """load_digits accuracy of every model and ensemble member, with MNIST test accuracy and families."""
    result = cross_writer.evaluate(models)
    scans = cross_writer.evaluate(models, name="mfeat_development")
    weights = manifest.get("ensemble", {}).get("weights", {})
    rows = []
    # The ensemble last, after the shown models and its extra members.
    for key in sorted(result["accuracy"], key=lambda key: key == "ensemble"):
        accuracy = result["accuracy"][key]
        rows.append(
            {
                "key": key,
                "name": DISPLAY_NAMES.get(key, f"{key} (ensemble member only)"),
                "load_digits_accuracy": accuracy,
                "mfeat_development_accuracy": scans["accuracy"][key],
                "mnist_test_accuracy": test_accuracy.get(key, manifest.get(key, {}).get("test_accuracy")),
                "ensemble_weight": weights.get(key) if key != "ensemble" else None,
            }
        )
    return {
        "images": result["images"],
        "not_found": result["not_found"],
        "not_found_reasons": result["not_found_reasons"],
        "mfeat_development_not_found": scans["not_found"],
        "rows": rows,
        "families": _families(manifest),
        "personal": _personal_curve(manifest),
    }


def _measured_on_current(path: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """A benchmark's JSON, if it scored the artifacts the manifest names now."""
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    current = {key: entry.get("sha256", "")[:12] for key, entry in manifest.items() if "sha256" in entry}
    if any(current.get(key) != digest for key, digest in record.get("models", {}).items()):
        return None
    return record


def _personal_curve(manifest: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The mfeat development half with a writer's own examples, from `python -m bench.cross_writer`."""
    record = _measured_on_current(CROSS_WRITER_FILE, manifest)
    return (record or {}).get("sets", {}).get("mfeat_development", {}).get("personal", {}).get("rows")


def _families(manifest: dict[str, Any]) -> dict[str, dict[str, float]] | None:
    """family -> {key: accuracy} from the benchmark's JSON, if it scored the current artifacts."""
    record = _measured_on_current(FAMILIES_FILE, manifest)
    if record is None:
        return None
    return {row["family"]: row["accuracy"] | {"not_found": row["not_found"]} for row in record.get("rows", [])}


def markdown(beyond: dict[str, Any]) -> list[str]:
    """The section's lines."""
    lines = [
        "## Writers beyond MNIST",
        "",
        f"load_digits: {beyond['images']:,} digits by 43 writers who are not in MNIST (8x8, 16 grey levels), "
        "enlarged to 128x128 dark ink on white and fed through the whole preprocessing "
        "(`digit_models/cross_writer.py`). mfeat: the open development half of UCI mfeat-pix (1,000 numerals "
        "scanned from Dutch utility maps, 16x15, thick strokes filling the frame, flagged 1s, closed 4s; rows "
        "0-99 of each class), enlarged to 128 px high. Neither chose anything trained; they only judged "
        "which ideas to keep. No digit found (counted as wrong): load_digits "
        f"{beyond['not_found']} of {beyond['images']:,}, mfeat {beyond['mfeat_development_not_found']} of 1,000.",
        "",
        "| model | MNIST test | load_digits | mfeat development half | ensemble weight |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in beyond["rows"]:
        mnist = f"{row['mnist_test_accuracy']:.2%}" if row["mnist_test_accuracy"] is not None else ""
        weight = row["ensemble_weight"]
        shown = "" if weight is None else ("0 (not used)" if weight == 0 else f"{weight:.2f}")
        lines.append(
            f"| {row['name']} | {mnist} | **{row['load_digits_accuracy']:.2%}** | "
            f"**{row['mfeat_development_accuracy']:.2%}** | {shown} |"
        )
    if beyond.get("personal"):
        lines += [
            "",
            "The mfeat development half as one writer who corrects the app (`digit_models/personal.py`): the "
            "ensemble with that many of their digits per class as examples, scored on the rest of the half "
            "(mean of several random draws; `python -m bench.cross_writer`):",
            "",
            "| examples per digit | " + " | ".join(str(row["examples_per_digit"]) for row in beyond["personal"]) + " |",
            "| --- |" + " --- |" * len(beyond["personal"]),
            "| ensemble | " + " | ".join(f"{100 * row['ensemble_accuracy']:.1f}%" for row in beyond["personal"]) + " |",
        ]
    families = beyond["families"]
    if families:
        keys = [row["key"] for row in beyond["rows"] if any(row["key"] in values for values in families.values())]
        lines += [
            "",
            "Realistic families built from 1,000 MNIST test digits each (`python -m bench.family_accuracy`):",
            "",
            "| family | " + " | ".join(DISPLAY_NAMES.get(key, key) for key in keys) + " | no digit found |",
            "| --- |" + " --- |" * (len(keys) + 1),
        ]
        for family, values in families.items():
            cells = " | ".join(f"{100 * values[key]:.1f}%" if key in values else "" for key in keys)
            lines.append(f"| {family} | {cells} | {values['not_found']} |")
    else:
        lines += ["", "Families: re-run `python -m bench.family_accuracy` for the current artifacts."]
    return [*lines, ""]
