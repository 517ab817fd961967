"""The whole-digit check of a number's segmentation: its training crops (training.whole_digit_data)
and the committed check (digit_models.reading.whole_digit) on crops of held-out digits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from preprocessing import normalisation
from training import whole_digit_data


@pytest.fixture(scope="module")
def validation_digits() -> tuple[np.ndarray, np.ndarray]:
    """MNIST validation digits (held out of every model's training): uint8 (5000, 28, 28), labels."""
    from digit_data import mnist, splits

    data = mnist.load_mnist()
    _, validation = splits.train_validation_indices(data.y_train)
    return data.X_train[validation], data.y_train[validation]


def test_a_touching_pair_meets_and_every_ink_pixel_has_its_digit(validation_digits):
    images, _ = validation_digits
    rng = np.random.default_rng(0)
    for _ in range(20):
        first, second = rng.choice(len(images), 2, replace=False)
        ink, owner = whole_digit_data.touching_pair(images[first], images[second], rng)
        assert ink.shape == owner.shape
        assert np.array_equal(ink > 0, owner > 0)
        # Their inks touch: the second digit's ink lies within a pixel of the first's.
        inked = ink > whole_digit_data.INK_LEVEL / 255
        near_first = ndimage.binary_dilation(inked & (owner == 1), iterations=1)
        assert (near_first & inked & (owner == 2)).any()
        # Each digit keeps its own ink (up to the pixels where the other's is darker).
        assert (owner == 1).sum() >= 0.8 * (images[first] > 0).sum()


def test_training_crops_are_in_the_mnist_frame_half_of_them_whole(validation_digits):
    images, _ = validation_digits
    crops, labels = whole_digit_data.whole_digit_examples(images[:300], 400, np.random.default_rng(1))
    again, _ = whole_digit_data.whole_digit_examples(images[:300], 400, np.random.default_rng(1))
    assert crops.shape == (400, 28, 28) and crops.dtype == np.uint8
    assert np.array_equal(crops, again)  # deterministic for a seed
    assert 0.4 <= labels.mean() <= 0.6
    for crop in crops[:50]:
        rows = np.flatnonzero(crop.max(axis=1) > 0)
        columns = np.flatnonzero(crop.max(axis=0) > 0)
        # The longest side of the ink fits MNIST's 20-px box (anti-aliased edges may add a pixel).
        assert 17 <= max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1 <= 22


def test_the_committed_check_tells_whole_digits_from_pieces_and_pairs(validation_digits):
    from digit_models import artifacts

    check = artifacts.load_models()["ensemble"].whole_digit
    assert check is not None, "assets/models has no whole-digit check: run `python -m training whole-digit`"
    images, _ = validation_digits
    crops, labels = whole_digit_data.whole_digit_examples(images[:2000], 2000, np.random.default_rng(2))
    probabilities = check.probability(crops.astype(np.float32) / 255)
    assert probabilities.shape == (2000,)
    assert np.mean((probabilities > 0.5) == (labels == 1)) >= 0.9
    # Whole validation digits, as MNIST has them, are whole; their left halves are not.
    digits = images[:500].astype(np.float32) / 255
    halves = np.stack([normalisation.to_mnist_frame(_left_half(digit)) for digit in digits])
    assert np.median(check.probability(digits)) > 0.9
    assert np.median(check.probability(halves)) < 0.3


def _left_half(digit: np.ndarray) -> np.ndarray:
    ink = whole_digit_data.crop_to_ink(digit)
    return ink[:, : ink.shape[1] // 2]
