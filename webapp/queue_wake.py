"""Gradio's queue woken when there may be work, instead of looking for it a thousand times a second.

Gradio's queue loop (`gradio.queueing.Queue.start_processing`, Gradio 6) sleeps `sleep_when_free`
(1 ms) whenever it has nothing to start, then looks again: an app nobody uses spent 30-57 ms of CPU a
second on it (3-6% of a core, in every replica), 49-70 ms with a page open beside a busy browser
(bench/results/page_strokes.json; 15.5 ms with this module). Looking less often would delay every
answer: a 5 ms poll halved the cost and added about 2.5 ms to each answer's wait, measured. Here that
one sleep waits instead until something can have changed what the loop would find: an event pushed, or
a job finished (which frees a worker or a concurrency slot). WAKE_BACKSTOP_S bounds it, should Gradio
ever start work some other way.

Every other sleep of gradio.queueing (its progress updates) and everything else it takes from `asyncio`
is the module itself. If a Gradio version stops sleeping on `sleep_when_free`, its loop polls as before.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from gradio import queueing

WAKE_BACKSTOP_S = 0.05
"""The longest the idle queue sleeps without a wake-up: what a wake-up missed would cost an answer."""


class IdleSleep(float):
    """A queue's `sleep_when_free`: the float Gradio sleeps for, carrying the event that ends the sleep.

    The event is made on the loop that first waits on it (a demo launched again runs a new loop).
    """

    wake: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        """Something changed that the queue's loop should look at."""
        if self.wake is not None:
            self.wake.set()

    async def wait(self) -> None:
        """Until notify() or WAKE_BACKSTOP_S; a notify() that came first ends it at once."""
        loop = asyncio.get_running_loop()
        if self.wake is None or self.loop is not loop:
            self.wake, self.loop = asyncio.Event(), loop
        try:
            async with asyncio.timeout(WAKE_BACKSTOP_S):
                await self.wake.wait()
        except TimeoutError:
            pass
        # Cleared before the loop looks again: whatever notified came before the look, and is seen by it.
        self.wake.clear()


class _QueueingAsyncio:
    """`asyncio` as gradio.queueing sees it: the module, but the idle sleep of a woken queue waits on its event."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        if isinstance(delay, IdleSleep):
            await delay.wait()
            return result
        return await asyncio.sleep(delay, result)


def notifying(method: Callable[..., Any], idle: IdleSleep) -> Callable[..., Any]:
    """The coroutine method `method`, calling idle.notify() when it returns or raises."""

    @functools.wraps(method)
    async def notify_after(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        finally:
            idle.notify()

    return notify_after


def wake_on_work(queue: queueing.Queue) -> queueing.Queue:
    """Make `queue` (a Blocks' `_queue`, after `Blocks.queue()`) sleep until pushed to or a job ends."""
    idle = IdleSleep(queue.sleep_when_free)
    queue.sleep_when_free = idle
    # A new event in the queue, or a job done: a worker or concurrency slot freed.
    queue.push = notifying(queue.push, idle)
    queue.process_events = notifying(queue.process_events, idle)
    if not isinstance(queueing.asyncio, _QueueingAsyncio):
        queueing.asyncio = _QueueingAsyncio()
    return queue
