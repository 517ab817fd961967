"""Measure each augmentation idea with a short CNN run: `python -m training.augmentation_ideas [IDEA ...]`.

Every run trains the same CNN (training.cnn, 3 epochs, seed from the idea) on the same
stratified 12,000 training digits plus one copy of them: the copy itself for "base", or the
copy re-drawn in the idea's styles (training.augmentation). Each is scored on the 5,000
validation digits and on load_digits, other writers' digits, through the whole pipeline
(digit_models.cross_writer). load_digits only judges which ideas to keep; no weight, epoch or
checkpoint is chosen with it. Results go to assets/reports/augmentation_ideas.json (appended).
About 1.5 min per idea on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from training import augmentation, evaluate, preparation, splits

RESULTS = Path(__file__).resolve().parent.parent / "assets" / "reports" / "augmentation_ideas.json"
SUBSET = 12_000
EPOCHS = 3
DEFAULT_IDEAS = ("base", "warp", "pen", "thickness", "low_resolution", "all", "all+strokes")


def styles_of(idea: str) -> tuple[str, ...]:
    """'base' -> (), 'all' -> every style, 'pen+low_resolution' -> ('pen', 'low_resolution')."""
    if idea == "base":
        return ()
    return tuple(part for name in idea.split("+") for part in (augmentation.STYLES if name == "all" else (name,)))


def run(idea_and_seed: str, prepared: preparation.Prepared, other_writers: tuple[np.ndarray, np.ndarray]) -> dict:
    """Train one short CNN for 'idea' or 'idea@seed'; returns its scores."""
    from digit_models.cnn import KerasDigitModel
    from training.cnn import CNNConfig, train_cnn

    idea, _, seed_text = idea_and_seed.partition("@")
    seed = int(seed_text or 0)
    rows = splits.stratified_subset(prepared.y_train, SUBSET, seed=1)
    X, y = prepared.X_train[rows], prepared.y_train[rows]
    started = time.perf_counter()
    styles = styles_of(idea)
    copy = augmentation.augment_styles(X, styles, seed=1 + seed, labels=y) if styles else X
    config = CNNConfig(epochs=EPOCHS, seed=seed)
    network, _, _ = train_cnn(np.concatenate([X, copy]), np.concatenate([y, y]), prepared.X_val, prepared.y_val, config)
    model = KerasDigitModel(key="cnn", name="CNN", network=network)
    validation = evaluate.accuracy_and_log_loss(
        model.predict_proba(splits.to_float_images(prepared.X_val)), prepared.y_val
    )
    inputs, labels = other_writers
    return {
        "idea": idea_and_seed,
        "validation_accuracy": validation["accuracy"],
        "validation_log_loss": validation["log_loss"],
        "load_digits_accuracy": float(np.mean(model.predict_proba(inputs).argmax(axis=1) == labels)),
        "seconds": round(time.perf_counter() - started),
    }


def main(argv: list[str] | None = None) -> int:
    from digit_data import writers
    from digit_models import cross_writer

    parser = argparse.ArgumentParser(prog="python -m training.augmentation_ideas", description=__doc__.split("\n")[0])
    parser.add_argument("ideas", nargs="*", default=DEFAULT_IDEAS, help="base, a style, styles joined by +, @seed")
    arguments = parser.parse_args(argv)
    prepared = preparation.prepare(None, quick=False)
    images, labels = writers.cross_writer_inputs()
    inputs, found, _ = cross_writer.preprocess(images)
    other_writers = (inputs, np.where(found, labels, -1))  # a digit not found is wrong for every idea
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for idea in arguments.ideas:
        results.append(run(idea, prepared, other_writers))
        print(json.dumps(results[-1]), flush=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
