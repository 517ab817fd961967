"""Every model key's names, once: the long one for tables and reports, the short one for tight places."""

from __future__ import annotations

MEMBER_KEYS = ("knn", "rf", "sgd", "cnn")
"""The four models every answer shows, in display order; the ensemble combines them."""

ALL_KEYS = (*MEMBER_KEYS, "ensemble")

DISPLAY_NAMES = {
    "knn": "K-nearest neighbours",
    "rf": "Random forest",
    "sgd": "Linear (SGD)",
    "cnn": "CNN",
    "ensemble": "Ensemble",
}

SHORT_NAMES = {"knn": "KNN", "rf": "Forest", "sgd": "SGD", "cnn": "CNN", "ensemble": "Ensemble"}
