"""Train each model from MNIST and record it: artifact, manifest entry, tuning table, scores.

Reads top to bottom: load the data and split off validation; tune and refit the
scikit-learn models; train the CNN; learn the ensemble's weights on validation data;
score everything on the test set (scores are reported, never used to choose).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from digit_data import mnist
from digit_models import artifacts
from training import augmentation, evaluate, precision, splits
from training.preparation import Prepared, log
from training.sklearn_models import (
    SPECS,
    describe_value,
    fit_final,
    probability_accuracy,
    quick_grid,
    search_table,
    tune,
)


def shift_augmented(prepared: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """The training part plus its one-pixel shifts, uint8 (5n, 28, 28); written once, then reused."""
    cache_file = mnist.cache_dir() / f"shifted-{prepared.cache_key}-{len(prepared.X_train)}.npz"
    if cache_file.exists():
        with np.load(cache_file) as archive:
            if len(archive["y"]) == 5 * len(prepared.y_train):
                return archive["X"], archive["y"]
    X, y = augmentation.shift_augment(prepared.X_train, prepared.y_train)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache_file, X=X, y=y)
    return X, y


def flat(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 784) in [0, 1], the scikit-learn pipelines' input."""
    return splits.to_float_images(images).reshape(len(images), -1)


def train_sklearn(key: str, prepared: Prepared, models_dir: Path, reports_dir: Path) -> dict[str, Any]:
    """Tune, refit and save one scikit-learn model; returns its manifest entry."""
    from digit_models.sklearn_model import SklearnDigitModel

    spec = SPECS[key](quick=prepared.quick)
    if prepared.quick:
        spec.grid = quick_grid(spec.grid)
    started = time.perf_counter()
    tuning_rows = splits.stratified_subset(prepared.y_train, spec.tuning_size)
    candidates = np.prod([len(values) for values in spec.grid.values()])
    log(f"{key}: grid search over {candidates} candidates x 3 folds on a stratified {len(tuning_rows):,}-image subset")
    search = tune(spec, flat(prepared.X_train[tuning_rows]), prepared.y_train[tuning_rows])
    tuning_seconds = time.perf_counter() - started
    table = search_table(search)
    log(f"{key}: best {table[0]['parameters']} cv accuracy {table[0]['accuracy']:.4f} ({tuning_seconds:.0f} s)")

    refit = refit_with_and_without_shifts(key, spec, search.best_params_, prepared)
    pipeline, use_shifts = refit["pipeline"], refit["use_shifts"]

    path = models_dir / f"{key}.skops"
    models_dir.mkdir(parents=True, exist_ok=True)
    artifacts.save_sklearn(pipeline, path)
    model = SklearnDigitModel(key=key, name=artifacts.DISPLAY_NAMES[key], pipeline=pipeline)
    entry = {
        "kind": "sklearn",
        "file": path.name,
        "parameters": {name: describe_value(value) for name, value in pipeline.get_params().items() if "__" in name},
        "best_grid_parameters": table[0]["parameters"],
        "shift_augmented": use_shifts,
        "validation_accuracy_without_shifts": refit["plain_accuracy"],
        "validation_accuracy_with_shifts": refit["shifted_accuracy"],
        "training_images": refit["training_images"],
        "tuning_images": len(tuning_rows),
        "tuning_seconds": round(tuning_seconds, 1),
        "training_seconds": round(tuning_seconds + refit["fit_seconds"], 1),
        "how_it_works": spec.why,
    }
    _write_json(reports_dir / f"tuning_{key}.json", table)
    if key == "knn":
        from training import neighbours

        entry[neighbours.FIELD] = neighbours.write_rows(prepared.train_rows, use_shifts, models_dir)
    return _finish_entry(key, model, entry, path, prepared, models_dir)


def refit_with_and_without_shifts(key: str, spec, best_parameters: dict, prepared: Prepared) -> dict[str, Any]:
    """The tuned pipeline refit on the training digits, and on them with their one-pixel shifts; the one
    with the better validation accuracy, both accuracies, the fitting seconds and the images it saw.

    Shifted copies help a model that does not deskew; deskewing re-centres every digit by mass, which
    undoes the shift. Rather than assume, both are refit and validation decides.
    """
    X_val = flat(prepared.X_val)
    plain, plain_seconds = fit_final(spec, best_parameters, flat(prepared.X_train), prepared.y_train)
    plain_accuracy = probability_accuracy(prepared.y_val, plain.predict_proba(X_val))
    log(
        f"{key}: refit on {len(prepared.X_train):,} images: "
        f"validation accuracy {plain_accuracy:.4f} ({plain_seconds:.0f} s)"
    )
    X_shifted, y_shifted = shift_augmented(prepared)
    shifted, shifted_seconds = fit_final(
        spec, {**best_parameters, **spec.shifted_fit_parameters}, flat(X_shifted), y_shifted
    )
    shifted_accuracy = probability_accuracy(prepared.y_val, shifted.predict_proba(X_val))
    log(
        f"{key}: refit on {len(X_shifted):,} images with one-pixel shifts: "
        f"validation accuracy {shifted_accuracy:.4f} ({shifted_seconds:.0f} s)"
    )
    use_shifts = shifted_accuracy > plain_accuracy
    return {
        "pipeline": shifted if use_shifts else plain,
        "use_shifts": use_shifts,
        "plain_accuracy": plain_accuracy,
        "shifted_accuracy": shifted_accuracy,
        "fit_seconds": plain_seconds + shifted_seconds,
        "training_images": len(X_shifted) if use_shifts else len(prepared.X_train),
    }


