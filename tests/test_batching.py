"""webapp.batching: concurrent callers share one model call, from threads and from the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from digit_models.ensemble import EnsembleModel
from tests.loops import awaited
from webapp import batching


class SlowCountingModel:
    """Probability 1 for the digit int(10 * image mean) (clipped); records every batch size."""

    key = name = "slow"

    def __init__(self) -> None:
        self.batch_sizes: list[int] = []

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        self.batch_sizes.append(len(images))
        time.sleep(0.05)
        digits = np.clip((images.mean(axis=(1, 2)) * 10).astype(int), 0, 9)
        return np.eye(10)[digits]


def test_shared_batches_answer_concurrent_callers_together_and_correctly():
    model = SlowCountingModel()
    batches = batching.SharedBatches({"slow": model, "ensemble": EnsembleModel(members={"slow": model})})
    answers: dict[int, int] = {}

    def ask(digit: int) -> None:
        image = np.full((28, 28), (digit + 0.5) / 10, dtype=np.float32)
        answers[digit] = int(np.argmax(batches.predict(image)["ensemble"][0]))

    threads = [threading.Thread(target=ask, args=(digit,)) for digit in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {digit: digit for digit in range(10)}
    assert sum(model.batch_sizes) == 10
    assert len(model.batch_sizes) < 10


def test_shared_batches_pass_a_model_failure_to_every_caller_in_the_batch():
    class Broken:
        key = name = "broken"

        def predict_proba(self, images):
            raise RuntimeError("model exploded")

    batches = batching.SharedBatches({"broken": Broken()})
    with pytest.raises(RuntimeError, match="exploded"):
        batches.predict(np.zeros((28, 28), dtype=np.float32))
    # The lock was released: the next caller is not stuck.
    with pytest.raises(RuntimeError, match="exploded"):
        batches.predict(np.zeros((28, 28), dtype=np.float32))


def test_shared_batches_on_the_loop_answer_concurrent_callers_together_and_correctly():
    model = SlowCountingModel()
    batches = batching.SharedBatches({"slow": model, "ensemble": EnsembleModel(members={"slow": model})})

    async def ask_all() -> list[int]:
        images = [np.full((28, 28), (digit + 0.5) / 10, dtype=np.float32) for digit in range(10)]
        answers = await asyncio.gather(*(batches.predict_on_loop(image) for image in images))
        return [int(np.argmax(answer["ensemble"][0])) for answer in answers]

    assert awaited(ask_all()) == list(range(10))
    assert sum(model.batch_sizes) == 10
    assert len(model.batch_sizes) < 10


def test_shared_batches_on_the_loop_survive_a_cancelled_caller_and_a_model_failure():
    model = SlowCountingModel()
    batches = batching.SharedBatches({"slow": model, "ensemble": EnsembleModel(members={"slow": model})})

    async def one_cancelled() -> int:
        image = np.full((28, 28), 0.35, dtype=np.float32)
        gone = asyncio.ensure_future(batches.predict_on_loop(image))
        kept = asyncio.ensure_future(batches.predict_on_loop(image))
        await asyncio.sleep(0.01)
        gone.cancel()
        return int(np.argmax((await kept)["ensemble"][0]))

    assert awaited(one_cancelled()) == 3

    class Broken:
        key = name = "broken"

        def predict_proba(self, images):
            raise RuntimeError("model exploded")

    broken = batching.SharedBatches({"broken": Broken()})
    for _ in range(2):  # The next caller is not stuck behind the failed batch.
        with pytest.raises(RuntimeError, match="exploded"):
            awaited(broken.predict_on_loop(np.zeros((28, 28), dtype=np.float32)))
