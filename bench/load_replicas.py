"""`python -m bench.load --compare N`: one app process against N replicas behind nginx, same run.

Starts one process, one held to one core, and N replicas (`python -m deploy.serve`, started as a process:
bench imports no deploy code) side by side, and sends 20 clients to each in turn, `--rounds` times,
alternating which goes first (the machine's speed drifts within minutes), for Gradio's /classify
and for POST /api/classify; then kills one replica's process in the middle of a load and counts the
errors of the sessions in flight and of new sessions started after it. Each simulated client
carries its own affinity cookie, as each browser of a classroom would (without one nginx would send
clients that share an address to one replica), and sends from its own loopback address
(`bench.load_client.client_address`). Each run also records the CPU per answer of each server's processes
and of the load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.load_client import concurrent_clients, cpu_seconds, example_images, page_cookies, resident_mb
from bench.startup import machine
from deploy.processes import (
    REPOSITORY,
    descendant_pids,
    free_port,
    parent_pids,
    start_app,
    stop_app,
    wait_until_ready,
)


def start_replicas(
    count: int, models_dir: Path, log_folder: Path, timeout_s: float = 240, flags: tuple[str, ...] = (), name: str = ""
) -> tuple[subprocess.Popen, str]:
    """`python -m deploy.serve --replicas count [flags]` on a free port: (its process, its URL) once it serves.
    name: tells its log and data folder from another deploy.serve's running beside it."""
    port = free_port()
    log_path = log_folder / f"load_replicas_serve{name}.tmp"
    environment = {**os.environ, "DIGITS_MODELS_DIR": str(models_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "deploy.serve", "--replicas", str(count), "--port", str(port), *flags]
    command += ["--data-dir", str(log_folder / f"load_replicas_data{name}.tmp")]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while "Serving" not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"deploy.serve did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    return process, f"http://127.0.0.1:{port}/"


def cpu_of(pids: list[int]) -> float:
    """CPU seconds the processes `pids` have used so far; 0 for one that has exited."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def replica_pids(serve_pid: int) -> list[int]:
    """Process ids of the `app.py` children of deploy.serve's process, from /proc."""
    pids = []
    for pid, parent in parent_pids().items():
        with contextlib.suppress(OSError):
            if parent == serve_pid and b"app.py" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                pids.append(pid)
    return sorted(pids)


LOAD_SECONDS = 8.0
"""How long each load lasts, every client sending back to back until then. A fixed number of requests per
client (300 in all took 2 s) ended with a tail in which some clients had finished: the replica whose
clients finished first then idled while the other served the rest."""


async def under_load(
    url: str,
    images: list[tuple[str, bytes]],
    arguments: argparse.Namespace,
    call: str = "classify",
    pids: list[int] | None = None,
) -> dict[str, Any]:
    """A warm-up (every session once, so each replica has served before the clock starts), then the load:
    `arguments.seconds` long, or `arguments.requests_each` requests per client. With `pids` (the server's
    processes), adds "cpu_ms_per_answer": theirs and the load generator's (this process's), over the load
    alone (not the clients' page loads, not the warm-up)."""
    cookies = await page_cookies(url, arguments.clients)
    await concurrent_clients(url, images, arguments.clients, 1, arguments.time_limit, call=call, cookies=cookies)
    requests_each, time_limit = (
        (1_000_000, arguments.seconds) if arguments.seconds else (arguments.requests_each, arguments.time_limit)
    )
    server_before, generator_before = cpu_of(pids or []), time.process_time()
    run = await concurrent_clients(
        url, images, arguments.clients, requests_each, time_limit, call=call, cookies=cookies
    )
    if pids:
        answered = max(run["call"]["count"] if run["call"] else 0, 1)
        run["cpu_ms_per_answer"] = {
            "server": round(1000 * (cpu_of(pids) - server_before) / answered, 2),
            "load_generator": round(1000 * (time.process_time() - generator_before) / answered, 2),
        }
    return run


async def replica_killed(url: str, images: list[tuple[str, bytes]], pid: int, arguments: argparse.Namespace) -> dict:
    """SIGKILL replica `pid` 5 s into a 20-client load; then 20 new sessions. Errors of each."""
    kill_after_s = 5.0
    asyncio.get_running_loop().call_later(kill_after_s, os.kill, pid, signal.SIGKILL)
    during = await concurrent_clients(url, images, arguments.clients, 10_000, 2 * kill_after_s, session="killed")
    after = await concurrent_clients(url, images, arguments.clients, 3, arguments.time_limit, session="new")
    return {"killed_after_s": kill_after_s, "sessions_in_flight": during, "new_sessions_after_the_kill": after}


def compare(arguments: argparse.Namespace) -> dict[str, Any]:
    """One process vs arguments.compare replicas behind nginx, both serving at once, loads alternating between
    them (`arguments.rounds` rounds, for /classify and for POST /api/classify); then a replica killed.

    A third server, one process held to one core (as each replica is), shows what a core adds: the lone
    process also runs its native work (TensorFlow's, the image decoders') on the second core beside its
    Python, which a replica leaves to the other replica."""
    images = example_images()
    folder = arguments.output.parent
    folder.mkdir(parents=True, exist_ok=True)
    ports = {"one_process": free_port(), "one_core": free_port()}
    one_core = sorted(os.sched_getaffinity(0))[:1] if hasattr(os, "sched_getaffinity") else None
    processes = {
        "one_process": start_app(ports["one_process"], arguments.models_dir, folder / "load_app.tmp"),
        "one_core": start_app(ports["one_core"], arguments.models_dir, folder / "load_app_one_core.tmp", cpus=one_core),
    }
    serve = None
    try:
        serve, replicas_url = start_replicas(arguments.compare, arguments.models_dir, folder)
        urls = {name: f"http://127.0.0.1:{port}/" for name, port in ports.items()} | {"replicas": replicas_url}
        for name, process in processes.items():
            wait_until_ready(urls[name], process)
        server_pids = {name: [process.pid] for name, process in processes.items()}
        server_pids["replicas"] = descendant_pids(serve.pid)  # The replicas, nginx and its worker.
        calls = {call: alternating_loads(urls, images, arguments, call, server_pids) for call in CALLS}
        pids = replica_pids(serve.pid)
        memory = {
            "one_process_mb": resident_mb(processes["one_process"].pid),
            "replicas_mb": [resident_mb(pid) for pid in pids],
        }
        killed = asyncio.run(replica_killed(replicas_url, images, pids[0], arguments))
    finally:
        for process in processes.values():
            stop_app(process)
        if serve is not None:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
    return {
        "what": f"{arguments.clients} clients, one process vs {arguments.compare} replicas behind nginx "
        f"(deploy.serve) and one process held to one core, all serving at once, {arguments.rounds} loads "
        f"of {arguments.seconds or arguments.requests_each} {'s' if arguments.seconds else 'requests each'} on "
        "each, alternating, each client from its own address; medians",
        "models_dir": str(arguments.models_dir),
        "load_seconds": arguments.seconds,
        "calls": calls,
        "memory": memory,
        "replica_killed": killed,
        "targets": {
            **{f"{call}_throughput_at_least_1_35x": found["throughput_ratio"] >= 1.35 for call, found in calls.items()},
            **{f"{call}_p95_lower": found["p95_ratio"] < 1 for call, found in calls.items()},
            "no_errors": all(found["errors"] == 0 for found in calls.values()),
            "new_sessions_after_kill_no_errors": killed["new_sessions_after_the_kill"]["errors"] == 0,
        },
        "machine": machine(),
    }


def compare_pinning(arguments: argparse.Namespace) -> dict[str, Any]:
    """arguments.compare replicas each on a core of its own (deploy.serve's default) against the same replicas
    free to run on any core (`--no-pinning`), both serving at once, loads alternating, for /classify."""
    images = example_images()
    folder = arguments.output.parent
    folder.mkdir(parents=True, exist_ok=True)
    servers = []
    try:
        for flags, name in (((), "_pinned"), (("--no-pinning",), "_unpinned")):
            servers.append(start_replicas(arguments.compare, arguments.models_dir, folder, flags=flags, name=name))
        urls = {"one_process": servers[1][1], "replicas": servers[0][1]}  # compared as alternating_loads does
        found = alternating_loads(urls, images, arguments, "classify")
    finally:
        for serve, _ in servers:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
    found["runs"] = {"unpinned": found["runs"]["one_process"], "pinned": found["runs"]["replicas"]}
    found["median"] = {"unpinned": found["median"]["one_process"], "pinned": found["median"]["replicas"]}
    return {
        "what": f"{arguments.clients} clients on {arguments.compare} replicas behind nginx (deploy.serve), each "
        f"replica on a core of its own against unpinned (--no-pinning), both serving at once, {arguments.rounds} "
        f"loads of {arguments.seconds:g} s each, alternating, each client from its own address; ratios pinned / "
        "unpinned",
        "models_dir": str(arguments.models_dir),
        "classify": found,
        "machine": machine(),
    }


CALLS = ("classify", "api")
"""Gradio's /classify (upload, call, event stream) and POST /api/classify (one round trip)."""


def alternating_loads(
    urls: dict[str, str],
    images: list[tuple[str, bytes]],
    arguments: argparse.Namespace,
    call: str,
    pids: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """`arguments.rounds` 20-client loads of `call` on each server in `urls`, alternating which goes first:
    every run, the median throughput and p95 of each, their ratios (replicas / one process, and replicas / one
    core where `urls` has "one_core"), the errors. pids: each server's processes, whose CPU time per answer
    each run then records beside the load generator's (this process's)."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in urls}
    for round_number in range(arguments.rounds):
        order = list(urls) if round_number % 2 == 0 else list(reversed(urls))
        for name in order:
            run = asyncio.run(under_load(urls[name], images, arguments, call, (pids or {}).get(name)))
            found = {
                "requests_per_second": run["requests_per_second"],
                "p95_ms": run["call"]["p95_ms"] if run["call"] else None,
                "requests": run["call"]["count"] if run["call"] else 0,
                "errors": run["errors"],
                "error_samples": run["error_samples"],
            }
            if "cpu_ms_per_answer" in run:
                found["cpu_ms_per_answer"] = run["cpu_ms_per_answer"]
            runs[name].append(found)
    medians = {
        name: {
            figure: float(statistics.median(run[figure] for run in found if run[figure] is not None))
            for figure in ("requests_per_second", "p95_ms")
        }
        for name, found in runs.items()
    }
    one, replicated = medians["one_process"], medians["replicas"]
    ratios = {
        "throughput_ratio": round(replicated["requests_per_second"] / one["requests_per_second"], 3),
        "p95_ratio": round(replicated["p95_ms"] / one["p95_ms"], 3),
    }
    if "one_core" in medians:
        ratios["throughput_ratio_to_one_core"] = round(
            replicated["requests_per_second"] / medians["one_core"]["requests_per_second"], 3
        )
    return {
        "runs": runs,
        "median": medians,
        **ratios,
        "errors": sum(run["errors"] for found in runs.values() for run in found),
    }
