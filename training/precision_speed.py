"""Side by side: training steps in float32 and in bfloat16 arithmetic (training.precision), alternating.

    .venv/bin/python -m training.precision_speed     # about 5 minutes on 2 cores

Two networks, each in both arithmetics, in one process: the ensemble's CNN (training.cnn.build_network,
compiled as training compiles it, fed the same augmented batches of MNIST training digits) and the line
reader (training.line_reader, its own CTC step on the same touching groups of training digits). Rounds of
STEPS steps alternate between the arithmetics, so a slow minute of the machine slows both. Writes
assets/reports/training_precision.json: each round's milliseconds per step, the medians and their ratio,
and whether the processor has bfloat16.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from training import precision

RESULTS = Path(__file__).resolve().parent.parent / "assets" / "reports" / "training_precision.json"
ROUNDS = 5
STEPS = 30
"""Steps per round (batches of each network's training batch size)."""
POLICIES = (precision.FLOAT32, precision.MIXED)


def cnn_rounds(digits) -> Callable[[str], None]:
    """For each policy a CNN; returns run(policy): STEPS training steps of that policy's CNN."""
    from training.cnn import CNNConfig, build_network, compile_for_training, make_dataset

    config = CNNConfig()
    rows = slice(0, STEPS * config.batch_size)
    batches = make_dataset(digits.X_train[rows], digits.y_train[rows], config, augment=True).cache()
    networks = {}
    for policy in POLICIES:
        with precision.training_arithmetic(policy):
            networks[policy] = build_network(config)
        compile_for_training(networks[policy], 1e-3, config)
    return lambda policy: networks[policy].fit(batches, epochs=1, verbose=0)


def line_reader_rounds(digits) -> Callable[[str], None]:
    """For each policy a line reader and its CTC step; returns run(policy): STEPS steps of that policy's."""
    import keras

    from training import line_data, line_reader

    rng = np.random.default_rng(0)
    images, sequences = line_data.line_examples(digits.X_train, digits.y_train, STEPS * line_reader.BATCH_SIZE, rng)
    batches = list(line_reader.width_batches(images, sequences, line_reader.BATCH_SIZE, rng))
    steps = {}
    for policy in POLICIES:
        with precision.training_arithmetic(policy):
            network = line_reader.build_network()
        steps[policy] = line_reader.training_step(network, keras.optimizers.Adam(1e-3))

    def run(policy: str) -> None:
        for batch in batches:
            float(steps[policy](*batch))  # float(): wait for the step, as training does

    return run


def alternating_rounds(run: Callable[[str], None]) -> dict[str, list[float]]:
    """ms per step of each policy over ROUNDS alternating rounds (one warm-up round each, not counted)."""
    for policy in POLICIES:
        run(policy)
    milliseconds: dict[str, list[float]] = {policy: [] for policy in POLICIES}
    for _ in range(ROUNDS):
        for policy in POLICIES:
            started = time.perf_counter()
            run(policy)
            milliseconds[policy].append(round((time.perf_counter() - started) / STEPS * 1000, 1))
    return milliseconds


def summary(milliseconds: dict[str, list[float]]) -> dict:
    medians = {policy: float(np.median(times)) for policy, times in milliseconds.items()}
    return {
        "ms_per_step": milliseconds,
        "median_ms_per_step": medians,
        "mixed_over_float32": round(medians[precision.MIXED] / medians[precision.FLOAT32], 3),
    }


def main() -> int:
    from digit_data import mnist

    digits = mnist.load_mnist()
    result = {
        "what": f"ms per training step, {ROUNDS} rounds of {STEPS} steps alternating between float32 and bfloat16 "
        "in one process (the CNN: batches of 128 augmented digits; the line reader: batches of 64 touching groups)",
        "processor_has_bfloat16": precision.processor_has_bfloat16(),
        "policy_chosen_for_training": precision.training_policy(),
        "cnn": summary(alternating_rounds(cnn_rounds(digits))),
        "line_reader": summary(alternating_rounds(line_reader_rounds(digits))),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
