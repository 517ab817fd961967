"""Each model's accuracy through preprocessing on each family of realistic inputs.

    .venv/bin/python -m bench.family_accuracy                    # 1,000 test digits per family, about 3 minutes
    .venv/bin/python -m bench.family_accuracy --count 200 --models-dir .cache/quick/models

Builds every family of `digit_data/families.py` from the same MNIST *test* digits (a fixed,
seeded choice), runs each input through `preprocessing.to_mnist` and every model, and
writes bench/results/family_accuracy.json plus a markdown table on stdout. The first two
rows are the baselines: the clean 28x28 digits fed straight to the models, and the same
digits passed through preprocessing. An input in which no digit is found counts as wrong.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from digit_data import families
from digit_models import artifacts, classify
from preprocessing import to_mnist

RESULTS = Path(__file__).resolve().parent / "results" / "family_accuracy.json"
CLEAN = "clean MNIST (no preprocessing)"
CLEAN_PREPROCESSED = "clean MNIST through preprocessing"


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.family_accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="test digits per family (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the digit choice and of every family (default 0)")
    parser.add_argument(
        "--models-dir", type=Path, default=artifacts.MODELS_DIR, help="model folder (default assets/models)"
    )
    parser.add_argument("--families", nargs="+", choices=list(families.FAMILIES), default=list(families.FAMILIES))
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS.name})")
    return parser.parse_args(argv)


def accuracies(models: dict, images: np.ndarray, found: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy of every model (and the ensemble) on float32 images (n, 28, 28); not found = wrong."""
    probabilities = classify.predict_all(models, images)
    return {key: float(np.mean((values.argmax(axis=1) == labels) & found)) for key, values in probabilities.items()}


def measure_family(models: dict, name: str, digits: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, Any]:
    """Generate, preprocess and classify one family; returns its row of the table."""
    images = np.zeros((len(digits), 28, 28), dtype=np.float32)
    found = np.zeros(len(digits), dtype=bool)
    seconds = []
    for index, digit in enumerate(digits):
        source = families.family_input(name, digit, seed, index) if name != CLEAN_PREPROCESSED else digit
        started = time.perf_counter()
        result = to_mnist(source)
        seconds.append(time.perf_counter() - started)
        images[index], found[index] = result.image, result.found
    return {
        "family": name,
        "description": families.FAMILIES.get(name, "the 28x28 test digits given to to_mnist as uint8 arrays"),
        "images": len(digits),
        "not_found": int((~found).sum()),
        "preprocess_ms_median": round(1000 * float(np.median(seconds)), 2),
        "accuracy": accuracies(models, images, found, labels),
    }


def markdown_table(rows: list[dict[str, Any]], keys: list[str]) -> str:
    """The rows as a markdown table: one line per family, one column per model, accuracies in %."""
    names = [artifacts.DISPLAY_NAMES.get(key, key) for key in keys]
    lines = ["| family | " + " | ".join(names) + " | no digit found |", "|---" * (len(keys) + 2) + "|"]
    for row in rows:
        cells = [f"{100 * row['accuracy'][key]:.2f}" for key in keys]
        lines.append(f"| {row['family']} | " + " | ".join(cells) + f" | {row['not_found']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    from digit_data.mnist import load_mnist

    mnist = load_mnist()
    rng = np.random.default_rng(arguments.seed)
    chosen = np.sort(rng.choice(len(mnist.y_test), size=min(arguments.count, len(mnist.y_test)), replace=False))
    digits, labels = mnist.X_test[chosen], mnist.y_test[chosen]
    models = artifacts.load_models(arguments.models_dir)
    keys = list(models)

    started = time.perf_counter()
    clean = {
        "family": CLEAN,
        "description": "the 28x28 test digits fed straight to the models",
        "images": len(digits),
        "not_found": 0,
        "preprocess_ms_median": 0.0,
        "accuracy": accuracies(models, digits.astype(np.float32) / 255, np.ones(len(digits), dtype=bool), labels),
    }
    rows = [clean]
    for name in [CLEAN_PREPROCESSED, *arguments.families]:
        family_started = time.perf_counter()
        rows.append(measure_family(models, name, digits, labels, arguments.seed))
        cells = ", ".join(f"{key} {100 * value:.2f}" for key, value in rows[-1]["accuracy"].items())
        print(f"{name}: {cells} ({time.perf_counter() - family_started:.0f} s)", flush=True)

    table = markdown_table(rows, keys)
    manifest = artifacts.read_manifest(arguments.models_dir)
    report = {
        "what": "accuracy of every model through preprocessing on realistic inputs built from MNIST test digits",
        "models_dir": str(arguments.models_dir),
        "models": {key: manifest["models"].get(key, {}).get("sha256", "")[:12] for key in keys if key != "ensemble"},
        "digits": len(digits),
        "seed": arguments.seed,
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "markdown": table,
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table)
    print(f"\nwritten to {arguments.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
