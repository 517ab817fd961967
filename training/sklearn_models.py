"""The three scikit-learn models: their pipelines, their grids, tuning and the final fit.

Every pipeline takes float32 rows (n, 784) in [0, 1], ink bright. Deskewing is a step of
each grid, so cross-validation decides whether it helps that model.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import warnings
from typing import Any

import joblib
import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from digit_models.features import deskew


def deskew_step() -> FunctionTransformer:
    return FunctionTransformer(deskew, feature_names_out="one-to-one")


@dataclasses.dataclass
class SklearnSpec:
    """How one scikit-learn model is built, tuned and finally fitted."""

    key: str
    pipeline: Pipeline
    grid: dict[str, list]
    tuning_size: int  # Stratified subset of the training part used for the grid search.
    # Extra parameters for the refit on the shift-augmented set (five times the rows).
    shifted_fit_parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    why: str = ""


def knn_spec(*, quick: bool = False) -> SklearnSpec:
    return SklearnSpec(
        key="knn",
        pipeline=Pipeline(
            [
                ("deskew", deskew_step()),
                ("pca", PCA(n_components=40, random_state=0)),
                ("knn", KNeighborsClassifier(n_neighbors=4, weights="distance", algorithm="brute")),
            ]
        ),
        grid={
            "deskew": [deskew_step(), "passthrough"],
            "pca__n_components": [30, 40, 60],
            "knn__n_neighbors": [3, 4, 6],
            "knn__weights": ["uniform", "distance"],
        },
        tuning_size=2_000 if quick else 20_000,
        why="PCA keeps the strokes' main directions and drops pixel noise; neighbours vote by distance.",
    )


def forest_spec(*, quick: bool = False) -> SklearnSpec:
    return SklearnSpec(
        key="rf",
        pipeline=Pipeline(
            [
                ("deskew", deskew_step()),
                ("forest", RandomForestClassifier(n_estimators=70, n_jobs=-1, random_state=0)),
            ]
        ),
        grid={
            "deskew": [deskew_step(), "passthrough"],
            # At most 70 trees: every model file must stay under the 10 MB a Hugging Face Space takes
            # without a large-file store. 100 trees (13.2 MB) read validation 97.82%, 70 trees 97.74%.
            "forest__n_estimators": [50, 70],
            "forest__max_features": ["sqrt", 0.1],
        },
        tuning_size=1_500 if quick else 10_000,
        # Each tree then sees as many images as without shifts, so the forest keeps its size.
        shifted_fit_parameters={"forest__max_samples": 0.2},
        why="Each tree votes with the class fractions of its leaf; the forest averages them.",
    )


def sgd_spec(*, quick: bool = False) -> SklearnSpec:
    return SklearnSpec(
        key="sgd",
        pipeline=Pipeline(
            [
                ("deskew", deskew_step()),
                ("scale", StandardScaler()),
                ("sgd", SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=30, tol=1e-4, n_jobs=-1, random_state=0)),
            ]
        ),
        # Hinge loss has no predict_proba, so only losses that give probabilities compete.
        # Standard scaling blows up pixels that are almost always blank, and the huge margins
        # it produces saturate the probabilities into ties; the grid decides whether to scale.
        grid={
            "deskew": [deskew_step(), "passthrough"],
            "scale": [StandardScaler(), "passthrough"],
            "sgd__loss": ["log_loss", "modified_huber"],
            "sgd__alpha": [1e-4, 1e-3, 1e-2],
        },
        tuning_size=2_000 if quick else 10_000,
        why="One weight per pixel and digit; softmax-like one-vs-rest probabilities.",
    )


def quick_grid(grid: dict[str, list]) -> dict[str, list]:
    """A two-candidate grid for --quick runs: both deskew options, the first value of the rest."""
    return {name: values if name == "deskew" else values[:1] for name, values in grid.items()}


SPECS = {"knn": knn_spec, "rf": forest_spec, "sgd": sgd_spec}


def probability_accuracy(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Accuracy of the most probable class, which is what the app shows (not `predict`).

    They differ when probabilities saturate: tied ones pick the first class.
    """
    return float(np.mean(probabilities.argmax(axis=1) == np.asarray(y_true)))


PROBABILITY_ACCURACY = make_scorer(probability_accuracy, response_method="predict_proba")


def tune(spec: SklearnSpec, X: np.ndarray, y: np.ndarray, *, folds: int = 3) -> GridSearchCV:
    """Grid-search spec.pipeline on un-augmented rows X (n, 784) float32 in [0, 1].

    Tune on un-augmented data: shifted copies of one image must not land in a training
    fold and its validation fold at once.
    """
    with tempfile.TemporaryDirectory() as cache:
        # Caching fitted transformers lets the grid reuse one deskew+PCA for every k.
        pipeline = spec.pipeline.set_params(memory=cache)
        search = GridSearchCV(
            pipeline,
            spec.grid,
            scoring={"accuracy": PROBABILITY_ACCURACY, "neg_log_loss": "neg_log_loss"},
            refit="accuracy",
            cv=StratifiedKFold(folds, shuffle=True, random_state=0),
            n_jobs=1 if spec.key == "rf" else -1,  # The forest parallelises its trees itself.
            verbose=0,
        )
        # joblib's own progress lines ("Done 40 tasks | elapsed: 21.3s") show the search advancing.
        # SGD runs a fixed budget of epochs on purpose; its convergence warnings are noise here.
        with joblib.parallel_config(verbose=5), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
        search.best_estimator_.set_params(memory=None)
    spec.pipeline.set_params(memory=None)
    return search


def search_table(search: GridSearchCV) -> list[dict[str, Any]]:
    """The grid search's candidates, best first: parameters, mean CV accuracy and log loss, fit seconds."""
    results = search.cv_results_
    rows = []
    for index, parameters in enumerate(results["params"]):
        rows.append(
            {
                "parameters": {key: describe_value(value) for key, value in parameters.items()},
                "accuracy": float(results["mean_test_accuracy"][index]),
                "accuracy_std": float(results["std_test_accuracy"][index]),
                "log_loss": float(-results["mean_test_neg_log_loss"][index]),
                "fit_seconds": float(results["mean_fit_time"][index]),
                "rank": int(results["rank_test_accuracy"][index]),
            }
        )
    return sorted(rows, key=lambda row: row["rank"])


def describe_value(value: Any) -> Any:
    """A JSON-friendly name for a grid value (a transformer becomes its short name)."""
    if isinstance(value, FunctionTransformer):
        return getattr(value.func, "__name__", "function")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return type(value).__name__


def fit_final(
    spec: SklearnSpec, best_parameters: dict[str, Any], X: np.ndarray, y: np.ndarray
) -> tuple[Pipeline, float]:
    """Refit the pipeline with the best parameters on rows X (n, 784); returns (pipeline, seconds)."""
    from sklearn.base import clone

    pipeline = clone(spec.pipeline).set_params(**best_parameters)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X, y)
    return pipeline, time.perf_counter() - started
