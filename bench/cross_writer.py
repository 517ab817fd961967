"""The cross-writer check: scikit-learn's `load_digits` through the whole pipeline.

    .venv/bin/python -m bench.cross_writer                     # about a minute
    .venv/bin/python -m bench.cross_writer --models-dir .cache/quick/models

`load_digits` holds 1,797 digits by 43 writers who are not in MNIST: 8x8 images with 17
grey levels (0..16), bundled with scikit-learn (no download). Each one is turned into an
image a person could hand the app, a 128x128 dark-ink-on-white grayscale enlarged with
bilinear interpolation, so it is blurry, low-resolution and fills the frame, and goes
through `preprocessing.to_mnist` and every model. Writes per-model accuracy, the
ensemble's and the "no digit found" count to bench/results/cross_writer.json.

This is a check, never training data: nothing trained may be chosen by looking at it.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from digit_models import artifacts, classify
from preprocessing import to_mnist

RESULTS = Path(__file__).resolve().parent / "results" / "cross_writer.json"
IMAGE_SIDE = 128
"""Side of the realistic image made from each 8x8 digit."""

LEVELS = 16
"""load_digits' darkest ink: its pixels count 0..16 set bits of a 4x4 block of a 32x32 bitmap."""


def to_realistic_image(digit: np.ndarray, side: int = IMAGE_SIDE) -> np.ndarray:
    """One load_digits image, float (8, 8) in 0..16 ink bright -> uint8 (side, side), dark ink on white.

    Bilinear enlargement, as a photo or a scan of a small digit would be: blurry strokes
    that fill the frame and touch its edges.
    """
    paper = np.round(255 * (1 - np.asarray(digit, dtype=np.float32) / LEVELS)).astype(np.uint8)
    return np.asarray(Image.fromarray(paper, "L").resize((side, side), Image.Resampling.BILINEAR))


def cross_writer_inputs(side: int = IMAGE_SIDE) -> tuple[list[np.ndarray], np.ndarray]:
    """All 1,797 load_digits digits as realistic images (uint8 (side, side) each) and their labels int (1797,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return [to_realistic_image(image, side) for image in digits.images], digits.target.astype(np.int64)


def evaluate(models: Mapping[str, Any], side: int = IMAGE_SIDE) -> dict[str, Any]:
    """Run every cross-writer input through `to_mnist` and `models` (artifacts.load_models' mapping).

    Returns {"images", "not_found", "not_found_reasons", "accuracy": {key: fraction},
    "preprocess_ms_median"}; a digit in which nothing is found counts as wrong for every model.
    """
    images, labels = cross_writer_inputs(side)
    inputs = np.zeros((len(images), 28, 28), dtype=np.float32)
    found = np.zeros(len(images), dtype=bool)
    reasons: Counter[str] = Counter()
    seconds = []
    for index, image in enumerate(images):
        started = time.perf_counter()
        result = to_mnist(image)
        seconds.append(time.perf_counter() - started)
        inputs[index], found[index] = result.image, result.found
        if not result.found:
            reasons[result.reason] += 1
    probabilities = classify.predict_all(models, inputs)
    accuracy = {key: float(np.mean((values.argmax(axis=1) == labels) & found)) for key, values in probabilities.items()}
    return {
        "images": len(images),
        "not_found": int((~found).sum()),
        "not_found_reasons": dict(reasons.most_common()),
        "accuracy": accuracy,
        "preprocess_ms_median": round(1000 * float(np.median(seconds)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cross_writer", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models-dir", type=Path, default=artifacts.MODELS_DIR, help="model folder (default assets/models)"
    )
    parser.add_argument("--side", type=int, default=IMAGE_SIDE, help=f"image side (default {IMAGE_SIDE})")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS.name})")
    arguments = parser.parse_args(argv)

    models = artifacts.load_models(arguments.models_dir)
    started = time.perf_counter()
    result = evaluate(models, arguments.side)
    manifest = artifacts.read_manifest(arguments.models_dir)
    report = {
        "what": "load_digits (1,797 digits, 43 writers, 8x8) enlarged to dark ink on white, through to_mnist "
        "and every model; no digit found counts as wrong",
        "image": f"{arguments.side}x{arguments.side} uint8, bilinear",
        "models_dir": str(arguments.models_dir),
        "models": {key: manifest["models"].get(key, {}).get("sha256", "")[:12] for key in models if key != "ensemble"},
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "seconds": round(time.perf_counter() - started, 1),
        **result,
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n")
    cells = ", ".join(f"{key} {100 * value:.1f}%" for key, value in result["accuracy"].items())
    print(f"{result['images']} digits: {cells}; no digit found: {result['not_found']}")
    print(f"written to {arguments.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
