"""Latency of `/classify` over HTTP, alone and under 20 concurrent clients, and the app's memory.

    .venv/bin/python -m bench.load                    # starts the app itself; about a minute
    .venv/bin/python -m bench.load --models-dir .cache/quick/models
    .venv/bin/python -m bench.load --url http://127.0.0.1:7860/ --pid 1234   # an app already running
    .venv/bin/python -m bench.load --url http://127.0.0.1:8080/    # e.g. `python -m deploy.serve` replicas
    .venv/bin/python -m bench.load --compare 2    # one process, then 2 replicas behind nginx; 3-4 minutes

Uses Gradio's raw HTTP API, as DESIGN.md's budget is defined: `POST /gradio_api/upload` (the
image file), then `POST /gradio_api/call/classify` (returns an event id), then
`GET /gradio_api/call/classify/{event_id}`, reading the server-sent events until `complete`
or `error`. gradio_client is not used: it polls on its own schedule and adds about 50 ms. Each
simulated client keeps one Gradio session hash for all its calls, as a browser tab does.

Measured, with the example images of assets/examples in turn:
- one client, requests one after another: p50 / p95 of the call (POST + GET; budget 40 / 100 ms),
  and of upload + call;
- 20 clients at once, each sending its next request as soon as the last one answered: errors
  and p95 (budget 0 / 500 ms);
- the app's resident memory (VmRSS in /proc/PID/status) after warm-up and after the load
  (budget 1.5 GB).
Request counts and time are bounded. Writes bench/results/load.json.

`--compare N` measures 20 clients against one process, then against N replicas behind nginx
(`python -m deploy.serve`, started as a process: bench imports no deploy code), then kills one
replica's process in the middle of a load and counts the errors of the sessions in flight and
of new sessions started after it. Writes bench/results/load_replicas.json. Each simulated
client carries its own affinity cookie, as each browser of a classroom would: without one they
all share 127.0.0.1 and nginx would send them all to one replica.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.startup import REPOSITORY, free_port, machine, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
REPLICAS_RESULTS = RESULTS.with_name("load_replicas.json")
# deploy/nginx.conf.template keys session affinity on this cookie.
AFFINITY_COOKIE = "digits_affinity"
EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
BUDGETS = {"single_p50_ms": 40, "single_p95_ms": 100, "concurrent_p95_ms": 500, "concurrent_errors": 0, "rss_mb": 1536}


class CallError(Exception):
    """The app answered the call with an error event or an unexpected status."""


async def classify(
    client: httpx.AsyncClient, image: bytes, name: str, session: str | None = None
) -> tuple[float, float, Any]:
    """Upload one image and call /classify on it: (upload seconds, call seconds, the answer).

    session: Gradio's session hash, as a browser tab sends one for all its calls; without it
    every call opens a new session (about 4 ms of the server's time for this page's 72 blocks).
    """
    started = time.perf_counter()
    uploaded = await client.post("gradio_api/upload", files={"files": (name, image)})
    uploaded.raise_for_status()
    path = uploaded.json()[0]
    called = time.perf_counter()
    payload = {
        "data": [{"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}],
        "session_hash": session,
    }
    response = await client.post("gradio_api/call/classify", json=payload)
    response.raise_for_status()
    event_id = response.json()["event_id"]
    event = None
    async with client.stream("GET", f"gradio_api/call/classify/{event_id}") as stream:
        stream.raise_for_status()
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.removeprefix("data:").strip() or "null")
                if event == "error":
                    raise CallError(f"error event: {data}")
                finished = time.perf_counter()
                return called - started, finished - called, data[0]
    raise CallError("the event stream ended without a result")


def summary(seconds: list[float]) -> dict[str, float]:
    milliseconds = np.array(seconds) * 1000
    return {
        "count": len(milliseconds),
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 1),
        "p95_ms": round(float(np.percentile(milliseconds, 95)), 1),
        "max_ms": round(float(milliseconds.max()), 1),
    }


async def single_client(url: str, images: list[tuple[str, bytes]], requests: int) -> dict[str, Any]:
    calls, totals = [], []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for index in range(requests):
            name, image = images[index % len(images)]
            upload_s, call_s, _ = await classify(client, image, name, "single-client")
            calls.append(call_s)
            totals.append(upload_s + call_s)
    return {"call": summary(calls), "upload_and_call": summary(totals)}


async def concurrent_clients(
    url: str,
    images: list[tuple[str, bytes]],
    clients: int,
    requests_each: int,
    time_limit_s: float,
    *,
    session: str = "client",
) -> dict[str, Any]:
    """`clients` at once, each its own session (affinity cookie and Gradio session hash `session-<number>`),
    requests back to back."""
    calls: list[float] = []
    totals: list[float] = []
    errors: list[str] = []
    error_times: list[float] = []
    started = time.perf_counter()
    deadline = started + time_limit_s

    async def one_client(number: int) -> None:
        cookies = {AFFINITY_COOKIE: f"{session}-{number}"}
        async with httpx.AsyncClient(base_url=url, timeout=30, cookies=cookies) as client:
            for index in range(requests_each):
                if time.perf_counter() > deadline:
                    return
                name, image = images[(number + index) % len(images)]
                try:
                    upload_s, call_s, _ = await classify(client, image, name, f"{session}-{number}")
                except (httpx.HTTPError, CallError, KeyError, ValueError) as error:
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                    error_times.append(round(time.perf_counter() - started, 2))
                    continue
                calls.append(call_s)
                totals.append(upload_s + call_s)

    await asyncio.gather(*(one_client(number) for number in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "errors": len(errors),
        "error_samples": errors[:5],
        "error_at_s": error_times,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(calls) / elapsed, 1),
        "call": summary(calls) if calls else None,
        "upload_and_call": summary(totals) if totals else None,
    }


def resident_mb(pid: int) -> float:
    """VmRSS of process `pid` in MB (10^6 bytes), from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) * 1024 / 1e6, 1)
    raise ValueError(f"no VmRSS in /proc/{pid}/status")


