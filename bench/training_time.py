"""Time a full retraining from scratch: `python -m training all` into a temporary folder.

Writes bench/results/training_time.json: seconds per step and in total, the load average
before and after (another job on the machine slows every step), and the test accuracies
the fresh run reached, to compare with the committed manifest. The committed artifacts are
not touched. Takes about half an hour on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "bench" / "results" / "training_time.json"
BUDGET_SECONDS = 60 * 60
STEP_LINE = re.compile(r"^\s+(knn|rf|sgd|cnn|ensemble|report)\s+(\d+) s(?:\s+test accuracy ([\d.]+)%)?")


def main() -> int:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            "-m",
            "training",
            "all",
            "--models-dir",
            f"{folder}/models",
            "--reports-dir",
            f"{folder}/reports",
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        steps = {}
        for line in process.stdout:
            print(line, end="", flush=True)
            match = STEP_LINE.match(line)
            if match:
                steps[match[1]] = {"seconds": int(match[2]), "test_accuracy_percent": match[3] and float(match[3])}
        total = time.perf_counter() - started
        if process.wait() != 0:
            print("training failed", file=sys.stderr)
            return 1
    result = {
        "command": "python -m training all (into a temporary folder)",
        "total_seconds": round(total, 1),
        "budget_seconds": BUDGET_SECONDS,
        "within_budget": total <= BUDGET_SECONDS,
        "steps": steps,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"full retraining: {total / 60:.1f} min (budget {BUDGET_SECONDS / 60:.0f} min) -> {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
