"""A person's own examples adapt the ensemble's answers to their handwriting.

Each example is a 28x28 model input and the digit its writer meant. An image to classify is
compared with the examples in the CNN's penultimate features (its 128 values after the last
ReLU, L2-normalised), where digits of the same shape lie close whatever their pixels. Every
example gives its digit evidence exp((similarity - 1) / TEMPERATURE): 1 for an identical
image, fading with distance, but only within its reach: closer than the nearest MNIST digit of
another digit is to the example (REFERENCE_PER_DIGIT training digits per class; the cut-off
softened over SHARPNESS). The answer is the ensemble's, tilted towards that evidence:

    log p_adapted(c) = log p_ensemble(c) + STRENGTH * evidence(c) + constant

The reach is the guard. A person's 1 with a flag and a base lies far from every MNIST digit, its
nearest other-digit neighbour (a 7, a 4) at a modest similarity: it reaches far, and their next
such 1s are read as 1s. A mislabelled example (a prank, a slip of the finger: an ordinary 3 called
an 8) has MNIST 3s all around it: its reach ends at near-copies of itself, and everyone else's 3s,
even that person's, stay 3s. TEMPERATURE, STRENGTH and SHARPNESS are chosen on simulated writers
made of MNIST validation digits (`python -m training personal`, assets/reports/personal_rule.json),
never on test digits or the cross-writer sets.
"""

from __future__ import annotations

import csv
import dataclasses
import threading
from pathlib import Path

import numpy as np
from scipy.special import expit, log_softmax, softmax

from digit_models.base import as_image_batch

TEMPERATURE = 0.1
STRENGTH = 16.0
SHARPNESS = 0.03
"""How fast an example's evidence fades with cosine dissimilarity in the CNN's features, how far one
example at distance 0 tilts the log-odds of its digit, and how sharply its reach ends: the grid's best
rule at 3 examples per digit whose worst single mislabelled example and another writer's 30 examples
each cost the validation digits at most 0.1 points (assets/reports/personal_rule.json)."""

REFERENCE_PER_DIGIT = 100
"""MNIST training digits per class (the training split: never validation or test digits) against
which each example's reach is measured."""

MAX_EXAMPLES = 200
"""The most examples a person's set keeps; the oldest go first. Twenty per digit covers any style."""


