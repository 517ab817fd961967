"""The budgets table of docs/deployment.md, built from the benchmarks' JSON and the manifest (`bench.tables`).

Each row: what is measured, the figure, its budget, and the JSON it comes from, so that no figure of the
table is typed by hand. A benchmark rerun (`python -m bench.startup`, `bench.load`, ...) then
`python -m bench.tables` brings it up to date.
"""

from __future__ import annotations

import json
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "bench" / "results"
MANIFEST = REPOSITORY / "assets" / "models" / "manifest.json"

TRAINING_STEPS = ("knn", "rf", "sgd", "cnn", "cnn_2", "whole_digit", "line_reader")
"""The manifest entries whose training (and grid search) times add up to a full retraining; the
ensemble, personal and report steps take about a minute together and are not in the manifest."""


CNN_STEP = ("cnn", "cnn_2")
"""The entries `training all`'s cnn step writes; the timed row shows the step (timings before round 17 split
it evenly between them)."""


def _read(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _training_row() -> list[str]:
    entries = json.loads(MANIFEST.read_text())["models"]
    seconds = {
        key: entries[key].get("training_seconds", 0) + (entries[key].get("tuning_seconds") or 0)
        for key in TRAINING_STEPS
        if key in entries
    }
    steps = ", ".join(f"{key} {value / 60:.1f}" for key, value in seconds.items())
    return [
        "full retraining, the sum of each model's training and grid-search time as recorded when it was trained",
        f"{sum(seconds.values()) / 60:.0f} min ({steps} min)",
        "<= 90 min",
        "assets/models/manifest.json",
    ]


def _timed_training_row() -> list[str]:
    """The last end-to-end retraining `bench.training_time` timed, into a temporary folder."""
    timed = _read("training_time")
    minutes: dict[str, float] = {}
    for key, step in timed["steps"].items():
        name = "cnn (both CNNs)" if key in CNN_STEP else key
        minutes[name] = minutes.get(name, 0.0) + step["seconds"] / 60
    steps = ", ".join(f"{key} {value:.1f}" for key, value in minutes.items() if value >= 1)  # the long steps
    return [
        f"full retraining, timed end to end (`bench.training_time`; load average {timed['load_average_before']:.1f} "
        "before)",
        f"{timed['total_seconds'] / 60:.0f} min ({steps} min)",
        f"<= {timed['budget_seconds'] / 60:.0f} min",
        "training_time.json",
    ]


def _serving_rows() -> list[list[str]]:
    """Start-up, one client, 20 clients and memory (startup.json, load.json)."""
    startup, load = _read("startup"), _read("load")
    single, concurrent = load["single_client"]["call"], load["concurrent_clients"]
    return [
        ["app ready after `python app.py`, median of 3", f"{startup['median_s']:.1f} s", "<= 15 s", "startup.json"],
        [
            "one `/classify` call over HTTP (all models and the ensemble), p50 / p95",
            f"{single['p50_ms']:.1f} / {single['p95_ms']:.1f} ms",
            "<= 40 / 100 ms",
            "load.json",
        ],
        [
            f"{concurrent['clients']} concurrent clients, {concurrent['call']['count']} calls: errors / p95",
            f"{concurrent['errors']} / {concurrent['call']['p95_ms']:.0f} ms",
            "0 / <= 500 ms",
            "load.json",
        ],
        [
            "app resident memory after warm-up / after the load",
            f"{load['memory']['after_warm_up_mb']:.0f} / {load['memory']['after_load_mb']:.0f} MB",
            "<= 1,536 MB",
            "load.json",
        ],
    ]


def _work_rows() -> list[list[str]]:
    """Preprocessing, explanations and reading a number, after loading (their benches' JSON)."""
    canvas = _read("preprocess")["cases"]["canvas 600x600"]
    explain = _read("explain")["latency"]
    latency = _read("number_accuracy")["latency_6_digits_1200x400"]
    return [
        [
            "preprocessing one 600x600 canvas, median / p95",
            f"{canvas['median_ms']:.2f} / {canvas['p95_ms']:.2f} ms",
            "<= 5 ms",
            "preprocess.json",
        ],
        [
            "`explain`, all four models, one image, median / p95",
            f"{explain['all_four_median_ms']:.0f} / {explain['all_four_p95_ms']:.0f} ms",
            f"<= {explain['budget_ms']} ms",
            "explain.json",
        ],
        [
            "`read-number`, a 6-digit 1200x400 canvas, median / p95",
            f"{latency['median_ms']:.1f} / {latency['p95_ms']:.1f} ms",
            "<= 100 ms",
            "number_accuracy.json",
        ],
    ]


def budget_rows() -> list[list[str]]:
    """[what, measured, budget, source] for every budgeted figure that a benchmark has written."""
    entries = json.loads(MANIFEST.read_text())["models"]
    artifacts_mb = sum(entry.get("size_bytes") or 0 for entry in entries.values()) / 1e6
    largest = max(entries.values(), key=lambda entry: entry.get("size_bytes") or 0)
    not_found = _read("cross_writer")["sets"]["load_digits"]["not_found"]
    return [
        *_serving_rows(),
        *_work_rows(),
        [
            "model artifacts in git: all / the largest file",
            f"{artifacts_mb:.1f} MB / {largest['file']} {largest['size_bytes'] / 1e6:.1f} MB",
            "<= 40 MB / < 10 MB",
            "assets/models/manifest.json",
        ],
        [
            "legible digits of other writers (load_digits, 1,797) with no digit found",
            str(not_found),
            "0",
            "cross_writer.json",
        ],
        _training_row(),
        _timed_training_row(),
    ]


def budgets_table() -> list[str]:
    """The rows of budget_rows as a Markdown table."""
    lines = ["| what | measured | budget | from (bench/results/ unless named) |", "| --- | --- | --- | --- |"]
    return lines + ["| " + " | ".join(row) + " |" for row in budget_rows()]
