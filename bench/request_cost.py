"""Where an answer's CPU goes: the app's CPU seconds per answer on each path, and the library's share of it.

    .venv/bin/python -m bench.request_cost                         # about 3 minutes
    .venv/bin/python -m bench.request_cost --before /tmp/before    # side by side with another checkout

For each path a person or a program takes, one client sends requests one after another to a fresh
`python app.py` and the app's CPU time (user + system, every thread: Gradio's, TensorFlow's and the BLAS
pools' included, from /proc/PID/stat) is divided by the answers:
- `page_event`: the canvas's change event with the drawing uploaded (upload, queue join, event stream);
- `page_event_blobs`: the same event as the page's canvas sends it on a stroke: its background, layer and
  composite posted to `accept_blobs` (three requests), then the event naming them by an id;
- `classify_session` / `classify_no_session`: `/gradio_api/call/classify` with and without a session hash
  (a browser tab sends one; curl as Gradio's API page shows it does not);
- `read_number`: `/gradio_api/call/read_number` on a drawn 4-digit number;
- `api_classify`: `POST /api/classify`, one round trip (when the app has it).
The library's share is measured in this process on the same images: decoding, preprocessing, each model,
the ensemble (`time.process_time`, all threads, with the app's thread settings); what is left of the app's
CPU per answer is Gradio's routing, queue and streams (and the HTTP server).

With `--before DIR`, the app of that checkout (for example `git worktree add /tmp/before <commit>`) is
measured too, alternating with this one, `--rounds` times each. Writes bench/results/request_cost.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.load_client import cpu_seconds, wait_until_idle
from bench.startup import machine
from deploy import clients
from deploy.processes import REPOSITORY, free_port, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "request_cost.json"
EXAMPLES = REPOSITORY / "assets" / "examples"
DIGIT = EXAMPLES / "canvas_3.png"
NUMBER = EXAMPLES / "numbers" / "number_2026_drawn.png"
WARM_UP = 5

Call = Callable[[httpx.Client], Any]


def paths() -> dict[str, Call]:
    """Each path: one call through it, as its callers make it."""
    digit, number = DIGIT.read_bytes(), NUMBER.read_bytes()
    return {
        "page_event": lambda client: clients.page_event(client, digit, session="bench-page"),
        "page_event_blobs": lambda client: clients.page_event(client, digit, session="bench-page", blobs=True),
        "classify_session": lambda client: clients.gradio_call(client, "classify", digit, DIGIT.name, "bench"),
        "classify_no_session": lambda client: clients.gradio_call(client, "classify", digit, DIGIT.name),
        "read_number": lambda client: clients.gradio_call(client, "read_number", number, NUMBER.name, "bench"),
        "api_classify": lambda client: clients.api_call(client, "classify", digit, DIGIT.name),
    }


def measure_app(repository: Path, models_dir: Path, requests: int, log_folder: Path) -> dict[str, Any]:
    """A fresh app from `repository`: per path, CPU ms per answer and the client's p50 ms."""
    port = free_port()
    process = start_app(port, models_dir, log_folder / f"app-{port}.log", repository=repository)
    url = f"http://127.0.0.1:{port}/"
    results: dict[str, Any] = {}
    try:
        wait_until_ready(url, process, timeout_s=180)
        # The app's start-up work in the background would be counted against the first path.
        wait_until_idle(process.pid)
        with httpx.Client(base_url=url, timeout=60) as client:
            for name, call in paths().items():
                try:
                    for _ in range(WARM_UP):
                        call(client)
                except (clients.CallError, httpx.HTTPError) as error:
                    results[name] = {"unavailable": str(error)[:120]}
                    continue
                cpu_before, seconds = cpu_seconds(process.pid), []
                for _ in range(requests):
                    started = time.perf_counter()
                    call(client)
                    seconds.append(time.perf_counter() - started)
                results[name] = {
                    "app_cpu_ms_per_answer": round(1000 * (cpu_seconds(process.pid) - cpu_before) / requests, 2),
                    "p50_ms": round(1000 * statistics.median(seconds), 2),
                }
    finally:
        stop_app(process)
    return results


def library_split(models_dir: Path, repeats: int) -> dict[str, float]:
    """CPU ms per image of the library's parts, in this process with the app's thread settings."""
    import threadpoolctl

    from digit_models.cnn import serve_on_one_core

    serve_on_one_core()
    threadpoolctl.threadpool_limits(limits=1, user_api="blas")
    from digit_models.artifacts import load_models
    from digit_models.classify import predict_all
    from preprocessing import loading, to_mnist

    models = load_models(models_dir)
    raw = DIGIT.read_bytes()
    image = to_mnist(raw).image[None]

    def cpu_ms(work: Callable[[], Any]) -> float:
        work()  # warm
        started = time.process_time()
        for _ in range(repeats):
            work()
        return round(1000 * (time.process_time() - started) / repeats, 3)

    split = {
        "decoding": cpu_ms(lambda: loading.load_image(raw)),
        "decoding_and_preprocessing": cpu_ms(lambda: to_mnist(raw)),
    }
    ensemble = models["ensemble"]
    for key, member in ensemble.members.items():  # the four shown models and the ensemble's extra CNN
        split[f"model_{key}"] = cpu_ms(lambda member=member: member.predict_proba(image))
    answers = {key: member.predict_proba(image) for key, member in ensemble.members.items()}
    split["ensemble_combine"] = cpu_ms(lambda: ensemble.combine(answers))
    split["every_model_and_the_ensemble"] = cpu_ms(lambda: predict_all(models, image))
    split["library_total"] = round(split["decoding_and_preprocessing"] + split["every_model_and_the_ensemble"], 3)
    return split


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.request_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per path (default 100)")
    parser.add_argument("--before", type=Path, help="another checkout, measured alternately with this one")
    parser.add_argument(
        "--before-models-dir", type=Path, help="the models the other checkout serves (default: --models-dir for both)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="apps started per checkout (default 2)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    log_folder = Path("/tmp") / "request_cost_logs"
    log_folder.mkdir(exist_ok=True)
    checkouts = {"this": REPOSITORY, **({"before": arguments.before.resolve()} if arguments.before else {})}
    models_dirs = {"this": arguments.models_dir, "before": arguments.before_models_dir or arguments.models_dir}
    runs: dict[str, list[dict]] = {name: [] for name in checkouts}
    for _ in range(arguments.rounds):
        for name, repository in checkouts.items():  # alternating: this, before, this, before, ...
            runs[name].append(measure_app(repository, models_dirs[name], arguments.requests, log_folder))
            print(name, json.dumps(runs[name][-1]), flush=True)
    result = {
        "what": __doc__.split("\n\n")[0],
        "machine": machine(),
        "requests_per_path": arguments.requests,
        "checkouts": {name: str(path) for name, path in checkouts.items()},
        "models_dirs": {name: str(models_dirs[name]) for name in checkouts},
        "runs": runs,
        "median": {name: medians(found) for name, found in runs.items()},
        "library_ms_per_image": library_split(arguments.models_dir, 200),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median"], indent=1), json.dumps(result["library_ms_per_image"], indent=1))
    return result


def medians(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Per path and figure, the median over the runs (paths a run lacked are left out)."""
    found: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for path, figures in run.items():
            for figure, value in figures.items():
                if isinstance(value, int | float):
                    found.setdefault(path, {}).setdefault(figure, []).append(value)
    return {
        path: {figure: float(np.median(values)) for figure, values in figures.items()}
        for path, figures in found.items()
    }


if __name__ == "__main__":
    main()
