"""Writer-style ideas measured by fine-tuning: `python -m training.style_ideas --start CNN.keras [IDEA ...]`.

Each idea fine-tunes the same starting network (a CNN trained without the idea, e.g. the one committed
before it) for one epoch with the CNN recipe's own polishing step (`training.cnn.polish`: AdamW with a
cosine decay from 3e-4, on MNIST's 55,000 training digits plus 20,000 of them re-drawn in the idea's
styles, with Keras' rotation, shift and zoom on top). Each is scored on the 5,000 validation digits
(accuracy, log loss of the logits), load_digits and the mfeat development half through the whole pipeline
(`digit_models.cross_writer`). A fine-tune takes 1.5 min on the 2-core machine, where `cnn` takes about
20 min: what lets an idea be judged on the three sets together before a full retraining. The sets
judge which ideas to keep; nothing is fitted to them. Results go to
assets/reports/style_ideas.json (appended).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from training import augmentation, evaluate, preparation, splits

RESULTS = Path(__file__).resolve().parent.parent / "assets" / "reports" / "style_ideas.json"
IDEAS = {
    "start": None,
    "pens": augmentation.PEN_STYLES,
    "pens+scanned_one": (*augmentation.PEN_STYLES, "scanned_one"),
    "cnn_styles": augmentation.CNN_STYLES,
    "cnn_styles+strokes": ("strokes", *augmentation.CNN_STYLES),
    "writer_styles": augmentation.WRITER_STYLES,
}
"""Each idea's styles; "start" scores the starting network as it is."""


def fine_tune(start: Path, styles: tuple[str, ...], prepared: preparation.Prepared):
    """The network of `start` polished (training.cnn.polish) on the training digits plus some re-drawn in `styles`."""
    import keras

    from training.cnn import CNNConfig, polish

    network = keras.models.load_model(start, compile=False)
    return polish(network, prepared.X_train, prepared.y_train, styles, CNNConfig(seed=0))


def scores(network, prepared: preparation.Prepared, sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Validation accuracy and log loss; accuracy on each cross-writer set, and per digit on mfeat."""
    from scipy.special import softmax

    logits = network.predict(splits.to_float_images(prepared.X_val)[..., None], batch_size=1024, verbose=0)
    validation = evaluate.accuracy_and_log_loss(softmax(logits, axis=1), prepared.y_val)
    result = {"validation_accuracy": validation["accuracy"], "validation_log_loss": validation["log_loss"]}
    for name, (inputs, labels) in sets.items():
        predicted = network.predict(inputs[..., None], batch_size=1024, verbose=0).argmax(axis=1)
        result[f"{name}_accuracy"] = round(float(np.mean(predicted == labels)), 4)
        if name == "mfeat_development":
            result["mfeat_development_per_digit"] = [
                round(float(np.mean(predicted[labels == digit] == digit)), 2) for digit in range(10)
            ]
    return result


def main(argv: list[str] | None = None) -> int:
    import keras

    from digit_data import writers
    from digit_models import cross_writer

    parser = argparse.ArgumentParser(prog="python -m training.style_ideas", description=__doc__.split("\n")[0])
    parser.add_argument("--start", type=Path, required=True, help="the CNN (.keras) every idea fine-tunes")
    # Checked here, not with `choices`: argparse checks an empty list of ideas against them as one value.
    parser.add_argument("ideas", nargs="*", help=f"some of {', '.join(IDEAS)} (default: all of them)")
    arguments = parser.parse_args(argv)
    unknown = sorted(set(arguments.ideas) - set(IDEAS))
    if unknown:
        parser.error(f"unknown ideas {', '.join(unknown)}: choose from {', '.join(IDEAS)}")
    prepared = preparation.prepare(None, quick=False)
    sets = {}
    for name, make in writers.SETS.items():
        images, labels = make(writers.IMAGE_SIDE)
        inputs, found, _ = cross_writer.preprocess(images)
        sets[name] = (inputs, np.where(found, labels, -1))  # a digit not found is wrong for every idea
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for idea in arguments.ideas or list(IDEAS):
        started = time.perf_counter()
        styles = IDEAS[idea]
        network = keras.models.load_model(arguments.start, compile=False) if styles is None else None
        network = network or fine_tune(arguments.start, styles, prepared)
        results.append(
            {
                "idea": idea,
                "styles": list(styles or ()),
                "start": arguments.start.name,
                **scores(network, prepared, sets),
                "seconds": round(time.perf_counter() - started),
            }
        )
        print(json.dumps(results[-1]), flush=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
