"""Today's code against another checkout's, alternating, on the same machine: bench.load's figures for each.

    .venv/bin/python -m bench.load_side_by_side --before /tmp/before --models-dir /tmp/before/assets/models

Each round starts a fresh app for each configuration in turn: the other checkout's `/classify`, this
checkout's `/classify`, this checkout's `POST /api/classify` (one client one request after another, then
20 clients each its own session). Both load the same models (`--models-dir`), so only the code differs.
Writes bench/results/load_side_by_side.json: every run, the medians, and the ratios this / before.
`--page`: the page's own drawing event instead (upload, queue join, the session's event stream;
`bench.load --call page`), the other checkout's against this one's: load_side_by_side_page.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from bench import load
from bench.startup import machine
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "load_side_by_side.json"
PAGE_RESULTS = RESULTS.with_name("load_side_by_side_page.json")
FIGURES = {
    "single_p50_ms": ("single_client", "call", "p50_ms"),
    "single_p95_ms": ("single_client", "call", "p95_ms"),
    "concurrent_requests_per_second": ("concurrent_clients", "requests_per_second"),
    "concurrent_p95_ms": ("concurrent_clients", "call", "p95_ms"),
    "concurrent_errors": ("concurrent_clients", "errors"),
    "app_cpu_ms_per_request": ("concurrent_clients", "app_cpu", "ms_per_request"),
    "app_cpu_cores": ("concurrent_clients", "app_cpu", "cores"),
    "load_generator_cpu_ms_per_request": ("concurrent_clients", "machine", "load_generator_cpu_ms_per_request"),
    "machine_busy_percent": ("concurrent_clients", "machine", "busy_percent_of_all_cores"),
}


def figure(result: dict[str, Any], path: tuple[str, ...]) -> float:
    for key in path:
        result = result[key]
    return float(result)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.load_side_by_side", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout (git worktree add ...)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=100, help="sequential requests of the single client")
    parser.add_argument("--requests-each", type=int, default=15, help="requests per concurrent client")
    parser.add_argument("--page", action="store_true", help="the page's drawing event instead (PAGE_RESULTS)")
    parser.add_argument("--output", type=Path, help=f"default {RESULTS.name}, with --page {PAGE_RESULTS.name}")
    arguments = parser.parse_args(argv)
    arguments.output = arguments.output or (PAGE_RESULTS if arguments.page else RESULTS)
    configurations = {
        "before_classify": (arguments.before.resolve(), "classify"),
        "this_classify": (load.REPOSITORY, "classify"),
        "this_api": (load.REPOSITORY, "api"),
    }
    if arguments.page:
        configurations = {"before_page": (arguments.before.resolve(), "page"), "this_page": (load.REPOSITORY, "page")}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in configurations}
    scratch = Path("/tmp") / "load_side_by_side.json"
    for _ in range(arguments.rounds):
        for name, (repository, call) in configurations.items():
            result = load.main(
                [
                    "--models-dir", str(arguments.models_dir), "--repository", str(repository), "--call", call,
                    "--requests", str(arguments.requests), "--requests-each", str(arguments.requests_each),
                    "--output", str(scratch),
                ]
            )  # fmt: skip
            runs[name].append({label: figure(result, path) for label, path in FIGURES.items()})
    medians = {
        name: {label: float(np.median([run[label] for run in found])) for label in FIGURES}
        for name, found in runs.items()
    }
    first = next(iter(configurations))  # The other checkout's: what today's code is measured against.
    ratios = {
        name: {label: round(values[label] / medians[first][label], 3) for label in FIGURES if medians[first][label]}
        for name, values in medians.items()
        if name != first
    }
    output = {
        "what": __doc__.split("\n\n")[0],
        "machine": machine(),
        "before": str(arguments.before),
        "models_dir": str(arguments.models_dir),
        "runs": runs,
        "medians": medians,
        "ratios_to_before": ratios,
    }
    arguments.output.write_text(json.dumps(output, indent=2) + "\n")
    print(json.dumps({"medians": medians, "ratios_to_before": ratios}, indent=1))
    return output


if __name__ == "__main__":
    main()
