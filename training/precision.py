"""The arithmetic the networks train in: bfloat16 where the processor computes it natively, float32 elsewhere.

Keras' "mixed_bfloat16" policy keeps every weight in float32 and computes the layers in bfloat16. On a
processor with AMX or AVX-512 BF16 (Intel since Sapphire Rapids, AMD since Zen 4) oneDNN runs the
convolutions on its bfloat16 units (AMX here). On the 2-core machine, both arithmetics in one process,
rounds alternating (`python -m training.precision_speed`): the line reader's step takes 25 ms against 41 ms
(0.63x); the ensemble's CNN's 67-85 ms against 85-170 ms. The machine moves between a fast and a slow
state: in the fast one the CNN gains little (0.8-0.96x: batch norm, dropout and the optimizer do not gain),
in the slow one float32 takes twice as long and bfloat16 hardly slows. A full retraining took 40 min
(bench/results/training_time.json; round 17's, in float32 on a slow hour, 100). Without those
instructions bfloat16 is emulated and slower, so float32 stays. A GPU has them.

The networks are always saved in float32 (`float32_copy`): the app answers in float32 on any processor, and a
network trained either way loads the same.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

MIXED = "mixed_bfloat16"
FLOAT32 = "float32"
POLICY_VARIABLE = "DIGITS_TRAINING_PRECISION"
"""Set to float32 or mixed_bfloat16 to override the choice (auto: bfloat16 where the processor has it)."""
BFLOAT16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
"""/proc/cpuinfo flags of processors that compute bfloat16 natively."""


@functools.cache
def processor_has_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the processor computes bfloat16 natively (AMX or AVX-512 BF16), or a GPU is visible."""
    try:
        flags = next((line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), "")
    except OSError:  # not Linux: say no, float32 is always right
        flags = ""
    if BFLOAT16_FLAGS & set(flags.split()):
        return True
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def training_policy() -> str:
    """The Keras dtype policy the networks train with: $DIGITS_TRAINING_PRECISION, else MIXED where the
    processor has bfloat16 and FLOAT32 elsewhere."""
    requested = os.environ.get(POLICY_VARIABLE, "auto")
    if requested not in ("auto", MIXED, FLOAT32):
        raise ValueError(f"{POLICY_VARIABLE}={requested!r}: expected auto, {MIXED} or {FLOAT32}")
    if requested != "auto":
        return requested
    return MIXED if processor_has_bfloat16() else FLOAT32


@contextlib.contextmanager
def training_arithmetic(policy: str | None = None) -> Iterator[str]:
    """Layers built inside compute with `policy` (default `training_policy()`); the global policy is float32
    again after."""
    import keras

    policy = policy or training_policy()
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_dtype_policy(FLOAT32)


def trainable(build: Callable[[], object]):
    """`build()` (a Keras network) with its layers computing in the training arithmetic."""
    with training_arithmetic():
        return build()


def float32_copy(build: Callable[[], object], network):
    """`build()` in float32 carrying `network`'s weights (stored in float32 under either policy): what is
    saved and what the app answers with."""
    copy = build()
    copy.set_weights(network.get_weights())
    return copy