def style_augmented(
    images: np.ndarray, labels: np.ndarray, styles: tuple[str, ...], *, seed: int, cache_key: str
) -> np.ndarray:
    """One copy of uint8 images (n, 28, 28), labels (n,), re-drawn in `styles` (augmentation.augment_styles).

    Written to the cache folder once, then reused.
    """
    name = "-".join(styles) or "none"
    cache_file = mnist.cache_dir() / f"styles-{cache_key}-{len(images)}-{name}-{seed}.npy"
    if cache_file.exists():
        cached = np.load(cache_file)
        if cached.shape == images.shape:
            return cached
    started = time.perf_counter()
    augmented = augmentation.augment_styles(images, styles, seed=seed, labels=labels)
    log(f"augmentation: {len(images):,} digits re-drawn ({', '.join(styles)}) in {time.perf_counter() - started:.0f} s")
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache_file, augmented)
    return augmented


def train_cnn_model(
    prepared: Prepared, models_dir: Path, reports_dir: Path, key: str = "cnn", config=None
) -> dict[str, Any]:
    """Train, calibrate and save CNN `key` (training.cnn.MEMBERS); returns its manifest entry."""
    from training.cnn import how_it_works, member_config, polish, train_cnn

    config = config or member_config(key, quick=prepared.quick)
    started = time.perf_counter()
    X_fit, y_fit = prepared.X_train, prepared.y_train
    if config.styles:
        copies = style_augmented(X_fit, y_fit, config.styles, seed=config.seed, cache_key=prepared.cache_key)
        X_fit, y_fit = np.concatenate([X_fit, copies]), np.concatenate([y_fit, y_fit])
    log(f"{key}: training {config.epochs} epochs on {len(X_fit):,} images with random rotation/shift/zoom ...")
    network, history, best_epoch = train_cnn(X_fit, y_fit, prepared.X_val, prepared.y_val, config)
    if config.polish_styles:
        log(f"{key}: polishing one epoch on the training digits and {', '.join(config.polish_styles)} ...")
        network = polish(network, prepared.X_train, prepared.y_train, config.polish_styles, config)
    model = calibrated_cnn(key, network, config.test_time_shifts, config.test_time_shift_layer, prepared)
    temperature = model.temperature
    training_seconds = time.perf_counter() - started
    log(f"{key}: kept epoch {best_epoch} (lowest validation loss); temperature {temperature:.3f} fitted on validation")

    path = models_dir / f"{key}.keras"
    models_dir.mkdir(parents=True, exist_ok=True)
    artifacts.save_keras(network, path)
    entry = {
        "kind": "keras",
        "file": path.name,
        "parameters": dataclasses.asdict(config),
        "parameter_count": int(network.count_params()),
        "best_epoch": best_epoch,
        "temperature": temperature,
        "training_images": len(X_fit),
        "training_seconds": round(training_seconds, 1),
        "training_precision": precision.training_policy(),
        "how_it_works": how_it_works(config),
    }
    _write_json(reports_dir / f"{key}_history.json", {"history": history, "best_epoch": best_epoch})
    return _finish_entry(key, model, entry, path, prepared, models_dir)


def calibrated_cnn(key: str, network, shifts, layer: int, prepared: Prepared):
    """CNN `key` answering with its logits averaged over `shifts` of layer `layer`'s output (digit_models.cnn),
    at the temperature fitted on the validation digits to those logits."""
    from digit_models.cnn import KerasDigitModel
    from training.cnn import fit_temperature

    name = artifacts.DISPLAY_NAMES.get(key, key)
    uncalibrated = KerasDigitModel(key=key, name=name, network=network, shifts=shifts, shift_layer=layer)
    temperature = fit_temperature(uncalibrated.logits(splits.to_float_images(prepared.X_val)), prepared.y_val)
    return KerasDigitModel(
        key=key, name=name, network=network, temperature=temperature, shifts=shifts, shift_layer=layer
    )


