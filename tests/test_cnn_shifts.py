"""The CNN's test-time shifts on real (--quick) models: the served call, the cheaper variant, calibration."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from digit_data.mnist import load_mnist
from digit_models import artifacts
from digit_models.cnn import KerasDigitModel


@pytest.fixture(scope="module")
def test_digits() -> np.ndarray:
    """The first 50 MNIST test digits, float32 (50, 28, 28) in [0, 1]."""
    return load_mnist().X_test[:50].astype(np.float32) / 255.0


def test_cnn_answers_with_its_logits_averaged_over_its_input_moved_a_pixel(quick_models, test_digits):
    """The manifest's shifts (training.cnn.MEMBERS) reach the loaded CNN; on digits with 5 px of empty margin
    its one traced call equals the network's own logits averaged over np.roll copies of the input."""
    from digit_models.cnn import FOUR_NEIGHBOURS, SECOND_CONVOLUTION
    from training.cnn import MEMBERS

    images = test_digits[:50].copy()
    images[:, :5], images[:, -5:], images[:, :, :5], images[:, :, -5:] = 0, 0, 0, 0
    served = quick_models["cnn"]
    assert served.shifts == MEMBERS["cnn"].test_time_shifts == FOUR_NEIGHBOURS
    assert served.shift_layer == MEMBERS["cnn"].test_time_shift_layer == SECOND_CONVOLUTION
    plain = KerasDigitModel(key="cnn", name="CNN", network=served.network, temperature=served.temperature)
    moved = [plain.logits(np.roll(images, move, axis=(1, 2))) for move in FOUR_NEIGHBOURS]
    np.testing.assert_allclose(served.logits(images), np.mean(moved, axis=0), atol=1e-4)
    assert np.abs(served.logits(images) - plain.logits(images)).max() > 0.01  # The moves change the numbers.


def test_moving_the_second_convolutions_output_is_moving_the_input_when_the_margins_are_empty(
    quick_models, test_digits
):
    """training.shift_averaging's cheaper variant: each convolution moves with its input, and what np.roll wraps
    round is blank when 5 px round the digit are, so the two averages agree there."""
    import tensorflow as tf

    from digit_models.cnn import FOUR_NEIGHBOURS, SECOND_CONVOLUTION, shifted_logits

    images = test_digits[:40].copy()
    images[:, :5], images[:, -5:], images[:, :, :5], images[:, :, -5:] = 0, 0, 0, 0
    batch = tf.constant(images[..., None])
    network = quick_models["cnn"].network
    of_input = shifted_logits(network, batch, FOUR_NEIGHBOURS).numpy()
    of_features = shifted_logits(network, batch, FOUR_NEIGHBOURS, SECOND_CONVOLUTION).numpy()
    np.testing.assert_allclose(of_features, of_input, atol=1e-4)
    plain = network(batch, training=False).numpy()
    assert np.abs(of_input - plain).max() > 0.01  # The moves change the numbers.


def test_calibrating_a_trained_cnn_restores_its_shifts_and_the_temperature_training_fitted(quick_models_dir, tmp_path):
    """`python -m training calibrate` on a CNN whose manifest lost its shifts and temperature writes back
    what training wrote (the same fit on the same validation logits); the network file is untouched."""
    from digit_models.cnn import FOUR_NEIGHBOURS
    from training.preparation import prepare
    from training.train import calibrate_cnn_model

    folder = tmp_path / "models"
    shutil.copytree(quick_models_dir, folder)
    trained = artifacts.read_manifest(folder)["models"]["cnn"]
    moves = {"test_time_shifts": [[0, 0]], "test_time_shift_layer": 0}
    plain = {**trained, "temperature": 1.0, "parameters": {**trained["parameters"], **moves}}
    artifacts.update_manifest_entry("cnn", plain, folder)
    assert artifacts.load_models(folder)["cnn"].shifts == ((0, 0),)
    entry = calibrate_cnn_model(prepare(None, quick=True), folder, "cnn")
    assert entry["parameters"]["test_time_shifts"] == [list(move) for move in FOUR_NEIGHBOURS]
    assert entry["parameters"]["test_time_shift_layer"] == trained["parameters"]["test_time_shift_layer"] > 0
    assert entry["temperature"] == pytest.approx(trained["temperature"], rel=1e-4)
    assert entry["validation_log_loss"] == pytest.approx(trained["validation_log_loss"], rel=1e-4)
    assert entry["sha256"] == trained["sha256"] and entry["trained_at"] == trained["trained_at"]
    assert artifacts.load_models(folder)["cnn"].shifts == FOUR_NEIGHBOURS
