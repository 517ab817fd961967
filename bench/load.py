"""Latency of `/classify` over HTTP, alone and under 20 concurrent clients, and the app's memory.

    .venv/bin/python -m bench.load                    # starts the app itself; about a minute
    .venv/bin/python -m bench.load --models-dir .cache/quick/models
    .venv/bin/python -m bench.load --url http://127.0.0.1:7860/ --pid 1234   # an app already running

Uses Gradio's raw HTTP API, as DESIGN.md's budget is defined: `POST /gradio_api/upload` (the
image file), then `POST /gradio_api/call/classify` (returns an event id), then
`GET /gradio_api/call/classify/{event_id}`, reading the server-sent events until `complete`
or `error`. gradio_client is not used: it polls on its own schedule and adds about 50 ms.

Measured, with the example images of assets/examples in turn:
- one client, requests one after another: p50 / p95 of the call (POST + GET; budget 40 / 100 ms),
  and of upload + call;
- 20 clients at once, each sending its next request as soon as the last one answered: errors
  and p95 (budget 0 / 500 ms);
- the app's resident memory (VmRSS in /proc/PID/status) after warm-up and after the load
  (budget 1.5 GB).
Request counts and time are bounded. Writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.startup import free_port, machine, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"
EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
BUDGETS = {"single_p50_ms": 40, "single_p95_ms": 100, "concurrent_p95_ms": 500, "concurrent_errors": 0, "rss_mb": 1536}


class CallError(Exception):
    """The app answered the call with an error event or an unexpected status."""


async def classify(client: httpx.AsyncClient, image: bytes, name: str) -> tuple[float, float, Any]:
    """Upload one image and call /classify on it: (upload seconds, call seconds, the answer)."""
    started = time.perf_counter()
    uploaded = await client.post("gradio_api/upload", files={"files": (name, image)})
    uploaded.raise_for_status()
    path = uploaded.json()[0]
    called = time.perf_counter()
    payload = {"data": [{"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}]}
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
            upload_s, call_s, _ = await classify(client, image, name)
            calls.append(call_s)
            totals.append(upload_s + call_s)
    return {"call": summary(calls), "upload_and_call": summary(totals)}


async def concurrent_clients(
    url: str, images: list[tuple[str, bytes]], clients: int, requests_each: int, time_limit_s: float
) -> dict[str, Any]:
    calls: list[float] = []
    totals: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + time_limit_s

    async def one_client(number: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for index in range(requests_each):
                if time.perf_counter() > deadline:
                    return
                name, image = images[(number + index) % len(images)]
                try:
                    upload_s, call_s, _ = await classify(client, image, name)
                except (httpx.HTTPError, CallError, KeyError, ValueError) as error:
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                    continue
                calls.append(call_s)
                totals.append(upload_s + call_s)

    started = time.perf_counter()
    await asyncio.gather(*(one_client(number) for number in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "errors": len(errors),
        "error_samples": errors[:5],
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an app already running (default: start one on a free port)")
    parser.add_argument("--pid", type=int, help="that app's process id, for its memory")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="models for the app this starts")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests of the single client")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests-each", type=int, default=15, help="requests per concurrent client")
    parser.add_argument("--time-limit", type=float, default=60, help="seconds the concurrent phase may run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)

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
