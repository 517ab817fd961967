"""Concurrent requests share one model call: a small thread micro-batcher for the app's handlers."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from digit_models.base import DigitModel
from digit_models.classify import predict_all


class SharedBatches:
    """Runs the models for concurrent callers together, one batch at a time.

    Each caller adds its image to a waiting list; whichever caller finds the models idle runs
    everything waiting in one `predict_all` call and hands every caller its row. A lone request
    waits for nobody, and twenty at once cost about one batched call instead of twenty. This is
    done here rather than with Gradio's `batch=True` because a Gradio batch shares one fate: one
    unreadable file would fail every request batched with it. Here each request is read and
    checked on its own, and only valid 28x28 images are ever batched.
    """

    def __init__(self, models: Mapping[str, DigitModel], *, max_batch: int = 64) -> None:
        self.models = models
        self.max_batch = max_batch
        self._waiting: list[_Slot] = []
        self._waiting_lock = threading.Lock()
        self._models_lock = threading.Lock()

    def predict(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """float32 (28, 28) in [0, 1] -> {key: float64 (1, 10)} for every model and the ensemble."""
        slot = _Slot(image=np.asarray(image, dtype=np.float32))
        with self._waiting_lock:
            self._waiting.append(slot)
        while not slot.done.is_set():
            with self._models_lock:
                # Another caller may have run our image while we waited for the models.
                if not slot.done.is_set():
                    self._run_waiting()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _run_waiting(self) -> None:
        with self._waiting_lock:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
        try:
            probabilities = predict_all(self.models, np.stack([slot.image for slot in batch]))
            for row, slot in enumerate(batch):
                slot.result = {key: values[row : row + 1] for key, values in probabilities.items()}
        except Exception as error:
            for slot in batch:
                slot.error = error
        finally:
            for slot in batch:
                slot.done.set()


@dataclass
class _Slot:
    """One caller's image in SharedBatches, and where its answer goes."""

    image: np.ndarray
    done: threading.Event = field(default_factory=threading.Event)
    result: dict[str, np.ndarray] = field(default_factory=dict)
    error: Exception | None = None
