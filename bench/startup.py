"""Time from `python app.py` to the app answering on its port (DESIGN.md budget: 15 s).

    .venv/bin/python -m bench.startup                 # 3 cold starts, about a minute
    .venv/bin/python -m bench.startup --models-dir .cache/quick/models

Each run starts a fresh `python app.py` on 127.0.0.1 at a free port, polls `GET /` until it
answers 200 (models loaded, CNN traced, page served), then stops the app. Writes every run's
seconds and their median to bench/results/startup.json. The process helpers are
`deploy.processes`'.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from deploy.processes import free_port, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "startup.json"
BUDGET_S = 15.0


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
