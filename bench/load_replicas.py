"""`python -m bench.load --compare N`: one app process against N replicas behind nginx, same run.

Measures 20 clients against one process, then against N replicas (`python -m deploy.serve`,
started as a process: bench imports no deploy code), then kills one replica's process in the
middle of a load and counts the errors of the sessions in flight and of new sessions started
after it. Each simulated client carries its own affinity cookie, as each browser of a classroom
would: without one they all share 127.0.0.1 and nginx would send them all to one replica.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.load_client import concurrent_clients, example_images, resident_mb
from bench.startup import machine
from deploy.processes import REPOSITORY, free_port, start_app, stop_app, wait_until_ready


def start_replicas(
    count: int, models_dir: Path, log_folder: Path, timeout_s: float = 240
) -> tuple[subprocess.Popen, str]:
    """`python -m deploy.serve --replicas count` on a free port: (its process, its URL) once it serves."""
    port = free_port()
    log_path = log_folder / "load_replicas_serve.tmp"
    environment = {**os.environ, "DIGITS_MODELS_DIR": str(models_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "deploy.serve", "--replicas", str(count), "--port", str(port)]
    command += ["--data-dir", str(log_folder / "load_replicas_data.tmp")]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while "Serving" not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"deploy.serve did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    return process, f"http://127.0.0.1:{port}/"


def replica_pids(serve_pid: int) -> list[int]:
    """Process ids of the `app.py` children of deploy.serve's process, from /proc."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            parent = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
            command = (status.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, StopIteration):
            continue
        if int(parent.split()[1]) == serve_pid and b"app.py" in command:
            pids.append(int(status.parent.name))
    return sorted(pids)


async def under_load(url: str, images: list[tuple[str, bytes]], arguments: argparse.Namespace) -> dict[str, Any]:
    # Warm-up: every session once, so each replica has served before the clock starts.
    await concurrent_clients(url, images, arguments.clients, 1, arguments.time_limit)
    return await concurrent_clients(url, images, arguments.clients, arguments.requests_each, arguments.time_limit)


async def replica_killed(url: str, images: list[tuple[str, bytes]], pid: int, arguments: argparse.Namespace) -> dict:
    """SIGKILL replica `pid` 5 s into a 20-client load; then 20 new sessions. Errors of each."""
    kill_after_s = 5.0
    asyncio.get_running_loop().call_later(kill_after_s, os.kill, pid, signal.SIGKILL)
    during = await concurrent_clients(url, images, arguments.clients, 10_000, 2 * kill_after_s, session="killed")
    after = await concurrent_clients(url, images, arguments.clients, 3, arguments.time_limit, session="new")
    return {"killed_after_s": kill_after_s, "sessions_in_flight": during, "new_sessions_after_the_kill": after}


def compare(arguments: argparse.Namespace) -> dict[str, Any]:
    """One process vs arguments.compare replicas behind nginx, 20 clients each; then a replica killed."""
    images = example_images()
    folder = arguments.output.parent
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = start_app(port, arguments.models_dir, folder / "load_app.tmp")
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", process)
        one = asyncio.run(under_load(f"http://127.0.0.1:{port}/", images, arguments))
        one["rss_mb"] = resident_mb(process.pid)
    finally:
        stop_app(process)

    serve, url = start_replicas(arguments.compare, arguments.models_dir, folder)
    try:
        replicated = asyncio.run(under_load(url, images, arguments))
        pids = replica_pids(serve.pid)
        replicated["rss_mb_each"] = [resident_mb(pid) for pid in pids]
        killed = asyncio.run(replica_killed(url, images, pids[0], arguments))
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)

    speedup = replicated["requests_per_second"] / one["requests_per_second"]
    p95 = {name: run["call"]["p95_ms"] if run["call"] else None for name, run in (("one", one), ("n", replicated))}
    return {
        "what": f"{arguments.clients} clients, one process vs {arguments.compare} replicas behind nginx (deploy.serve)",
        "models_dir": str(arguments.models_dir),
        "one_process": one,
        "replicas": {"count": arguments.compare, **replicated},
        "throughput_ratio": round(speedup, 2),
        "replica_killed": killed,
        "targets": {
            "throughput_ratio_at_least_1_3": speedup >= 1.3,
            "p95_lower": p95["n"] is not None and p95["one"] is not None and p95["n"] < p95["one"],
            "no_errors": one["errors"] == 0 and replicated["errors"] == 0,
            "new_sessions_after_kill_no_errors": killed["new_sessions_after_the_kill"]["errors"] == 0,
        },
        "machine": machine(),
    }
