"""The PCA projection and the SGD classifier's probabilities for the few images a request brings, without
scikit-learn's per-call checks.

scikit-learn checks its input on every call (array type, shape, finite values, the fitted feature count,
the array namespace): about 0.3 ms per step for one image, where the arithmetic takes microseconds.
`sklearn_model.SklearnDigitModel` uses these for its own pipelines' steps, whose input it makes itself
(float32 rows of the fitted width, from the deskewing). The arithmetic is scikit-learn's own, in its
order (`PCA.transform`, `SGDClassifier.predict_proba` for the log loss), so the numbers are the same bit
for bit; tests/test_models.py compares them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.decomposition import PCA
from sklearn.linear_model import SGDClassifier


def supports_projection(step: object) -> bool:
    """Whether `project` computes `step.transform`: a fitted PCA without whitening."""
    return type(step) is PCA and not step.whiten and hasattr(step, "components_")


def project(pca: PCA, rows: np.ndarray) -> np.ndarray:
    """`pca.transform(rows)` for dense float rows (n, n_features) -> (n, n_components)."""
    projected = rows @ pca.components_.T
    # Centred after the projection, as scikit-learn does it (and in the same two products).
    projected -= pca.mean_.reshape(1, -1) @ pca.components_.T
    return projected


def supports_probabilities(step: object) -> bool:
    """Whether `probabilities` computes `step.predict_proba`: a fitted SGDClassifier with the log loss and
    more than two classes (one-vs-rest logistic scores, normalised)."""
    return (
        type(step) is SGDClassifier
        and step.loss == "log_loss"
        and hasattr(step, "coef_")
        and step.coef_.ndim == 2
        and step.coef_.shape[0] > 1
    )


def probabilities(classifier: SGDClassifier, rows: np.ndarray) -> np.ndarray:
    """`classifier.predict_proba(rows)` for dense float rows (n, n_features) -> float64 (n, n_classes)."""
    scores = rows @ classifier.coef_.T + classifier.intercept_
    scores = expit(scores, out=scores)
    totals = scores.sum(axis=1)
    all_zero = totals == 0
    if np.any(all_zero):
        # Every class at 0: scikit-learn answers uniform probabilities.
        scores[all_zero, :] = 1
        totals[all_zero] = scores.shape[1]
    scores /= totals.reshape((scores.shape[0], -1))
    return scores
