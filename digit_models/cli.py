"""The command line: `python -m digit_models predict ...`, `predict-csv ...` and `explain ...`.

predict IMAGE [IMAGE ...] [--json]
    Loads the models once, preprocesses every file, classifies the found digits in
    batches and prints one answer per file, in input order. With --json each line is
    DESIGN.md's contract:
        {"path": "a.png", "digit": 7, "confidence": 0.998, "models": {...}, "ensemble": [...]}
    `digit` is null when the image holds no digit; an unreadable file gives
    {"path": ..., "error": "<reason>"} and the run goes on. Exit status 1 if any file
    failed, else 0.

predict-csv test.csv -o submission.csv
    Kaggle's digit-recognizer test.csv (header pixel0..pixel783, one row of 784 integers
    0-255 per image, already MNIST-style) -> `ImageId,Label` from the ensemble.

read-number IMAGE [IMAGE ...] [--json]
    Whole numbers (several digits): one answer per file, in input order, as DESIGN.md's
    number contract {"path", "number", "confidence", "digits": [...]}; `number` is null
    when no digit is found; errors and exit status as for predict (digit_models/reading/numbers.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from digit_data import mnist
from digit_models import artifacts, records
from digit_models.personal import PersonalExamples

BATCH_SIZE = 256
"""Files preprocessed and classified together: model calls are batched, answers still stream out."""


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m digit_models",
        description="Recognise handwritten digits with KNN, random forest, SGD, a CNN and their ensemble.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    predict = commands.add_parser("predict", help="classify image files (PNG, JPEG, ...): one answer per file")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files to classify")
    predict.add_argument("--json", action="store_true", help="one JSON object per line (the contract in DESIGN.md)")
    predict.add_argument(
        "--personal",
        type=Path,
        metavar="EXAMPLES_CSV",
        help="a person's labelled examples (CSV header file,label; paths relative to the CSV): the ensemble's "
        "answers adapt to their handwriting, and each answer says how many examples it used",
    )
    _add_models_dir(predict)

    predict_csv = commands.add_parser("predict-csv", help="classify Kaggle's digit-recognizer test.csv")
    predict_csv.add_argument(
        "csv", type=Path, metavar="TEST_CSV", help="header pixel0..pixel783, rows of 784 integers 0-255"
    )
    predict_csv.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("submission.csv"),
        help="where to write ImageId,Label (default submission.csv)",
    )
    _add_models_dir(predict_csv)

    explain = commands.add_parser("explain", help="why each model answered as it did: one explanation per file")
    explain.add_argument("images", nargs="+", metavar="IMAGE", help="image files to explain")
    explain.add_argument("--json", action="store_true", help="one JSON object per line (the contract in DESIGN.md)")
    _add_models_dir(explain)

    read_number = commands.add_parser("read-number", help="read whole numbers (several digits): one answer per file")
    read_number.add_argument("images", nargs="+", metavar="IMAGE", help="image files of numbers")
    read_number.add_argument("--json", action="store_true", help="one JSON object per line (the contract in DESIGN.md)")
    _add_models_dir(read_number)
    return parser.parse_args(argv)


def _add_models_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=artifacts.MODELS_DIR,
        help="folder with the artifacts and manifest.json (default assets/models)",
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = parse_arguments(argv)
    out = out or sys.stdout
    try:
        # A malformed CSV is reported before the models take seconds to load.
        images = read_kaggle_test_csv(arguments.csv) if arguments.command == "predict-csv" else None
        examples = read_personal_examples(arguments.personal) if getattr(arguments, "personal", None) else None
        models = artifacts.load_models(arguments.models_dir)
    except ValueError as error:  # ArtifactError is a ValueError too.
        print(f"error: {error}", file=sys.stderr)
        return 2
    if arguments.command == "explain":
        from digit_models import explain

        return explain.explain_command(arguments.models_dir, models, arguments.images, as_json=arguments.json, out=out)
    if arguments.command == "read-number":
        from digit_models.reading import numbers

        return numbers.read_number_files(models, arguments.images, as_json=arguments.json, out=out)
    if images is None:
        return predict_files(models, arguments.images, as_json=arguments.json, out=out, personal_examples=examples)
    write_submission(models, images, arguments.output)
    print(f"wrote {len(images):,} predictions to {arguments.output}", file=out)
    return 0


# --- predict -------------------------------------------------------------------------


def predict_files(
    models: Mapping[str, Any],
    paths: Sequence[str],
    *,
    as_json: bool,
    out: TextIO,
    personal_examples: PersonalExamples | None = None,
) -> int:
    """Print one answer per file, in order; returns 1 if any file could not be read, else 0."""
    return records.print_records(answers(models, paths, personal_examples), describe, as_json=as_json, out=out)


def read_personal_examples(path: Path) -> PersonalExamples:
    """The examples of `--personal`, each row left out said on stderr; ValueError when the CSV is unreadable."""
    from digit_models import personal

    examples, warnings = personal.read_examples_csv(path)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return examples


def answers(
    models: Mapping[str, Any], paths: Sequence[str], personal_examples: PersonalExamples | None = None
) -> Iterator[dict[str, Any]]:
    """{"path": ..., **answer} or {"path": ..., "error": ...} per path, classifying BATCH_SIZE files at a time.

    With a person's examples, the ensemble adapts to them and each answer adds "personal": how many."""
    from digit_models import classify
    from preprocessing import ImageError, to_mnist

    for start in range(0, len(paths), BATCH_SIZE):
        chunk = paths[start : start + BATCH_SIZE]
        records: list[dict[str, Any]] = []
        images: list[np.ndarray] = []
        waiting: list[dict[str, Any]] = []
        for path in chunk:
            record: dict[str, Any] = {"path": path}
            try:
                result = to_mnist(Path(path))
            except ImageError as error:
                record["error"] = str(error)
            except Exception as error:
                # One file that trips an unexpected failure must not take down a run over hundreds.
                record["error"] = f"could not be processed ({type(error).__name__}: {error})"
            else:
                if result.found:
                    images.append(result.image)
                    waiting.append(record)
                else:
                    record.update(classify.no_digit_answer(result.reason))
            records.append(record)
        for record, answer in zip(waiting, classify.classify_images(models, images, personal_examples), strict=True):
            record.update(answer)
        if personal_examples is not None:
            for record in records:
                if "error" not in record:
                    record["personal"] = len(personal_examples)
        yield from records


