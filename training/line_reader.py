"""Train the line reader: a group of touching digits read whole, with CTC (Graves et al. 2006).

    .venv/bin/python -m training line-reader  # about 10 minutes on 2 cores in bfloat16, 41 in float32 (part of `all`)

A small convolutional network turns a line image (28 px high, `preprocessing.line_image`) into
one distribution per frame (every 2 columns) over "blank" and the ten digits; CTC trains it from
the digit sequence alone, with no position for any digit. It learns from touching groups of 1-6
MNIST *training* digits (`training.line_data`), half of them re-drawn in the CNNs' styles; its
epochs are fixed and its held-out figures come from groups of *validation* digits. The test
digits choose nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from digit_models import artifacts
from preprocessing import line_image
from training import augmentation, line_data, precision
from training.preparation import Prepared
from training.train import save_segmentation_network

EXAMPLES = 80_000
"""Training groups, 1 to 6 digits each (about 280,000 digits)."""
VALIDATION_EXAMPLES = 3_000
EPOCHS = 15
BATCH_SIZE = 64
SEED = 0
CLASSES = 11
"""CTC's blank (0), then the digits 0..9 as 1..10."""


def build_network():
    """(b, 28, W, 1) in [0, 1] -> logits (b, W / 2, 11). Fully convolutional along the line: any width W
    (a multiple of 2); each frame sees about 40 columns, two digits' width, of the line around it."""
    import keras
    from keras import layers

    image = keras.Input((line_image.LINE_HEIGHT, None, 1))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(image)  # (28, W, 32)
    x = layers.MaxPooling2D((2, line_image.FRAME_STRIDE))(x)  # (14, W/2, 32)
    x = layers.Conv2D(48, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D((2, 1))(x)  # (7, W/2, 48)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)  # (7, W/2, 64)
    x = layers.Permute((2, 1, 3))(x)  # (W/2, 7, 64)
    x = layers.Reshape((-1, 7 * 64))(x)  # (W/2, 448): each frame's column of features
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Conv1D(128, 5, padding="same", activation="relu")(x)
    x = layers.Conv1D(128, 5, padding="same", activation="relu")(x)
    logits = layers.Dense(CLASSES, dtype="float32")(x)  # float32 whatever the layers' arithmetic (CTC needs it)
    return keras.Model(image, logits, name="line_reader")


def width_batches(images: list[np.ndarray], sequences: list[np.ndarray], batch_size: int, rng: np.random.Generator):
    """Batches of similar width: (images (b, 28, W, 1), targets (b, L) as 1..10 padded with 0,
    target lengths (b,), frame counts (b,)). Lines are padded on the right with paper."""
    order = np.argsort([image.shape[1] + rng.uniform(0, 8) for image in images])
    chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    rng.shuffle(chunks)
    for chunk in chunks:
        width = max(images[index].shape[1] for index in chunk)
        batch = np.zeros((len(chunk), line_image.LINE_HEIGHT, width, 1), np.float32)
        longest = max(len(sequences[index]) for index in chunk)
        targets = np.zeros((len(chunk), longest), np.int32)
        for row, index in enumerate(chunk):
            batch[row, :, : images[index].shape[1], 0] = images[index]
            targets[row, : len(sequences[index])] = sequences[index] + 1
        target_lengths = np.asarray([len(sequences[index]) for index in chunk], np.int32)
        frames = np.asarray([images[index].shape[1] // line_image.FRAME_STRIDE for index in chunk], np.int32)
        yield batch, targets, target_lengths, frames


def training_step(network, optimizer):
    """One compiled CTC step: (images, targets, target lengths, frame counts) of `width_batches` -> mean loss,
    the network's weights moved by `optimizer`."""
    import keras
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(batch, targets, target_lengths, frames):
        with tf.GradientTape() as tape:
            logits = network(batch, training=True)
            loss = tf.reduce_mean(keras.ops.ctc_loss(targets, logits, target_lengths, frames, mask_index=0))
        gradients = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(gradients, network.trainable_variables, strict=True))
        return loss

    return step


def sequence_accuracy(network, images: list[np.ndarray], sequences: list[np.ndarray]) -> float:
    """Share of line images whose best-path reading is exactly their digit sequence."""
    from digit_models.reading.line_reader import LineReader

    reader = LineReader(network)
    right = [
        reader.read(image) == "".join(map(str, sequence)) for image, sequence in zip(images, sequences, strict=True)
    ]
    return float(np.mean(right))


def train(prepared: Prepared, *, examples: int = EXAMPLES, epochs: int = EPOCHS, seed: int = SEED):
    """Fit the reader on touching groups of the training digits with CTC (Adam, cosine decay).

    Returns (network, figures on groups of the validation digits: CTC loss and exact-sequence
    accuracy, parameters).
    """
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    half = len(prepared.X_train) // 2
    styled = augmentation.augment_styles(
        prepared.X_train[:half], augmentation.PEN_STYLES, seed=seed, labels=prepared.y_train[:half]
    )
    pool = np.concatenate([styled, prepared.X_train[half:]])
    images, sequences = line_data.line_examples(pool, prepared.y_train, examples, rng)
    val_images, val_sequences = line_data.line_examples(
        prepared.X_val, prepared.y_val, min(VALIDATION_EXAMPLES, examples), np.random.default_rng(seed + 1)
    )
    keras.utils.set_random_seed(seed)
    network = precision.trainable(build_network)
    steps = epochs * -(-examples // BATCH_SIZE)
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.05))
    step = training_step(network, optimizer)

    def validation_loss() -> float:
        batches = width_batches(val_images, val_sequences, 256, np.random.default_rng(0))
        losses = [
            float(tf.reduce_mean(keras.ops.ctc_loss(targets, network(batch, training=False), lengths, frames)))
            for batch, targets, lengths, frames in batches
        ]
        return float(np.mean(losses))

    for epoch in range(epochs):
        started = time.perf_counter()
        losses = [float(step(*batch)) for batch in width_batches(images, sequences, BATCH_SIZE, rng)]
        print(
            f"line reader epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f}, "
            f"validation loss {validation_loss():.4f} ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    network = precision.float32_copy(build_network, network)
    figures = {
        "validation_ctc_loss": validation_loss(),
        "validation_sequence_accuracy": sequence_accuracy(network, val_images, val_sequences),
    }
    parameters = {
        "training_groups": len(images),
        "validation_groups": len(val_images),
        "epochs": epochs,
        "seed": seed,
        "training_precision": precision.training_policy(),
    }
    return network, figures, parameters


def train_line_reader(prepared: Prepared, models_dir: Path) -> dict[str, Any]:
    """Train, save `line_reader.keras` and its manifest entry; returns the entry."""
    started = time.perf_counter()
    quick = prepared.quick
    network, figures, parameters = train(prepared, examples=2_000 if quick else EXAMPLES, epochs=1 if quick else EPOCHS)
    entry = save_segmentation_network(
        artifacts.LINE_READER_KEY,
        network,
        prepared,
        models_dir,
        purpose="segmentation of numbers: touching digits read as one line (CTC), to choose the cuts",
        parameters=parameters,
        figures=figures,
        started=started,
    )
    print(
        f"line reader: validation sequence accuracy {figures['validation_sequence_accuracy']:.4f}, "
        f"CTC loss {figures['validation_ctc_loss']:.4f}"
    )
    return entry
