"""Every answer as before: today's app and another checkout's, the same models, on every example image.

    .venv/bin/python -m bench.same_answers --before /tmp/before --models-dir /tmp/before/assets/models

Starts both apps and asks each `/classify` (Gradio's API) for every image of assets/examples, and today's
`POST /api/classify` and page drawing event too; writes the largest difference of any probability
between them to bench/results/same_answers.json (the contract: within 1e-5).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from deploy import clients
from deploy.processes import REPOSITORY, free_port, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "same_answers.json"
EXAMPLES = REPOSITORY / "assets" / "examples"


def probabilities(answer: dict[str, Any]) -> np.ndarray:
    """Every model's ten probabilities and the ensemble's, as one array (an empty one for no digit)."""
    if answer.get("digit") is None:
        return np.zeros(0)
    return np.array([*(answer["models"][key] for key in sorted(answer["models"])), answer["ensemble"]])


def answers(repository: Path, models_dir: Path, images: list[Path], api: bool) -> dict[str, dict[str, Any]]:
    port = free_port()
    process = start_app(port, models_dir, Path("/tmp") / f"same_answers-{port}.log", repository=repository)
    url = f"http://127.0.0.1:{port}/"
    found: dict[str, dict[str, Any]] = {}
    try:
        wait_until_ready(url, process, timeout_s=180)
        with httpx.Client(base_url=url, timeout=60) as client:
            for path in images:
                found[f"classify {path.name}"] = clients.gradio_call(client, "classify", path.read_bytes(), path.name)
                if api:
                    found[f"api {path.name}"] = clients.api_call(client, "classify", path.read_bytes(), path.name)
    finally:
        stop_app(process)
    return found


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.same_answers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    images = sorted(path for path in EXAMPLES.iterdir() if path.suffix.lower() in {".png", ".jpg", ".jpeg"})
    before = answers(arguments.before.resolve(), arguments.models_dir, images, api=False)
    today = answers(REPOSITORY, arguments.models_dir, images, api=True)
    differences = {}
    for name, answer in today.items():
        reference = before[f"classify {name.split(' ', 1)[1]}"]
        old, new = probabilities(reference), probabilities(answer)
        same_digit = reference.get("digit") == answer.get("digit")
        differences[name] = (
            float(np.abs(old - new).max())
            if old.shape == new.shape and old.size
            else (0.0 if same_digit and not old.size else float("inf"))
        )
    result = {
        "what": __doc__.split("\n\n")[0],
        "images": len(images),
        "largest_difference": max(differences.values()),
        "within_1e-5": max(differences.values()) <= 1e-5,
        "differences": differences,
    }
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"largest difference {result['largest_difference']:.2e} over {len(differences)} answers")
    return result


if __name__ == "__main__":
    main()
