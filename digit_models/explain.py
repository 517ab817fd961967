"""Why did each model say that? One explanation per model for one 28x28 input.

The explanation of one image (DESIGN.md's contract, before JSON rounding):
    {"digit": 7, "input": (28, 28) floats,
     "models": {"knn": {"digit": 7, "neighbours": [{"index", "label", "distance", "vote"}, ...]},
                "rf":  {"digit": 7, "saliency": (28, 28)},
                "sgd": {"digit": 7, "saliency": (28, 28), "intercept", "score", "template": (28, 28)},
                "cnn": {"digit": 7, "saliency": (28, 28)}}}
- knn: its k nearest training digits, nearest first. `index` is the position in MNIST's
  official 60,000-image training set, `distance` is measured where the KNN measures it (after
  deskewing and PCA), `vote` is the neighbour's share of the vote (1/distance weighted when
  the KNN weighs by distance).
- sgd: weight x input for the chosen digit, carried back through the deskewing onto the
  input's pixels; saliency.sum() + intercept == score, the model's decision score.
- cnn: integrated gradients of its network's logit on the input as drawn (the centre one of the five
  reads whose logits it averages, digit_models.cnn.shifted_logits), from a blank image to the input:
  through all five, 32 steps cost five times as much, over the explanation's budget.
- rf: occlusion, the drop in its probability when each 4x4 square of ink is blanked.
Every saliency is signed: positive pushed the model towards its own digit, negative against.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from digit_models import artifacts, records, saliency
from digit_models.base import DigitModel, as_image_batch
from digit_models.classify import predict_all

TRAINING_ROWS_FIELD = "training_rows"
"""The KNN's manifest field naming the file that maps its fitted rows to MNIST training indices."""
DECIMALS = 6
CNN_SALIENCY = "integrated_gradients"
"""The CNN's map: "integrated_gradients" or "occlusion"; bench/explain_bench.py compares them."""


class Explainer:
    """Explanations for loaded models: `explain(image)` -> one dict per model (module docstring).

    models: key -> model, as `artifacts.load_models` returns them. knn_rows: int (n_fitted,),
    the official MNIST training index of each row the KNN was fitted on, or None when unknown
    (neighbours then carry `"index": None`).
    """

    def __init__(self, models: Mapping[str, DigitModel], *, knn_rows: np.ndarray | None = None) -> None:
        self.models = dict(models)
        self.knn_rows = None if knn_rows is None else np.asarray(knn_rows)
        cnn = self.models.get("cnn")
        self._gradients = saliency.GradientSaliency(cnn.network) if hasattr(cnn, "network") else None

    def __repr__(self) -> str:
        return f"Explainer({', '.join(self.models)}, knn_rows={'known' if self.knn_rows is not None else 'unknown'})"

    @classmethod
    def load(cls, folder: Path = artifacts.MODELS_DIR, models: Mapping[str, DigitModel] | None = None) -> Explainer:
        """Models from `folder` (or the given ones) and the KNN's row map from the same manifest."""
        models = models if models is not None else artifacts.load_models(folder)
        return cls(models, knn_rows=load_knn_rows(folder))

    def explain(self, image: np.ndarray) -> dict[str, Any]:
        """The explanation of float32 (28, 28) in [0, 1], ink bright: see the module docstring."""
        image = as_image_batch(image)[0]
        probabilities = predict_all(self.models, image[None])
        models: dict[str, dict[str, Any]] = {}
        for key, model in self.models.items():
            if key == "ensemble":
                continue
            digit = int(np.argmax(probabilities[key][0]))
            models[key] = {"digit": digit, **self._explain_one(key, model, image, digit)}
        top = probabilities.get("ensemble", next(iter(probabilities.values())))
        return {"digit": int(np.argmax(top[0])), "input": image, "models": models}

    def _explain_one(self, key: str, model, image: np.ndarray, digit: int) -> dict[str, Any]:
        pipeline = getattr(model, "pipeline", None)
        final_step = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else None
        if hasattr(final_step, "kneighbors"):
            return {"neighbours": knn_neighbours(pipeline, image, self.knn_rows)}
        if hasattr(final_step, "coef_"):
            return saliency.linear_evidence(pipeline, image, digit)
        if key == "cnn" and self._gradients is not None and CNN_SALIENCY == "integrated_gradients":
            return {"saliency": self._gradients.integrated_gradients(image, digit)}
        return {"saliency": saliency.occlusion(model.predict_proba, image, digit)}


