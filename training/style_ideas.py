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

With `--full` an idea is instead trained the way a kept one would be: `cnn`'s whole recipe (training.cnn.MEMBERS,
12 epochs and the polishing epoch, about 20 minutes) with the idea's styles, into a scratch copy of the models
(.cache/style_ideas/IDEA, reused while the recipe is the same), the ensemble's weights learned there; the figures
are then the ensemble's, as the app answers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from training import augmentation, evaluate, preparation, splits

RESULTS = Path(__file__).resolve().parent.parent / "assets" / "reports" / "style_ideas.json"
SCRATCH = Path(__file__).resolve().parent.parent / ".cache" / "style_ideas"
IDEAS = {
    "start": None,
    "pens": augmentation.PEN_STYLES,
    "pens+scanned_one": (*augmentation.PEN_STYLES, "scanned_one"),
    "cnn_styles": augmentation.CNN_STYLES,
    "cnn_styles+strokes": ("strokes", *augmentation.CNN_STYLES),
    "writer_styles": augmentation.WRITER_STYLES,
    "cnn_styles+flat_top_six": (*augmentation.CNN_STYLES, "flat_top_six"),
    "cnn_styles+few_points": (*augmentation.CNN_STYLES, "few_points"),
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
    return result | set_scores(lambda inputs: network.predict(inputs[..., None], batch_size=1024, verbose=0), sets)


def full_retraining(idea: str, styles: tuple[str, ...], prepared: preparation.Prepared, sets: dict) -> dict:
    """`cnn`'s whole recipe with `styles` in a scratch copy of the models, the ensemble learned there
    (member_ideas.trained_folder): the ensemble's validation accuracy and log loss (and on the re-drawn copy),
    its weights, and `set_scores`."""
    from digit_models import artifacts
    from digit_models.cross_writer import every_model
    from training.cnn import MEMBERS
    from training.member_ideas import trained_folder

    config = dataclasses.replace(MEMBERS["cnn"], styles=tuple(styles))
    folder = trained_folder(idea, config, prepared, SCRATCH, key="cnn")
    learned = artifacts.read_manifest(folder)["models"]["ensemble"]
    validation = learned["member_scores"]["ensemble"]["validation"]
    models = artifacts.load_models(folder)
    return {
        "validation_accuracy": validation["accuracy"],
        "validation_log_loss": validation["log_loss"],
        "validation_restyled_log_loss": learned["member_scores"]["ensemble"]["validation_restyled"]["log_loss"],
        "weights": learned["weights"],
    } | set_scores(lambda inputs: every_model(models, inputs)["ensemble"], sets)


def set_scores(predict, sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Accuracy on each cross-writer set (name -> inputs float32 (n, 28, 28), labels (n,), -1 where no digit was
    found), and per digit on mfeat; `predict` maps inputs to scores (n, 10)."""
    result = {}
    for name, (inputs, labels) in sets.items():
        predicted = np.asarray(predict(inputs)).argmax(axis=1)
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
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--start", type=Path, help="the CNN (.keras) every idea fine-tunes")
    source.add_argument(
        "--full", action="store_true", help="train cnn's whole recipe with each idea's styles instead (20 min each)"
    )
    # Checked here, not with `choices`: argparse checks an empty list of ideas against them as one value.
    parser.add_argument("ideas", nargs="*", help=f"some of {', '.join(IDEAS)} (default: all of them)")
    arguments = parser.parse_args(argv)
    unknown = sorted(set(arguments.ideas) - set(IDEAS))
    if unknown:
        parser.error(f"unknown ideas {', '.join(unknown)}: choose from {', '.join(IDEAS)}")
    if arguments.full and (not arguments.ideas or "start" in arguments.ideas):
        parser.error("--full trains cnn's recipe with each idea's styles: name the ideas, not 'start'")
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
        if arguments.full:
            measured = full_retraining(idea, styles or (), prepared, sets)
        else:
            network = keras.models.load_model(arguments.start, compile=False) if styles is None else None
            measured = scores(network or fine_tune(arguments.start, styles, prepared), prepared, sets)
        results.append(
            {
                "idea": idea,
                "styles": list(styles or ()),
                **({"full": True} if arguments.full else {"start": arguments.start.name}),
                **measured,
                "seconds": round(time.perf_counter() - started),
            }
        )
        print(json.dumps(results[-1]), flush=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