def example_images() -> list[tuple[str, bytes]]:
    paths = sorted(path for path in EXAMPLES.iterdir() if path.suffix.lower() in {".png", ".jpg", ".jpeg"})
    if not paths:
        raise SystemExit(f"no example images in {EXAMPLES}: run `python -m bench.examples`")
    return [(path.name, path.read_bytes()) for path in paths]


async def measure(url: str, pid: int | None, arguments: argparse.Namespace) -> dict[str, Any]:
    images = example_images()
    # Warm-up: first calls load lazily imported code paths and fill caches.
    await single_client(url, images, len(images))
    memory = {"after_warm_up_mb": resident_mb(pid)} if pid else {}
    single = await single_client(url, images, arguments.requests)
    concurrent = await concurrent_clients(url, images, arguments.clients, arguments.requests_each, arguments.time_limit)
    if pid:
        memory["after_load_mb"] = resident_mb(pid)
    return {"single_client": single, "concurrent_clients": concurrent, "memory": memory}


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    single, concurrent = result["single_client"]["call"], result["concurrent_clients"]
    checks = {
        "single_p50": single["p50_ms"] <= BUDGETS["single_p50_ms"],
        "single_p95": single["p95_ms"] <= BUDGETS["single_p95_ms"],
        "concurrent_errors": concurrent["errors"] <= BUDGETS["concurrent_errors"],
        "concurrent_p95": bool(concurrent["call"]) and concurrent["call"]["p95_ms"] <= BUDGETS["concurrent_p95_ms"],
    }
    if result["memory"]:
        checks["rss"] = max(result["memory"].values()) <= BUDGETS["rss_mb"]
    return checks


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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an app already running (default: start one on a free port)")
    parser.add_argument("--pid", type=int, help="that app's process id, for its memory")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="models for the app this starts")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests of the single client")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests-each", type=int, default=15, help="requests per concurrent client")
    parser.add_argument("--time-limit", type=float, default=60, help="seconds the concurrent phase may run")
    parser.add_argument("--compare", type=int, metavar="N", help="one process vs N replicas behind nginx")
    parser.add_argument("--output", type=Path, help="default bench/results/load.json (load_replicas.json)")
    arguments = parser.parse_args(argv)
    if arguments.compare:
        arguments.output = arguments.output or REPLICAS_RESULTS
        result = compare(arguments)
        arguments.output.write_text(json.dumps(result, indent=2) + "\n")
        one, replicated = result["one_process"], result["replicas"]
        for name, run in (("one process", one), (f"{arguments.compare} replicas", replicated)):
            print(f"{name}: {run['requests_per_second']} req/s, {run['errors']} errors, call {run['call']}")
        print(f"throughput ratio {result['throughput_ratio']}; killed: {result['replica_killed']}")
        print(f"targets: {result['targets']}\nwrote {arguments.output}")
        return result
    arguments.output = arguments.output or RESULTS

    process = None
    url, pid = arguments.url, arguments.pid
    if url is None:
        port = free_port()
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        process = start_app(port, arguments.models_dir, arguments.output.parent / "load_app.tmp")
        url = f"http://127.0.0.1:{port}/"
        wait_until_ready(url, process)
        pid = process.pid
    try:
        result = asyncio.run(measure(url, pid, arguments))
    finally:
        if process is not None:
            stop_app(process)

    result = {
        "what": "POST /gradio_api/call/classify then GET its event stream; upload timed separately",
        "models_dir": str(arguments.models_dir) if arguments.url is None else "(the running app's)",
        **result,
        "budgets": BUDGETS,
        "machine": machine(),
    }
    result["within_budget"] = verdicts(result)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    single, concurrent = result["single_client"], result["concurrent_clients"]
    print(f"single client, call: p50 {single['call']['p50_ms']} ms, p95 {single['call']['p95_ms']} ms")
    print(f"single client, upload + call: p50 {single['upload_and_call']['p50_ms']} ms")
    print(f"{concurrent['clients']} clients: {concurrent['errors']} errors, call {concurrent['call']}")
    print(f"memory: {result['memory']}; within budget: {result['within_budget']}")
    print(f"wrote {arguments.output}")
    return result


if __name__ == "__main__":
    main()
