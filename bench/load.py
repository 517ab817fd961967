"""Latency of `/classify` over HTTP, alone and under 20 concurrent clients, and the app's memory.

    .venv/bin/python -m bench.load                    # starts the app itself; about a minute
    .venv/bin/python -m bench.load --models-dir .cache/quick/models
    .venv/bin/python -m bench.load --url http://127.0.0.1:7860/ --pid 1234   # an app already running
    .venv/bin/python -m bench.load --url http://127.0.0.1:8080/    # e.g. `python -m deploy.serve` replicas
    .venv/bin/python -m bench.load --compare 2    # one process and 2 replicas behind nginx, alternating; 3 minutes

Uses Gradio's raw HTTP API, as DESIGN.md's budget is defined (bench/load_client.py). Measured,
with the example images of assets/examples in turn:
- one client, requests one after another: p50 / p95 of the call (POST + GET; budget 40 / 100 ms),
  and of upload + call;
- 20 clients at once, each sending its next request as soon as the last one answered: errors
  and p95 (budget 0 / 500 ms), and how busy the machine was meanwhile: the app's CPU time per
  request and in cores, the whole machine's busy share and load average;
- the app's resident memory (VmRSS in /proc/PID/status) after warm-up and after the load
  (budget 1.5 GB).
Request counts and time are bounded. Writes bench/results/load.json.

`--compare N`: one process against N replicas behind nginx and against one process held to one core,
loads of 8 s (`--seconds`), and a replica killed mid-load (bench/load_replicas.py). Writes
bench/results/load_replicas.json. `--compare N --pinning`: N replicas each on
a core of its own (deploy.serve's default) against N free to run anywhere; load_replicas_pinning.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from bench import load_replicas
from bench.load_client import (
    CALLS,
    concurrent_clients,
    cpu_seconds,
    example_images,
    machine_busy_seconds,
    page_cookies,
    resident_mb,
    single_client,
)
from bench.startup import machine
from deploy.processes import REPOSITORY, free_port, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
REPLICAS_RESULTS = RESULTS.with_name("load_replicas.json")
PINNING_RESULTS = RESULTS.with_name("load_replicas_pinning.json")
BUDGETS = {"single_p50_ms": 40, "single_p95_ms": 100, "concurrent_p95_ms": 500, "concurrent_errors": 0, "rss_mb": 1536}


async def measure(url: str, pid: int | None, arguments: argparse.Namespace) -> dict[str, Any]:
    images = example_images()
    # Warm-up: first calls load lazily imported code paths and fill caches.
    await single_client(url, images, len(images), arguments.call)
    memory = {"after_warm_up_mb": resident_mb(pid)} if pid else {}
    single = await single_client(url, images, arguments.requests, arguments.call)
    # Each client's page first (its affinity cookie behind nginx), outside the measured window.
    cookies = await page_cookies(url, arguments.clients)
    load_average = os.getloadavg()[0]
    app_before = cpu_seconds(pid) if pid else 0.0
    busy_before, total_before = machine_busy_seconds()
    generator_before = time.process_time()
    started = time.perf_counter()
    concurrent = await concurrent_clients(
        url,
        images,
        arguments.clients,
        arguments.requests_each,
        arguments.time_limit,
        call=arguments.call,
        cookies=cookies,
    )
    elapsed = time.perf_counter() - started
    generator_cpu = time.process_time() - generator_before
    busy_after, total_after = machine_busy_seconds()
    answered = concurrent["call"]["count"] if concurrent["call"] else 0
    concurrent["machine"] = {
        "load_average_1min_before": round(load_average, 2),
        "busy_percent_of_all_cores": round(100 * (busy_after - busy_before) / (total_after - total_before), 1),
        # This process's own CPU: what the clients cost the machine beside the app.
        "load_generator_cpu_ms_per_request": round(1000 * generator_cpu / max(answered, 1), 1),
    }
    if pid:
        app_cpu = cpu_seconds(pid) - app_before
        concurrent["app_cpu"] = {
            "cores": round(app_cpu / elapsed, 2),
            "ms_per_request": round(1000 * app_cpu / max(answered, 1), 1),
        }
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


def run_compare(arguments: argparse.Namespace) -> dict[str, Any]:
    """--compare N: bench/load_replicas.py's comparison, written and printed."""
    arguments.seconds = arguments.seconds or load_replicas.LOAD_SECONDS
    if arguments.pinning:
        arguments.output = arguments.output or PINNING_RESULTS
        result = load_replicas.compare_pinning(arguments)
        arguments.output.write_text(json.dumps(result, indent=2) + "\n")
        found = result["classify"]
        print(f"pinned / unpinned: {found['median']}, throughput {found['throughput_ratio']}x", end=", ")
        print(f"p95 {found['p95_ratio']}x")
        print(f"wrote {arguments.output}")
        return result
    arguments.output = arguments.output or REPLICAS_RESULTS
    result = load_replicas.compare(arguments)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    for call, found in result["calls"].items():
        ratio = found["throughput_ratio"]
        print(f"{call}: medians {found['median']}, throughput ratio {ratio}, errors {found['errors']}")
    print(f"killed: {result['replica_killed']}")
    print(f"targets: {result['targets']}\nwrote {arguments.output}")
    return result


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an app already running (default: start one on a free port)")
    parser.add_argument("--pid", type=int, help="that app's process id, for its memory and CPU time")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="models for the app this starts")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests of the single client")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests-each", type=int, default=15, help="requests per concurrent client")
    parser.add_argument("--time-limit", type=float, default=60, help="seconds the concurrent phase may run")
    parser.add_argument(
        "--seconds",
        type=float,
        help="with --compare: each load lasts this long, every client sending until then (default 8), "
        "instead of --requests-each requests per client",
    )
    parser.add_argument("--compare", type=int, metavar="N", help="one process vs N replicas behind nginx")
    parser.add_argument("--rounds", type=int, default=3, help="with --compare: loads on each, alternating")
    parser.add_argument(
        "--pinning", action="store_true", help="with --compare: N replicas pinned to a core each vs unpinned"
    )
    parser.add_argument("--output", type=Path, help="default bench/results/load.json (load_replicas.json)")
    parser.add_argument("--call", choices=CALLS, default="classify", help="see bench.load_client.CALLS")
    parser.add_argument("--repository", type=Path, default=REPOSITORY, help="the checkout whose app.py runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    if arguments.compare:
        return run_compare(arguments)
    arguments.output = arguments.output or RESULTS

    process = None
    url, pid = arguments.url, arguments.pid
    if url is None:
        port = free_port()
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        process = start_app(
            port, arguments.models_dir, arguments.output.parent / "load_app.tmp", repository=arguments.repository
        )
        url = f"http://127.0.0.1:{port}/"
        wait_until_ready(url, process)
        pid = process.pid
    try:
        result = asyncio.run(measure(url, pid, arguments))
    finally:
        if process is not None:
            stop_app(process)

    result = {
        "what": "POST /gradio_api/call/classify then GET its event stream; upload timed separately"
        if arguments.call == "classify"
        else "POST /api/classify with the image, the answer in the response",
        "call": arguments.call,
        "repository": str(arguments.repository),
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
    print(f"while loaded: machine {concurrent['machine']}, app {concurrent.get('app_cpu')}")
    print(f"memory: {result['memory']}; within budget: {result['within_budget']}")
    print(f"wrote {arguments.output}")
    return result


if __name__ == "__main__":
    main()
