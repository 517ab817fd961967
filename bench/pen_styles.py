"""The pen-trajectory styles of `digit_data.pen_styles` through the whole pipeline and every model.

    .venv/bin/python -m bench.pen_styles            # about 20 s; writes bench/results/pen_styles.json

Each style is drawn 40 times (a random slant, size, pen and jitter per drawing) on a white 500 px
canvas and read as the app reads a drawing: `preprocessing.to_mnist`, then every model and the
ensemble. A digit in which nothing is found counts as wrong. The styles are hand-made after those
that tablet writers of other countries use; they judge, nothing is chosen or trained on them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from digit_models import artifacts
from digit_models.cross_writer import accuracy_by_style

RESULTS = Path(__file__).resolve().parent / "results" / "pen_styles.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pen_styles", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=artifacts.MODELS_DIR)
    parser.add_argument("--count", type=int, default=40, help="drawings per style (default 40)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    styles = accuracy_by_style(artifacts.load_models(arguments.models_dir), arguments.count)
    result = {
        "what": __doc__.split("\n\n")[0],
        "models_dir": str(arguments.models_dir),
        "styles": styles,
        "seconds": round(time.perf_counter() - started, 1),
    }
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    for name, row in styles.items():
        print(f"{name}: ensemble {100 * row['accuracy']['ensemble']:.0f}%, CNN {100 * row['accuracy']['cnn']:.0f}%")
    print(f"written to {arguments.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
