"""From preprocessed 28x28 images to the JSON answer that the CLI, the app and the API share.

The answer for one image (DESIGN.md's contract):
    {"digit": 7, "confidence": 0.998,
     "models": {"knn": [p0, ..., p9], "rf": [...], "sgd": [...], "cnn": [...]},
     "ensemble": [p0, ..., p9]}
`digit` is the ensemble's choice, or None when the image holds no digit; then the answer
carries a `message` saying why and no probabilities at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from digit_models import cnn, personal, sklearn_model
from digit_models.base import DigitModel, as_image_batch
from digit_models.cnn import KerasDigitModel
from digit_models.ensemble import EnsembleModel
from digit_models.personal import PersonalExamples
from digit_models.sklearn_model import SklearnDigitModel

DECIMALS = 6


def predict_all(
    models: Mapping[str, DigitModel], images: np.ndarray, personal_examples: PersonalExamples | None = None
) -> dict[str, np.ndarray]:
    """Every model's probabilities for float32 images (n, 28, 28): key -> (n, 10).

    Each member runs once; the ensemble combines their outputs instead of running them again.
    With a person's examples (digit_models.personal) the ensemble's row is adapted to them; every
    model keeps its own.
    """
    batch = as_image_batch(images)
    ensemble = models.get("ensemble")
    members = {key: model for key, model in models.items() if key != "ensemble"}
    extra = ensemble.extra_members(members) if isinstance(ensemble, EnsembleModel) else {}
    computed = members_together({**members, **extra}, batch)
    probabilities = {key: computed[key] for key in members}
    if isinstance(ensemble, EnsembleModel):
        probabilities["ensemble"] = ensemble.combine(computed, batch)
    elif ensemble is not None:
        probabilities["ensemble"] = ensemble.predict_proba(batch)
    if personal_examples is not None and len(personal_examples) and "ensemble" in probabilities:
        probabilities["ensemble"] = personal.adapt(probabilities["ensemble"], batch, personal_examples, models["cnn"])
    return probabilities


def members_together(models: Mapping[str, DigitModel], batch: np.ndarray) -> dict[str, np.ndarray]:
    """Each model's probabilities for float32 images (n, 28, 28): key -> (n, 10), the same numbers as each
    `predict_proba`, for less: the scikit-learn pipelines share their deskewing, the networks run in one
    traced call (sklearn_model.predict_proba_together, cnn.predict_proba_together)."""
    pipelines = {key: model for key, model in models.items() if isinstance(model, SklearnDigitModel)}
    networks = {key: model for key, model in models.items() if isinstance(model, KerasDigitModel)}
    computed = dict(zip(pipelines, sklearn_model.predict_proba_together(list(pipelines.values()), batch), strict=True))
    computed |= dict(zip(networks, cnn.predict_proba_together(list(networks.values()), batch), strict=True))
    computed |= {key: model.predict_proba(batch) for key, model in models.items() if key not in computed}
    return computed


def answer(probabilities: Mapping[str, np.ndarray], row: int = 0) -> dict[str, Any]:
    """The JSON answer for row `row` of predict_all's output."""
    ensemble = np.asarray(probabilities["ensemble"][row])
    return {
        "digit": int(ensemble.argmax()),
        "confidence": round(float(ensemble.max()), DECIMALS),
        "models": {key: _rounded(values[row]) for key, values in probabilities.items() if key != "ensemble"},
        "ensemble": _rounded(ensemble),
    }


def no_digit_answer(reason: str) -> dict[str, Any]:
    """The answer when preprocessing found no digit: no probabilities pretending otherwise."""
    return {"digit": None, "confidence": None, "models": {}, "ensemble": None, "message": f"No digit found: {reason}"}


def classify_images(
    models: Mapping[str, DigitModel],
    images: Sequence[np.ndarray],
    personal_examples: PersonalExamples | None = None,
) -> list[dict[str, Any]]:
    """Answers for a list of float32 (28, 28) images, all models run once on the whole batch (and the
    ensemble adapted to a person's examples when given)."""
    if not images:
        return []
    probabilities = predict_all(models, np.stack(images), personal_examples)
    return [answer(probabilities, row) for row in range(len(images))]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(value), DECIMALS) for value in values]
