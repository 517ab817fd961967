"""What preprocessing costs in a thread beside busy Python, as in a loaded app, and what it costs alone.

    .venv/bin/python -m bench.gil_handover          # about a minute

`preprocessing.to_mnist` on the example images (assets/examples, read from memory), the BLAS pools at
one thread as the app sets them, timed by the CPU of the thread that runs it and by the wall clock:
- alone, one call after another;
- beside one thread that only runs Python, as the server's event loop does under 20 clients: every
  NumPy, SciPy, Pillow or libspng call that lets go of Python's lock (the GIL) hands it to that thread,
  which keeps it until its switch interval (5 ms) is up;
- in 2 and 16 threads at once, as the app's handler threads did before round 19.
Each case also counts the voluntary context switches per call (the thread waiting for the lock).
Writes bench/results/gil_handover.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import scipy.ndimage  # noqa: F401  Loaded before the limit below, so that its OpenBLAS is limited too.
import threadpoolctl

from bench.load_client import example_images
from bench.startup import machine
from preprocessing import to_mnist

RESULTS = Path(__file__).resolve().parent / "results" / "gil_handover.json"


def preprocess_all(images: list[bytes], rounds: int) -> None:
    for _ in range(rounds):
        for image in images:
            to_mnist(image)


def timed_in_thread(images: list[bytes], rounds: int) -> dict[str, float]:
    """`rounds` passes over `images` in the calling thread: its CPU ms, wall ms and waits per call."""
    before = resource.getrusage(resource.RUSAGE_THREAD)
    cpu, wall = time.thread_time(), time.perf_counter()
    preprocess_all(images, rounds)
    after = resource.getrusage(resource.RUSAGE_THREAD)
    calls = rounds * len(images)
    return {
        "thread_cpu_ms_per_call": round(1000 * (time.thread_time() - cpu) / calls, 2),
        "wall_ms_per_call": round(1000 * (time.perf_counter() - wall) / calls, 2),
        "waits_per_call": round((after.ru_nvcsw - before.ru_nvcsw) / calls, 1),
    }


def beside_busy_python(images: list[bytes], rounds: int) -> dict[str, float]:
    """Preprocessing while another thread runs nothing but Python (dicts and integers, never waiting)."""
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            {str(number): number * number for number in range(200)}

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    try:
        return timed_in_thread(images, rounds)
    finally:
        stop.set()
        thread.join()


def in_threads(images: list[bytes], threads: int, calls_each: int) -> dict[str, float]:
    """`threads` threads preprocessing at once: the process's CPU ms and wall ms per call."""
    rounds = max(1, calls_each // len(images))
    workers = [threading.Thread(target=preprocess_all, args=(images, rounds)) for _ in range(threads)]
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu, wall = time.process_time(), time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    calls = threads * rounds * len(images)
    return {
        "process_cpu_ms_per_call": round(1000 * (time.process_time() - cpu) / calls, 2),
        "wall_ms_per_call": round(1000 * (time.perf_counter() - wall) / calls, 2),
        "waits_per_call": round((after.ru_nvcsw - before.ru_nvcsw) / calls, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.gil_handover", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the example images per case")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    threadpoolctl.threadpool_limits(limits=1, user_api="blas")  # As webapp.handlers sets it for the app.
    images = [data for _, data in example_images()]
    preprocess_all(images, 2)  # Warm-up: lazily loaded code, Pillow's plugins, libspng.
    result = {
        "what": "to_mnist on the example images: alone, beside a thread of pure Python, and in many threads at once.",
        "machine": machine(),
        "switch_interval_ms": round(1000 * sys.getswitchinterval(), 2),
        "images": len(images),
        "alone": timed_in_thread(images, arguments.rounds),
        # Waiting up to 5 ms for the lock after each release, a pass is slow: fewer rounds, same per-call figures.
        "beside_busy_python": beside_busy_python(images, max(1, arguments.rounds // 4)),
        "threads_2": in_threads(images, 2, arguments.rounds * len(images) // 2),
        "threads_16": in_threads(images, 16, arguments.rounds * len(images) // 16),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
