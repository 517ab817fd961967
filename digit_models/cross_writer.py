"""The cross-writer check: scikit-learn's `load_digits` turned into images a person could hand the app.

`load_digits` holds 1,797 digits by 43 writers who are not in MNIST: 8x8 images with 17
grey levels (0..16), bundled with scikit-learn (no download). Each one becomes a 128x128
dark-ink-on-white grayscale enlarged with bilinear interpolation (blurry, low-resolution,
filling the frame) and goes through `preprocessing.to_mnist` like any upload. The report
(training/report.py) and the benchmark (bench/cross_writer.py) both use this module.

This is a check, never training data: nothing trained may be chosen by looking at it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image

IMAGE_SIDE = 128
"""Side of the realistic image made from each 8x8 digit."""

LEVELS = 16
"""load_digits' darkest ink: its pixels count 0..16 set bits of a 4x4 block of a 32x32 bitmap."""


def to_realistic_image(digit: np.ndarray, side: int = IMAGE_SIDE) -> np.ndarray:
    """One load_digits image, float (8, 8) in 0..16 ink bright -> uint8 (side, side), dark ink on white."""
    paper = np.round(255 * (1 - np.asarray(digit, dtype=np.float32) / LEVELS)).astype(np.uint8)
    return np.asarray(Image.fromarray(paper, "L").resize((side, side), Image.Resampling.BILINEAR))


def cross_writer_inputs(side: int = IMAGE_SIDE) -> tuple[list[np.ndarray], np.ndarray]:
    """All 1,797 load_digits digits as realistic images (uint8 (side, side) each) and their labels int (1797,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return [to_realistic_image(image, side) for image in digits.images], digits.target.astype(np.int64)


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


def evaluate(models: Mapping[str, Any], side: int = IMAGE_SIDE) -> dict[str, Any]:
    """Accuracy of every model of `models` (artifacts.load_models' mapping) on the cross-writer images.

    Returns {"images", "not_found", "not_found_reasons", "accuracy": {key: fraction}}; the
    ensemble's extra members (CNNs it holds beyond the shown models) are scored too. A digit
    in which nothing is found counts as wrong for every model.
    """
    from digit_models.classify import predict_all

    images, labels = cross_writer_inputs(side)
    inputs, found, reasons = preprocess(images)
    probabilities = predict_all(models, inputs)
    ensemble = models.get("ensemble")
    for key, member in getattr(ensemble, "members", {}).items():
        if key not in probabilities:
            probabilities[key] = member.predict_proba(inputs)
    accuracy = {key: float(np.mean((values.argmax(axis=1) == labels) & found)) for key, values in probabilities.items()}
    return {
        "images": len(images),
        "not_found": int((~found).sum()),
        "not_found_reasons": dict(reasons.most_common()),
        "accuracy": accuracy,
    }
