"""The cross-writer checks: `load_digits` and the mfeat development half through the whole pipeline.

    .venv/bin/python -m bench.cross_writer                     # about a minute
    .venv/bin/python -m bench.cross_writer --models-dir .cache/quick/models

`load_digits` holds 1,797 digits by 43 writers who are not in MNIST: 8x8 images with 17
grey levels (0..16), bundled with scikit-learn (no download). Each one is turned into an
image a person could hand the app, a 128x128 dark-ink-on-white grayscale enlarged with
bilinear interpolation, so it is blurry, low-resolution and fills the frame, and goes
through `preprocessing.to_mnist` and every model. The mfeat development half (1,000 numerals
scanned from Dutch utility maps, 16x15 with 7 grey levels; rows 0-99 of each class only) goes the
same way, enlarged to 128 px high. Writes per-model accuracy, the ensemble's, the "no digit
found" count and the mean preprocessing time of each set to bench/results/cross_writer.json (the
load_digits figures at the top level, as before, and each set under "sets"). The inputs and the
scoring live in `digit_models.cross_writer`, which the training report uses too.

This is a check, never training data: nothing trained may be chosen by looking at it.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from digit_data import writers
from digit_models import artifacts, cross_writer, personal
from digit_models.classify import predict_all
from digit_models.personal import PersonalExamples

RESULTS = Path(__file__).resolve().parent / "results" / "cross_writer.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cross_writer", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models-dir", type=Path, default=artifacts.MODELS_DIR, help="model folder (default assets/models)"
    )
    parser.add_argument(
        "--side", type=int, default=writers.IMAGE_SIDE, help=f"image side (default {writers.IMAGE_SIDE})"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS.name})")
    arguments = parser.parse_args(argv)

    models = artifacts.load_models(arguments.models_dir)
    started = time.perf_counter()
    sets = {name: measure_set(models, name, arguments.side) for name in writers.SETS}
    sets["mfeat_development"]["personal"] = personal_curve(models, arguments.side)
    mnist_guard = personal_guard(models, arguments.side)
    result = sets["load_digits"]
    manifest = artifacts.read_manifest(arguments.models_dir)
    report = {
        "what": "load_digits (1,797 digits, 43 writers, 8x8) and the mfeat development half (1,000 scanned "
        "numerals, 16x15, rows 0-99 of each class) enlarged to dark ink on white, through to_mnist and every "
        "model; no digit found counts as wrong",
        "image": f"{arguments.side} px high uint8, bilinear",
        "models_dir": str(arguments.models_dir),
        "models": {key: manifest["models"].get(key, {}).get("sha256", "")[:12] for key in models if key != "ensemble"},
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "seconds": round(time.perf_counter() - started, 1),
        **result,
        "sets": sets,
        "personal_on_mnist_test": mnist_guard,
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n")
    for name, measured in sets.items():
        cells = ", ".join(f"{key} {100 * value:.1f}%" for key, value in measured["accuracy"].items())
        print(f"{name}, {measured['images']} digits: {cells}; no digit found: {measured['not_found']}")
    curve = ", ".join(
        f"{row['examples_per_digit']} per digit {100 * row['ensemble_accuracy']:.1f}%"
        for row in sets["mfeat_development"]["personal"]["rows"]
    )
    print(f"mfeat development half with a writer's own examples (ensemble, scored on the rest): {curve}")
    print(
        f"MNIST test {100 * mnist_guard['plain']:.2f}%; with another writer's 30 examples "
        f"{100 * mnist_guard['another_writers_30_examples']:.2f}%; one mislabelled example: worst "
        f"{100 * mnist_guard['one_mislabelled_example']['lowest']:.2f}% "
        f"of {mnist_guard['one_mislabelled_example']['trials']} trials"
    )
    print(f"written to {arguments.output}")
    return 0


PERSONAL_EXAMPLES_PER_DIGIT = (0, 1, 3, 5)
PERSONAL_DRAWS = 5
"""Random draws of the examples per count; the accuracy is their mean, with the lowest and highest."""


def personal_curve(models, side: int) -> dict:
    """The ensemble on the mfeat development half with 0, 1, 3 and 5 of its digits per class given as one
    writer's examples (digit_models.personal), scored on the rest; the mean of PERSONAL_DRAWS draws."""
    images, labels = writers.mfeat_development_inputs(side)
    inputs, found, _ = cross_writer.preprocess(images)
    plain = predict_all(models, inputs)
    rng = np.random.default_rng(0)
    rows = []
    for per_digit in PERSONAL_EXAMPLES_PER_DIGIT:
        scores = []
        for _ in range(PERSONAL_DRAWS if per_digit else 1):
            chosen = personal.choose_examples(labels, per_digit, rng)
            rest = np.setdiff1d(np.arange(len(labels)), chosen)
            examples = PersonalExamples(inputs[chosen], labels[chosen])
            ensemble = personal.adapt(plain["ensemble"][rest], inputs[rest], examples, models["cnn"])
            scores.append(float(np.mean((ensemble.argmax(axis=1) == labels[rest]) & found[rest])))
        rows.append(
            {
                "examples_per_digit": per_digit,
                "ensemble_accuracy": round(float(np.mean(scores)), 4),
                "lowest": round(min(scores), 4),
                "highest": round(max(scores), 4),
                "draws": len(scores),
            }
        )
    return {
        "what": "one writer's examples taken from the development half, scored on the rest of it",
        "temperature": personal.TEMPERATURE,
        "strength": personal.STRENGTH,
        "sharpness": personal.SHARPNESS,
        "rows": rows,
    }


