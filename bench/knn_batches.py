"""The app's KNN search on the few images a batch of requests brings: the row-major copy against the strided transpose.

    .venv/bin/python -m bench.knn_batches          # about a minute

Under load, webapp.batching hands the models 2-20 images at a time. `NeighbourSearch` copies its product
into row-major order for up to `knn_search.ROW_MAJOR_QUERIES` queries; with that limit set to 0 it searches
the strided transpose, as before round 29. Both ways run at every batch size (which shows where the copy stops
paying), in this one process, on one core and one BLAS thread as the app serves, alternating call by call on the
same MNIST test digits, and must find the same neighbours. Writes the median milliseconds per call for each batch
size to bench/results/knn_batches.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import threadpoolctl

from bench.startup import machine
from digit_data.mnist import load_mnist
from digit_models import knn_search
from digit_models.artifacts import MODELS_DIR, load_models

RESULTS = Path(__file__).resolve().parent / "results" / "knn_batches.json"
BATCH_SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)


def timed_search(search: knn_search.NeighbourSearch, queries: np.ndarray) -> tuple[float, tuple[np.ndarray, ...]]:
    """One `kneighbors` call: (its milliseconds on the wall clock, what it found). One thread, nothing else of
    ours running."""
    started = time.perf_counter()
    found = search.kneighbors(queries)
    return 1000 * (time.perf_counter() - started), found


def compare(models_dir: Path, calls: int) -> dict[str, Any]:
    """For each batch size: the search's median ms with the row-major copy ("row_major", made at any size) and
    without it ("strided", ROW_MAJOR_QUERIES = 0), `calls` calls each, alternating. The app copies up to
    ROW_MAJOR_QUERIES."""
    model = load_models(models_dir)["knn"]
    search = model.neighbour_search
    digits = load_mnist().X_test[: max(BATCH_SIZES)].astype(np.float32) / 255
    features = model.features(digits.reshape(len(digits), -1))
    limit = knn_search.ROW_MAJOR_QUERIES
    found: dict[str, Any] = {}
    try:
        for size in BATCH_SIZES:
            queries = features[:size]
            times: dict[str, list[float]] = {"strided": [], "row_major": []}
            answers = {}
            ways = (("strided", 0), ("row_major", size))  # the copy at every size: where it stops paying
            for call in range(calls):
                for name, queries_copied in ways if call % 2 == 0 else ways[::-1]:  # either goes first in turn
                    knn_search.ROW_MAJOR_QUERIES = queries_copied
                    milliseconds, answers[name] = timed_search(search, queries)
                    times[name].append(milliseconds)
            same = all(np.array_equal(a, b) for a, b in zip(answers["strided"], answers["row_major"], strict=True))
            medians = {name: round(statistics.median(values), 3) for name, values in times.items()}
            found[str(size)] = {**medians, "ratio": round(medians["row_major"] / medians["strided"], 3), "same": same}
    finally:
        knn_search.ROW_MAJOR_QUERIES = limit
    return found


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.knn_batches", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--calls", type=int, default=200, help="calls of each way per batch size")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as each replica serves
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):  # as webapp.handlers sets it
        batches = compare(arguments.models_dir, arguments.calls)
    result = {
        "what": "NeighbourSearch.kneighbors on MNIST test digits' KNN features, one core, one BLAS thread: median ms "
        "per call, the row-major copy (made at every size; the app makes it up to ROW_MAJOR_QUERIES = "
        f"{knn_search.ROW_MAJOR_QUERIES} queries) against the strided transpose, alternating call by call; same: "
        "identical neighbours and distances",
        "calls": arguments.calls,
        "batches": batches,
        "machine": machine(),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    for size, row in batches.items():
        print(f"{size:>3} queries: strided {row['strided']:.2f} ms, row-major {row['row_major']:.2f} ms", row["same"])
    print(f"wrote {arguments.output}")
    return result


if __name__ == "__main__":
    main()
