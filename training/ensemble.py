"""The ensemble: weights over the four shown models and the extra CNNs, learned on validation data.

`python -m training ensemble` (also a step of `all`). The weights are learned on the 5,000
validation digits and on the same digits re-drawn in other writers' styles, never on the
test set or on load_digits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from digit_models import artifacts
from training import augmentation, evaluate, splits
from training.preparation import Prepared, log
from training.train import learn_ensemble_weights, style_augmented

VALIDATION_STYLE_SEED = 10_000
"""Seed of the re-drawn copy of the validation digits the ensemble weights are also learned on."""


def restyled_validation_images(prepared: Prepared) -> np.ndarray:
    """float32 (n_val, 28, 28) in [0, 1]: the validation digits re-drawn in other writers' styles
    (augmentation.PEN_STYLES, seed VALIDATION_STYLE_SEED), the copy the ensemble's weights also learn on."""
    styled = style_augmented(
        prepared.X_val,
        prepared.y_val,
        augmentation.PEN_STYLES,
        seed=VALIDATION_STYLE_SEED,
        cache_key=prepared.cache_key,
    )
    return splits.to_float_images(styled)


def validation_probabilities(members: dict, prepared: Prepared) -> tuple[dict, dict]:
    """Each member's probabilities (key -> (n, 10)) on the validation digits, and on the same digits re-drawn
    in other writers' styles (restyled_validation_images)."""
    X_val = splits.to_float_images(prepared.X_val)
    X_styled = restyled_validation_images(prepared)
    plain = {key: model.predict_proba(X_val) for key, model in members.items()}
    restyled = {key: model.predict_proba(X_styled) for key, model in members.items()}
    return plain, restyled


def weights_on_both(plain: dict, restyled: dict, labels: np.ndarray) -> dict[str, float]:
    """The ensemble's weights (train.learn_ensemble_weights) learned on the validation digits and their re-drawn
    copy together: each member's probabilities key -> (n, 10) on both (validation_probabilities), labels (n,)."""
    return learn_ensemble_weights(
        {key: np.concatenate([plain[key], restyled[key]]) for key in plain}, np.concatenate([labels] * 2)
    )


def member_scores(ensemble, plain: dict, restyled: dict, labels) -> dict[str, dict[str, Any]]:
    """Accuracy and log loss of every member and of the ensemble, on validation digits and their copies."""
    scores = {
        key: {
            "validation": evaluate.accuracy_and_log_loss(plain[key], labels),
            "validation_restyled": evaluate.accuracy_and_log_loss(restyled[key], labels),
        }
        for key in plain
    }
    scores["ensemble"] = {
        "validation": evaluate.accuracy_and_log_loss(ensemble.combine(plain), labels),
        "validation_restyled": evaluate.accuracy_and_log_loss(ensemble.combine(restyled), labels),
    }
    return scores


def train_ensemble(prepared: Prepared, models_dir: Path) -> dict[str, Any]:
    """Learn the ensemble's weights on validation data and score it; returns its manifest entry.

    Candidates: the four shown models plus every extra CNN of training.cnn.MEMBERS that has been
    trained. The weights are learned on the validation digits and on a copy of them re-drawn in
    other writers' styles (augmentation.PEN_STYLES), so that they reward robustness as well as MNIST.
    """
    from digit_models.ensemble import EnsembleModel
    from training.cnn import MEMBERS

    manifest = artifacts.read_manifest(models_dir)["models"]
    keys = [*artifacts.MEMBER_KEYS, *(key for key in MEMBERS if key not in artifacts.MEMBER_KEYS and key in manifest)]
    members = {key: artifacts.load_model(key, manifest[key], models_dir) for key in keys}
    plain, restyled = validation_probabilities(members, prepared)
    weights = weights_on_both(plain, restyled, prepared.y_val)
    ensemble = EnsembleModel(members=members, weights=weights)
    scores = member_scores(ensemble, plain, restyled, prepared.y_val)
    test = evaluate.accuracy_and_log_loss(
        ensemble.predict_proba(splits.to_float_images(prepared.X_test)), prepared.y_test
    )
    entry = {
        "kind": "ensemble",
        "members": keys,
        "weights": weights,
        "weights_learned_on": (
            f"{len(prepared.y_val):,} validation images and the same digits re-drawn in other styles "
            "(log loss of the weighted mean); weight 0: not used"
        ),
        "member_scores": scores,
        "validation_accuracy": scores["ensemble"]["validation"]["accuracy"],
        "validation_log_loss": scores["ensemble"]["validation"]["log_loss"],
        "test_accuracy": test["accuracy"],
        "test_log_loss": test["log_loss"],
        "test_images": len(prepared.y_test),
        "how_it_works": (
            "A weighted mean of the models' probabilities (the four shown and extra CNNs), "
            "weights learned on validation images and their re-drawn copies."
        ),
    }
    artifacts.update_manifest_entry("ensemble", entry, models_dir)
    for key, score in scores.items():
        log(
            f"ensemble: {key:8s} weight {weights.get(key, 1.0):.3f}  validation log loss "
            f"{score['validation']['log_loss']:.4f}, re-drawn {score['validation_restyled']['log_loss']:.4f} "
            f"(accuracy {score['validation_restyled']['accuracy']:.2%})"
        )
    log(f"ensemble: test accuracy {test['accuracy']:.2%}, log loss {test['log_loss']:.4f}")
    return entry
