"""Digits written as pen trajectories in the styles MNIST's writers rarely used, drawn as a canvas would.

Each style is a few strokes of points in a unit box (x right, y down, 0-1), hand-made after the styles
that tablet writers of other countries use: a 1 with a flag and a base, a 7 crossed with and without a
pen lift (the bar joined to the stem by the trajectory), a closed 4, a 9 with an angular loop. A drawing
jitters every point, slants and sizes the digit at random and strokes it with a round pen on a white
canvas, as the app's Sketchpad would. They judge; nothing is trained on them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

Strokes = list[list[tuple[float, float]]]

STYLES: dict[str, tuple[int, Strokes]] = {
    "1 with a flag and a base, one stroke": (1, [[(0.15, 0.3), (0.55, 0.0), (0.55, 1.0), (0.2, 1.0), (0.9, 1.0)]]),
    "1 with a flag and a base, two strokes": (1, [[(0.15, 0.3), (0.55, 0.0), (0.55, 1.0)], [(0.2, 1.0), (0.9, 1.0)]]),
    "1 with a flag": (1, [[(0.2, 0.3), (0.6, 0.0), (0.6, 1.0)]]),
    "7 crossed, pen lifted": (7, [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)], [(0.3, 0.5), (0.95, 0.5)]]),
    "7 crossed, bar joined to the stem": (7, [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0), (0.3, 0.5), (0.95, 0.5)]]),
    "4 with a closed top": (4, [[(0.75, 1.0), (0.75, 0.0), (0.0, 0.65), (1.0, 0.65)]]),
    "9 with an angular loop": (
        9,
        [[(1.0, 0.1), (0.5, 0.0), (0.0, 0.25), (0.5, 0.5), (1.0, 0.25), (1.0, 0.1), (0.9, 1.0)]],
    ),
}
"""Style name -> (digit, strokes in the unit box)."""

CANVAS_SIDE = 500
PEN_WIDTHS = (10, 20)
"""Pen diameters in pixels on the 500 px canvas (the page's pen on its 600 px canvas is 20 px wide)."""


def draw(strokes: Strokes, rng: np.random.Generator) -> np.ndarray:
    """The strokes as a drawing: uint8 RGB (CANVAS_SIDE, CANVAS_SIDE, 3), black ink on white.

    The digit is 200-380 px high, 0.5-0.8 times as wide, slanted by up to 0.2 of its height, each point
    moved by about 4% of the width and 3% of the height.
    """
    height = rng.uniform(200, 380)
    width = height * rng.uniform(0.5, 0.8)
    slant = rng.uniform(-0.2, 0.2)
    left = rng.uniform(60, CANVAS_SIDE - width - 60)
    top = rng.uniform(40, CANVAS_SIDE - height - 40)
    pen = int(rng.integers(*PEN_WIDTHS, endpoint=True))
    canvas = Image.new("L", (CANVAS_SIDE, CANVAS_SIDE), 255)
    pencil = ImageDraw.Draw(canvas)
    for stroke in strokes:
        points = [
            (
                left + (x + rng.normal(0, 0.04)) * width + slant * (1 - y) * height,
                top + (y + rng.normal(0, 0.03)) * height,
            )
            for x, y in stroke
        ]
        pencil.line(points, fill=0, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):  # Round ends, as a pen leaves them.
            pencil.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=0)
    return np.asarray(canvas.convert("RGB"))


def drawings(count: int, seed: int = 0) -> dict[str, tuple[int, list[np.ndarray]]]:
    """`count` drawings of every style: name -> (digit, [uint8 RGB images])."""
    rng = np.random.default_rng(seed)
    return {name: (digit, [draw(strokes, rng) for _ in range(count)]) for name, (digit, strokes) in STYLES.items()}
