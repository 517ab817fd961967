"""Two checkouts' apps side by side, requests alternating one by one: CPU per answer with the machine's drift cancelled.

    .venv/bin/python -m bench.interleaved_cost --before /tmp/before       # about 4 minutes

`bench.request_cost` alternates whole apps, one after the other; on a shared machine whose speed drifts
by 20% or more within minutes, a path's figure then moves more between two apps of the same code than
between two versions. Here both apps (this checkout's and `--before`'s, the same models unless
`--before-models-dir` gives the other its own) run at once, and every request goes to one and then the
other, in a random order each time. Each answer's app CPU is read from /proc before the request and 5 ms
after its answer (work the app finishes after answering counts too); /proc counts in clock ticks, which
over hundreds of requests averages out. The paths are `bench.request_cost`'s; `/classify` with and without
a session hash are interleaved too (PAIRED), request by request, so that their ratio in each app is
measured on the same minutes. Writes bench/results/interleaved_cost.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.load_client import cpu_seconds, wait_until_idle
from bench.request_cost import WARM_UP, paths
from bench.startup import machine
from deploy import clients
from deploy.processes import REPOSITORY, checkout_python, free_port, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "interleaved_cost.json"
SETTLE_S = 0.005  # After an answer, before reading the app's CPU: its last bookkeeping is part of the answer.


def warmed_up(call, client: httpx.Client) -> bool:
    """WARM_UP calls through the path; False when this app does not serve it (a route added since)."""
    try:
        for _ in range(WARM_UP):
            call(client)
    except (clients.CallError, httpx.HTTPError):
        return False
    return True


PAIRED = ("classify_session", "classify_no_session")
"""Paths whose requests are interleaved with each other as well as between the apps: #24 asks for
sessionless calls within 10% of session calls, a ratio the machine's drift would swamp otherwise."""


def measure(urls: dict[str, str], pids: dict[str, int], requests: int, seed: int = 0) -> dict[str, Any]:
    """Per path and app: mean app CPU ms per answer and p50 ms, requests alternating between the apps
    (and between the PAIRED paths), in a random order each round."""
    order = random.Random(seed)
    calls = paths()
    groups = [[path] for path in calls if path not in PAIRED] + [list(PAIRED)]
    results: dict[str, Any] = {}
    sessions = {name: httpx.Client(base_url=url, timeout=60) for name, url in urls.items()}
    try:
        for group in groups:
            turns = [(path, name) for path in group for name in sessions if warmed_up(calls[path], sessions[name])]
            cpu: dict[tuple[str, str], list[float]] = {turn: [] for turn in turns}
            seconds: dict[tuple[str, str], list[float]] = {turn: [] for turn in turns}
            for _ in range(requests):
                order.shuffle(turns)
                for path, name in turns:
                    cpu_before, started = cpu_seconds(pids[name]), time.perf_counter()
                    calls[path](sessions[name])
                    seconds[path, name].append(time.perf_counter() - started)
                    time.sleep(SETTLE_S)
                    cpu[path, name].append(cpu_seconds(pids[name]) - cpu_before)
            for path in group:
                results[path] = {
                    name: {
                        "app_cpu_ms_per_answer": round(1000 * statistics.mean(cpu[path, name]), 2),
                        "p50_ms": round(1000 * statistics.median(seconds[path, name]), 2),
                    }
                    for turn_path, name in sorted(turns)
                    if turn_path == path
                }
                print(path, json.dumps(results[path]), flush=True)
    finally:
        for session in sessions.values():
            session.close()
    return results


def sessionless_over_session(per_path: dict[str, Any]) -> dict[str, float]:
    """Per app: `/classify`'s app CPU per answer without a session hash over with one (PAIRED, interleaved)."""
    session, sessionless = (per_path.get(path, {}) for path in PAIRED)
    return {
        name: round(sessionless[name]["app_cpu_ms_per_answer"] / figures["app_cpu_ms_per_answer"], 3)
        for name, figures in session.items()
        if name in sessionless
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.interleaved_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout (git worktree add ...)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument(
        "--before-models-dir", type=Path, help="the models of --before's app (default: --models-dir, the same for both)"
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per path and app (default 200)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    checkouts = {"this": REPOSITORY, "before": arguments.before.resolve()}
    models = {"this": arguments.models_dir, "before": arguments.before_models_dir or arguments.models_dir}
    log_folder = Path("/tmp") / "interleaved_cost_logs"
    log_folder.mkdir(exist_ok=True)
    processes, urls = {}, {}
    try:
        for name, repository in checkouts.items():
            port = free_port()
            processes[name] = start_app(port, models[name], log_folder / f"{name}.log", repository=repository)
            urls[name] = f"http://127.0.0.1:{port}/"
        for name, process in processes.items():
            wait_until_ready(urls[name], process, timeout_s=180)
        for process in processes.values():
            wait_until_idle(process.pid)
        per_path = measure(urls, {name: process.pid for name, process in processes.items()}, arguments.requests)
    finally:
        for process in processes.values():
            stop_app(process)
    result = {
        "what": __doc__.split("\n\n")[0],
        "machine": machine(),
        "requests_per_path_and_app": arguments.requests,
        "checkouts": {name: str(path) for name, path in checkouts.items()},
        "models_dirs": {name: str(folder) for name, folder in models.items()},
        "interpreters": {name: str(checkout_python(path)) for name, path in checkouts.items()},
        "paths": per_path,
        "ratios": {
            path: round(apps["this"]["app_cpu_ms_per_answer"] / apps["before"]["app_cpu_ms_per_answer"], 3)
            for path, apps in per_path.items()
            if "before" in apps and "this" in apps
        },
        "sessionless_over_session": sessionless_over_session(per_path),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["ratios"], indent=1), json.dumps(result["sessionless_over_session"]))
    return result


if __name__ == "__main__":
    main()
