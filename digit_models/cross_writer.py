"""The cross-writer checks: other writers' digits turned into images a person could hand the app.

Two open sets, neither ever trained on nor used to choose what is trained:

- scikit-learn's `load_digits`: 1,797 digits by 43 writers (`cross_writer_inputs`);
- the development half of UCI mfeat-pix, numerals scanned from Dutch utility maps, with the styles
  MNIST lacks (a 1 with a flag and a base, crossed 7s, closed 4s, thick frame-filling strokes):
  `mfeat_development_inputs`. Only rows 0-99 of each class are ever parsed; 100-199 are held out.

The sets come from `digit_data.writers`; each image goes through `preprocessing.to_mnist` like any upload. The report
(training/report.py) and the benchmark (bench/cross_writer.py) both use this module.

This is a check, never training data: nothing trained may be chosen by looking at it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from digit_data.writers import IMAGE_SIDE, SETS


def preprocess(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, Counter]:
    """Each image through `preprocessing.to_mnist`: float32 (n, 28, 28), found bool (n,), reasons for not found."""
    from preprocessing import to_mnist

    inputs = np.zeros((len(images), 28, 28), dtype=np.float32)
    found = np.zeros(len(images), dtype=bool)
    reasons: Counter[str] = Counter()
    for index, image in enumerate(images):
        result = to_mnist(image)
        inputs[index], found[index] = result.image, result.found
        if not result.found:
            reasons[result.reason] += 1
    return inputs, found, reasons


def every_model(models: Mapping[str, Any], inputs: np.ndarray) -> dict[str, np.ndarray]:
    """predict_all's probabilities for float32 inputs (n, 28, 28), plus those of the ensemble's extra
    members (CNNs it holds beyond the shown models), each model run once."""
    from digit_models.classify import predict_all

    probabilities = predict_all(models, inputs)
    for key, member in getattr(models.get("ensemble"), "members", {}).items():
        if key not in probabilities:
            probabilities[key] = member.predict_proba(inputs)
    return probabilities


def set_inputs(name: str, side: int = IMAGE_SIDE) -> tuple[np.ndarray, np.ndarray, np.ndarray, Counter]:
    """Cross-writer set `name` through to_mnist: inputs float32 (n, 28, 28), labels (n,), found bool (n,), and
    the reasons where no digit was found."""
    images, labels = SETS[name](side)
    inputs, found, reasons = preprocess(images)
    return inputs, labels, found, reasons


def evaluate(models: Mapping[str, Any], side: int = IMAGE_SIDE, name: str = "load_digits") -> dict[str, Any]:
    """Accuracy of every model of `models` (artifacts.load_models' mapping) on the cross-writer set `name`.

    Returns {"images", "not_found", "not_found_reasons", "accuracy": {key: fraction}}; the
    ensemble's extra members (CNNs it holds beyond the shown models) are scored too. A digit
    in which nothing is found counts as wrong for every model.
    """
    inputs, labels, found, reasons = set_inputs(name, side)
    probabilities = every_model(models, inputs)
    accuracy = {key: float(np.mean((values.argmax(axis=1) == labels) & found)) for key, values in probabilities.items()}
    return {
        "images": len(labels),
        "not_found": int((~found).sum()),
        "not_found_reasons": dict(reasons.most_common()),
        "accuracy": accuracy,
    }


def accuracy_by_style(models: Mapping[str, Any], count: int, seed: int = 0) -> dict[str, dict[str, Any]]:
    """The pen-trajectory styles of `digit_data.pen_styles`, `count` drawings each, through the whole pipeline:
    per style its digit, the drawings, "not found" and every model's accuracy (the ensemble's members too)."""
    from digit_data import pen_styles

    measured = {}
    for name, (digit, images) in pen_styles.drawings(count, seed).items():
        inputs, found, _ = preprocess(images)
        probabilities = every_model(models, inputs)
        measured[name] = {
            "digit": digit,
            "drawings": len(images),
            "not_found": int((~found).sum()),
            "accuracy": {
                key: round(float(np.mean((values.argmax(axis=1) == digit) & found)), 4)
                for key, values in probabilities.items()
            },
            "ensemble_answers": np.bincount(probabilities["ensemble"].argmax(axis=1), minlength=10).tolist(),
        }
    return measured
