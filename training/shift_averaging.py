"""An idea measured, not kept: the CNNs' logits averaged over their input shifted by a pixel.

    .venv/bin/python -m training.shift_averaging        # about 3 minutes on the 2-core machine

Test-time augmentation as the field uses it on MNIST: each CNN sees the 28x28 input as it is and moved
one pixel (4 or 8 neighbours), and its logits are averaged before the softmax. Judged on validation data
only, as the ensemble's weights are: the 5,000 validation digits and the same digits re-drawn in other
writers' styles (training.ensemble's copy). For each set of shifts the ensemble's weights are learned
again (training.train.learn_ensemble_weights) and the CNN's cost per image is timed on one core, as the
app serves. Writes assets/reports/shift_averaging.json. Nothing here is committed as a model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax

from training import evaluate, splits
from training.preparation import prepare
from training.train import learn_ensemble_weights

RESULTS = Path(__file__).resolve().parent.parent / "assets" / "reports" / "shift_averaging.json"
SHIFTS = {
    "none": [(0, 0)],
    "4 neighbours": [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)],
    "8 neighbours": [(rows, columns) for rows in (-1, 0, 1) for columns in (-1, 0, 1)],
}
"""(rows, columns) moves of the 28x28 input, each a pixel at most; MNIST's frame has 4 px of margin."""


def shifted_probabilities(model, images: np.ndarray, shifts: list[tuple[int, int]]) -> np.ndarray:
    """float32 (n, 28, 28) -> (n, 10): softmax of the model's logits averaged over the shifted inputs."""
    logits = np.mean([model.logits(np.roll(images, shift, axis=(1, 2))) for shift in shifts], axis=0)
    return softmax(logits / model.temperature, axis=1)


def cnn_ms_per_image(model, shifts: list[tuple[int, int]], repeats: int = 200) -> float:
    """CPU ms of one digit's shifted copies through the CNN, one batch per digit as the app calls it."""
    batch = np.zeros((len(shifts), 28, 28), np.float32)
    for _ in range(20):
        model.logits(batch)
    started = time.process_time()
    for _ in range(repeats):
        model.logits(batch)
    return round(1000 * (time.process_time() - started) / repeats, 2)


def main() -> dict[str, Any]:
    from digit_models import artifacts
    from digit_models.cnn import serve_on_one_core
    from training.ensemble import restyled_validation_images, validation_probabilities

    serve_on_one_core()
    prepared = prepare(None, quick=False)
    manifest = artifacts.read_manifest(artifacts.MODELS_DIR)["models"]
    keys = ["knn", "rf", "sgd", "cnn", "cnn_2"]
    members = {key: artifacts.load_model(key, manifest[key], artifacts.MODELS_DIR) for key in keys}
    plain, restyled = validation_probabilities(members, prepared)
    images = {
        "validation": splits.to_float_images(prepared.X_val),
        "validation_restyled": restyled_validation_images(prepared),
    }
    results: dict[str, Any] = {}
    for name, shifts in SHIFTS.items():
        sets = {"validation": dict(plain), "validation_restyled": dict(restyled)}
        for key in ("cnn", "cnn_2"):
            for set_name, found in sets.items():
                found[key] = shifted_probabilities(members[key], images[set_name], shifts)
        labels = prepared.y_val
        weights = learn_ensemble_weights(
            {key: np.concatenate([sets["validation"][key], sets["validation_restyled"][key]]) for key in keys},
            np.concatenate([labels, labels]),
        )
        results[name] = {
            "shifts": shifts,
            "ensemble_weights": weights,
            "cnn_ms_per_image": cnn_ms_per_image(members["cnn"], shifts),
            **{
                f"{model}_{set_name}": evaluate.accuracy_and_log_loss(
                    sum(weights[key] * found[key] for key in keys) if model == "ensemble" else found[model], labels
                )
                for model in ("cnn", "cnn_2", "ensemble")
                for set_name, found in sets.items()
            },
        }
        print(name, json.dumps(results[name]), flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
