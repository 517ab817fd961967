"""Whole-number accuracy and speed of `read-number` on images of numbers made from MNIST test digits.

    .venv/bin/python -m bench.number_accuracy                   # 200 numbers per family, about 5 minutes
    .venv/bin/python -m bench.number_accuracy --count 50 --models-dir .cache/quick/models

For every family of `digit_data/number_families.py` it builds numbers of 2 to 6 MNIST *test* digits (a
seeded choice; `--digits validation` for the held-out training digits the thresholds are tuned on,
see `bench/number_tuning.py`), reads each with `digit_models.reading.numbers.read_number` (segmentation, preprocessing,
every model) and counts a number right only when the whole digit string is (the ensemble's).
It adds single test digits drawn alone on the wide 1200x400 canvas (one digit must stay one
digit), and times read-number on 6-digit 1200x400 canvas PNGs after the models are loaded and
warm. Writes bench/results/number_accuracy.json and prints a markdown summary.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from digit_data import families, number_families
from digit_models import artifacts
from digit_models.reading import numbers

RESULTS = Path(__file__).resolve().parent / "results" / "number_accuracy.json"
DIGIT_COUNTS = range(2, 7)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.number_accuracy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="numbers per family (default 200)")
    parser.add_argument("--single", type=int, default=500, help="single digits on the wide canvas (default 500)")
    parser.add_argument("--timings", type=int, default=60, help="timed reads of 6-digit canvases (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the digit choice and of every family (default 0)")
    parser.add_argument(
        "--digits",
        choices=number_families.DIGIT_SOURCES,
        default="test",
        help="MNIST digits the numbers are made of (default test; validation: those the thresholds were tuned on)",
    )
    parser.add_argument(
        "--models-dir", type=Path, default=artifacts.MODELS_DIR, help="model folder (default assets/models)"
    )
    parser.add_argument(
        "--families",
        nargs="+",
        choices=list(number_families.NUMBER_FAMILIES),
        default=list(number_families.NUMBER_FAMILIES),
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS.name})")
    return parser.parse_args(argv)


def measure_family(models: dict, name: str, images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> dict:
    """Read `count` numbers of family `name`; exact accuracy overall and per digit count, wrong examples."""
    rng = np.random.default_rng([seed, 1, list(number_families.NUMBER_FAMILIES).index(name)])
    right = {length: [] for length in DIGIT_COUNTS}
    wrong_count = 0
    examples = []
    seconds = []
    for index in range(count):
        length = int(rng.integers(DIGIT_COUNTS.start, DIGIT_COUNTS.stop))
        chosen = rng.choice(len(images), length, replace=False)
        truth = "".join(str(int(label)) for label in labels[chosen])
        source = number_families.number_input(name, images[chosen], seed, index)
        started = time.perf_counter()
        result = numbers.read_number(models, source)
        seconds.append(time.perf_counter() - started)
        right[length].append(result["number"] == truth)
        if result["number"] is None or len(result["number"]) != length:
            wrong_count += 1
        if result["number"] != truth and len(examples) < 10:
            examples.append({"index": index, "truth": truth, "read": result["number"]})
    every = [value for values in right.values() for value in values]
    return {
        "family": name,
        "description": number_families.NUMBER_FAMILIES[name],
        "numbers": count,
        "exact_accuracy": float(np.mean(every)),
        "by_digit_count": {str(length): _share(values) for length, values in right.items()},
        "wrong_digit_count": wrong_count,
        "read_ms_median": round(1000 * float(np.median(seconds)), 1),
        "wrong_examples": examples,
    }


def single_digit_on_wide_canvas(models: dict, images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> dict:
    """One test digit drawn alone on the 1200x400 canvas: read as exactly that one digit?"""
    rng = np.random.default_rng([seed, 2])
    chosen = rng.choice(len(images), count, replace=False)
    right, split = [], 0
    for index in chosen:
        result = numbers.read_number(models, number_families.draw_single(images[index], rng))
        right.append(result["number"] == str(int(labels[index])))
        split += result["number"] is not None and len(result["number"]) != 1
    return {"digits": count, "exact_accuracy": float(np.mean(right)), "not_one_digit": int(split)}


def latency(models: dict, images: np.ndarray, timings: int, seed: int) -> dict:
    """Milliseconds of read_number on PNG files of 6-digit numbers drawn on the 1200x400 canvas."""
    rng = np.random.default_rng([seed, 3])
    sources = []
    for index in range(10):
        chosen = rng.choice(len(images), 6, replace=False)
        canvas = number_families.number_input("canvas", images[chosen], seed, 10_000 + index)
        sources.append(families.encode(Image.fromarray(canvas, "RGBA"), "PNG"))
    for source in sources:  # Warm-up: first calls trace the CNN for new batch sizes.
        numbers.read_number(models, source)
    seconds = []
    for repeat in range(timings):
        started = time.perf_counter()
        numbers.read_number(models, sources[repeat % len(sources)])
        seconds.append(time.perf_counter() - started)
    return {
        "image": "6-digit number drawn with a round pen on a 1200x400 canvas, PNG bytes (decoding included)",
        "calls": timings,
        "median_ms": round(1000 * float(np.median(seconds)), 1),
        "p95_ms": round(1000 * float(np.percentile(seconds, 95)), 1),
    }


def _share(values: list[bool]) -> float | None:
    return float(np.mean(values)) if values else None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    models = artifacts.load_models(arguments.models_dir)
    images, labels = number_families.digits_of(arguments.digits)
    started = time.perf_counter()
    rows = [
        measure_family(models, name, images, labels, arguments.count, arguments.seed) for name in arguments.families
    ]
    report = {
        "what": "exact whole-number accuracy of read-number (ensemble) on numbers of 2-6 MNIST "
        f"{arguments.digits} digits",
        "digits": arguments.digits,
        "models_dir": str(arguments.models_dir),
        "seed": arguments.seed,
        "families": rows,
        "single_digit_wide_canvas": single_digit_on_wide_canvas(
            models, images, labels, arguments.single, arguments.seed
        ),
        "latency_6_digits_1200x400": latency(models, images, arguments.timings, arguments.seed),
        "machine": {"processor": platform.processor() or platform.machine(), "python": platform.python_version()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    """The report as markdown: one line per family, then the single digit and the latency."""
    lines = ["| family | exact | 2 | 3 | 4 | 5 | 6 digits | read, median ms |", "|---|---|---|---|---|---|---|---|"]
    for row in report["families"]:
        counts = " | ".join(_percent(row["by_digit_count"][str(length)]) for length in DIGIT_COUNTS)
        lines.append(f"| {row['family']} | {_percent(row['exact_accuracy'])} | {counts} | {row['read_ms_median']} |")
    single = report["single_digit_wide_canvas"]
    timing = report["latency_6_digits_1200x400"]
    lines += [
        "",
        f"single digit on the 1200x400 canvas: {_percent(single['exact_accuracy'])} of {single['digits']}",
        f"read-number, 6 digits on 1200x400: median {timing['median_ms']} ms, p95 {timing['p95_ms']} ms",
    ]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


if __name__ == "__main__":
    main()
