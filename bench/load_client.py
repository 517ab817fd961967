"""The load generator's side of bench.load: Gradio's raw HTTP API called by simulated clients.

`POST /gradio_api/upload` (the image file), then `POST /gradio_api/call/classify` (returns an
event id), then `GET /gradio_api/call/classify/{event_id}`, reading the server-sent events until
`complete` or `error`. gradio_client is not used: it polls on its own schedule and adds about
50 ms. Each simulated client keeps one Gradio session hash for all its calls, as a browser tab
does, and the affinity cookie nginx gave it with the page, which it loads first as a browser does
(deploy/nginx.conf.template).

The clients are aiohttp's (C parser): the generator shares the machine with the app, and httpx's
asynchronous client took 7.7-13 ms of CPU per `/classify` call (three requests) where aiohttp takes
1.3, CPU that the app and its replicas then lacked (bench/results/load_side_by_side.json records the
generator's CPU per request).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from deploy.clients import CallError, CallEvents, canvas_change_event, canvas_event_body, canvas_value

# deploy/nginx.conf.template keys session affinity on this cookie.
AFFINITY_COOKIE = "digits_affinity"
EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
TIMEOUT = aiohttp.ClientTimeout(total=30)
CLIENT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, CallError, KeyError, ValueError)
"""What a failed call raises: counted as an error of the load, never stopping it."""


async def classify(
    client: aiohttp.ClientSession, image: bytes, name: str, session: str | None = None
) -> tuple[float, float, Any]:
    """Upload one image and call /classify on it: (upload seconds, call seconds, the answer).

    session: Gradio's session hash, as a browser tab sends one for all its calls; without it
    every call opens a new session (about 4 ms of the server's time for this page's 72 blocks).
    """
    started = time.perf_counter()
    form = aiohttp.FormData()
    form.add_field("files", image, filename=name)
    async with client.post("gradio_api/upload", data=form) as uploaded:
        uploaded.raise_for_status()
        path = (await uploaded.json())[0]
    called = time.perf_counter()
    payload = {
        "data": [{"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}],
        "session_hash": session,
    }
    async with client.post("gradio_api/call/classify", json=payload) as response:
        response.raise_for_status()
        event_id = (await response.json())["event_id"]
    events = CallEvents()
    async with client.get(f"gradio_api/call/classify/{event_id}") as stream:
        stream.raise_for_status()
        async for line in stream.content:
            done, answer = events.feed(line.decode().rstrip("\r\n"))
            if done:
                return called - started, time.perf_counter() - called, answer
    raise CallError("the event stream ended without a result")


async def api_classify(
    client: aiohttp.ClientSession, image: bytes, name: str, session: str | None = None
) -> tuple[float, float, Any]:
    """`POST /api/classify` with the image: (0, call seconds, the answer); one round trip, no session."""
    started = time.perf_counter()
    form = aiohttp.FormData()
    form.add_field("file", image, filename=name)
    async with client.post("api/classify", data=form) as response:
        if response.status != 200:
            raise CallError(f"{response.status}: {(await response.text())[:200]}")
        answer = await response.json()
    return 0.0, time.perf_counter() - started, answer


_CANVAS_EVENTS: dict[int, tuple[int, int, int]] = {}
"""Per client: the canvas's id, its change event's index and input count, from the page's configuration."""


async def page_event(
    client: aiohttp.ClientSession, image: bytes, name: str, session: str | None = None
) -> tuple[float, float, Any]:
    """The canvas's change event with `image` drawn, as `deploy.clients.page_event` sends it (uploaded, not
    as blobs): the upload, the queue join and the session's event stream read to the answer. Returns
    (upload seconds, event seconds, Gradio's `process_completed` message). The page's configuration is
    fetched once per client, as a browser tab does."""
    if id(client) not in _CANVAS_EVENTS:
        async with client.get("config") as response:
            _CANVAS_EVENTS[id(client)] = canvas_change_event(await response.json())
    canvas, fn_index, inputs = _CANVAS_EVENTS[id(client)]
    session = session or f"page-{time.monotonic_ns()}"
    started = time.perf_counter()
    form = aiohttp.FormData()
    form.add_field("files", image, filename="canvas.png")
    async with client.post("gradio_api/upload", data=form) as uploaded:
        uploaded.raise_for_status()
        path = (await uploaded.json())[0]
    called = time.perf_counter()
    body = canvas_event_body(canvas_value(path), canvas, fn_index, inputs, session)
    async with client.post("gradio_api/queue/join", json=body) as joined:
        joined.raise_for_status()
    async with client.get("gradio_api/queue/data", params={"session_hash": session}) as stream:
        stream.raise_for_status()
        async for line in stream.content:
            text = line.decode().strip()
            if text.startswith("data:") and '"process_completed"' in text:
                message = json.loads(text.removeprefix("data:"))
                if not message.get("success"):
                    raise CallError(f"the event failed: {str(message.get('output'))[:200]}")
                return called - started, time.perf_counter() - called, message
    raise CallError("the stream ended without an answer")


