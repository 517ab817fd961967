"""Read a whole number: segmentation into digits, every model on each digit, DESIGN.md's JSON answer.

    {"number": "2026", "confidence": 0.97,
     "digits": [{"digit": 2, "confidence": 0.99, "box": [left, top, right, bottom],
                 "models": {"knn": [...], ...}, "ensemble": [p0, ..., p9]}, ...]}

`number` is the digits left to right (leading zeros kept), or None when no digit was found (then
`message` says why); `confidence` is the product of the digits' confidences. A digit cut out of
a group of touching digits also has `line`, the line reader's probabilities for it, and its
`digit` and `confidence` weigh those with the ensemble's (`cuts.label_probabilities`): where
digits interlock, its crop holds a piece of its neighbour and the line reader sees them whole.
The `read-number` command prints one such object per file, with its `path`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from scipy.special import softmax

from digit_models import records
from digit_models.base import DigitModel, as_image_batch
from digit_models.classify import DECIMALS, answer, members_together, predict_all
from digit_models.ensemble import EnsembleModel
from digit_models.reading import cuts, segmentation
from digit_models.reading.settings import LOG_FLOOR, Settings
from digit_models.reading.spans import Scores
from preprocessing import ImageError


@dataclass(frozen=True)
class NumberReading:
    """A read number: the JSON answer, and the 28x28 images the models received (for the page).

    answer: DESIGN.md's object without `path`.
    images: float32 (n, 28, 28) in [0, 1], ink bright, one per digit in `answer["digits"]` order.
    """

    answer: dict[str, Any]
    images: np.ndarray


def ensemble_scorer(models: Mapping[str, DigitModel]) -> EnsembleScorer:
    """The segmentation's `score` for these models (see `EnsembleScorer`)."""
    return EnsembleScorer(models)


