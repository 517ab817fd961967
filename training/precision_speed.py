"""Side by side: a CNN training step in float32 and in bfloat16 arithmetic (training.precision), alternating.

    .venv/bin/python -m training.precision_speed     # about 3 minutes on 2 cores

Both networks are the ensemble's CNN (training.cnn.build_network), compiled as training compiles it, in one
process, fed the same augmented batches of MNIST training digits; rounds of STEPS steps alternate between
them, so a slow minute of the machine slows both. Writes assets/reports/training_precision.json: each
round's milliseconds per step, the medians and their ratio, and whether the processor has bfloat16.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from training import precision

RESULTS = Path(__file__).resolve().parent.parent / "assets" / "reports" / "training_precision.json"
ROUNDS = 5
STEPS = 30
"""Steps per round (batches of the CNN's batch size)."""


def compiled_network(policy: str):
    """The ensemble's CNN with its layers computing in `policy`, compiled as training.cnn compiles it."""
    import keras

    from training.cnn import CNNConfig, build_network

    with precision.training_arithmetic(policy):
        network = build_network(CNNConfig())
    network.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return network


def main() -> int:
    from digit_data import mnist
    from training.cnn import CNNConfig, make_dataset

    digits = mnist.load_mnist()
    config = CNNConfig()
    rows = slice(0, STEPS * config.batch_size)
    batches = make_dataset(digits.X_train[rows], digits.y_train[rows], config, augment=True).cache()
    networks = {policy: compiled_network(policy) for policy in (precision.FLOAT32, precision.MIXED)}
    for network in networks.values():  # compile the step and fill the cache outside the clock
        network.fit(batches, epochs=1, verbose=0)
    milliseconds: dict[str, list[float]] = {policy: [] for policy in networks}
    for _ in range(ROUNDS):
        for policy, network in networks.items():
            started = time.perf_counter()
            network.fit(batches, epochs=1, verbose=0)
            milliseconds[policy].append(round((time.perf_counter() - started) / STEPS * 1000, 1))
    medians = {policy: float(np.median(times)) for policy, times in milliseconds.items()}
    result = {
        "what": f"ms per training step of the ensemble's CNN, batch {config.batch_size}, {ROUNDS} alternating rounds "
        f"of {STEPS} steps",
        "processor_has_bfloat16": precision.processor_has_bfloat16(),
        "policy_chosen_for_training": precision.training_policy(),
        "ms_per_step": milliseconds,
        "median_ms_per_step": medians,
        "mixed_over_float32": round(medians[precision.MIXED] / medians[precision.FLOAT32], 3),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
