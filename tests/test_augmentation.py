"""Shift augmentation moves pixels exactly as stated; the CNN's augmentation fills with zeros."""

from __future__ import annotations

import numpy as np
import pytest

from training.augmentation import SHIFTS, cnn_augmentation, shift_augment, shift_images


@pytest.mark.parametrize(("rows", "columns"), [(-1, 0), (1, 0), (0, -1), (0, 1)])
def test_shift_moves_every_pixel_by_one_and_fills_zero(rows, columns):
    image = np.arange(1, 28 * 28 + 1, dtype=np.int32).reshape(28, 28)
    shifted = shift_images(image, rows, columns)
    for r in range(28):
        for c in range(28):
            source_r, source_c = r - rows, c - columns
            inside = 0 <= source_r < 28 and 0 <= source_c < 28
            assert shifted[r, c] == (image[source_r, source_c] if inside else 0)


def test_shift_augment_keeps_labels_and_originals_first():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.arange(7)
    augmented, augmented_labels = shift_augment(images, labels)
    assert augmented.shape == (35, 28, 28) and augmented.dtype == np.uint8
    np.testing.assert_array_equal(augmented[:7], images)
    np.testing.assert_array_equal(augmented_labels, np.tile(labels, 5))
    for block, (rows, columns) in enumerate(SHIFTS):
        np.testing.assert_array_equal(augmented[7 * block : 7 * block + 7], shift_images(images, rows, columns))
    # One pixel right: column 0 is empty, column 1 holds what column 0 held.
    right = augmented[7 * SHIFTS.index((0, 1))]
    assert not right[:, 0].any()
    np.testing.assert_array_equal(right[:, 1:], images[0][:, :-1])


def test_cnn_augmentation_fills_the_border_with_zeros_not_reflections():
    # A bar touching the left edge: 'reflect' would mirror it into the empty right border.
    batch = np.zeros((16, 28, 28, 1), np.float32)
    batch[:, :, :6] = 1.0
    augmentation = cnn_augmentation(rotation_degrees=10, shift_fraction=0.15, zoom_fraction=0.1, seed=1)
    augmented = np.asarray(augmentation(batch, training=True))
    assert augmented.shape == batch.shape
    assert augmented[:, :, 20:].max() < 1e-3, "ink appeared in the empty right part of the image"
    assert np.abs(augmented - batch).max() > 0.5, "the layers changed nothing"
    np.testing.assert_allclose(np.asarray(augmentation(batch, training=False)), batch)
