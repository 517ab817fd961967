"""Train the convolutional networks: a compact modern convnet with augmentation.

Setup: a CNNConfig per network (MEMBERS). Prepare the data: MNIST's training digits plus one
precomputed copy re-drawn in other styles (training.augmentation.augment_styles), then
tf.data with random rotation, shift and zoom.
Build the model: three stages of 3x3/5x5 convolutions with batch norm and dropout.
Train: Adam with warm-up and cosine decay; the weights of the epoch with the lowest
validation loss are kept. Calibrate: a temperature fitted on the validation set.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from digit_models.cnn import FOUR_NEIGHBOURS, NO_SHIFT, SECOND_CONVOLUTION
from training import precision
from training.augmentation import CNN_STYLES, PEN_STYLES, STYLE_WORDS

# Keras' default of 0.99 needs thousands of steps before the running statistics that
# inference uses catch up with training; 0.9 settles within an epoch, even in --quick runs.
BATCH_NORM_MOMENTUM = 0.9


@dataclasses.dataclass
class CNNConfig:
    """Everything that defines a CNN training run; saved in the manifest next to the artifact."""

    epochs: int = 20
    batch_size: int = 128
    peak_learning_rate: float = 2e-3
    warmup_epochs: int = 1
    weight_decay: float = 1e-4
    dropout_rate: float = 0.4
    rotation_degrees: float = 10.0
    shift_fraction: float = 0.1
    zoom_fraction: float = 0.1
    styles: tuple[str, ...] = PEN_STYLES
    seed: int = 0
    # After the main run, one polishing epoch on the training digits plus some re-drawn in these styles
    # (polish); empty: none.
    polish_styles: tuple[str, ...] = ()
    # (rows, columns) moves of the input whose logits are averaged when the network answers
    # (digit_models.cnn.shifted_logits); the temperature is fitted on those averaged logits.
    test_time_shifts: tuple[tuple[int, int], ...] = NO_SHIFT
    # Which layer's output those moves apply to: 0, the input; SECOND_CONVOLUTION, the first two
    # convolutions' output, computed once for all the moves.
    test_time_shift_layer: int = 0


MEMBERS = {
    "cnn": CNNConfig(
        epochs=12,
        seed=0,
        styles=CNN_STYLES,
        polish_styles=PEN_STYLES,
        test_time_shifts=FOUR_NEIGHBOURS,
        test_time_shift_layer=SECOND_CONVOLUTION,
    ),
    "cnn_2": CNNConfig(epochs=4, seed=1, styles=PEN_STYLES),
}
"""The CNNs the ensemble combines. `cnn` is the one the page shows as "CNN"; the others are
members of the ensemble only. Each trains on 55,000 digits plus one re-drawn copy of each
(110,000 per epoch). `cnn` learns augmentation.CNN_STYLES (the pens, scanned flagged 1s and low-bar
4s) for 12 epochs: at 8 its validation loss was still falling (0.0136, 0.0131, 0.0126), at 12 it is
0.0124, on the re-drawn validation copy 0.0279 against 0.0324. At 16 (round 22, best epoch 14) the
ensemble read its validation digits worse (99.72 -> 99.66%, log loss 0.0106 -> 0.0107) and the mfeat
development half alike (95.3%). `cnn_2` learns the pens only, for 4
epochs (a full retraining stays well inside its budget): with CNN_STYLES too it was weaker on
validation (log loss 0.0195) and the ensemble gave it no weight; trained on the pens it differs from
`cnn`, and the weights learned on validation give it 0.17. Neither learns augmentation.WRITER_STYLES,
which cost validation accuracy.

