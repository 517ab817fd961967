"""Latency of `preprocessing.to_mnist`, end to end, on the inputs the app really gets.

    .venv/bin/python -m bench.preprocess_bench          # about half a minute

Cases: a 600x600 and a 400x400 Sketchpad canvas (uint8 RGBA, black pen strokes on opaque
white, as Gradio sends it), a 3000x4000 phone-photo-like JPEG file read from disk, the same photo
as an iPhone saves it (HEIC: decoded at full size, no reduced decoding as JPEG's), and one
28x28 MNIST digit. Writes median and p95 milliseconds per case to
bench/results/preprocess.json. The budget (DESIGN.md) is 5 ms for the 600x600 canvas.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from digit_data import drawing
from preprocessing import to_mnist

RESULTS = Path(__file__).resolve().parent / "results" / "preprocess.json"
BUDGET_MS = {"canvas 600x600": 5.0}


def canvas(side: int, digit: np.ndarray) -> np.ndarray:
    """A side x side Sketchpad canvas: the digit drawn with a 20 px pen, black on opaque white, uint8 RGBA."""
    coverage = drawing.draw_strokes(
        digit, (side, side), height=0.6 * side, pen=20 * side / 600, offset=(0.2 * side, 0.15 * side)
    )
    return drawing.opaque_canvas(coverage)


def photo_file(digit: np.ndarray, path: Path, file_format: str = "JPEG") -> None:
    """A 3000x4000 (width x height) photo-like JPEG (or `file_format`): a blue digit on lit paper, with noise."""
    rng = np.random.default_rng(0)
    height, width = 4000, 3000
    ink = drawing.upscale(digit, 30)
    amount = np.zeros((height, width), dtype=np.float32)
    amount[2400 : 2400 + ink.shape[0], 500 : 500 + ink.shape[1]] = ink
    light = (
        np.linspace(0.75, 1.0, width, dtype=np.float32)[None, :]
        * np.linspace(1.0, 0.85, height, dtype=np.float32)[:, None]
    )
    paper, pen = np.array([246, 240, 225], np.float32), np.array([30, 50, 140], np.float32)
    channels = [
        (paper[c] * (1 - amount) + pen[c] * amount) * light + rng.normal(0, 3, (height, width)).astype(np.float32)
        for c in range(3)
    ]
    rgb = np.clip(np.dstack(channels), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path, file_format, quality=85)


def time_case(function: Callable[[], Any], repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median and p95 wall time of `function` in milliseconds over `repeats` calls."""
    for _ in range(warmup):
        function()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    milliseconds = 1000 * np.array(seconds)
    return {
        "median_ms": round(float(np.median(milliseconds)), 3),
        "p95_ms": round(float(np.percentile(milliseconds, 95)), 3),
        "repeats": repeats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.preprocess_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=300, help="calls per small case (default 300; the photo gets a tenth)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)

    from digit_data.mnist import load_mnist

    digit = load_mnist().X_test[0]
    cases: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.jpg"
        photo_file(digit, photo)
        heic = Path(folder) / "photo.heic"
        photo_file(digit, heic, "HEIF")
        inputs: dict[str, tuple[Any, int]] = {
            "canvas 600x600": (canvas(600, digit), arguments.repeats),
            "canvas 400x400": (canvas(400, digit), arguments.repeats),
            "photo 3000x4000 JPEG file": (photo, max(10, arguments.repeats // 10)),
            "photo 3000x4000 HEIC file": (heic, max(10, arguments.repeats // 10)),
            "MNIST 28x28 uint8": (digit, arguments.repeats),
        }
        for name, (source, repeats) in inputs.items():
            result = to_mnist(source)
            if not result.found:
                raise SystemExit(f"{name}: no digit found ({result.reason}); the benchmark input is broken")
            cases[name] = time_case(lambda source=source: to_mnist(source), repeats)
            cases[name]["input"] = _describe(source)
            print(
                f"{name:28s} median {cases[name]['median_ms']:7.2f} ms   p95 {cases[name]['p95_ms']:7.2f} ms",
                flush=True,
            )

    report = {
        "what": "preprocessing.to_mnist end to end (load, detect, crop, normalise), one input per call",
        "budget_ms": BUDGET_MS,
        "within_budget": {name: cases[name]["median_ms"] <= limit for name, limit in BUDGET_MS.items()},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "cases": cases,
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {arguments.output}")
    return 0


def _describe(source: Any) -> str:
    if isinstance(source, np.ndarray):
        return f"numpy {source.dtype} {source.shape}"
    if isinstance(source, Path):
        with Image.open(source) as image:
            return f"{image.format} file {image.width}x{image.height}, {source.stat().st_size / 1e6:.1f} MB"
    if isinstance(source, bytes):
        return f"{Image.open(io.BytesIO(source)).format} bytes"
    return type(source).__name__


if __name__ == "__main__":
    raise SystemExit(main())
