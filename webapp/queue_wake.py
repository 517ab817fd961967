"""Gradio's queue woken when there may be work, instead of looking for it a thousand times a second.

Gradio's queue loop (`gradio.queueing.Queue.start_processing`, Gradio 6) sleeps `sleep_when_free`
(1 ms) whenever it has nothing to start, then looks again: an app nobody uses spent 30-57 ms of CPU a
second on it (3-6% of a core, in every replica), 49-70 ms with a page open beside a busy browser
(bench/results/page_strokes.json; 15.5 ms with this module). Looking less often would delay every
answer: a 5 ms poll halved the cost and added about 2.5 ms to each answer's wait, measured. Here that
one sleep waits instead until something can have changed what the loop would find: an event pushed, or
a job finished (which frees a worker or a concurrency slot). WAKE_BACKSTOP_S bounds it, should Gradio
ever start work some other way.

Gradio's progress loop (`Queue.start_progress_updates`) looks for progress to send every
`progress_update_sleep_when_free` (10 ms), jobs or none: a hundred wake-ups a second of an idle app, which
kept its event loop at about 17 ms of CPU a second with the queue's own loop woken. It sleeps so only while a
running job tracks progress (a function taking `gr.Progress`); otherwise until a job starts (`ProgressSleep`).

Every other sleep of gradio.queueing and everything else it takes from `asyncio` is the module itself. If a
Gradio version stops sleeping on these attributes, its loops poll as before.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from gradio import queueing

WAKE_BACKSTOP_S = 0.05
"""The longest the idle queue sleeps without a wake-up: what a wake-up missed would cost an answer."""

PROGRESS_BACKSTOP_S = 1.0
"""The longest the progress loop sleeps without a job starting: what a wake-up missed would delay the first
progress message of a job that tracks progress (no answer waits on it)."""


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

    async def wait(self, backstop_s: float = WAKE_BACKSTOP_S) -> None:
        """Until notify() or `backstop_s`; a notify() that came first ends it at once."""
        loop = asyncio.get_running_loop()
        if self.wake is None or self.loop is not loop:
            self.wake, self.loop = asyncio.Event(), loop
        try:
            async with asyncio.timeout(backstop_s):
                await self.wake.wait()
        except TimeoutError:
            pass
        # Cleared before the loop looks again: whatever notified came before the look, and is seen by it.
        self.wake.clear()


class ProgressSleep(IdleSleep):
    """A queue's `progress_update_sleep_when_free`: the float Gradio's progress loop sleeps for between looks,
    slept as it is while a running job of `queue` tracks progress; otherwise until such a job starts (notify())
    or PROGRESS_BACKSTOP_S."""

    queue: queueing.Queue | None = None

    async def wait(self, backstop_s: float = PROGRESS_BACKSTOP_S) -> None:
        if self.queue is not None and _tracks_progress(self.queue):
            await asyncio.sleep(float(self))
        else:
            await super().wait(backstop_s)


def _tracks_progress(queue: queueing.Queue) -> bool:
    """Whether a job running in `queue` belongs to a function that reports progress (`gr.Progress`)."""
    return any(_report_progress(job) for job in queue.active_jobs if job)


def _report_progress(events: list[queueing.Event]) -> bool:
    """Whether any of a job's `events` is a call of a function that reports progress."""
    return any(event.fn.tracks_progress for event in events)


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


def waking_progress(process_events: Callable[..., Any], progress: ProgressSleep) -> Callable[..., Any]:
    """A queue's `process_events(events, ...)`, calling progress.notify() first when the job reports progress."""

    @functools.wraps(process_events)
    async def started(events: list[queueing.Event], *args: Any, **kwargs: Any) -> Any:
        if _report_progress(events):
            progress.notify()
        return await process_events(events, *args, **kwargs)

    return started


def wake_on_work(queue: queueing.Queue) -> queueing.Queue:
    """Make `queue` (a Blocks' `_queue`, after `Blocks.queue()`) sleep until pushed to or a job ends, and its
    progress loop, unless a running job tracks progress, until a job starts."""
    idle = IdleSleep(queue.sleep_when_free)
    queue.sleep_when_free = idle
    progress = ProgressSleep(queue.progress_update_sleep_when_free)
    progress.queue = queue
    queue.progress_update_sleep_when_free = progress
    # A new event in the queue, or a job done: a worker or concurrency slot freed. A job that reports progress
    # started (Gradio marks it active before it runs process_events): progress to send.
    queue.push = notifying(queue.push, idle)
    queue.process_events = notifying(waking_progress(queue.process_events, progress), idle)
    if not isinstance(queueing.asyncio, _QueueingAsyncio):
        queueing.asyncio = _QueueingAsyncio()
    return queue