class EnsembleScorer:
    """The segmentation's `score`: float32 (n, 28, 28) -> `Scores` (the ensemble's probabilities
    (n, 10), each image's distance to the nearest digit the KNN was fitted on, when there is a KNN, and
    the probability that it is one whole digit, when the ensemble has a whole-digit check).

    Members whose ensemble weight is zero are not run: the cut search scores tens of candidate
    crops, and a zero-weight member would only cost time (same numbers as `ensemble.predict_proba`).
    Each member's probabilities are kept per image, so that `predict_all` on the digits finally chosen,
    all of which the segmentation scored, runs only the members the ensemble does not use.
    """

    def __init__(self, models: Mapping[str, DigitModel]) -> None:
        self.models = models
        self.ensemble = models.get("ensemble")
        self.nearest = _nearest_distance(models.get("knn"))
        self.whole_digit = None
        self.line_reader = None
        self.used: dict[str, float] = {}
        if isinstance(self.ensemble, EnsembleModel):
            self.used = {key: weight for key, weight in self.ensemble.weights.items() if weight > 0}
            self.whole_digit = self.ensemble.whole_digit
            self.line_reader = self.ensemble.line_reader
        self.kept: dict[bytes, dict[str, np.ndarray]] = {}  # image bytes -> member key -> probabilities (10,)

    def __repr__(self) -> str:
        return f"EnsembleScorer({self.ensemble!r})"

    def __call__(self, images: np.ndarray) -> Scores:
        batch = as_image_batch(images)
        whole = None if self.whole_digit is None else self.whole_digit.probability(batch)
        members: dict[str, np.ndarray] = {}
        distances = None
        if self.nearest is not None and "knn" in self.used:
            # The KNN member and the nearest distance from one search of its fitted rows.
            members["knn"], distances = self.models["knn"].predict_proba_and_nearest(batch)
        elif self.nearest is not None:
            distances = self.nearest(batch)
        if not self.used:
            model = self.ensemble if self.ensemble is not None else next(iter(self.models.values()))
            return Scores(probabilities=model.predict_proba(batch), distances=distances, whole=whole)
        # The rest together: the CNNs in one traced call (classify.members_together), the same numbers.
        members |= members_together({key: self.ensemble.members[key] for key in self.used if key not in members}, batch)
        for row, image in enumerate(batch):
            self.kept[image.tobytes()] = {key: values[row] for key, values in members.items()}
        probabilities = sum(weight * members[key] for key, weight in self.used.items())
        return Scores(probabilities=probabilities, distances=distances, whole=whole)

    def predict_all(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """`classify.predict_all` for float32 (n, 28, 28) -> key -> (n, 10), taking the members' probabilities
        kept for images already scored (equal to running them again, up to the float rounding of a batch)."""
        batch = as_image_batch(images)
        kept = [self.kept.get(image.tobytes()) for image in batch]
        if not self.used or any(row is None for row in kept):
            return predict_all(self.models, batch)
        known = {key: np.stack([row[key] for row in kept]) for key in self.used}
        shown = [key for key in self.models if key != "ensemble"]
        probabilities = {key: known[key] if key in known else self.models[key].predict_proba(batch) for key in shown}
        probabilities["ensemble"] = self.ensemble.combine({**known, **probabilities}, batch)
        return probabilities


def _nearest_distance(knn: DigitModel | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """images float32 (n, 28, 28) -> float (n,): Euclidean distance to the nearest row the KNN was fitted on,
    in its feature space (after its pipeline's transforms); None when `knn` has no such search.

    One matrix product and a minimum (`NeighbourSearch.nearest_distance`, about 0.1 ms per image):
    the scikit-learn search would also sort the neighbours, which the distance does not need.
    """
    search = getattr(knn, "neighbour_search", None)
    if search is None:
        return None
    return lambda images: search.nearest_distance(knn.features(images.reshape(len(images), -1)))


def read_number_details(models: Mapping[str, DigitModel], source: Any) -> NumberReading:
    """Segment `source` into digits and classify each with every model.

    source: anything `preprocessing.to_mnist` accepts. Raises `preprocessing.ImageError` (a
    ValueError) when it is not a readable image.
    """
    scorer = ensemble_scorer(models)
    found = segmentation.segment(source, score=scorer, read_lines=scorer.line_reader)
    if not found.found:
        empty = {"number": None, "confidence": None, "digits": [], "message": f"No digit found: {found.reason}"}
        return NumberReading(answer=empty, images=np.zeros((0, 28, 28), dtype=np.float32))
    images = np.stack([digit.image for digit in found.digits])
    probabilities = scorer.predict_all(images)
    digits = [_digit_answer(probabilities, row, crop) for row, crop in enumerate(found.digits)]
    confidence = float(np.prod([digit["confidence"] for digit in digits]))
    result = {
        "number": "".join(str(digit["digit"]) for digit in digits),
        "confidence": round(confidence, DECIMALS),
        "digits": [_ordered(digit) for digit in digits],
    }
    return NumberReading(answer=result, images=images)


def read_number(models: Mapping[str, DigitModel], source: Any) -> dict[str, Any]:
    """DESIGN.md's answer for an image of a number (no `path`); see `read_number_details`."""
    return read_number_details(models, source).answer


def _digit_answer(probabilities: Mapping[str, np.ndarray], row: int, crop: segmentation.DigitCrop) -> dict[str, Any]:
    """One digit's answer: the ensemble's, weighed with the line reader's when its group was read as a line."""
    found = {**answer(probabilities, row), "box": list(crop.box)}
    if crop.line is None:
        return found
    settings = Settings().cuts
    weighed = cuts.label_probabilities(probabilities["ensemble"][row], crop.line, settings)
    # Which digit the line reader alone finds there, given that it finds one digit.
    line = softmax(np.maximum(crop.line, LOG_FLOOR))
    return {
        **found,
        "digit": int(weighed.argmax()),
        "confidence": round(float(weighed.max()), DECIMALS),
        "line": [round(float(value), DECIMALS) for value in line],
    }


def _ordered(digit: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's key order: digit, confidence, box, models, ensemble (then line, when there is one)."""
    keys = ("digit", "confidence", "box", "models", "ensemble", "line")
    return {key: digit[key] for key in keys if key in digit}


# --- the read-number command -------------------------------------------------------------


def answers(models: Mapping[str, DigitModel], paths: Sequence[str]) -> Iterator[dict[str, Any]]:
    """{"path": ..., **answer} or {"path": ..., "error": ...} per path, in order; never raises for a bad file."""
    for path in paths:
        try:
            yield {"path": path, **read_number(models, Path(path))}
        except ImageError as error:
            yield {"path": path, "error": str(error)}
        except Exception as error:
            # One file that trips an unexpected failure must not take down a run over many.
            yield {"path": path, "error": f"could not be processed ({type(error).__name__}: {error})"}


def describe(record: Mapping[str, Any]) -> str:
    """One human-readable line for a record of `answers`."""
    path = record["path"]
    if "error" in record:
        return f"{path}: error: {record['error']}"
    if record["number"] is None:
        return f"{path}: {record['message'].replace('No digit', 'no digit', 1)}"
    each = "  ".join(f"{digit['digit']} {digit['confidence']:.1%}" for digit in record["digits"])
    return f"{path}: {record['number']} ({record['confidence']:.1%})  {each}"


def read_number_files(models: Mapping[str, DigitModel], paths: Sequence[str], *, as_json: bool, out: TextIO) -> int:
    """Print one answer per file, in order; returns 1 if any file could not be read, else 0."""
    return records.print_records(answers(models, paths), describe, as_json=as_json, out=out)
