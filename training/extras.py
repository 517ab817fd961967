"""Report-only models: a decision tree and gradient-boosted trees (XGBoost) beside the four.

`python -m training extras` trains both on the same deskewed features as the random forest,
lets validation decide whether one-pixel shifts help (as for the forest), scores them on the
test images and writes `extras.json` into the reports folder, then folds it into
`metrics.json` and `REPORT.md` (training/extras_report.py). The app never loads them: their
artifacts go to the git-ignored cache, and extras.json records each file's sha256 and size.
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from digit_data import mnist
from digit_models import artifacts
from digit_models.base import as_image_batch, normalise_rows
from digit_models.features import deskew
from digit_models.sklearn_model import SklearnDigitModel
from training import evaluate, extras_report, preparation, splits, train
from training.sklearn_models import SklearnSpec, describe_value, deskew_step, fit_final, quick_grid, search_table, tune

REPOSITORY = Path(__file__).resolve().parent.parent
EXTRA_NAMES = {"tree": "Decision tree", "xgboost": "Gradient-boosted trees (XGBoost)"}


def tree_spec(*, quick: bool = False) -> SklearnSpec:
    """One scikit-learn tree, tuned like the forest: deskew or not, depth and leaf size by 3-fold CV."""
    return SklearnSpec(
        key="tree",
        pipeline=Pipeline([("deskew", deskew_step()), ("tree", DecisionTreeClassifier(random_state=0))]),
        grid={
            "deskew": [deskew_step(), "passthrough"],
            "tree__max_depth": [12, 16, 24, None],
            # Bigger leaves give smoother class fractions (a lower log loss) at some cost in accuracy.
            "tree__min_samples_leaf": [1, 3, 10],
        },
        tuning_size=1_500 if quick else 10_000,
        why="One tree of pixel thresholds; a digit's probabilities are the class fractions of its leaf.",
    )


# Budgeted for 2 shared cores: 64 bins (2 s against 2.2 s per 10 rounds with 256 on 55,000
# deskewed images, measured here), depth 6 and a learning rate of 0.3 reach the low 98s in
# under 200 rounds; early stopping on validation picks the round count.
BOOSTING_PARAMETERS = {
    "objective": "multi:softprob",
    "tree_method": "hist",
    "max_bin": 64,
    "max_depth": 6,
    "learning_rate": 0.3,
    "n_estimators": 200,
    "early_stopping_rounds": 10,
    "eval_metric": "mlogloss",
    "random_state": 0,
}
QUICK_BOOSTING_PARAMETERS = {**BOOSTING_PARAMETERS, "max_depth": 4, "n_estimators": 30}
# On the five-fold shifted set each round samples a fifth of the rows, so a round costs about
# what it costs without shifts: the forest's max_samples=0.2 for the same reason.
SHIFTED_BOOSTING_PARAMETERS = {"subsample": 0.2}


class BoostedTreesModel:
    """An XGBoost booster seen through `predict_proba(images) -> (n, 10)`.

    The booster takes deskewed float32 rows (n, 784) in [0, 1], the forest's features.
    """

    def __init__(self, *, booster, key: str = "xgboost", name: str = EXTRA_NAMES["xgboost"]) -> None:
        self.key = key
        self.name = name
        self.booster = booster

    def __repr__(self) -> str:
        return f"BoostedTreesModel(key={self.key!r}, rounds={self.booster.num_boosted_rounds()})"

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, 28, 28) in [0, 1] -> float64 (n, 10), rows summing to 1."""
        batch = as_image_batch(images)
        scores = self.booster.inplace_predict(deskew(batch.reshape(len(batch), -1)))
        return normalise_rows(np.asarray(scores).reshape(len(batch), -1))


def save_booster(booster, path: Path) -> None:
    """XGBoost's own binary JSON (UBJ, chosen by the .ubj suffix): trees and parameters, no code."""
    booster.save_model(str(path))


def load_booster(path: Path):
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(str(path))
    return booster


def fit_booster(
    X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, parameters: dict[str, Any]
) -> tuple[Any, float]:
    """Boost on deskewed rows X (n, 784) with early stopping on (X_val, y_val); returns (booster, seconds).

    The booster is cut to its best round, so a saved file predicts exactly what was validated.
    """
    import xgboost

    classifier = xgboost.XGBClassifier(**parameters)
    started = time.perf_counter()
    classifier.fit(X, y, eval_set=[(X_val, y_val)], verbose=False)
    booster = classifier.get_booster()[: classifier.best_iteration + 1]
    return booster, time.perf_counter() - started