@dataclasses.dataclass(frozen=True)
class PersonalExamples:
    """One person's examples: images float32 (m, 28, 28) in [0, 1], ink bright; labels int64 (m,) in 0..9."""

    images: np.ndarray
    labels: np.ndarray
    # The examples' normalised features and reaches per feature model (id -> ((m, d), (m,))): once per set.
    _features: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        images = as_image_batch(self.images)
        labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} example images but {len(labels)} labels")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError("an example's digit must be between 0 and 9")
        object.__setattr__(self, "images", images[-MAX_EXAMPLES:])
        object.__setattr__(self, "labels", labels[-MAX_EXAMPLES:])

    @classmethod
    def empty(cls) -> PersonalExamples:
        return cls(np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"PersonalExamples({len(self)} examples, per digit {np.bincount(self.labels, minlength=10).tolist()})"

    def add(self, image: np.ndarray, label: int) -> PersonalExamples:
        """A new set with one more example (float32 (28, 28)), the oldest dropped past MAX_EXAMPLES."""
        return PersonalExamples(
            np.concatenate([self.images, as_image_batch(image)]), np.append(self.labels, int(label))
        )

    def features(self, feature_model) -> tuple[np.ndarray, np.ndarray]:
        """The examples' normalised features in `feature_model` (float64 (m, d)) and their reach (m,),
        computed on first use."""
        key = id(feature_model)
        if key not in self._features:
            features = normalised_features(feature_model, self.images)
            self._features[key] = (features, reach(features, self.labels, reference_digits(feature_model)))
        return self._features[key]


def choose_examples(labels: np.ndarray, per_digit: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices int (10 * per_digit,) of `per_digit` images of each digit of `labels` (n,), digit by digit:
    the first of each, or random ones with `rng` (fewer where a digit has fewer)."""
    chosen = [np.flatnonzero(labels == digit) for digit in range(10)]
    if rng is not None:
        chosen = [rng.permutation(indices) for indices in chosen]
    return np.concatenate([indices[:per_digit] for indices in chosen]).astype(int)


def normalised_features(feature_model, images: np.ndarray) -> np.ndarray:
    """The CNN's penultimate features of float32 (n, 28, 28), each row of unit length: float64 (n, d)."""
    features = np.asarray(feature_model.features(images), dtype=np.float64)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


_REFERENCES: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_REFERENCES_LOCK = threading.Lock()  # The app warms them in a thread while a request may ask for them.


def reference_digits(feature_model) -> tuple[np.ndarray, np.ndarray]:
    """Normalised features float64 (10 * REFERENCE_PER_DIGIT, d) and labels of MNIST training digits, the
    first REFERENCE_PER_DIGIT of each class of the training split; computed once per feature model."""
    key = id(feature_model)
    with _REFERENCES_LOCK:
        if key not in _REFERENCES:
            from digit_data import mnist, splits

            data = mnist.load_mnist()
            train, _ = splits.train_validation_indices(data.y_train)
            rows = train[choose_examples(data.y_train[train], REFERENCE_PER_DIGIT)]
            images = data.X_train[rows].astype(np.float32) / 255
            _REFERENCES[key] = (normalised_features(feature_model, images), data.y_train[rows])
        return _REFERENCES[key]


def reach(
    example_features: np.ndarray, example_labels: np.ndarray, reference: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Each example's reach, float64 (m,): the cosine similarity of its nearest reference digit of another
    digit. A query counts as like the example only when it is closer to it than that."""
    features, labels = reference
    similarity = example_features @ features.T
    similarity[labels[None, :] == np.asarray(example_labels)[:, None]] = -1.0
    return similarity.max(axis=1)


def evidence(
    query_features: np.ndarray,
    example_features: np.ndarray,
    labels: np.ndarray,
    temperature: float = TEMPERATURE,
    reaches: np.ndarray | None = None,
    sharpness: float = SHARPNESS,
) -> np.ndarray:
    """Each digit's evidence from the examples: float64 (n, 10), sum over examples of that digit of
    exp((cosine similarity - 1) / temperature), times expit((similarity - reach) / sharpness) when the
    examples' reaches (m,) are given. Features: unit rows (n, d) and (m, d); labels (m,)."""
    similarity = np.clip(query_features @ example_features.T, -1.0, 1.0)
    weights = np.exp((similarity - 1.0) / temperature)
    if reaches is not None:
        weights = weights * expit((similarity - reaches[None, :]) / sharpness)
    return weights @ np.eye(10)[labels]


def tilt(probabilities: np.ndarray, digit_evidence: np.ndarray, strength: float = STRENGTH) -> np.ndarray:
    """The ensemble's probabilities (n, 10) tilted towards the examples' evidence (n, 10): rows sum to 1."""
    return softmax(log_softmax(np.log(np.maximum(probabilities, 1e-12)), axis=1) + strength * digit_evidence, axis=1)


def adapt(probabilities: np.ndarray, images: np.ndarray, examples: PersonalExamples, feature_model) -> np.ndarray:
    """The ensemble's probabilities (n, 10) for images float32 (n, 28, 28), adapted to `examples`.

    feature_model: the CNN whose `features` give the comparison space (models["cnn"]); the examples'
    features and reaches are computed once per set of examples. Without examples the probabilities come
    back as they are.
    """
    if len(examples) == 0:
        return probabilities
    return adapt_features(
        probabilities, normalised_features(feature_model, as_image_batch(images)), examples, feature_model
    )


def adapt_features(
    probabilities: np.ndarray, query_features: np.ndarray, examples: PersonalExamples, feature_model
) -> np.ndarray:
    """`adapt` for images whose normalised features (n, d) are already known (a benchmark over many)."""
    if len(examples) == 0:
        return probabilities
    example_features, reaches = examples.features(feature_model)
    return tilt(probabilities, evidence(query_features, example_features, examples.labels, reaches=reaches))


def read_examples_csv(path: Path) -> tuple[PersonalExamples, list[str]]:
    """A person's examples from a CSV with the header `file,label` (paths absolute or relative to the CSV's
    folder; any image the app reads, the corrections export included).

    Each image goes through the app's preprocessing. Returns the examples and one warning per row left
    out (unreadable image, no digit in it, a label that is not a digit). Raises ValueError naming the
    file when it cannot be read or lacks the header.
    """
    from preprocessing import ImageError, to_mnist

    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
            fields = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"{path}: cannot read the examples ({error})") from error
    if rows and not {"file", "label"} <= fields:
        raise ValueError(f"{path}: expected a CSV with the header 'file,label', found {sorted(fields)}")
    images, labels, warnings = [], [], []
    for number, row in enumerate(rows, start=2):
        label = (row.get("label") or "").strip()
        if label not in {str(digit) for digit in range(10)}:
            warnings.append(f"{path}, line {number}: the label {label!r} is not a digit 0-9; left out")
            continue
        image_path = path.parent / (row.get("file") or "").strip()
        try:
            result = to_mnist(image_path)
        except (ImageError, OSError) as error:
            warnings.append(f"{path}, line {number}: {image_path}: {error}; left out")
            continue
        if not result.found:
            warnings.append(f"{path}, line {number}: {image_path}: no digit found ({result.reason}); left out")
            continue
        images.append(result.image)
        labels.append(int(label))
    if not images:
        return PersonalExamples.empty(), warnings
    return PersonalExamples(np.stack(images), np.array(labels)), warnings
