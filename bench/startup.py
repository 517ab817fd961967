"""Time from `python app.py` to the app answering on its port (DESIGN.md budget: 15 s).

    .venv/bin/python -m bench.startup                 # 3 cold starts, about a minute
    .venv/bin/python -m bench.startup --models-dir .cache/quick/models

Each run starts a fresh `python app.py` on 127.0.0.1 at a free port, polls `GET /` until it
answers 200 (models loaded, CNN traced, page served), then stops the app. Writes every run's
seconds and their median to bench/results/startup.json. `start_app` and `wait_until_ready`
are shared with bench/load.py and bench/load_replicas.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from digit_models.artifacts import MODELS_DIR

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "startup.json"
BUDGET_S = 15.0


class AppFailedError(RuntimeError):
    """The app exited, or did not answer in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(
    port: int, models_dir: Path, log_path: Path, *, flags: Sequence[str] = (), environment: Mapping[str, str] = {}
) -> subprocess.Popen:
    """`python app.py --port port [flags]` on 127.0.0.1 with models from models_dir, output to log_path.

    environment: variables added to this process's own (for example $DIGITS_DATA_DIR).
    """
    environment = {
        **os.environ,
        "DIGITS_MODELS_DIR": str(models_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
        **environment,
    }
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port), *flags],
            cwd=REPOSITORY,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until_ready(url: str, process: subprocess.Popen, timeout_s: float = 120) -> float:
    """Seconds from now until GET url answers 200; AppFailedError if the app exits or times out."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise AppFailedError(f"app.py exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    raise AppFailedError(f"app.py did not answer on {url} within {timeout_s:.0f} s")


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def serving(
    models_dir: Path,
    log_folder: Path,
    *,
    flags: Sequence[str] = (),
    environment: Mapping[str, str] = {},
    timeout_s: float = 120,
) -> Iterator[str]:
    """`python app.py [flags]` on 127.0.0.1 at a free port: yields its URL once it answers, stops it after.

    Raises AppFailedError, with the end of the app's output, if it exits or does not answer in time.
    """
    port = free_port()
    log_path = Path(log_folder) / f"app-{port}.log"
    process = start_app(port, models_dir, log_path, flags=flags, environment=environment)
    url = f"http://127.0.0.1:{port}/"
    try:
        try:
            wait_until_ready(url, process, timeout_s=timeout_s)
        except AppFailedError as error:
            raise AppFailedError(f"{error}:\n{log_path.read_text()[-3000:]}") from error
        yield url
    finally:
        stop_app(process)


def machine() -> dict:
    """What the figures depend on: cores, load at the time, Python."""
    return {
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold starts to time (default 3)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="models to load (default assets/models)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)

    seconds = []
    for run in range(arguments.runs):
        port = free_port()
        log_path = arguments.output.parent / "startup_app.tmp"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        process = start_app(port, arguments.models_dir, log_path)
        try:
            wait_until_ready(f"http://127.0.0.1:{port}/", process)
            seconds.append(round(time.perf_counter() - started, 2))
        finally:
            stop_app(process)
        print(f"run {run + 1}: ready after {seconds[-1]:.2f} s", flush=True)

    result = {
        "what": "seconds from starting `python app.py` to GET / answering 200",
        "models_dir": str(arguments.models_dir),
        "runs_s": seconds,
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "budget_s": BUDGET_S,
        "within_budget": max(seconds) <= BUDGET_S,
        "machine": machine(),
    }
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median {result['median_s']:.2f} s, max {result['max_s']:.2f} s (budget {BUDGET_S:.0f} s)")
    print(f"wrote {arguments.output}")
    return result


if __name__ == "__main__":
    main()