def train_tree(prepared: preparation.Prepared) -> tuple[SklearnDigitModel, dict[str, Any]]:
    """Grid-search the tree on the forest's tuning folds, refit with and without shifts, keep the better."""
    spec = tree_spec(quick=prepared.quick)
    if prepared.quick:
        spec.grid = quick_grid(spec.grid)
    started = time.perf_counter()
    tuning_rows = splits.stratified_subset(prepared.y_train, spec.tuning_size)
    preparation.log(f"tree: grid search over {np.prod([len(v) for v in spec.grid.values()])} candidates x 3 folds")
    search = tune(spec, train.flat(prepared.X_train[tuning_rows]), prepared.y_train[tuning_rows])
    table = search_table(search)
    preparation.log(f"tree: best {table[0]['parameters']} cv accuracy {table[0]['accuracy']:.4f}")

    X_val = train.flat(prepared.X_val)
    fits = {}
    for shifted in (False, True):
        X, y = train.shift_augmented(prepared) if shifted else (prepared.X_train, prepared.y_train)
        pipeline, _ = fit_final(spec, search.best_params_, train.flat(X), y)
        fits[shifted] = (
            pipeline,
            evaluate.accuracy_and_log_loss(pipeline.predict_proba(X_val), prepared.y_val),
            len(y),
        )
        preparation.log(f"tree: {len(y):,} images{' with shifts' if shifted else ''}: validation {fits[shifted][1]}")
    use_shifts = fits[True][1]["accuracy"] > fits[False][1]["accuracy"]
    pipeline, _, training_images = fits[use_shifts]
    model = SklearnDigitModel(key="tree", name=EXTRA_NAMES["tree"], pipeline=pipeline)
    return model, {
        "parameters": table[0]["parameters"],
        "depth": int(pipeline[-1].get_depth()),
        "leaves": int(pipeline[-1].get_n_leaves()),
        "tuning_images": len(tuning_rows),
        "tuning": table[:12],
        **_shift_fields(fits[False][1], fits[True][1], use_shifts, training_images),
        "training_seconds": round(time.perf_counter() - started, 1),
        "how_it_works": spec.why,
    }


def train_boosting(prepared: preparation.Prepared) -> tuple[BoostedTreesModel, dict[str, Any]]:
    """Boost on deskewed images, with and without one-pixel shifts; validation picks the better."""
    parameters = QUICK_BOOSTING_PARAMETERS if prepared.quick else BOOSTING_PARAMETERS
    started = time.perf_counter()
    X_val = deskew(train.flat(prepared.X_val))
    fits = {}
    for shifted in (False, True):
        X, y = train.shift_augmented(prepared) if shifted else (prepared.X_train, prepared.y_train)
        extra = SHIFTED_BOOSTING_PARAMETERS if shifted else {}
        booster, seconds = fit_booster(deskew(train.flat(X)), y, X_val, prepared.y_val, {**parameters, **extra})
        model = BoostedTreesModel(booster=booster)
        scores = evaluate.accuracy_and_log_loss(
            model.predict_proba(splits.to_float_images(prepared.X_val)), prepared.y_val
        )
        fits[shifted] = (model, scores, len(y))
        preparation.log(
            f"xgboost: {len(y):,} images{' with shifts' if shifted else ''}: "
            f"{booster.num_boosted_rounds()} rounds kept, validation {scores} ({seconds:.0f} s)"
        )
    use_shifts = fits[True][1]["accuracy"] > fits[False][1]["accuracy"]
    model, _, training_images = fits[use_shifts]
    chosen = {**parameters, **(SHIFTED_BOOSTING_PARAMETERS if use_shifts else {})}
    return model, {
        "parameters": {name: describe_value(value) for name, value in chosen.items()},
        "rounds": int(model.booster.num_boosted_rounds()),
        **_shift_fields(fits[False][1], fits[True][1], use_shifts, training_images),
        "training_seconds": round(time.perf_counter() - started, 1),
        "how_it_works": (
            "Each round adds one small tree per digit that corrects the previous rounds' errors "
            "(gradient boosting on the log loss); the trees' scores go through a softmax."
        ),
    }


def _shift_fields(plain: dict, shifted: dict, use_shifts: bool, training_images: int) -> dict[str, Any]:
    return {
        "shift_augmented": use_shifts,
        "validation_accuracy_without_shifts": plain["accuracy"],
        "validation_accuracy_with_shifts": shifted["accuracy"],
        "training_images": training_images,
    }


