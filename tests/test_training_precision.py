"""training.precision: bfloat16 arithmetic only where the processor has it, and float32 networks saved."""

from __future__ import annotations

import numpy as np
import pytest

from training import precision, whole_digit


@pytest.fixture
def fresh_detection():
    precision.processor_has_bfloat16.cache_clear()
    yield
    precision.processor_has_bfloat16.cache_clear()


def test_bfloat16_is_chosen_from_the_processors_own_flags(tmp_path, fresh_detection):
    sapphire_rapids = tmp_path / "amx"
    sapphire_rapids.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f amx_bf16 amx_tile\n")
    zen4 = tmp_path / "zen4"
    zen4.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n")
    skylake = tmp_path / "skylake"
    skylake.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert precision.processor_has_bfloat16(sapphire_rapids)
    assert precision.processor_has_bfloat16(zen4)
    import tensorflow as tf

    # Without the flags only a GPU makes bfloat16 worth it.
    assert precision.processor_has_bfloat16(skylake) == bool(tf.config.list_physical_devices("GPU"))
    assert precision.processor_has_bfloat16(tmp_path / "missing") == bool(tf.config.list_physical_devices("GPU"))


def test_the_environment_overrides_the_choice_and_a_typo_is_refused(monkeypatch):
    monkeypatch.setenv(precision.POLICY_VARIABLE, precision.FLOAT32)
    assert precision.training_policy() == precision.FLOAT32
    monkeypatch.setenv(precision.POLICY_VARIABLE, precision.MIXED)
    assert precision.training_policy() == precision.MIXED
    monkeypatch.setenv(precision.POLICY_VARIABLE, "bf16")
    with pytest.raises(ValueError, match="DIGITS_TRAINING_PRECISION='bf16'"):
        precision.training_policy()


def test_a_network_trains_in_bfloat16_and_is_saved_in_float32(monkeypatch):
    import keras

    monkeypatch.setenv(precision.POLICY_VARIABLE, precision.MIXED)
    trained = precision.trainable(whole_digit.build_network)
    assert keras.mixed_precision.dtype_policy().name == "float32", "the global policy must be restored"
    assert trained.layers[0].compute_dtype == "bfloat16"
    assert trained.layers[0].variable_dtype == "float32"
    assert trained.layers[-1].compute_dtype == "float32", "logits stay float32 for the loss"

    saved = precision.float32_copy(whole_digit.build_network, trained)
    assert {layer.compute_dtype for layer in saved.layers} == {"float32"}
    for mine, theirs in zip(saved.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    crops = np.random.default_rng(0).uniform(0, 1, (8, 28, 28, 1)).astype(np.float32)
    # Same weights, two arithmetics: bfloat16's 8-bit mantissa keeps the logits within a few hundredths.
    np.testing.assert_allclose(saved.predict(crops, verbose=0), trained.predict(crops, verbose=0), atol=0.05)