def describe(record: Mapping[str, Any]) -> str:
    """One human-readable line for a record of `answers`."""
    path = record["path"]
    if "error" in record:
        return f"{path}: error: {record['error']}"
    if record.get("digit") is None:
        return f"{path}: {record.get('message', 'No digit found').replace('No digit', 'no digit', 1)}"
    members = "  ".join(f"{key} {int(np.argmax(values))} {max(values):.1%}" for key, values in record["models"].items())
    return f"{path}: {record['digit']} (ensemble {record['confidence']:.1%})  {members}"


# --- predict-csv ---------------------------------------------------------------------


def read_kaggle_test_csv(path: Path) -> np.ndarray:
    """Kaggle's digit-recognizer test.csv -> float32 images (n, 28, 28) in [0, 1], ink bright.

    Raises ValueError naming the file and what was expected when it is malformed.
    """
    images, _ = mnist.read_kaggle_csv(path, labelled=False)
    return images.astype(np.float32) / 255


def write_submission(models: Mapping[str, Any], images: np.ndarray, output: Path) -> None:
    """Write `ImageId,Label` (ImageId from 1) for float32 images (n, 28, 28), labels from the ensemble.

    Kaggle's rows are already MNIST-style (28x28, ink bright), so they go straight to the models.
    """
    from digit_models import classify

    labels = classify.predict_all(models, images)["ensemble"].argmax(axis=1)
    lines = ["ImageId,Label", *(f"{index},{label}" for index, label in enumerate(labels, start=1))]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n")
