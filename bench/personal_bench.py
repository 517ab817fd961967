"""What a person's examples cost a page answer: the drawing handler with 0 and with 30 examples.

    .venv/bin/python -m bench.personal_bench      # about a minute; writes bench/results/personal.json

In-process, what the page's drawing handler runs (preprocessing.to_mnist, every model through
digit_models.classify.predict_all with the session's examples, the JSON answer) on canvases of
MNIST training digits drawn with a round pen, alternating calls without examples and with 30 (the
mfeat development half, 3 per digit: another writer's). Reports p50 / p95 in ms of each and the difference.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from digit_data import drawing, writers
from digit_data.mnist import load_mnist
from digit_models import artifacts, cross_writer, personal
from digit_models.classify import answer, predict_all
from digit_models.personal import PersonalExamples
from preprocessing import to_mnist

RESULTS = Path(__file__).resolve().parent / "results" / "personal.json"
CALLS = 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.personal_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=artifacts.MODELS_DIR)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)

    models = artifacts.load_models(arguments.models_dir)

    def show_canvas(canvas: dict, known: PersonalExamples | None) -> dict:
        return answer(predict_all(models, to_mnist(canvas).image[None], known))

    scans, labels = writers.mfeat_development_inputs()
    inputs, _, _ = cross_writer.preprocess(scans)
    chosen = personal.choose_examples(labels, 3)
    examples = PersonalExamples(inputs[chosen], labels[chosen])
    digits = load_mnist().X_train[-200:]
    rng = np.random.default_rng(0)
    canvases = [
        {
            "background": None,
            "layers": [],
            "composite": drawing.opaque_canvas(
                drawing.random_canvas_drawing(digit, rng, (0.08, 0.12), pen_relative=True)
            ),
        }
        for digit in digits[:20]
    ]
    timings: dict[str, list[float]] = {"no examples": [], "30 examples": []}
    for call in range(CALLS):
        canvas = canvases[call % len(canvases)]
        for name, known in (("no examples", None), ("30 examples", examples)):
            started = time.perf_counter()
            show_canvas(canvas, known)
            timings[name].append(1000 * (time.perf_counter() - started))
    summary = {
        name: {
            "p50_ms": round(float(np.percentile(values[10:], 50)), 2),
            "p95_ms": round(float(np.percentile(values[10:], 95)), 2),
        }
        for name, values in timings.items()
    }
    report = {
        "what": "to_mnist + predict_all + answer in-process on 400-800 px canvases, alternating calls without "
        "and with 30 personal examples; the first 10 calls of each left out (warm-up)",
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "calls": CALLS,
        **summary,
        "p50_difference_ms": round(summary["30 examples"]["p50_ms"] - summary["no examples"]["p50_ms"], 2),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(summary), f"written to {arguments.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
