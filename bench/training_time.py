"""Time a full retraining from scratch: `python -m training all` into a temporary folder.

    .venv/bin/python -m bench.training_time           # about 40 minutes on 2 cores in bfloat16 (the budget is 90)
    .venv/bin/python -m bench.training_time --quick   # the same steps on --quick data, 1-3 minutes
    .venv/bin/python -m bench.training_time --in-place  # into assets/models and assets/reports: the run whose
                                                        # artifacts are committed is the one timed

Writes bench/results/training_time.json (--quick: .cache/quick/training_time.json): seconds per step (every
step of `training all`, each CNN on its own) and in total, the load average before and after (another
job on the machine slows every step), and the test accuracies the fresh run reached, to compare with
the committed manifest. The committed artifacts are not touched, unless --in-place.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "bench" / "results" / "training_time.json"
QUICK_RESULTS = REPOSITORY / ".cache" / "quick" / "training_time.json"  # git-ignored: a check of the bench
BUDGET_SECONDS = 90 * 60
"""DESIGN.md's budget for a full retraining of all models from scratch on the 2-core machine."""


def run_training(quick: bool, in_place: bool = False) -> tuple[dict[str, Any], float]:
    """`python -m training all` into a temporary folder (in_place: its default folders), its output echoed;
    (its --timings JSON, seconds)."""
    with tempfile.TemporaryDirectory() as folder:
        timings = Path(folder) / "timings.json"
        command = [sys.executable, "-m", "training", "all", "--timings", str(timings), *(["--quick"] if quick else [])]
        if not in_place:
            command += ["--models-dir", f"{folder}/models", "--reports-dir", f"{folder}/reports"]
        started = time.perf_counter()
        if subprocess.run(command, cwd=REPOSITORY).returncode != 0:
            raise SystemExit("training failed")
        return json.loads(timings.read_text()), time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.training_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="time `training all --quick` (checks the bench itself)")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="train into the default folders (assets/models and assets/reports; --quick: .cache/quick), "
        "replacing their artifacts, so that the committed artifacts are those of the timed run",
    )
    arguments = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    timings, total = run_training(arguments.quick, arguments.in_place)
    where = "into its default folders" if arguments.in_place else "into a temporary folder"
    result = {
        "command": f"python -m training all{' --quick' if arguments.quick else ''} ({where})",
        "total_seconds": round(total, 1),
        "budget_seconds": BUDGET_SECONDS,
        "within_budget": total <= BUDGET_SECONDS,
        "steps": timings["steps"],
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }
    output = QUICK_RESULTS if arguments.quick else RESULTS
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"full retraining: {total / 60:.1f} min (budget {BUDGET_SECONDS / 60:.0f} min) -> {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