MISLABELLED_TRIALS = 20


def personal_guard(models, side: int) -> dict:
    """The ensemble on MNIST's 10,000 test digits: plain, with another writer's 30 examples (the mfeat
    development half, 3 per digit), and with one mislabelled example (a validation digit given a wrong
    digit; MISLABELLED_TRIALS of them, each alone): what a person's examples cost everyone else's digits."""
    from digit_data.mnist import load_mnist
    from digit_data.splits import train_validation_indices

    data = load_mnist()
    images, labels = data.X_test.astype(np.float32) / 255, data.y_test
    plain = predict_all(models, images)["ensemble"]
    features = personal.normalised_features(models["cnn"], images)

    def accuracy_with(examples: PersonalExamples) -> float:
        adapted = personal.adapt_features(plain, features, examples, models["cnn"])
        return float(np.mean(adapted.argmax(axis=1) == labels))

    scans, scan_labels = writers.mfeat_development_inputs(side)
    inputs, _, _ = cross_writer.preprocess(scans)
    chosen = personal.choose_examples(scan_labels, 3)
    rng = np.random.default_rng(1)
    _, validation = train_validation_indices(data.y_train)
    pranks = []
    for index in rng.choice(validation, MISLABELLED_TRIALS, replace=False):
        wrong = (int(data.y_train[index]) + int(rng.integers(1, 10))) % 10
        pranks.append(accuracy_with(PersonalExamples(data.X_train[index : index + 1] / 255, np.array([wrong]))))
    return {
        "what": "the ensemble on MNIST's 10,000 test digits with a person's examples loaded",
        "plain": round(float(np.mean(plain.argmax(axis=1) == labels)), 4),
        "another_writers_30_examples": round(accuracy_with(PersonalExamples(inputs[chosen], scan_labels[chosen])), 4),
        "one_mislabelled_example": {
            "trials": MISLABELLED_TRIALS,
            "mean": round(float(np.mean(pranks)), 4),
            "lowest": round(float(np.min(pranks)), 4),
        },
    }


def measure_set(models, name: str, side: int) -> dict:
    """cross_writer.evaluate on the set `name`, with the mean preprocessing time per image in ms."""
    result = cross_writer.evaluate(models, side, name)
    images, _ = writers.SETS[name](side)
    preprocess_started = time.perf_counter()
    cross_writer.preprocess(images)
    preprocess_ms = 1000 * (time.perf_counter() - preprocess_started) / len(images)
    return {"preprocess_ms_mean": round(preprocess_ms, 3), **result}


if __name__ == "__main__":
    raise SystemExit(main())
