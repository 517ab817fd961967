"""Concurrent requests share one model call: a small micro-batcher for the app's handlers, in threads or on
the server's event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import anyio
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
        # Callers on the event loop wait for a future, not in a thread: one worker thread runs their batch.
        self._loop_waiting: list[tuple[np.ndarray, asyncio.Future]] = []
        self._loop_batches: asyncio.Task | None = None

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

    async def predict_on_loop(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """`predict` for a caller on the server's event loop: the same answer, with no thread held per caller.

        Whoever finds no batch under way starts one: a task on the loop that runs everything waiting in a
        worker thread, batch after batch, while the loop goes on with other requests. Under 20 clients
        this saves each answer a thread of its own and the hand-overs of Python's lock (the GIL) between it
        and the loop. The models themselves are shared with `predict`'s callers, one call at a time."""
        future = asyncio.get_running_loop().create_future()
        self._loop_waiting.append((np.asarray(image, dtype=np.float32), future))
        if self._loop_batches is None or self._loop_batches.done():
            self._loop_batches = asyncio.create_task(self._run_loop_waiting())
        return await future

    async def _run_loop_waiting(self) -> None:
        while self._loop_waiting:
            batch = self._loop_waiting[: self.max_batch]
            del self._loop_waiting[: self.max_batch]
            try:
                rows = await anyio.to_thread.run_sync(self._rows_when_free, [image for image, _ in batch])
            except Exception as error:
                rows = [error] * len(batch)
            for (_, future), row in zip(batch, rows, strict=True):
                if future.done():  # Its request was cancelled (the client went away).
                    continue
                if isinstance(row, Exception):
                    future.set_exception(row)
                else:
                    future.set_result(row)

    def _rows_when_free(self, images: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        with self._models_lock:
            return self._rows(images)

    def _rows(self, images: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Each image's {key: float64 (1, 10)}, from one `predict_all` call over all of them."""
        probabilities = predict_all(self.models, np.stack(images))
        return [{key: values[row : row + 1] for key, values in probabilities.items()} for row in range(len(images))]

    def _run_waiting(self) -> None:
        with self._waiting_lock:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
        try:
            for slot, row in zip(batch, self._rows([slot.image for slot in batch]), strict=True):
                slot.result = row
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
