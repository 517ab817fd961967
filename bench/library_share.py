"""What the library costs an app under load: the app as it is against the same app whose answers are free.

    .venv/bin/python -m bench.library_share        # about 4 minutes

`/classify` (Gradio's upload, call and event stream) under bench.load's 20 clients, each its own
session, served by two apps in turn, alternating, `--rounds` times each:
- the app as it is;
- the same app, the same Gradio page and protocol, whose library work is done once per example image:
  `preprocessing.to_mnist` and the models' batched call (`webapp.batching.SharedBatches.predict`)
  remember their answer for the same file bytes and the same 28x28 input (`--serve-memoised`). Every
  upload, file move, queue event, handler call and event stream still happens; only decoding,
  preprocessing and the models are skipped after their first time.
The difference in the app's CPU per answer is what decoding, preprocessing and the models cost an app
serving 20 clients (more than in one thread alone: bench.request_cost's `library_ms_per_image`), and the
memoised app's throughput is the most any change to the library could give one process with Gradio's
protocol as it is. Writes bench/results/library_share.json.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
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
MEMOISED = ("-m", "bench.library_share", "--serve-memoised")
"""How start_app runs the memoised app: this module, which then runs app.py."""


def serve_memoised(app_flags: list[str]) -> None:
    """Run app.py with app_flags, its decoding, preprocessing and models remembered per input."""
    import preprocessing
    from webapp import batching

    preprocessing.to_mnist = remembered(preprocessing.to_mnist, by_file_bytes)
    batching.SharedBatches.predict = remembered(batching.SharedBatches.predict, lambda _, image: image.tobytes())
    sys.argv = ["app.py", *app_flags]
    runpy.run_path(str(REPOSITORY / "app.py"), run_name="__main__")


def by_file_bytes(source: Any) -> bytes | None:
    """A file path's bytes (what /classify hands to_mnist); None for anything else, which is not remembered."""
    return Path(source).read_bytes() if isinstance(source, str) else None


def remembered(function, key_of):
    """`function` answering again from memory for an input whose key_of(*arguments) was seen (None: never)."""
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.library_share", description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve-memoised", action="store_true", help="be the memoised app (app.py's flags follow)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=50, help="sequential requests of the single client")
    parser.add_argument("--requests-each", type=int, default=15, help="requests per concurrent client")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments, app_flags = parser.parse_known_args(argv)
    if arguments.serve_memoised:
        serve_memoised(app_flags)
        return {}
    programs = {"as_is": ("app.py",), "library_free": MEMOISED}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in programs}
    for _ in range(arguments.rounds):
        for name, program in programs.items():
            runs[name].append(one_load(program, arguments))
    medians = {
        name: {label: float(np.median([run[label] for run in found])) for label in FIGURES}
        for name, found in runs.items()
    }
    as_is, free = medians["as_is"], medians["library_free"]
    output = {
        "what": __doc__.split("\n\n")[0],
        "how": __doc__.split("\n\n")[1].replace("\n", " "),
        "machine": machine(),
        "models_dir": str(arguments.models_dir),
        "runs": runs,
        "medians": medians,
        "library_cpu_ms_per_answer_under_load": round(
            as_is["app_cpu_ms_per_request"] - free["app_cpu_ms_per_request"], 1
        ),
        "library_share_of_app_cpu": round(1 - free["app_cpu_ms_per_request"] / as_is["app_cpu_ms_per_request"], 3),
        "throughput_library_free_over_as_is": round(
            free["concurrent_requests_per_second"] / as_is["concurrent_requests_per_second"], 2
        ),
        "p95_library_free_over_as_is": round(free["concurrent_p95_ms"] / as_is["concurrent_p95_ms"], 2),
    }
    arguments.output.write_text(json.dumps(output, indent=2) + "\n")
    print(json.dumps({key: value for key, value in output.items() if key not in {"runs", "how"}}, indent=1))
    return output


if __name__ == "__main__":
    main()
