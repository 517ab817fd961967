"""Whether MNIST's training digits come in writers' blocks: `python -m bench.training_order` (20 s).

MNIST's training set mixes NIST's SD-3, whose digits came writer by writer, and SD-1, whose digits were
scrambled; the writers of its test set wrote none of them. If the official order kept SD-3's blocks, a
digit's neighbours in that order share its writer, and so its slant: the slant's correlation with the digit
some places further on stays high over a writer's block and falls to 0 beyond it (shuffled, 0 at every
distance). The validation split (`digit_data.splits`) is drawn at random from the whole order, so its digits'
writers also wrote training digits, where the test digits' writers did not: a validation digit's nearest
training digit (in pixels) then lies a few places from it in the order far more often than chance. Writes
bench/results/training_order.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.neighbors import NearestNeighbors

from digit_data import splits
from digit_data.mnist import load_mnist

RESULTS = Path(__file__).resolve().parent / "results" / "training_order.json"
DISTANCES = (1, 10, 100, 1000)
NEAR = 100
"""A training digit within this many places of a validation digit in the official order counts as near it."""


def slants(images: np.ndarray) -> np.ndarray:
    """Each digit's slant, its ink's second moment mu11 / mu02 (columns per row): float (n,) from uint8 (n, 28, 28)."""
    ink = images.astype(np.float64) / 255
    rows, columns = np.arange(28)[:, None], np.arange(28)[None, :]
    mass = ink.sum(axis=(1, 2))
    row_mean = (ink * rows).sum(axis=(1, 2)) / mass
    column_mean = (ink * columns).sum(axis=(1, 2)) / mass
    below = rows - row_mean[:, None, None]
    mu11 = (ink * below * (columns - column_mean[:, None, None])).sum(axis=(1, 2)) / mass
    mu02 = (ink * below**2).sum(axis=(1, 2)) / mass
    return mu11 / mu02


def correlation(values: np.ndarray, distance: int) -> float:
    """Correlation of float (n,) `values` with themselves `distance` places further on."""
    centred = values - values.mean()
    return round(float((centred[:-distance] * centred[distance:]).mean() / values.var()), 3)


def nearest_in_order(images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """For the validation digits at odd and at even positions: the share whose nearest training digit (Euclidean,
    in pixels) lies within NEAR places of it in the official order, and that share by chance."""
    train, validation = splits.train_validation_indices(labels)
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255
    nearest = NearestNeighbors(n_neighbors=1).fit(pixels[train]).kneighbors(pixels[validation], return_distance=False)
    near = np.abs(train[nearest[:, 0]] - validation) <= NEAR
    return {
        "odd positions": round(float(near[validation % 2 == 1].mean()), 3),
        "even positions": round(float(near[validation % 2 == 0].mean()), 3),
        "by chance": round(2 * NEAR / len(images), 4),
    }


def main() -> int:
    mnist = load_mnist()
    slant = slants(mnist.X_train)
    shuffled = np.random.default_rng(0).permutation(slant)
    report = {
        "what": __doc__.split("\n\n")[0],
        "distances": list(DISTANCES),
        "slant_correlation": {
            "even positions (0, 2, 4, ...)": [correlation(slant[0::2], distance) for distance in DISTANCES],
            "odd positions (1, 3, 5, ...)": [correlation(slant[1::2], distance) for distance in DISTANCES],
            "all, shuffled": [correlation(shuffled, distance) for distance in DISTANCES],
        },
        f"validation digits whose nearest training digit lies within {NEAR} places": nearest_in_order(
            mnist.X_train, mnist.y_train
        ),
    }
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({key: value for key, value in report.items() if key not in ("what", "distances")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
