"""How faithful and how fast are the explanations? Writes bench/results/explain.json.

Faithfulness (a deletion test): on the first 100 MNIST test digits, blank the 10% of the ink
(pixels >= 0.5) that a saliency map ranks highest and measure how much the model's probability
for its own answer falls; compare with blanking as many ink pixels at random (10 draws per
digit). A map that points at what the model uses makes the first drop much larger. Compared:
the CNN's integrated gradients, gradient x input and occlusion; the forest's occlusion; the
linear model's exact evidence.

Latency: `Explainer.explain` for all four models on one image after loading, median and p95
over 50 calls, and each model's part.

    .venv/bin/python -m bench.explain_bench [--models-dir assets/models] [--digits 100]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from digit_data import mnist
from digit_models import artifacts, explain, saliency

RESULTS = Path(__file__).resolve().parent / "results" / "explain.json"


def deletion_figures(models, explainer: explain.Explainer, images: np.ndarray) -> dict[str, dict[str, float]]:
    """Mean salient and random drops of P(answer) and their ratio, per (model, method)."""
    gradients = explainer._gradients
    methods = {
        ("cnn", "integrated_gradients"): lambda image, digit: gradients.integrated_gradients(image, digit),
        ("cnn", "gradient_times_input"): lambda image, digit: gradients.gradient_times_input(image, digit),
        ("cnn", "occlusion"): lambda image, digit: saliency.occlusion(models["cnn"].predict_proba, image, digit),
        ("rf", "occlusion"): lambda image, digit: saliency.occlusion(models["rf"].predict_proba, image, digit),
        ("sgd", "linear_evidence"): lambda image, digit: saliency.linear_evidence(models["sgd"].pipeline, image, digit)[
            "saliency"
        ],
    }
    figures = {}
    for (key, method), explain_one in methods.items():
        model = models[key]
        answers = model.predict_proba(images).argmax(axis=1)
        drops = np.array(
            [
                saliency.deletion_drops(model.predict_proba, image, int(digit), explain_one(image, int(digit)))
                for image, digit in zip(images, answers, strict=True)
            ]
        )
        salient, random = drops.mean(axis=0)
        figures[f"{key}/{method}"] = {
            "salient_drop": round(float(salient), 4),
            "random_drop": round(float(random), 4),
            "ratio": round(float(salient / random), 2) if random > 0 else None,
            "digits_where_salient_beats_random": int(np.sum(drops[:, 0] > drops[:, 1])),
        }
        print(f"{key:4s} {method:22s} salient {salient:.4f}  random {random:.4f}  ratio {salient / random:.1f}")
    return figures


def latency(explainer: explain.Explainer, image: np.ndarray, repeats: int = 50) -> dict[str, float]:
    """Milliseconds for the whole explanation (median, p95) and each model's part (median)."""
    explainer.explain(image)  # Traces the CNN's gradient function once.
    totals = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = explainer.explain(image)
        totals.append(1000 * (time.perf_counter() - started))
    parts = {}
    for key, model in explainer.models.items():
        if key == "ensemble":
            continue
        digit = result["models"][key]["digit"]
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            explainer._explain_one(key, model, image, digit)
            times.append(1000 * (time.perf_counter() - started))
        parts[key] = round(float(np.median(times)), 1)
    return {
        "all_four_median_ms": round(float(np.median(totals)), 1),
        "all_four_p95_ms": round(float(np.percentile(totals, 95)), 1),
        "per_model_median_ms": parts,
        "budget_ms": 150,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=artifacts.MODELS_DIR)
    parser.add_argument("--digits", type=int, default=100)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    explainer = explain.Explainer.load(arguments.models_dir)
    data = mnist.load_mnist()
    images = data.X_test[: arguments.digits].astype(np.float32) / 255
    results = {
        "what": "deletion test: blank the top 10% of ink (pixels >= 0.5) by saliency vs 10% at random "
        f"(mean of 10 draws); drop of P(model's own answer); first {arguments.digits} MNIST test digits",
        "models_dir": str(arguments.models_dir),
        "deletion": deletion_figures(explainer.models, explainer, images),
        "latency": latency(explainer, images[0]),
    }
    print(json.dumps(results["latency"]))
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
