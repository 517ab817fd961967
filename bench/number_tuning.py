"""Choose the segmentation's thresholds on numbers made of MNIST *validation* digits.

    .venv/bin/python -m bench.number_tuning      # 100 numbers per family + 300 single digits, about 18 minutes
    .venv/bin/python -m bench.number_tuning --count 30 --single 50 --rounds 1

The thresholds of `digit_models.reading.segmentation` and `digit_models.reading.cuts` (`Settings`)
decide which strokes make one digit and where touching digits are cut. They must not be chosen by
looking at numbers of test digits, which `bench/number_accuracy.py` keeps for measuring. This
command builds numbers of every family of `digit_data/number_families.py` from the validation digits
that every model holds out (`digit_data.splits`), and single ones drawn alone on the wide canvas
(a family of its own: one digit must stay one digit), reads each with the committed models, and
searches the settings one at a time over a grid (coordinate ascent, `--rounds` passes), keeping a
change only when it raises the mean whole-number accuracy over the families. Each image is loaded
and each candidate digit read and scored once, whatever the settings (`segmentation.NumberImage`),
so a setting costs only the grouping and the cut search. Writes bench/results/number_tuning.json:
every setting tried with its accuracy per family, and the chosen one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from digit_data import number_families
from digit_models import artifacts
from digit_models.reading import cut_paths, cuts, numbers, segmentation
from digit_models.reading.settings import MAX_DIGIT_ASPECT, MIN_DIGIT_ASPECT, Settings

RESULTS = Path(__file__).resolve().parent / "results" / "number_tuning.json"
DIGIT_COUNTS = range(2, 7)
TIE = 1e-9

GRID: dict[str, tuple[float, ...]] = {
    "speck_fraction": (0.08, 0.15, 0.25),
    "merge_overlap": (0.3, 0.4, 0.5, 0.6, 0.7),
    "small_group_fraction": (0.4, 0.5, 0.55, 0.6, 0.7),
    "loose_reach_fraction": (0.1, 0.25, 0.4),
    "cuts.split_aspect": (0.5, 0.6, 0.75, 0.9, 1.0),
    "cuts.whole_max_aspect": (1.2, 1.4, 1.6, 1.8),
    "cuts.cut_prior": (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
    "cuts.distance_weight": (0.0, 0.25, 0.5, 0.75, 1.0, 1.5),
    "cuts.whole_weight": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
    "cuts.line_weight": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
    "cuts.line_shift": (0, 1, 2, 3, 4),
    "cuts.min_height_fraction": (0.4, 0.5, 0.55, 0.65),
}
"""The values tried for each setting (`Settings`; "cuts." names a field of its `cuts`)."""


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.number_tuning", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="numbers per family (default 100)")
    parser.add_argument("--single", type=int, default=300, help="single digits alone on the wide canvas (default 300)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the settings (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the digit choice and of every family (default 0)")
    parser.add_argument(
        "--models-dir", type=Path, default=artifacts.MODELS_DIR, help="model folder (default assets/models)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS.name})")
    return parser.parse_args(argv)


def validation_numbers(models: dict, count: int, seed: int, single: int = 0) -> dict[str, list[tuple[str, Any]]]:
    """family -> [(digit string, prepared image)] of `count` numbers of 2-6 validation digits each,
    and ("single") `single` validation digits drawn alone on the wide canvas, which must stay one digit:
    without them the search would be free to cut more and more, at the cost of single digits.
    """
    images, labels = number_families.digits_of("validation")
    score = numbers.ensemble_scorer(models)
    prepared: dict[str, list[tuple[str, Any]]] = {}
    for position, family in enumerate(number_families.NUMBER_FAMILIES):
        rng = np.random.default_rng([seed, 4, position])
        prepared[family] = []
        for index in range(count):
            length = int(rng.integers(DIGIT_COUNTS.start, DIGIT_COUNTS.stop))
            chosen = rng.choice(len(images), length, replace=False)
            truth = "".join(str(int(label)) for label in labels[chosen])
            source = number_families.number_input(family, images[chosen], seed, index)
            prepared[family].append((truth, segmentation.prepare(source, score, score.line_reader)))
    if single:
        rng = np.random.default_rng([seed, 5])
        prepared["single"] = [
            (
                str(int(labels[index])),
                segmentation.prepare(number_families.draw_single(images[index], rng), score, score.line_reader),
            )
            for index in rng.choice(len(images), single, replace=False)
        ]
    return prepared


def read(image: Any, settings: Settings) -> str | None:
    """The digit string the ensemble reads from a prepared image under `settings` (None: no digit)."""
    if isinstance(image, segmentation.Segmentation):
        return None
    chosen = image.spans(settings)
    readings = image.reader.readings([digit.span for digit in chosen])
    labels = [
        int(np.argmax(cuts.label_log_scores(reading.probabilities, digit.line, settings.cuts)))
        for digit, reading in zip(chosen, readings, strict=True)
        if reading is not None
    ]
    return "".join(map(str, labels)) or None


def evaluate(prepared: dict[str, list[tuple[str, Any]]], settings: Settings) -> dict[str, float]:
    """Exact whole-number accuracy per family (and of single digits), and their mean ("mean")."""
    accuracy = {
        family: float(np.mean([read(image, settings) == truth for truth, image in items]))
        for family, items in prepared.items()
    }
    return {**accuracy, "mean": float(np.mean(list(accuracy.values())))}


def with_value(settings: Settings, name: str, value: float) -> Settings:
    if name.startswith("cuts."):
        return dataclasses.replace(settings, cuts=dataclasses.replace(settings.cuts, **{name[5:]: value}))
    return dataclasses.replace(settings, **{name: value})


def value_of(settings: Settings, name: str) -> float:
    return getattr(settings.cuts, name[5:]) if name.startswith("cuts.") else getattr(settings, name)


def search(prepared: dict[str, list[tuple[str, Any]]], rounds: int) -> tuple[Settings, list[dict]]:
    """Coordinate ascent from the current constants; returns the best settings and every row tried."""
    best = Settings()
    best_score = evaluate(prepared, best)
    table = [{"round": 0, "setting": "start", "value": None, **best_score}]
    print(f"start: {best_score}")
    for round_number in range(1, rounds + 1):
        for name, values in GRID.items():
            for value in values:
                if value == value_of(best, name):
                    continue
                candidate = with_value(best, name, value)
                score = evaluate(prepared, candidate)
                table.append({"round": round_number, "setting": name, "value": value, **score})
                # Ties keep the current value: a change must earn its place (a mean of the same
                # numbers added in another order differs in its last bits, which is no gain).
                if score["mean"] > best_score["mean"] + TIE:
                    best, best_score = candidate, score
                    print(f"round {round_number}: {name} = {value} -> mean {score['mean']:.4f}")
    return best, table


def as_dict(settings: Settings) -> dict[str, float]:
    return {name: value_of(settings, name) for name in GRID}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    started = time.perf_counter()
    models = artifacts.load_models(arguments.models_dir)
    prepared = validation_numbers(models, arguments.count, arguments.seed, arguments.single)
    best, table = search(prepared, arguments.rounds)
    report = {
        "what": "segmentation settings tried on numbers of 2-6 MNIST validation digits and on single validation "
        "digits alone on the wide canvas (exact whole-number accuracy of the ensemble's reading, per family and "
        "their mean); the chosen one is the best mean",
        "models_dir": str(arguments.models_dir),
        "numbers_per_family": arguments.count,
        "single_digits": arguments.single,
        "seed": arguments.seed,
        "start": as_dict(Settings()),
        "chosen": as_dict(best),
        "chosen_accuracy": evaluate(prepared, best),
        "fixed": {
            "MIN_DIGIT_ASPECT": MIN_DIGIT_ASPECT,
            "MAX_DIGIT_ASPECT": MAX_DIGIT_ASPECT,
            "cut_paths.CUT_SPACING": cut_paths.CUT_SPACING,
        },
        "tried": table,
        "seconds": round(time.perf_counter() - started, 1),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({"chosen": report["chosen"], "accuracy": report["chosen_accuracy"]}, indent=2))
    return report


if __name__ == "__main__":
    main()
