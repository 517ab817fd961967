"""What the library costs an app under load: the app as it is against the same app whose answers are free.

    .venv/bin/python -m bench.library_share        # about 8 minutes

`/classify` (Gradio's upload, call and event stream) under bench.load's 20 clients, each its own
session, served by four apps in turn, alternating, `--rounds` times each:
- the app as it is;
- the same app, the same Gradio page and protocol, whose library work is done once per example image:
  `preprocessing.to_mnist` (decoding and preprocessing) and the models' batched call
  (`webapp.batching.SharedBatches.predict`) remember their answer for the same file bytes and the same
  28x28 input (`--serve-memoised`). Every upload, file move, queue event, handler call and event stream
  still happens; only decoding, preprocessing and the models are skipped after their first time;
- the same with only one of the two remembered (`--remember preprocessing` / `models`).
The difference in the app's CPU per answer is what that part costs an app serving 20 clients (more than
in one thread alone: bench.request_cost's `library_ms_per_image`), and the memoised app's throughput is
the most a change to that part could give one process with Gradio's protocol as it is. Writes
bench/results/library_share.json.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import numpy as np

from bench import load
from bench.load_side_by_side import FIGURES, figure
from bench.startup import machine
from deploy.processes import REPOSITORY, free_port, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "library_share.json"
PARTS = ("preprocessing", "models")
PROGRAMS = {
    "as_is": ("app.py",),
    "library_free": ("-m", "bench.library_share", "--serve-memoised"),
    "preprocessing_free": ("-m", "bench.library_share", "--serve-memoised", "--remember", "preprocessing"),
    "models_free": ("-m", "bench.library_share", "--serve-memoised", "--remember", "models"),
}
"""How start_app runs each app: app.py, or this module remembering some of the library's answers, which
then runs app.py."""


def serve_memoised(parts: tuple[str, ...], app_flags: list[str]) -> None:
    """Run app.py with app_flags, the answers of `parts` (PARTS) remembered per input."""
    import preprocessing
    from webapp import batching

    if "preprocessing" in parts:
        preprocessing.to_mnist = remembered(preprocessing.to_mnist, by_file_bytes)
    if "models" in parts:
        batching.SharedBatches.predict = remembered(batching.SharedBatches.predict, lambda _, image: image.tobytes())
    sys.argv = ["app.py", *app_flags]
    runpy.run_path(str(REPOSITORY / "app.py"), run_name="__main__")


def by_file_bytes(source: Any) -> bytes | None:
    """A file path's bytes (what /classify hands to_mnist); None for anything else, which is not remembered."""
    return Path(source).read_bytes() if isinstance(source, str) else None


def remembered(function: Callable[..., Any], key_of: Callable[..., bytes | None]) -> Callable[..., Any]:
    """`function` answering again from memory for an input whose key_of(*arguments) was seen (None: never).
    Two threads may both compute a new key's answer; either one is kept, and they are the same."""
    answers: dict[bytes, Any] = {}

    @wraps(function)
    def answer(*arguments):
        key = key_of(*arguments)
        if key is None:
            return function(*arguments)
        if key not in answers:
            answers[key] = function(*arguments)
        return answers[key]

    return answer


def one_load(program: tuple[str, ...], arguments: argparse.Namespace) -> dict[str, float]:
    """A fresh app run by `program`, bench.load's single client and 20 clients on it; FIGURES of that."""
    port = free_port()
    process = start_app(port, arguments.models_dir, Path("/tmp") / "library_share_app.log", program=program)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_ready(url, process)
        flags = ["--url", url, "--pid", str(process.pid), "--output", str(Path("/tmp") / "library_share_load.json")]
        result = load.main(
            [*flags, "--requests", str(arguments.requests), "--requests-each", str(arguments.requests_each)]
        )
    finally:
        stop_app(process)
    return {label: figure(result, path) for label, path in FIGURES.items()}


def saved(as_is: dict[str, float], remembered: dict[str, float]) -> dict[str, float]:
    """What remembering a part's answers saved under load: app CPU per answer, its share, and the throughput
    and p95 of that app over the app as it is."""
    cpu, left = as_is["app_cpu_ms_per_request"], remembered["app_cpu_ms_per_request"]
    return {
        "app_cpu_ms_per_answer": round(cpu - left, 1),
        "share_of_app_cpu": round(1 - left / cpu, 3),
        "throughput_ratio": round(
            remembered["concurrent_requests_per_second"] / as_is["concurrent_requests_per_second"], 2
        ),
        "p95_ratio": round(remembered["concurrent_p95_ms"] / as_is["concurrent_p95_ms"], 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.library_share", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    parser.add_argument("--serve-memoised", action="store_true", help="be the memoised app (app.py's flags follow)")
    parser.add_argument("--remember", choices=PARTS, help="with --serve-memoised: only this part (default both)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=50, help="sequential requests of the single client")
    parser.add_argument("--requests-each", type=int, default=15, help="requests per concurrent client")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments, app_flags = parser.parse_known_args(argv)
    if arguments.serve_memoised:
        serve_memoised((arguments.remember,) if arguments.remember else PARTS, app_flags)
        return {}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in PROGRAMS}
    for _ in range(arguments.rounds):
        for name, program in PROGRAMS.items():
            runs[name].append(one_load(program, arguments))
    medians = {
        name: {label: float(np.median([run[label] for run in found])) for label in FIGURES}
        for name, found in runs.items()
    }
    output = {
        "what": __doc__.split("\n\n")[0],
        "how": __doc__.split("\n\n")[2].replace("\n", " "),
        "machine": machine(),
        "models_dir": str(arguments.models_dir),
        "runs": runs,
        "medians": medians,
        "remembered_against_as_is": {
            name.removesuffix("_free"): saved(medians["as_is"], medians[name]) for name in PROGRAMS if name != "as_is"
        },
    }
    arguments.output.write_text(json.dumps(output, indent=2) + "\n")
    print(json.dumps({key: value for key, value in output.items() if key not in {"runs", "how"}}, indent=1))
    return output


if __name__ == "__main__":
    main()