def calibrate_cnn_model(prepared: Prepared, models_dir: Path, key: str = "cnn") -> dict[str, Any]:
    """CNN `key` as already trained, made to answer with its MEMBERS configuration's test-time shifts: its
    temperature fitted again on validation to the logits it then answers with, as `train_cnn_model` fits
    it; the network file is unchanged. Returns its manifest entry, scores measured again."""
    from training.cnn import how_it_works, member_config

    config = member_config(key, quick=prepared.quick)
    shifts, layer = config.test_time_shifts, config.test_time_shift_layer
    entry = dict(artifacts.read_manifest(models_dir)["models"][key])
    path = artifacts.verified_path(models_dir, entry)
    model = calibrated_cnn(key, artifacts.load_keras(path), shifts, layer, prepared)
    log(
        f"{key}: {len(shifts)} shifts of layer {layer}'s output, "
        f"temperature {entry.get('temperature', 1.0):.3f} -> {model.temperature:.3f}"
    )
    moves = {"test_time_shifts": [list(move) for move in shifts], "test_time_shift_layer": layer}
    entry["parameters"] = {**entry["parameters"], **moves}
    entry["temperature"] = model.temperature
    entry["how_it_works"] = how_it_works(config)
    return _finish_entry(key, model, entry, path, prepared, models_dir, stamp="calibrated_at")


def _finish_entry(
    key, model, entry, path: Path, prepared: Prepared, models_dir: Path, stamp: str = "trained_at"
) -> dict[str, Any]:
    """Add hash, size, versions and validation/test scores, and the time as `stamp`; write the manifest entry."""
    validation = evaluate.accuracy_and_log_loss(
        model.predict_proba(splits.to_float_images(prepared.X_val)), prepared.y_val
    )
    test = evaluate.accuracy_and_log_loss(model.predict_proba(splits.to_float_images(prepared.X_test)), prepared.y_test)
    entry.update(
        {
            "sha256": artifacts.sha256_of(path),
            "size_bytes": path.stat().st_size,
            "library_versions": artifacts.library_versions(),
            "data_source": prepared.source,
            "validation_accuracy": validation["accuracy"],
            "validation_log_loss": validation["log_loss"],
            "test_accuracy": test["accuracy"],
            "test_log_loss": test["log_loss"],
            "test_images": len(prepared.y_test),
            stamp: datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
    )
    artifacts.update_manifest_entry(key, entry, models_dir)
    log(
        f"{key}: test accuracy {test['accuracy']:.2%}, log loss {test['log_loss']:.4f}, "
        f"{entry['size_bytes'] / 1e6:.1f} MB, {entry['training_seconds']:.0f} s"
    )
    return entry


MIN_WEIGHT = 0.01
"""Members whose learned weight is below this get weight 0 (not used): each one costs latency,
and a share under 1% moves the validation log loss by less than its run-to-run noise."""


def save_segmentation_network(
    key: str,
    network,
    prepared: Prepared,
    models_dir: Path,
    *,
    purpose: str,
    parameters: dict[str, Any],
    figures: dict[str, float],
    started: float,
) -> dict[str, Any]:
    """Save a network that helps read numbers (`artifacts.SEGMENTATION_KEYS`) as `<key>.keras` with its
    manifest entry: hash, size, purpose, recipe, held-out figures, time since `started` (perf_counter)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{key}.keras"
    artifacts.save_keras(network, path)
    entry = {
        "kind": "keras",
        "file": path.name,
        "sha256": artifacts.sha256_of(path),
        "size_bytes": path.stat().st_size,
        "purpose": purpose,
        "data_source": prepared.source,
        "parameters": parameters,
        "parameter_count": int(network.count_params()),
        **figures,
        "training_seconds": round(time.perf_counter() - started, 1),
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "library_versions": artifacts.library_versions(),
    }
    artifacts.update_manifest_entry(key, entry, models_dir)
    return entry


def learn_ensemble_weights(member_probabilities: dict[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    """Non-negative weights summing to 1 that minimise the log loss of the weighted mean.

    member_probabilities: key -> (n, 10) on validation images; labels (n,). Weights under
    MIN_WEIGHT are set to 0 and the rest rescaled to sum to 1.

    The log loss of a weighted mean is convex in the weights: the weights of a mixture of fixed
    distributions, which expectation-maximisation finds by multiplicative updates that never raise the
    loss, from equal weights to the one minimum (Nelder-Mead on softmax-coded weights, used before, could
    stop at a corner: a second CNN that lowers the loss by 0.0005 got weight 0).
    """
    keys = list(member_probabilities)
    # Each member's probability of the true digit, clipped as evaluate.log_loss clips the mean: (m, n).
    true_digit = np.stack([member_probabilities[key][np.arange(len(labels)), labels] for key in keys])
    true_digit = np.clip(true_digit.astype(np.float64), 1e-15, 1.0)
    weights = np.full(len(keys), 1.0 / len(keys))
    for _ in range(EM_STEPS):
        updated = weights * (true_digit / (weights @ true_digit)).mean(axis=1)
        converged = np.max(np.abs(updated - weights)) < EM_TOLERANCE
        weights = updated
        if converged:
            break
    weights[weights < MIN_WEIGHT] = 0.0
    return dict(zip(keys, (weights / weights.sum()).round(4).tolist(), strict=True))


EM_STEPS = 100_000
EM_TOLERANCE = 1e-10
"""Expectation-maximisation stops when no weight moves by this much in a step. Near the minimum it moves
slowly (a step lowers the loss by 1e-12 while the weights are still 0.01 away), hence the many steps: each
is a few (m, n) array operations, about a second for 20,000 steps over 10,000 digits."""


def _write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")
