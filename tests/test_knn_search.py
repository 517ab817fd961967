"""The app's fast KNN search and its serving settings answer as scikit-learn does, on real models and digits."""

from __future__ import annotations

import numpy as np
import pytest

from digit_data.mnist import load_mnist
from digit_models import knn_search
from digit_models.artifacts import load_models
from digit_models.classify import predict_all
from digit_models.knn_search import NeighbourSearch
from digit_models.sklearn_model import NEIGHBOUR_SEARCH_BATCH


@pytest.fixture(scope="module")
def app_models(app_models_dir):
    return load_models(app_models_dir)


@pytest.fixture(scope="module")
def test_digits() -> np.ndarray:
    """200 MNIST test digits, float32 (200, 28, 28) in [0, 1], every class present."""
    return load_mnist().X_test[:200].astype(np.float32) / 255


def test_the_app_knn_is_one_the_fast_search_supports(app_models):
    assert knn_search.supports(app_models["knn"].final_step)


def test_neighbours_and_probabilities_match_scikit_learn(app_models, test_digits):
    model = app_models["knn"]
    features = model.features(test_digits.reshape(len(test_digits), -1))
    search = NeighbourSearch(model.final_step)

    distances, rows = search.kneighbors(features)
    expected_distances, expected_rows = model.final_step.kneighbors(features)

    np.testing.assert_array_equal(rows, expected_rows)
    # scikit-learn's distances come from |x|^2 - 2 x.y + |y|^2, ours from x - y: close, not equal.
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-6)
    np.testing.assert_allclose(search.predict_proba(features), model.final_step.predict_proba(features), atol=1e-6)


@pytest.mark.parametrize("count", [3, NEIGHBOUR_SEARCH_BATCH + 12])
def test_one_search_gives_the_probabilities_and_the_nearest_distance(app_models, test_digits, count):
    """The cut search's single search (both sides of NEIGHBOUR_SEARCH_BATCH) answers as the two it replaces."""
    model = app_models["knn"]
    images = test_digits[:count]
    probabilities, nearest = model.predict_proba_and_nearest(images)

    np.testing.assert_allclose(probabilities, model.predict_proba(images), atol=1e-9)
    expected = model.neighbour_search.nearest_distance(model.features(images.reshape(count, -1)))
    np.testing.assert_allclose(nearest, expected, rtol=1e-4)  # the old one is float32's
    assert nearest.shape == (count,) and probabilities.shape == (count, 10)


def test_a_fitted_row_itself_takes_the_whole_vote(app_models):
    knn = app_models["knn"].final_step
    rows = knn._fit_X[:5]

    probabilities = NeighbourSearch(knn).predict_proba(rows)

    np.testing.assert_allclose(probabilities.max(axis=1), 1.0)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), knn.classes_[knn._y[:5]])


def test_small_batches_answer_as_one_large_batch(app_models, test_digits):
    """The app asks about a few images at a time (fast search); training and evaluation ask about
    thousands (scikit-learn). Every model and the ensemble must give the same probabilities."""
    large = predict_all(app_models, test_digits)
    small = [predict_all(app_models, chunk) for chunk in np.array_split(test_digits, 50)]

    assert all(len(chunk) <= NEIGHBOUR_SEARCH_BATCH for chunk in np.array_split(test_digits, 50))
    for key, values in large.items():
        np.testing.assert_allclose(np.concatenate([part[key] for part in small]), values, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("blocks", [3, 40])
def test_the_blockwise_partial_sort_finds_the_smallest_columns(blocks):
    """Few blocks fall back to one partial sort; many go through the blocks' minima first."""
    values = np.random.default_rng(blocks).normal(size=(7, blocks * knn_search.BLOCK)).astype(np.float32)
    # The smallest values of a row crowded into one block, and spread over every block, alike.
    values[0, : knn_search.BLOCK] -= 10

    columns = knn_search.smallest_columns(values, 32)

    expected = np.argpartition(values, 31, axis=1)[:, :32]
    assert [sorted(row) for row in columns] == [sorted(row) for row in expected]


def test_a_knn_fitted_on_rows_that_fill_no_whole_block_answers_as_scikit_learn(app_models, test_digits):
    """The search's padding rows are never anyone's neighbours."""
    from sklearn.neighbors import KNeighborsClassifier

    model = app_models["knn"]
    fitted = model.final_step
    count = 5 * knn_search.BLOCK + 17
    knn = KNeighborsClassifier(n_neighbors=fitted.n_neighbors, weights=fitted.weights, algorithm="brute")
    knn.fit(fitted._fit_X[:count], fitted.classes_[fitted._y[:count]])
    features = model.features(test_digits[:NEIGHBOUR_SEARCH_BATCH].reshape(NEIGHBOUR_SEARCH_BATCH, -1))

    distances, rows = NeighbourSearch(knn).kneighbors(features)

    expected_distances, expected_rows = knn.kneighbors(features)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-6)
    assert rows.max() < count


@pytest.mark.parametrize("count", [2, knn_search.ROW_MAJOR_QUERIES, knn_search.ROW_MAJOR_QUERIES + 1])
def test_a_few_queries_find_what_each_finds_alone(app_models, test_digits, count):
    """Up to ROW_MAJOR_QUERIES the search runs on a row-major copy of the product, past it on the transpose:
    the same neighbours at the same distances as each query searched alone, and the same nearest distance."""
    model = app_models["knn"]
    search = model.neighbour_search
    features = model.features(test_digits[:count].reshape(count, -1))

    distances, rows = search.kneighbors(features)
    alone = [search.kneighbors(features[index : index + 1]) for index in range(count)]

    np.testing.assert_array_equal(rows, np.concatenate([found_rows for _, found_rows in alone]))
    np.testing.assert_array_equal(distances, np.concatenate([found for found, _ in alone]))
    nearest_alone = np.concatenate([search.nearest_distance(features[index : index + 1]) for index in range(count)])
    # float32 sums, whose rounding depends on how many queries one BLAS call takes
    np.testing.assert_allclose(search.nearest_distance(features), nearest_alone, rtol=1e-4)