`cnn` is then polished for one epoch on the pens (`polish`), chosen by a fine-tune of the previous
network (`python -m training.style_ideas`, assets/reports/style_ideas.json: validation log loss 0.0124 ->
0.0116, mfeat development half unchanged at 95.5%, load_digits 97.6 -> 97.4%: the scanned styles stay
learned); retrained with it, validation log loss 0.0124 -> 0.0114 (the ensemble's 0.0121 -> 0.0111).
Polishing `cnn_2` too was tried and not kept: alone it gained (validation log loss 0.0159 -> 0.0149), but
it then agreed with `cnn` so much that the ensemble gave it no weight (the ensemble's validation log loss
0.0111 -> 0.0112). Also tried and not kept: `cnn_2` on CNN_STYLES for 8 epochs (validation log loss
0.0159, weight 0.06: the ensemble's validation log loss 0.0125 against 0.0121 with the `cnn_2` of the
pens). Other recipes for `cnn_2` (`python -m training.member_ideas`, assets/reports/member_ideas.json):
MNIST's digits alone for the same steps (8 epochs of 55,000) get weight 0; the pens for twice the
steps (8 epochs, 7 more minutes of training, over the budget) get weight 0.25 and lower the weights'
objective a little, but not the validation digits' log loss; retrained with the polishing epoch (and
the weights learned to their minimum), `cnn_2` itself reads validation worse (log loss 0.0161). `cnn`'s own recipe
from seed 1, one read (`cnn_recipe_seed_1`, 16 more minutes of training): weight 0.23, the mfeat development
half 95.4 -> 95.9% and load_digits 97.4 -> 97.7%, but the validation digits read worse (accuracy 99.72 ->
99.70%, log loss 0.0106 -> 0.0107); not kept.

`cnn` answers with its logits averaged over five reads of the digit: as drawn and moved a pixel up, down,
left and right (test_time_shifts; `python -m training.shift_averaging`, assets/reports/shift_averaging.json,
weights learned again and the CNNs' temperatures fitted again for each variant, on validation data only).
Moving the input: the ensemble's validation log loss 0.0111 -> 0.0108, its re-drawn copy 0.0247 -> 0.0244,
for 1.7 ms more per digit. Moving the output of the first two convolutions instead (test_time_shift_layer,
computed once for the five reads; the same where the digit leaves 5 px empty round it): 0.0106 and 0.0242,
for 0.9 ms more. Shifting `cnn_2` too or 8 neighbours cost more for little more."""


def member_config(key: str, *, quick: bool = False) -> CNNConfig:
    """The configuration of CNN member `key`; --quick runs keep its styles and seed with 2 short epochs."""
    if key not in MEMBERS:
        raise ValueError(f"unknown CNN {key!r}: expected one of {sorted(MEMBERS)}")
    config = MEMBERS[key]
    return dataclasses.replace(config, epochs=2, batch_size=64) if quick else config


def how_it_works(config: CNNConfig) -> str:
    """The CNN in a sentence or two for the page's Models tab (manifest `how_it_works`)."""
    styles = ", ".join(STYLE_WORDS[style] for style in config.styles)
    text = (
        "Six convolutions learn strokes, then parts of digits; batch norm, dropout and digits "
        f"re-drawn in other writers' styles ({styles}) keep it general."
    )
    if len(config.test_time_shifts) > 1:
        moved = "what its first convolutions saw, moved" if config.test_time_shift_layer else "the input moved"
        text += (
            f" It reads each digit as drawn and moved a pixel {len(config.test_time_shifts) - 1} ways ({moved}),"
            " and averages what it sees."
        )
    return text


def build_network(config: CNNConfig):
    """(b, 28, 28, 1) in [0, 1] -> logits (b, 10).

    After Chris Deotte's well-tested MNIST design: pairs of 3x3 convolutions, a strided
    5x5 convolution instead of pooling, batch norm after every convolution, dropout
    after every stage.
    """
    import keras
    from keras import layers

    def convolution(filters: int, size: int, strides: int = 1, padding: str = "valid"):
        return [
            layers.Conv2D(filters, size, strides=strides, padding=padding, use_bias=False),
            layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM),
            layers.ReLU(),
        ]

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            *convolution(32, 3),  # (26, 26, 32)
            *convolution(32, 3),  # (24, 24, 32)
            *convolution(32, 5, strides=2, padding="same"),  # (12, 12, 32)
            layers.Dropout(config.dropout_rate),
            *convolution(64, 3),  # (10, 10, 64)
            *convolution(64, 3),  # (8, 8, 64)
            *convolution(64, 5, strides=2, padding="same"),  # (4, 4, 64)
            layers.Dropout(config.dropout_rate),
            layers.Flatten(),
            layers.Dense(128, use_bias=False),
            layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM),
            layers.ReLU(),
            layers.Dropout(config.dropout_rate),
            # Logits in float32 whatever the arithmetic of the layers before (training.precision).
            layers.Dense(10, dtype="float32"),
        ],
        name="digit_cnn",
    )


