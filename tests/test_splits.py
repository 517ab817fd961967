"""digit_data.splits: the validation split every model holds out, now shared by training and bench."""

from __future__ import annotations

import numpy as np
import pytest

from digit_data import splits


@pytest.fixture(scope="module")
def mnist_data():
    from digit_data.mnist import load_mnist

    return load_mnist()


def test_training_uses_the_very_same_split_function():
    from training import splits as training_splits

    assert training_splits.train_validation_indices is splits.train_validation_indices
    assert (training_splits.VALIDATION_SIZE, training_splits.SPLIT_SEED) == (5_000, 0)


def test_the_split_of_mnist_is_the_one_the_committed_models_were_trained_with(mnist_data):
    # Pinned from training/splits.py before the function moved: a changed split would put
    # validation digits into the models' training part.
    train, validation = splits.train_validation_indices(mnist_data.y_train)
    assert len(validation) == 5_000 and len(train) == len(mnist_data.y_train) - 5_000
    assert validation[:8].tolist() == [1, 3, 10, 20, 26, 43, 67, 77]
    assert int(validation.sum()) == 150_611_140


def test_split_is_disjoint_complete_stratified_and_repeatable():
    labels = np.repeat(np.arange(10), 100)
    train, validation = splits.train_validation_indices(labels, validation_size=200)
    assert np.intersect1d(train, validation).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, validation])), np.arange(1000))
    assert np.bincount(labels[validation]).tolist() == [20] * 10
    again = splits.train_validation_indices(labels, validation_size=200)
    assert np.array_equal(again[1], validation)


def test_bench_numbers_can_be_built_from_validation_digits_only(mnist_data):
    from digit_data import number_families

    images, labels = number_families.digits_of("validation", mnist_data)
    _, validation = splits.train_validation_indices(mnist_data.y_train)
    assert np.array_equal(images, mnist_data.X_train[validation])
    assert np.array_equal(labels, mnist_data.y_train[validation])
    test_images, _ = number_families.digits_of("test", mnist_data)
    assert test_images is mnist_data.X_test
    with pytest.raises(ValueError, match="validation"):
        number_families.digits_of("train", mnist_data)
