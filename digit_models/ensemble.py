"""The ensemble: a weighted mean of its members' probabilities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from digit_models.base import DigitModel, as_image_batch

if TYPE_CHECKING:  # Annotations only: reading a number sits above the digit models.
    from digit_models.reading.line_reader import LineReader
    from digit_models.reading.whole_digit import WholeDigitCheck


class EnsembleModel:
    """Weighted mean of member probabilities; weights are non-negative and sum to 1.

    With equal weights this is the plain mean. The training command learns the weights
    on validation data (never the test set) and stores them in the manifest.
    """

    key = "ensemble"
    name = "Ensemble"

    def __init__(
        self,
        *,
        members: Mapping[str, DigitModel],
        weights: Mapping[str, float] | None = None,
        whole_digit: WholeDigitCheck | None = None,
        line_reader: LineReader | None = None,
    ) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        weights = dict(weights) if weights is not None else {key: 1.0 for key in members}
        unknown = set(weights) - set(members)
        if unknown:
            raise ValueError(f"weights name models that are not members: {sorted(unknown)}")
        values = np.array([max(float(weights.get(key, 0.0)), 0.0) for key in members])
        if values.sum() <= 0:
            raise ValueError("ensemble weights must have a positive sum")
        self.members = dict(members)
        self.weights = dict(zip(self.members, values / values.sum(), strict=True))
        # Not a member: it says whether a crop of a number is one whole digit, not which digit.
        self.whole_digit = whole_digit
        # Nor is this: it reads a group of touching digits whole, to weigh the cuts through it.
        self.line_reader = line_reader

    def __repr__(self) -> str:
        shares = ", ".join(f"{key}={weight:.2f}" for key, weight in self.weights.items())
        return f"EnsembleModel({shares})"

    def combine(self, member_probabilities: Mapping[str, np.ndarray], images: np.ndarray | None = None) -> np.ndarray:
        """Weighted mean of member probabilities, each (n, 10) -> (n, 10).

        Members missing from member_probabilities (the extra CNNs, which the answer does not
        show) run on `images`, float32 (n, 28, 28); members of weight 0 never run.
        """
        missing = self.extra_members(member_probabilities)
        if missing and images is None:
            raise ValueError(f"the ensemble needs the images to run its members {sorted(missing)}")
        computed = {key: model.predict_proba(images) for key, model in missing.items()}
        return sum(
            self.weights[key] * np.asarray(member_probabilities.get(key, computed.get(key)))
            for key in self.members
            if self.weights[key] > 0
        )

    def extra_members(self, known: Mapping[str, object]) -> dict[str, DigitModel]:
        """The members `combine` runs itself when given the probabilities of the models in `known` (the extra
        CNNs, which the answer does not show); members of weight 0 never run."""
        return {key: model for key, model in self.members.items() if key not in known and self.weights[key] > 0}

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, 28, 28) in [0, 1] -> float64 (n, 10), rows summing to 1."""
        return self.combine({}, as_image_batch(images))
