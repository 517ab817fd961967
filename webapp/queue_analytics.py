"""Gradio's queue statistics kept without a worker thread for every event.

After every event, Gradio's queue (`gradio.queueing.Queue.process_events`, Gradio 6) hands
`Queue.compute_analytics_summary` to a worker thread (`anyio.to_thread.run_sync`): the pandas summary
of its recent events that its API page shows as timings. This app has the summary rebuilt every
$GRADIO_ANALYTICS_CACHE_FREQUENCY (100) events (webapp/__init__.py); on the other 99 the method only
returns the summary it keeps, and the hop to a worker thread and back (anyio's bookkeeping, a thread
woken, Python's lock handed over twice; about 105 microseconds of CPU, measured in-process) is the
whole cost of the call, on every answer and every stroke.
Here that call runs where it is made when the summary is not due (the same test as the method's own);
a due rebuild still goes to the worker thread, as before. gradio.queueing's other uses of `run_sync`
(none in Gradio 6.31) and every other function keep anyio's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio import to_thread
from gradio import queueing


def summary_due(queue: Any, records: list) -> bool:
    """Whether `queue.compute_analytics_summary(records)` would rebuild its summary (its own test) rather
    than return the one it keeps; True when this Gradio's queue lacks the counters the test reads."""
    try:
        recorded, at_last_cache = queue.events_recorded, queue.event_count_at_last_cache
        frequency = queue.ANAYLTICS_CACHE_FREQUENCY  # Gradio's own spelling.
    except AttributeError:
        return True
    return bool(records) and recorded - at_last_cache >= frequency


async def run_sync(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """anyio's `to_thread.run_sync`, except a queue's summary that is not due: that call runs here."""
    queue = getattr(function, "__self__", None)
    if (
        isinstance(queue, queueing.Queue)
        and getattr(function, "__func__", None) is queueing.Queue.compute_analytics_summary
        and len(args) == 1
        and not kwargs
        and not summary_due(queue, args[0])
    ):
        return function(*args)
    return await to_thread.run_sync(function, *args, **kwargs)


def summary_without_thread() -> None:
    """Make gradio.queueing call `run_sync` above instead of anyio's (once per process; idempotent)."""
    if getattr(queueing, "run_sync", None) is to_thread.run_sync:
        queueing.run_sync = run_sync
