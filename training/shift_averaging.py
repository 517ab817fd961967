"""An idea measured and kept for `cnn`: the CNNs' logits averaged over their input shifted by a pixel.

    .venv/bin/python -m training.shift_averaging        # about 8 minutes on the 2-core machine

Test-time augmentation as the field uses it on MNIST: each CNN sees the 28x28 input as it is and moved
one pixel (4 or 8 neighbours), and its logits are averaged before the softmax. Judged on validation data
only, as the ensemble's weights are: the 5,000 validation digits and the same digits re-drawn in other
writers' styles (training.ensemble's copy). For each set of shifts the ensemble's weights are learned
again (training.train.learn_ensemble_weights), the CNN's cost per image is timed on one core, as the
app serves, and the ensemble's accuracy on load_digits and the mfeat development half is reported (a
check, never a choice). Writes assets/reports/shift_averaging.json. Every variant starts from the
committed networks, each CNN's temperature fitted again on validation to the logits it averages (as
`python -m training calibrate` does; "none" reproduces the trained temperatures). `cnn` serves "4
neighbours of the second convolution's output, cnn only" (training.cnn.MEMBERS' test_time_shifts and
test_time_shift_layer): the lowest log loss on the re-drawn copy, on validation second to 8 neighbours
(which cost 3.3 ms more per digit), for about 0.9 ms more per digit.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from digit_models.cnn import FOUR_NEIGHBOURS, SECOND_CONVOLUTION
from training import evaluate, splits
from training.preparation import prepare
from training.train import calibrated_cnn, learn_ensemble_weights

RESULTS = Path(__file__).resolve().parent.parent / "assets" / "reports" / "shift_averaging.json"
FOUR = [tuple(move) for move in FOUR_NEIGHBOURS]
EIGHT = [(rows, columns) for rows in (-1, 0, 1) for columns in (-1, 0, 1)]
SHIFTS = {
    "none": ([(0, 0)], (), 0),
    "4 neighbours": (FOUR, ("cnn", "cnn_2"), 0),
    "4 neighbours, cnn only": (FOUR, ("cnn",), 0),
    "8 neighbours": (EIGHT, ("cnn", "cnn_2"), 0),
    "4 neighbours of the second convolution's output, cnn only": (FOUR, ("cnn",), SECOND_CONVOLUTION),
}
"""(rows, columns) moves, each a pixel at most, the CNNs whose logits are averaged over them, and where the
moves apply: 0, the 28x28 input (MNIST's frame has 4 px of margin); SECOND_CONVOLUTION, the output of the
network's first two convolutions (24x24x32), computed once and shared by the five reads. Where a digit
leaves 5 px empty round it the two are the same (each convolution moves with its input, and what wraps
round is blank); nearer the edge they differ. The others see the input as it is."""
KEYS = ("knn", "rf", "sgd", "cnn", "cnn_2")


def cnn_ms_per_image(model, repeats: int = 200) -> float:
    """CPU ms of one digit through the CNN (its moved copies inside), one digit per call as the app calls it."""
    digit = np.zeros((1, 28, 28), np.float32)
    for _ in range(20):
        model.logits(digit)
    started = time.process_time()
    for _ in range(repeats):
        model.logits(digit)
    return round(1000 * (time.process_time() - started) / repeats, 2)


def member_probabilities(members: dict, images: dict, plain: dict, variant, prepared) -> tuple[dict, dict]:
    """Per set, each member's (n, 10): each CNN averaged over the variant's moves if it is one of the variant's,
    else read once, calibrated on validation (training.train.calibrated_cnn); the classic models from `plain`.
    Also each CNN as a model."""
    shifts, shifted, layer = variant
    found = {name: dict(plain[name]) for name in images}
    cnns = {
        key: calibrated_cnn(key, members[key].network, shifts if key in shifted else [(0, 0)], layer, prepared)
        for key in ("cnn", "cnn_2")
    }
    for key, model in cnns.items():
        for name, inputs in images.items():
            found[name][key] = model.predict_proba(inputs)
    return found, cnns


def cross_writer_sets() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """load_digits and the mfeat development half through to_mnist: inputs (n, 28, 28), labels with -1 where
    no digit was found (wrong for every model, as bench.cross_writer counts them)."""
    from digit_models.cross_writer import set_inputs

    inputs, labels = {}, {}
    for name in ("load_digits", "mfeat_development"):
        inputs[name], digits, found, _ = set_inputs(name)
        labels[name] = np.where(found, digits, -1)
    return inputs, labels


def main() -> dict[str, Any]:
    from digit_models import artifacts
    from digit_models.cnn import serve_on_one_core
    from training.ensemble import restyled_validation_images, validation_probabilities

    serve_on_one_core()
    prepared = prepare(None, quick=False)
    manifest = artifacts.read_manifest(artifacts.MODELS_DIR)["models"]
    members = {key: artifacts.load_model(key, manifest[key], artifacts.MODELS_DIR) for key in KEYS}
    writers, writer_labels = cross_writer_sets()
    images = {
        "validation": splits.to_float_images(prepared.X_val),
        "validation_restyled": restyled_validation_images(prepared),
        **writers,
    }
    plain = dict(zip(("validation", "validation_restyled"), validation_probabilities(members, prepared), strict=True))
    for name, inputs in writers.items():
        plain[name] = {key: members[key].predict_proba(inputs) for key in KEYS}
    labels = {"validation": prepared.y_val, "validation_restyled": prepared.y_val, **writer_labels}
    results: dict[str, Any] = {}
    for name, variant in SHIFTS.items():
        found, cnns = member_probabilities(members, images, plain, variant, prepared)
        weights = learn_ensemble_weights(
            {key: np.concatenate([found["validation"][key], found["validation_restyled"][key]]) for key in KEYS},
            np.concatenate([prepared.y_val, prepared.y_val]),
        )
        mixed = {set_name: sum(weights[key] * found[set_name][key] for key in KEYS) for set_name in found}
        results[name] = {
            "shifts": variant[0],
            "shifted": list(variant[1]),
            "moved_layer": "input" if not variant[2] else "second convolution's output",
            "ensemble_weights": weights,
            "cnn_ms_per_image": cnn_ms_per_image(cnns["cnn"]),
            **{
                f"{model}_{set_name}": evaluate.accuracy_and_log_loss(found[set_name][model], labels[set_name])
                for model in ("cnn", "cnn_2")
                for set_name in ("validation", "validation_restyled")
            },
            **{
                f"ensemble_{set_name}": evaluate.accuracy_and_log_loss(mixed[set_name], labels[set_name])
                for set_name in ("validation", "validation_restyled")
            },
            **{
                f"ensemble_{set_name}_accuracy": round(
                    float(np.mean(mixed[set_name].argmax(axis=1) == labels[set_name])), 4
                )
                for set_name in writers
            },
        }
        print(name, json.dumps(results[name]), flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