def knn_neighbours(pipeline, image: np.ndarray, knn_rows: np.ndarray | None) -> list[dict[str, Any]]:
    """The k nearest fitted digits of a (features ->) KNeighborsClassifier pipeline, nearest first.

    Each: {"index": official MNIST training index or None, "label": int, "distance": float in
    the KNN's feature space, "vote": share of the vote in [0, 1], the shares summing to 1}.
    """
    from digit_models.sklearn_model import _thread_controller

    knn = pipeline.steps[-1][1]
    with _thread_controller().limit(limits=1, user_api="openmp"):  # One image: see SklearnDigitModel.
        features = pipeline[:-1].transform(np.asarray(image, dtype=np.float32).reshape(1, -1))
        distances, rows = knn.kneighbors(features, n_neighbors=knn.n_neighbors)
    distances, rows = distances[0], rows[0]
    # scikit-learn keeps the fitted labels as class positions in `_y`; there is no public accessor.
    labels = np.asarray(knn.classes_)[np.asarray(knn._y)[rows]]
    if knn.weights == "distance":
        # As scikit-learn votes: 1/distance, and an exact match takes the whole vote.
        exact = distances == 0
        weights = exact.astype(float) if exact.any() else 1.0 / distances
    else:
        weights = np.ones(len(rows))
    shares = weights / weights.sum()
    return [
        {
            "index": int(knn_rows[row]) if knn_rows is not None else None,
            "label": int(label),
            "distance": float(distance),
            "vote": float(share),
        }
        for row, label, distance, share in zip(rows, labels, distances, shares, strict=True)
    ]


def load_knn_rows(folder: Path = artifacts.MODELS_DIR) -> np.ndarray | None:
    """int (n_fitted,) official MNIST training index per fitted KNN row, or None when not recorded.

    The file is named in the KNN's manifest entry (`training_rows`: file and sha256, written by
    `python -m training knn` or `python -m training knn-indices`) and its hash is checked.
    """
    try:
        entry = artifacts.read_manifest(folder)["models"]["knn"].get(TRAINING_ROWS_FIELD)
    except (artifacts.ArtifactError, KeyError):
        return None
    if not entry:
        return None
    return np.load(artifacts.verified_path(Path(folder), entry), allow_pickle=False)


@functools.cache
def _training_images() -> tuple[np.ndarray, np.ndarray]:
    from digit_data import mnist

    data = mnist.load_mnist()
    return data.X_train, data.y_train


def neighbour_images(neighbours: list[dict[str, Any]]) -> np.ndarray:
    """The neighbours' MNIST training digits: uint8 (k, 28, 28), ink bright (blank when unknown)."""
    images, _ = _training_images()
    return np.stack(
        [images[n["index"]] if n.get("index") is not None else np.zeros((28, 28), np.uint8) for n in neighbours]
    )


def to_json(explanation: Mapping[str, Any]) -> dict[str, Any]:
    """The explanation with arrays as nested lists of floats rounded to DECIMALS places."""
    return {key: _jsonable(value) for key, value in explanation.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return np.round(value.astype(np.float64), DECIMALS).tolist()
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, float | np.floating):
        return round(float(value), DECIMALS)
    return value


# --- The command line: `python -m digit_models explain IMAGE ... [--json]` ---------------


def explain_command(
    folder: Path, models: Mapping[str, DigitModel], paths: Sequence[str], *, as_json: bool, out: TextIO
) -> int:
    """Print one explanation per file, in order; exit status 1 if any file failed, 2 if the KNN's map is bad."""
    try:
        explainer = Explainer.load(folder, models)
    except ValueError as error:  # ArtifactError: knn_rows.npy altered or missing.
        print(f"error: {error}", file=sys.stderr)
        return 2
    explanations = (explain_path(explainer, path) for path in paths)
    return records.print_records(explanations, describe, as_json=as_json, out=out)


def explain_path(explainer: Explainer, path: str | bytes) -> dict[str, Any]:
    """{"path", **to_json(explanation)}, {"path", "digit": None, "message"} or {"path", "error"}.

    path: an image file's path, or the file's bytes (the HTTP API's upload).
    """
    from preprocessing import ImageError, to_mnist

    try:
        prepared = to_mnist(path if isinstance(path, bytes) else Path(path))
    except ImageError as error:
        return {"path": path, "error": str(error)}
    except Exception as error:  # One odd file must not end a run over many.
        return {"path": path, "error": f"could not be processed ({type(error).__name__}: {error})"}
    if not prepared.found:
        return {"path": path, "digit": None, "message": f"No digit found: {prepared.reason}"}
    return {"path": path, **to_json(explainer.explain(prepared.image))}


def describe(record: Mapping[str, Any]) -> str:
    """One line a person reads: each model's digit and what it leaned on."""
    if "error" in record:
        return f"{record['path']}: error: {record['error']}"
    if record.get("digit") is None:
        return f"{record['path']}: {record.get('message', 'No digit found')}"
    parts = []
    for key, explanation in record["models"].items():
        if "neighbours" in explanation:
            labels = ",".join(str(neighbour["label"]) for neighbour in explanation["neighbours"])
            parts.append(f"{key} {explanation['digit']} (neighbours {labels})")
        else:
            parts.append(f"{key} {explanation['digit']}")
    return f"{record['path']}: {record['digit']}  " + "  ".join(parts)
