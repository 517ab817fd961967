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


def traced(network, shape: tuple[int | None, ...] = (None, 28, 28, 1)):
    """The network's inference call on float32 batches of `shape` (None: any size) as a traced graph:
    about 0.7 ms per call for one image, where `model.predict` costs tens of ms.

    The graph's concrete function is called directly: a `tf.function` would look up its traces on every
    call (0.14 ms of a 0.79 ms call for one digit), and with one input signature there is only one.
    It takes float32 arrays only, as every caller passes.
    """
    return traced_together((network,), shape)


def traced_together(networks: Sequence, shape: tuple[int | None, ...] = (None, 28, 28, 1)):
    """`traced` for several networks on the same input: one graph whose outputs are each network's, in order.

    Each network's operations are those of its own graph, so each output is the same as its own call.
    """
    import tensorflow as tf

    def call(batch):
        outputs = [network(batch, training=False) for network in networks]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return tf.function(call, input_signature=[tf.TensorSpec(list(shape), tf.float32)]).get_concrete_function()


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
    return traced_together([model.network for model in models])


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
    validation data after training so that confidences match observed accuracy.
    """

    def __init__(self, *, key: str, name: str, network, temperature: float = 1.0) -> None:
        self.key = key
        self.name = name
        self.network = network
        self.temperature = float(temperature)
        self._logits = traced(network)
        self._features = None

    def __repr__(self) -> str:
        return (
            f"KerasDigitModel(key={self.key!r}, {self.network.count_params():,} parameters, "
            f"temperature={self.temperature:.3f})"
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
