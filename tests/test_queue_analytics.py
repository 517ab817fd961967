"""Gradio's queue statistics without a worker thread per event (webapp.queue_analytics): a summary that is
not due is returned where it is asked for, a due one is still rebuilt in a worker thread, and a real
Gradio server installed with it answers and keeps its statistics."""

from __future__ import annotations

import threading

import gradio as gr
import httpx
import pytest
from gradio import queueing

from tests.gradio_servers import call_echo, echo_blocks, served
from tests.loops import awaited
from webapp import queue_analytics

RECORDS = [{"time": 1.0, "status": "success", "process_time": 0.01, "function": "echo", "session_hash": "a"}]


def a_queue(frequency: int) -> queueing.Queue:
    with gr.Blocks() as demo:
        gr.Textbox()
    demo.queue()
    queue = demo._queue
    queue.ANAYLTICS_CACHE_FREQUENCY = frequency
    return queue


def threads_used(queue: queueing.Queue, records: list) -> tuple[object, set[int], int]:
    """queue_analytics.run_sync(queue.compute_analytics_summary, records) on an event loop: its result, the
    threads the summary's pandas work ran in (none when it was not rebuilt) and the loop's own thread."""
    threads: set[int] = set()
    get_df = queue._get_df

    def recording(found_records):
        threads.add(threading.get_ident())
        return get_df(found_records)

    queue._get_df = recording

    async def on_loop():
        return await queue_analytics.run_sync(queue.compute_analytics_summary, records), threading.get_ident()

    summary, loop_thread = awaited(on_loop())
    return summary, threads, loop_thread


def test_a_summary_not_due_is_returned_without_a_worker_thread(monkeypatch):
    queue = a_queue(frequency=100)
    queue.events_recorded, queue.event_count_at_last_cache = 150, 100  # 50 events since: not due.

    async def no_thread(*args, **kwargs):
        raise AssertionError("a summary that is not due went to a worker thread")

    monkeypatch.setattr(queue_analytics.to_thread, "run_sync", no_thread)
    summary, threads, _ = threads_used(queue, RECORDS)
    assert summary is queue.cached_event_analytics_summary
    assert threads == set()


def test_a_due_summary_is_rebuilt_in_a_worker_thread():
    queue = a_queue(frequency=100)
    queue.events_recorded, queue.event_count_at_last_cache = 200, 100
    queue.events_recorded_per_fn["echo"] = 1
    summary, threads, loop_thread = threads_used(queue, RECORDS)
    assert "echo" in summary["functions"]
    assert queue.event_count_at_last_cache == 200
    assert threads and loop_thread not in threads


def test_a_queue_without_the_counters_always_goes_to_the_thread():
    assert queue_analytics.summary_due(object(), RECORDS)
    assert not queue_analytics.summary_due(a_queue(frequency=100), [])  # Nothing recorded: kept as is.


def test_other_functions_keep_anyios_worker_thread():
    async def on_loop():
        return await queue_analytics.run_sync(threading.get_ident), threading.get_ident()

    ran_in, loop_thread = awaited(on_loop())
    assert ran_in != loop_thread


@pytest.fixture(scope="module")
def installed_app():
    queue_analytics.summary_without_thread()
    assert queueing.run_sync is queue_analytics.run_sync
    demo = echo_blocks(lambda value: value[::-1])
    with served(demo) as url:
        yield demo, url


def test_a_real_server_answers_and_keeps_its_statistics(installed_app):
    demo, url = installed_app
    with httpx.Client(base_url=url, timeout=30) as client:
        for word in ("seven", "three", "nine"):
            assert call_echo(client, word) == word[::-1]
    statuses = [record["status"] for record in demo._queue.event_analytics.values()]
    assert statuses[-3:] == ["success"] * 3
