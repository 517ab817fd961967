"""The convolutional network behind `predict_proba`, with a compiled call for single images."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy.special import softmax

from digit_models.base import as_image_batch


def serve_on_one_core() -> None:
    """TensorFlow's intra- and inter-op thread pools at one thread each, for serving.

    The app answers many small requests side by side (its worker threads, and webapp.batching's shared
    model calls): TensorFlow's default pools, one thread per core each, then spin and wait on each
    other, and one app process takes more than a core that a second replica needed. Must run before
    TensorFlow executes anything (before the models load); training keeps TensorFlow's defaults.
    """
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


NO_SHIFT: tuple[tuple[int, int], ...] = ((0, 0),)
FOUR_NEIGHBOURS: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
"""(rows, columns) moves of the 28x28 input a network sees: as it is, or also moved a pixel each way
(np.roll's moves: MNIST's frame leaves about 4 px of empty margin, so what wraps round is blank)."""
SECOND_CONVOLUTION = 6
"""A `layer` for shifted_logits: training.cnn.build_network's layers are convolution, batch norm, ReLU,
twice, then the strided convolution; its output (24x24x32) is moved instead of the input."""


def traced(
    network,
    shape: tuple[int | None, ...] = (None, 28, 28, 1),
    shifts: Sequence[tuple[int, int]] = NO_SHIFT,
    layer: int = 0,
):
    """The network's inference call on float32 batches of `shape` (None: any size) as a traced graph:
    about 0.7 ms per call for one image, where `model.predict` costs tens of ms. With `shifts`, its logits
    averaged over the input (or layer `layer`'s output) moved by each (`shifted_logits`).

    The graph's concrete function is called directly: a `tf.function` would look up its traces on every
    call (0.14 ms of a 0.79 ms call for one digit), and with one input signature there is only one.
    It takes float32 arrays only, as every caller passes.
    """
    return traced_together((network,), shape, (shifts,), (layer,))


def traced_together(
    networks: Sequence,
    shape: tuple[int | None, ...] = (None, 28, 28, 1),
    shifts: Sequence[Sequence[tuple[int, int]]] | None = None,
    layers: Sequence[int] | None = None,
):
    """`traced` for several networks on the same input: one graph whose outputs are each network's, in order,
    network i seeing the moves `shifts[i]` of layer `layers[i]`'s output (default: the input as it is).

    Each network's operations are those of its own graph, so each output is the same as its own call.
    """
    import tensorflow as tf

    moves = [NO_SHIFT] * len(networks) if shifts is None else shifts
    moved_layers = [0] * len(networks) if layers is None else layers

    def call(batch):
        outputs = [
            shifted_logits(network, batch, own, layer)
            for network, own, layer in zip(networks, moves, moved_layers, strict=True)
        ]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return tf.function(call, input_signature=[tf.TensorSpec(list(shape), tf.float32)]).get_concrete_function()


def shifted_logits(network, batch, shifts: Sequence[tuple[int, int]], layer: int = 0):
    """Inside a traced graph: the network's logits (b, 10) averaged over `batch` (b, 28, 28, 1) moved by each
    (rows, columns) of `shifts`, wrapping round as np.roll does; one network call on all the moved copies.
    With `layer` > 0 the output of the network's first `layer` layers is moved instead, computed once and
    shared by the moves (what `cnn` serves: cheaper, and it read validation a little better).

    Test-time augmentation as the field uses it on MNIST: the answer no longer hangs on where centring by
    mass put the digit to the pixel (training.shift_averaging measured it on validation data).
    """
    import tensorflow as tf

    if tuple(map(tuple, shifts)) == NO_SHIFT:
        return network(batch, training=False)
    features = batch
    for each in network.layers[:layer]:
        features = each(features, training=False)
    moved = tf.concat([tf.roll(features, shift=list(move), axis=[1, 2]) for move in shifts], axis=0)
    if layer:
        logits = moved
        for each in network.layers[layer:]:
            logits = each(logits, training=False)
    else:
        logits = network(moved, training=False)
    return tf.reduce_mean(tf.reshape(logits, [len(shifts), -1, logits.shape[-1]]), axis=0)


def predict_proba_together(models: Sequence[KerasDigitModel], images: np.ndarray) -> list[np.ndarray]:
    """Each model's `predict_proba` on the same float32 images (n, 28, 28) -> float64 (n, 10) per model,
    from one traced call for all of them.

    The call's fixed cost (Python, TensorFlow's dispatch) is paid once: the page's two CNNs on one digit
    cost about 0.4 ms less than two calls (2.3 -> 1.9 ms, one core), and the numbers are identical.
    """
    if len(models) < 2:
        return [model.predict_proba(images) for model in models]
    outputs = _in_chunks(_joint_call(tuple(models)), as_image_batch(images)[..., None], len(models))
    return [softmax(logits / model.temperature, axis=1) for logits, model in zip(outputs, models, strict=True)]


@functools.cache
def _joint_call(models: tuple[KerasDigitModel, ...]):
    # Kept for the process's life, like each model's own trace; a few combinations at most.
    return traced_together(
        [model.network for model in models],
        shifts=[model.shifts for model in models],
        layers=[model.shift_layer for model in models],
    )


def _in_chunks(call, batch: np.ndarray, outputs: int, batch_size: int = 1024) -> list[np.ndarray]:
    """A traced call with `outputs` outputs over `batch` in chunks of `batch_size` (the memory a large
    evaluation batch takes) -> each output for the whole batch, float64 (n, d)."""
    chunks = []
    for start in range(0, len(batch), batch_size):
        result = call(batch[start : start + batch_size])
        chunks.append([tensor.numpy() for tensor in (result if outputs > 1 else (result,))])
    if not chunks:
        return [np.zeros((0, 10)) for _ in range(outputs)]
    return [np.concatenate([chunk[index] for chunk in chunks]).astype(np.float64) for index in range(outputs)]


class KerasDigitModel:
    """A Keras network that maps images (b, 28, 28, 1) to logits (b, 10).

    Probabilities are softmax(logits / temperature); the temperature is fitted on
    validation data after training so that confidences match observed accuracy. With `shifts`, the
    logits are averaged over the input, or layer `shift_layer`'s output, moved by each (rows, columns)
    (`shifted_logits`).
    """

    def __init__(
        self,
        *,
        key: str,
        name: str,
        network,
        temperature: float = 1.0,
        shifts: Sequence[Sequence[int]] = NO_SHIFT,
        shift_layer: int = 0,
    ) -> None:
        self.key = key
        self.name = name
        self.network = network
        self.temperature = float(temperature)
        self.shifts = tuple((int(rows), int(columns)) for rows, columns in shifts)
        self.shift_layer = int(shift_layer)
        self._logits = traced(network, shifts=self.shifts, layer=self.shift_layer)
        self._features = None

    def __repr__(self) -> str:
        return (
            f"KerasDigitModel(key={self.key!r}, {self.network.count_params():,} parameters, "
            f"temperature={self.temperature:.3f}, {len(self.shifts)} shifts)"
        )

    def logits(self, images: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
        """float32 (n, 28, 28) in [0, 1] -> float64 logits (n, 10)."""
        return _in_chunks(self._logits, as_image_batch(images)[..., None], 1, batch_size)[0]

    def features(self, images: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
        """float32 (n, 28, 28) in [0, 1] -> float32 (n, d): the input of the last layer (the penultimate
        features, where digits of one shape lie close; digit_models.personal compares in them)."""
        if self._features is None:
            import keras

            self._features = traced(keras.Model(self.network.inputs, self.network.layers[-2].output))
        batch = as_image_batch(images)[..., None]
        chunks = [
            self._features(batch[start : start + batch_size]).numpy() for start in range(0, len(batch), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.network.layers[-1].input.shape[-1]), np.float32)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, 28, 28) in [0, 1] -> float64 (n, 10), rows summing to 1."""
        return softmax(self.logits(images) / self.temperature, axis=1)
