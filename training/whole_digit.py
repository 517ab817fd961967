"""Train the whole-digit check: is a crop of a number one whole digit, or a piece, or two run together?

    .venv/bin/python -m training whole-digit  # about 2 minutes on 2 cores in bfloat16, 5 in float32 (part of `all`)

The cut search of `digit_models.reading.cuts` weighs each candidate digit by how sure this check is that
it is one whole digit (`digit_models.ensemble.EnsembleModel.whole_digit`). It learns from crops of
touching pairs of MNIST *training* digits (`training.whole_digit_data`); its epochs are fixed and
its held-out figures come from pairs of *validation* digits. The test digits choose nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from digit_models import artifacts
from training import precision, whole_digit_data
from training.preparation import Prepared
from training.train import save_segmentation_network

EXAMPLES = 120_000
"""Training crops (half whole digits): two per pair of training digits, 60,000 pairs."""
VALIDATION_EXAMPLES = 10_000
EPOCHS = 4
BATCH_SIZE = 256
SEED = 0


def build_network():
    """(b, 28, 28, 1) in [0, 1] -> logit (b, 1) of "one whole digit". Small: the cut search runs it on
    tens of crops per number, and its question is about shape, not about which digit."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),  # (26, 26, 32)
            layers.MaxPooling2D(),  # (13, 13, 32)
            layers.Conv2D(64, 3, activation="relu"),  # (11, 11, 64)
            layers.MaxPooling2D(),  # (5, 5, 64)
            layers.Conv2D(64, 3, activation="relu"),  # (3, 3, 64)
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(64, activation="relu"),
            layers.Dense(1, dtype="float32"),  # the logit in float32 whatever the layers' arithmetic
        ],
        name="whole_digit_check",
    )


def train(prepared: Prepared, *, examples: int = EXAMPLES, epochs: int = EPOCHS, seed: int = SEED):
    """Fit the check on crops of the training digits.

    Returns (network, figures on crops of the validation digits: accuracy and log loss, parameters).
    """
    import keras

    X, y = whole_digit_data.whole_digit_examples(prepared.X_train, examples, np.random.default_rng(seed))
    X_val, y_val = whole_digit_data.whole_digit_examples(
        prepared.X_val, min(VALIDATION_EXAMPLES, examples), np.random.default_rng(seed + 1)
    )
    keras.utils.set_random_seed(seed)
    network = precision.trainable(build_network)
    network.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
    )
    history = network.fit(
        X[..., None].astype(np.float32) / 255,
        y.astype(np.float32),
        batch_size=BATCH_SIZE,
        epochs=epochs,
        validation_data=(X_val[..., None].astype(np.float32) / 255, y_val.astype(np.float32)),
        # A progress bar per epoch on a terminal; one line per epoch in a log or CI.
        verbose=1 if sys.stdout.isatty() else 2,
    )
    figures = {
        "validation_accuracy": float(history.history["val_binary_accuracy"][-1]),
        "validation_log_loss": float(history.history["val_loss"][-1]),
    }
    parameters = {
        "training_crops": len(X),
        "validation_crops": len(X_val),
        "epochs": epochs,
        "seed": seed,
        "training_precision": precision.training_policy(),
    }
    return precision.float32_copy(build_network, network), figures, parameters


def train_whole_digit(prepared: Prepared, models_dir: Path) -> dict[str, Any]:
    """Train, save `whole_digit.keras` and its manifest entry; returns the entry."""
    started = time.perf_counter()
    quick = prepared.quick
    network, figures, parameters = train(prepared, examples=6_000 if quick else EXAMPLES, epochs=1 if quick else EPOCHS)
    entry = save_segmentation_network(
        artifacts.WHOLE_DIGIT_KEY,
        network,
        prepared,
        models_dir,
        purpose="segmentation of numbers: probability that a crop is one whole digit (not a piece, not two)",
        parameters=parameters,
        figures=figures,
        started=started,
    )
    print(
        f"whole-digit check: validation accuracy {figures['validation_accuracy']:.4f}, "
        f"log loss {figures['validation_log_loss']:.4f}"
    )
    return entry
