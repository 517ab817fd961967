"""One wrapper for the three scikit-learn pipelines (KNN, random forest, SGD)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import threadpoolctl
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import FunctionTransformer

from digit_models import knn_search, linear_steps
from digit_models.base import N_CLASSES, as_image_batch, normalise_rows
from digit_models.knn_search import NeighbourSearch

SMALL_BATCH = 64
# Up to this many images, NeighbourSearch answers faster than scikit-learn's KNN, both on one thread
# (1 image: 0.6 against 3.7 ms; 8: 2.9 against 6.1 ms; 64: 12.6 against 19.0 ms). Beyond SMALL_BATCH
# scikit-learn may use every core (128 images: 16 ms against 25 ms).
NEIGHBOUR_SEARCH_BATCH = SMALL_BATCH


class SklearnDigitModel:
    """A fitted scikit-learn pipeline seen through `predict_proba(images) -> (n, 10)`.

    The pipeline takes float32 (n, 784) rows in [0, 1], ink bright: the images flattened.
    """

    def __init__(self, *, key: str, name: str, pipeline) -> None:
        self.key = key
        self.name = name
        # Threads cost more to start than they save on the few images the app sends at once.
        self.pipeline = pipeline.set_params(**{name: 1 for name in pipeline.get_params() if name.endswith("n_jobs")})
        self.final_step = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline

    def __repr__(self) -> str:
        steps = (
            " -> ".join(type(step).__name__ for _, step in getattr(self.pipeline, "steps", []))
            or type(self.pipeline).__name__
        )
        return f"SklearnDigitModel(key={self.key!r}, {steps})"

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, 28, 28) in [0, 1] -> float64 (n, 10), rows summing to 1."""
        batch = as_image_batch(images)
        return self.predict_proba_from(batch.reshape(len(batch), -1), first_step=0)

    def predict_proba_from(self, inputs: np.ndarray, *, first_step: int) -> np.ndarray:
        """`predict_proba` from the input of the pipeline's step `first_step` (0: the flattened images, (n, 784);
        1: what the first step made of them, as `predict_proba_together` shares it) -> float64 (n, 10)."""
        with _openmp_threads_for(len(inputs)):
            if isinstance(self.final_step, RandomForestClassifier):
                scores = self.forest_fractions.predict_proba(self._transform(inputs, first_step))
            elif len(inputs) <= NEIGHBOUR_SEARCH_BATCH and self.neighbour_search is not None:
                scores = self.neighbour_search.predict_proba(self._transform(inputs, first_step))
            elif linear_steps.supports_probabilities(self.final_step) and _plain_rows(inputs):
                scores = linear_steps.probabilities(self.final_step, self._transform(inputs, first_step))
            else:
                pipeline = self.pipeline[first_step:] if first_step else self.pipeline
                scores = pipeline.predict_proba(inputs)
        return self._by_class(scores)

    @functools.cached_property
    def shared_first_step(self) -> FunctionTransformer | None:
        """The pipeline's first step when it is a plain function of each image that other pipelines may
        share (the deskew: a module function, no arguments), else None."""
        steps = getattr(self.pipeline, "steps", [])
        step = steps[0][1] if len(steps) > 1 else None
        if isinstance(step, FunctionTransformer) and not step.kw_args and not step.validate:
            return step
        return None

    def predict_proba_and_nearest(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A KNN's `predict_proba` and each image's distance to the nearest fitted row (in its feature
        space), from one neighbour search: float32 (n, 28, 28) -> (float64 (n, 10), float64 (n,)).

        The cut search needs both for tens of candidate digits; two searches of the fitted rows would
        cost twice. Only for a final step `NeighbourSearch` supports (`neighbour_search` is not None).
        """
        if self.neighbour_search is None:
            raise ValueError(f"{self!r} has no neighbour search to find the nearest fitted row with")
        batch = as_image_batch(images)
        features = self.features(batch.reshape(len(batch), -1))
        with _openmp_threads_for(len(batch)):
            if len(batch) <= NEIGHBOUR_SEARCH_BATCH:
                distances, indices = self.neighbour_search.kneighbors(features)
            else:
                distances, indices = self.final_step.kneighbors(features)
        return self._by_class(self.neighbour_search.votes(distances, indices)), distances[:, 0]

    def _by_class(self, scores: np.ndarray) -> np.ndarray:
        """The final step's scores (n, its classes) -> float64 (n, 10) rows summing to 1: a model fitted
        on a subset may lack some classes, so its columns are placed by class."""
        probabilities = np.zeros((len(scores), N_CLASSES))
        probabilities[:, np.asarray(self.pipeline.classes_, dtype=int)] = scores
        return normalise_rows(probabilities)

    @functools.cached_property
    def forest_fractions(self) -> ForestFractions:
        """The fast forest path, built on first use (only for a final step that is a random forest)."""
        return ForestFractions(self.final_step)

    @functools.cached_property
    def neighbour_search(self) -> NeighbourSearch | None:
        """The fast search for small batches when the final step is a KNN it supports (once fitted)."""
        return NeighbourSearch(self.final_step) if knn_search.supports(self.final_step) else None

    def features(self, rows: np.ndarray) -> np.ndarray:
        """Flattened images (n, 784) -> the final step's input: every step of the pipeline but the last."""
        return self._transform(rows, 0)

    def _transform(self, inputs: np.ndarray, first_step: int) -> np.ndarray:
        """The input of step `first_step` -> the final step's input, through the steps in between (what
        `pipeline[first_step:-1].transform` does, without building that pipeline on every call)."""
        for _, step in getattr(self.pipeline, "steps", [])[first_step:-1]:
            if linear_steps.supports_projection(step) and _plain_rows(inputs):
                inputs = linear_steps.project(step, inputs)
            elif step is not None and step != "passthrough":
                inputs = step.transform(inputs)
        return inputs


def _plain_rows(inputs: object) -> bool:
    """Whether scikit-learn would take `inputs` as they are: a 2-D float32 or float64 array (what
    digit_models.linear_steps may then compute instead of it)."""
    return isinstance(inputs, np.ndarray) and inputs.ndim == 2 and inputs.dtype in (np.float32, np.float64)


def predict_proba_together(models: Sequence[SklearnDigitModel], images: np.ndarray) -> list[np.ndarray]:
    """Each model's `predict_proba` on the same float32 images (n, 28, 28) -> float64 (n, 10) per model.

    A first step several pipelines share (`shared_first_step`: the three classic models all start by
    deskewing) runs once for all of them: about 0.2 ms per image for each pipeline after the first, and
    the numbers are identical.
    """
    batch = as_image_batch(images)
    rows = batch.reshape(len(batch), -1)
    shared: dict[object, np.ndarray] = {}  # the step's function -> what it made of the rows
    results = []
    for model in models:
        step = model.shared_first_step
        if step is None:
            results.append(model.predict_proba_from(rows, first_step=0))
            continue
        if step.func not in shared:
            shared[step.func] = step.transform(rows)
        results.append(model.predict_proba_from(shared[step.func], first_step=1))
    return results


class ForestFractions:
    """A fitted random forest's `predict_proba`, (n, n_classes): the mean of its trees' leaf class fractions.

    Computed tree by tree in this thread because scikit-learn dispatches the trees through joblib on every
    call, which costs 5-8 ms for one image. Each leaf's fractions are normalised once, here, instead of on
    every call: the same numbers (the same operations on the same leaf values), 0.75 -> 0.33 ms per image
    for the app's 70 trees, for about 17 MB of tables (one row of n_classes floats per leaf).
    """

    def __init__(self, forest: RandomForestClassifier) -> None:
        self.n_classes = forest.n_classes_
        self.trees = [_leaf_table(tree.tree_, self.n_classes) for tree in forest.estimators_]

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """float (n, d) features -> float64 (n, n_classes), rows summing to 1."""
        features = np.ascontiguousarray(features, dtype=np.float32)  # The trees' own input type.
        total = np.zeros((len(features), self.n_classes))
        for structure, row_of_node, fractions in self.trees:
            total += fractions[row_of_node[structure.apply(features)]]
        return total / len(self.trees)


def _leaf_table(structure, n_classes: int) -> tuple[object, np.ndarray, np.ndarray]:
    """One tree's (structure, node -> row of its leaf, normalised fractions (leaves, n_classes))."""
    leaves = np.flatnonzero(structure.children_left == -1)  # scikit-learn's TREE_LEAF
    row_of_node = np.zeros(structure.node_count, dtype=np.intp)
    row_of_node[leaves] = np.arange(len(leaves))
    fractions = structure.value[leaves, 0, :n_classes]
    return structure, row_of_node, fractions / np.maximum(fractions.sum(axis=1, keepdims=True), 1e-12)


def _openmp_threads_for(count: int):
    """The OpenMP thread limit for a call on `count` images. The app sends a few images at a time from
    several threads at once; OpenMP threads waiting on each other then cost 10-100 ms per call (KNN's
    neighbour search), where one thread takes 4 ms. Large batches still use every core through BLAS."""
    return _thread_controller().limit(limits=1 if count <= SMALL_BATCH else None, user_api="openmp")


@functools.cache
def _thread_controller() -> threadpoolctl.ThreadpoolController:
    # Finding the loaded thread pools scans every shared library (TensorFlow brings hundreds):
    # about 8 ms, so it is done once, and each call only sets the thread count.
    return threadpoolctl.ThreadpoolController()