def make_dataset(images: np.ndarray, labels: np.ndarray, config: CNNConfig, *, augment: bool):
    """tf.data of (b, 28, 28, 1) float32 in [0, 1] and int labels; shuffled and augmented if asked."""
    import tensorflow as tf

    from training.augmentation import cnn_augmentation

    dataset = tf.data.Dataset.from_tensor_slices((images[..., None], labels))
    if augment:
        dataset = dataset.shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(config.batch_size).map(
        lambda batch, batch_labels: (tf.cast(batch, tf.float32) / 255.0, batch_labels),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if augment:
        augmentation = cnn_augmentation(
            rotation_degrees=config.rotation_degrees,
            shift_fraction=config.shift_fraction,
            zoom_fraction=config.zoom_fraction,
            seed=config.seed,
        )
        dataset = dataset.map(
            lambda batch, batch_labels: (augmentation(batch, training=True), batch_labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def compile_for_training(network, learning_rate, config: CNNConfig) -> None:
    """Compile `network` as the main run trains it: AdamW at `learning_rate` (a number or a schedule) with
    the config's weight decay, cross-entropy on the logits, accuracy reported."""
    import keras

    network.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=config.weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def train_cnn(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, config: CNNConfig):
    """Train on uint8 images (n, 28, 28); returns (network, history dict, best epoch 1-based).

    The kept weights are those of the epoch with the lowest validation loss.
    """
    import keras

    keras.utils.set_random_seed(config.seed)
    network = precision.trainable(lambda: build_network(config))
    steps_per_epoch = int(np.ceil(len(X_train) / config.batch_size))
    warmup_steps = config.warmup_epochs * steps_per_epoch
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.peak_learning_rate / 20,
        decay_steps=max(config.epochs * steps_per_epoch - warmup_steps, 1),
        warmup_target=config.peak_learning_rate,
        warmup_steps=warmup_steps,
    )
    compile_for_training(network, schedule, config)
    # Patience of every epoch: never stop early, only keep the weights of the best validation epoch.
    keep_best = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.epochs, restore_best_weights=True)
    history = network.fit(
        make_dataset(X_train, y_train, config, augment=True),
        validation_data=make_dataset(X_val, y_val, config, augment=False),
        epochs=config.epochs,
        callbacks=[keep_best],
        # A progress bar per epoch on a terminal; one line per epoch in a log or CI.
        verbose=1 if sys.stdout.isatty() else 2,
    )
    # Save the weights in a fresh, uncompiled float32 copy: the optimizer's state is not needed to predict.
    return (
        precision.float32_copy(lambda: build_network(config), network),
        {key: [float(value) for value in values] for key, values in history.history.items()},
        keep_best.best_epoch + 1,
    )


POLISH_LEARNING_RATE = 3e-4
POLISH_RESTYLED = 20_000
"""The polishing epoch: AdamW with a cosine decay from this rate, on the training digits plus this many of
them re-drawn (a tenth of the main run's rate: the network keeps what it learned and settles)."""


def polish(trained, X_train: np.ndarray, y_train: np.ndarray, styles: tuple[str, ...], config: CNNConfig):
    """One more epoch for a trained network; returns an uncompiled copy with the polished weights.

    X_train: uint8 (n, 28, 28) training digits, y_train (n,). The epoch sees them plus POLISH_RESTYLED of
    them re-drawn in `styles` (augmentation.augment_styles), with the main run's rotation, shift and zoom.
    """
    import keras

    from training.augmentation import augment_styles

    rng = np.random.default_rng(7)
    rows = rng.choice(len(X_train), min(POLISH_RESTYLED, len(X_train)), replace=False)
    restyled = augment_styles(X_train[rows], styles, seed=11, labels=y_train[rows])
    batches = make_dataset(
        np.concatenate([X_train, restyled]), np.concatenate([y_train, y_train[rows]]), config, augment=True
    )
    network = precision.trainable(lambda: build_network(config))
    network.set_weights(trained.get_weights())
    network.compile(
        optimizer=keras.optimizers.AdamW(
            keras.optimizers.schedules.CosineDecay(POLISH_LEARNING_RATE, len(batches)),
            weight_decay=config.weight_decay,
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    network.fit(batches, epochs=1, verbose=1 if sys.stdout.isatty() else 2)
    return precision.float32_copy(lambda: build_network(config), network)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 minimising the log loss of softmax(logits / T) on (logits, labels)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import softmax

    from training.evaluate import log_loss

    def loss(temperature: float) -> float:
        return log_loss(softmax(logits / temperature, axis=1), labels)

    return float(minimize_scalar(loss, bounds=(0.25, 5.0), method="bounded").x)