async def page_cookies(url: str, count: int) -> list[str | None]:
    """The affinity cookies nginx gives `count` browsers arriving one after the other with the page, their
    first request: the replicas in turn (deploy/nginx.conf.template); None each without nginx."""
    cookies: list[str | None] = []
    for number in range(count):
        async with client_session(url, number=number) as browser, browser.get("") as page:
            page.raise_for_status()
            cookie = page.cookies.get(AFFINITY_COOKIE)
            cookies.append(cookie.value if cookie is not None else None)
    return cookies


def client_address(url: str, number: int | None) -> str | None:
    """The source address of simulated client `number` on a loopback `url`: 127.0.0.2, 127.0.0.3, ... (all of
    127/8 is this machine on Linux), as each phone of a classroom or visitor of a public link has its own.

    Why: nginx limits requests per client address (deploy/nginx.conf.template, 200 a second and a burst of
    4,000), and 20 clients sharing 127.0.0.1 send 400-700 a second: a load of a few seconds hid in the burst,
    a longer one was answered 429. None (the system's choice) for another host, or without a number."""
    if number is None or urllib.parse.urlsplit(url).hostname != "127.0.0.1" or not sys.platform.startswith("linux"):
        return None
    return f"127.0.{(number + 2) // 256}.{(number + 2) % 256}"


def client_session(url: str, affinity: str | None = None, number: int | None = None) -> aiohttp.ClientSession:
    """An aiohttp session on `url`; with `affinity`, nginx's affinity cookie on every request (as a header:
    aiohttp's cookie jar would not send cookies to an IP address such as 127.0.0.1); with `number`, from
    that simulated client's own address (`client_address`)."""
    headers = {"Cookie": f"{AFFINITY_COOKIE}={affinity}"} if affinity else None
    address = client_address(url, number)
    connector = aiohttp.TCPConnector(local_addr=(address, 0)) if address else None
    return aiohttp.ClientSession(base_url=url.rstrip("/") + "/", timeout=TIMEOUT, headers=headers, connector=connector)


CALLS = {"classify": classify, "api": api_classify, "page": page_event}
"""The ways to ask for an answer: Gradio's /classify (upload, call, event stream), POST /api/classify, or
the page's own drawing event (upload, queue join, the session's stream)."""


def summary(seconds: list[float]) -> dict[str, float]:
    milliseconds = np.array(seconds) * 1000
    return {
        "count": len(milliseconds),
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 1),
        "p95_ms": round(float(np.percentile(milliseconds, 95)), 1),
        "max_ms": round(float(milliseconds.max()), 1),
    }


async def single_client(
    url: str, images: list[tuple[str, bytes]], requests: int, call: str = "classify"
) -> dict[str, Any]:
    calls, totals = [], []
    async with client_session(url) as client:
        for index in range(requests):
            name, image = images[index % len(images)]
            upload_s, call_s, _ = await CALLS[call](client, image, name, "single-client")
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
    call: str = "classify",
    cookies: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """`clients` at once, each its own session (affinity cookie and Gradio session hash `session-<number>`),
    requests back to back. cookies: each client's affinity cookie (`page_cookies`); by default each loads
    the page for it first, as browsers arriving one after the other do, before the clock starts (a caller
    that measures the app's CPU around this call loads them itself beforehand)."""
    calls: list[float] = []
    totals: list[float] = []
    errors: list[str] = []
    error_times: list[float] = []
    cookies = await page_cookies(url, clients) if cookies is None else cookies
    started = time.perf_counter()
    deadline = started + time_limit_s

    async def one_client(number: int) -> None:
        async with client_session(url, affinity=cookies[number], number=number) as client:
            for index in range(requests_each):
                if time.perf_counter() > deadline:
                    return
                name, image = images[(number + index) % len(images)]
                try:
                    upload_s, call_s, _ = await CALLS[call](client, image, name, f"{session}-{number}")
                except CLIENT_ERRORS as error:
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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far, all its threads, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, *, below: float = 0.05, timeout_s: float = 60.0) -> float:
    """Seconds until process `pid` uses under `below` of a core over half a second (the app's start-up
    work, such as loading MNIST's test digits in the background, is done); at most timeout_s."""
    started = time.perf_counter()
    last = cpu_seconds(pid)
    while time.perf_counter() - started < timeout_s:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - last < below * 0.5:
            break
        last = now
    return time.perf_counter() - started


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), sum(ticks) / os.sysconf("SC_CLK_TCK")