def save_artifact(key: str, model, folder: Path) -> dict[str, Any]:
    """Write the model into folder (skops for the tree, UBJ for the booster); returns its file record."""
    folder.mkdir(parents=True, exist_ok=True)
    if key == "xgboost":
        path, file_format = folder / "xgboost.ubj", "XGBoost UBJSON (Booster.save_model)"
        save_booster(model.booster, path)
    else:
        path, file_format = folder / f"{key}.skops", "skops"
        artifacts.save_sklearn(model.pipeline, path)
    return {
        "file": str(path.relative_to(REPOSITORY)) if path.is_relative_to(REPOSITORY) else str(path),
        "format": file_format,
        "sha256": artifacts.sha256_of(path),
        "size_bytes": path.stat().st_size,
        "committed": False,
    }


def ensemble_check(prepared: preparation.Prepared, models_dir: Path, extras: dict[str, Any]) -> dict[str, Any] | None:
    """Would an extra earn a place in the ensemble? Re-learn the weights on validation with it.

    Returns None when models_dir has no trained members (e.g. a fresh --quick folder).
    """
    try:
        members = artifacts.load_models(models_dir)
    except artifacts.ArtifactError as error:
        preparation.log(f"extras: no ensemble check ({error})")
        return None
    members.pop("ensemble")
    X_val = splits.to_float_images(prepared.X_val)
    probabilities = {key: model.predict_proba(X_val) for key, model in members.items()}
    check: dict[str, Any] = {"validation_images": len(prepared.y_val)}
    for label, candidates in (("four", probabilities), ("with_extras", {**probabilities, **extras})):
        weights = train.learn_ensemble_weights(candidates, prepared.y_val)
        mixed = sum(weight * candidates[key] for key, weight in weights.items())
        check[label] = {"weights": weights, **evaluate.accuracy_and_log_loss(mixed, prepared.y_val)}
    return check


def train_extras(
    prepared: preparation.Prepared, models_dir: Path, reports_dir: Path, artifacts_dir: Path | None = None
):
    """Train, save and score both extras; write extras.json and fold it into the report.

    Returns the booster's scores for `python -m training`'s summary line.
    """
    artifacts_dir = artifacts_dir or mnist.cache_dir() / "extras" / ("quick" if prepared.quick else "full")
    started = time.perf_counter()
    trained = {"tree": train_tree(prepared), "xgboost": train_boosting(prepared)}
    X_test = splits.to_float_images(prepared.X_test)
    from training.report import measure_latency

    latencies = measure_latency({key: model for key, (model, _) in trained.items()}, X_test[:1])
    entries, validation_probabilities = {}, {}
    for key, (model, details) in trained.items():
        test_probabilities = model.predict_proba(X_test)
        validation_probabilities[key] = model.predict_proba(splits.to_float_images(prepared.X_val))
        validation = evaluate.accuracy_and_log_loss(validation_probabilities[key], prepared.y_val)
        artifact = save_artifact(key, model, artifacts_dir)
        entries[key] = {
            "name": model.name,
            "report_only": True,
            **evaluate.accuracy_and_log_loss(test_probabilities, prepared.y_test),
            "validation_accuracy": validation["accuracy"],
            "validation_log_loss": validation["log_loss"],
            "published_anchor": extras_report.ANCHORS[key],
            "per_class": evaluate.per_class_report(test_probabilities, prepared.y_test),
            "confusion_matrix": evaluate.confusion(test_probabilities, prepared.y_test).tolist(),
            "size_bytes": artifact["size_bytes"],
            "latency_ms_one_image": latencies[key],
            "artifact": artifact,
            **details,
        }
        preparation.log(f"{key}: test accuracy {entries[key]['accuracy']:.2%}, log loss {entries[key]['log_loss']:.4f}")
    record = {
        "command": "python -m training extras" + (" --quick" if prepared.quick else ""),
        "data": prepared.source,
        "test_images": len(prepared.y_test),
        "models": entries,
        "ensemble_check": ensemble_check(prepared, models_dir, validation_probabilities),
        "library_versions": {**artifacts.library_versions(), "xgboost": _xgboost_version()},
        "total_seconds": round(time.perf_counter() - started, 1),
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / extras_report.EXTRAS_FILE).write_text(json.dumps(record, indent=2) + "\n")
    extras_report.fold_into_report(reports_dir)
    return {"test_accuracy": entries["xgboost"]["accuracy"], "test_log_loss": entries["xgboost"]["log_loss"]}


def _xgboost_version() -> str:
    import xgboost

    return xgboost.__version__
