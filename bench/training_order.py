"""Whether MNIST's training digits come in writers' blocks: `python -m bench.training_order` (10 s).

MNIST's training set mixes NIST's SD-3, whose digits came writer by writer, and SD-1, whose digits were
scrambled; the writers of its test set wrote none of them. If the official order kept SD-3's blocks, a
digit's neighbours in that order share its writer, and so its slant: the slant's correlation with the digit
some places further on stays high over a writer's block and falls to 0 beyond it (shuffled, 0 at every
distance). The validation split (`digit_data.splits`) is drawn at random from the whole order, so its digits'
writers also wrote training digits, where the test digits' writers did not. Writes
bench/results/training_order.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from digit_data.mnist import load_mnist

RESULTS = Path(__file__).resolve().parent / "results" / "training_order.json"
DISTANCES = (1, 10, 100, 1000)


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


def main() -> int:
    slant = slants(load_mnist().X_train)
    shuffled = np.random.default_rng(0).permutation(slant)
    report = {
        "what": __doc__.split("\n\n")[0],
        "distances": list(DISTANCES),
        "slant_correlation": {
            "even positions (0, 2, 4, ...)": [correlation(slant[0::2], distance) for distance in DISTANCES],
            "odd positions (1, 3, 5, ...)": [correlation(slant[1::2], distance) for distance in DISTANCES],
            "all, shuffled": [correlation(shuffled, distance) for distance in DISTANCES],
        },
    }
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["slant_correlation"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
