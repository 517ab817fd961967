"""Scores of a model's probabilities against true labels."""

from __future__ import annotations

import numpy as np
from sklearn import metrics


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log probability of the true digit, nats per image: probabilities (n, 10), labels (n,).

    The one log loss of the project (CNN temperature, ensemble weights, reports).
    """
    return float(metrics.log_loss(labels, np.clip(probabilities, 1e-15, 1.0), labels=np.arange(10)))


def accuracy_and_log_loss(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """probabilities (n, 10), labels (n,) -> {"accuracy": in [0, 1], "log_loss": nats per image}."""
    return {
        "accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)),
        "log_loss": log_loss(probabilities, labels),
    }


def per_class_report(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per digit ("0".."9"), as scikit-learn computes them."""
    report = metrics.classification_report(
        labels, probabilities.argmax(axis=1), labels=np.arange(10), output_dict=True, zero_division=0
    )
    return {str(digit): report[str(digit)] for digit in range(10)}


def confusion(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """int (10, 10): row = true digit, column = predicted digit."""
    return metrics.confusion_matrix(labels, probabilities.argmax(axis=1), labels=np.arange(10))
