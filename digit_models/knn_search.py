"""The KNN's answer for the few images a request brings, without scikit-learn's per-call set-up.

scikit-learn's brute-force search (`ArgKmin`) recomputes the norms of all 55,000 fitted rows and
sets up its chunked, threaded reduction on every call: about 4 ms for one image, where one
matrix product and a partial sort take 0.7 ms. The partial sort is done in two small steps
(`BLOCK`), so the search stays faster than scikit-learn's for the tens of candidate digits the cut
search of a number reads at once; thousands of images at a time (evaluation, training) keep using
scikit-learn. `tests/test_knn_search.py` checks that both give the same neighbours and probabilities.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

# Candidates kept from the float32 product before the exact float64 re-ranking: float32
# distances are off by about 1e-6 of their size, so the true k nearest could only be missed if
# 28 other rows lay within that margin of them (never on 200 test digits, tests/test_knn_search.py).
CANDIDATES = 32

BLOCK = 64
"""Fitted rows per block of the candidate search. Each query's CANDIDATES nearest rows lie in the
CANDIDATES blocks whose nearest rows are nearest, so one partial sort of the blocks' minima and one of
those blocks' rows replace a partial sort of every row: for 64 queries that sort took 42 of the
search's 55 ms (the product 7 ms)."""

ROW_MAJOR_QUERIES = 16
"""Up to this many queries, the product's transpose is copied into row-major order before the searches
along each query's row (smallest_columns, a minimum), which on the strided transpose ran 10-20 times
slower: the search for 2 queries took 2.8 ms against 0.36 ms for one, 1.0 ms with the copy; 8 queries
3.9 -> 2.5 ms, 16 queries 5.0 -> 4.4 ms. Past some 20 queries the copy costs more than it saves (24: 7.3 ->
7.5 ms, 32: 9.0 -> 11.4 ms; one core, bench/results/knn_batches.json). The values are the same either way."""


class NeighbourSearch:
    """Brute-force Euclidean search over a fitted KNeighborsClassifier's rows.

    knn: fitted with algorithm "brute" and the Euclidean metric (minkowski, p=2), weights
    "uniform" or "distance" (what `supports` checks).
    """

    def __init__(self, knn: KNeighborsClassifier) -> None:
        if not supports(knn):
            raise ValueError(f"NeighbourSearch needs a brute-force Euclidean KNN, not {knn!r}")
        self.knn = knn
        self.fitted_rows = knn._fit_X  # (n_fitted, n_features), as fitted: for the exact distances
        # For finding candidates: float32, padded to whole blocks with rows no query is ever near.
        padding = -len(self.fitted_rows) % BLOCK
        self.rows = np.pad(np.asarray(self.fitted_rows, dtype=np.float32), ((0, padding), (0, 0)))
        norms = np.einsum("ij,ij->i", self.rows, self.rows)
        norms[len(self.fitted_rows) :] = np.inf
        self.squared_norms = norms  # float32 (n_fitted + padding,)
        self.labels = np.asarray(knn._y)  # class positions in knn.classes_, (n_fitted,)

    def kneighbors(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features (n, n_features) -> (distances float64 (n, k), row indices (n, k)), nearest first."""
        queries = np.asarray(features, dtype=np.float64)
        k = self.knn.n_neighbors
        partial = self._without_query_norm(queries.astype(np.float32))
        candidates = smallest_columns(partial, min(CANDIDATES, len(self.fitted_rows)))
        differences = self.fitted_rows[candidates].astype(np.float64) - queries[:, None, :]
        exact = np.sqrt(np.einsum("ijk,ijk->ij", differences, differences))
        order = np.argsort(exact, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(exact, order, axis=1), np.take_along_axis(candidates, order, axis=1)

    def nearest_distance(self, features: np.ndarray) -> np.ndarray:
        """Features (n, n_features) -> float64 (n,): the distance to the nearest fitted row, in float32.

        A minimum, no sort: cheap for the many candidate digits of a number (digit_models/reading/numbers.py).
        """
        queries = np.asarray(features, dtype=np.float32)
        squared = self._without_query_norm(queries).min(axis=1) + np.einsum("ij,ij->i", queries, queries)
        return np.sqrt(np.maximum(squared, 0.0)).astype(np.float64)

    def _without_query_norm(self, queries: np.ndarray) -> np.ndarray:
        """float32 queries (n, n_features) -> float32 (n, n_fitted + padding): ||x||^2 - 2 x.q for every fitted
        row x (inf for the padding).

        ||q - x||^2 less the query's own norm, which changes no order. (rows @ q.T rather than
        q @ rows.T: NumPy's BLAS call is four times faster for a few queries.) For up to
        ROW_MAJOR_QUERIES queries the product is copied into rows of its own first.
        """
        product = (self.rows @ queries.T).T
        if len(queries) <= ROW_MAJOR_QUERIES:
            product = np.ascontiguousarray(product)
        return self.squared_norms[None, :] - 2 * product

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Features (n, n_features) -> float64 (n, n_classes), as KNeighborsClassifier.predict_proba."""
        return self.votes(*self.kneighbors(features))

    def votes(self, distances: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """Each query's k neighbours (distances (n, k), fitted row indices (n, k), from this search or
        the KNN's own `kneighbors`) -> float64 (n, n_classes), as KNeighborsClassifier.predict_proba."""
        if self.knn.weights == "distance":
            # scikit-learn's rule: a neighbour at distance 0 takes the whole vote (with any others at 0).
            with np.errstate(divide="ignore"):
                weights = 1 / distances
            exact_match = np.isinf(weights).any(axis=1)
            weights[exact_match] = np.isinf(weights[exact_match]).astype(np.float64)
        else:
            weights = np.ones_like(distances)
        votes = np.zeros((len(distances), len(self.knn.classes_)))
        np.add.at(votes, (np.arange(len(distances))[:, None], self.labels[indices]), weights)
        return votes / votes.sum(axis=1, keepdims=True)


def smallest_columns(values: np.ndarray, count: int) -> np.ndarray:
    """float (n, m), m a multiple of BLOCK -> int (n, count): in each row, the columns of its `count`
    smallest values, in no order (as np.argpartition's first `count`, up to ties).

    The `count` smallest values of a row lie in the `count` blocks with the smallest minima: a value in
    any other block has `count` blocks' minima at or below it, so it cannot be among the `count` smallest.
    """
    rows, columns = values.shape
    if columns // BLOCK <= count:
        return np.argpartition(values, count - 1, axis=1)[:, :count]
    blocks = values.reshape(rows, columns // BLOCK, BLOCK)
    nearest_blocks = np.argpartition(blocks.min(axis=2), count - 1, axis=1)[:, :count]  # (n, count)
    inside = np.take_along_axis(blocks, nearest_blocks[:, :, None], axis=1).reshape(rows, count * BLOCK)
    chosen = np.argpartition(inside, count - 1, axis=1)[:, :count]  # positions in `inside`
    return np.take_along_axis(nearest_blocks, chosen // BLOCK, axis=1) * BLOCK + chosen % BLOCK


def supports(knn: object) -> bool:
    """Whether NeighbourSearch gives this classifier's answers: brute force, Euclidean, plain weights."""
    return (
        isinstance(knn, KNeighborsClassifier)
        and hasattr(knn, "_fit_X")
        and knn.algorithm == "brute"
        and knn.metric in ("minkowski", "euclidean")
        and (knn.metric != "minkowski" or knn.p == 2)
        and knn.weights in ("uniform", "distance")
        and not knn.metric_params
    )
