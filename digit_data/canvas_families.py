"""The families drawn on the app's canvas (digit_data/families.py): a digit re-drawn with a round pen somewhere
on a 400-800 px Sketchpad canvas (`drawing.random_canvas_drawing`), black on white or on transparency."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from digit_data.drawing import opaque_canvas, random_canvas_drawing, transparent_canvas


def make_canvas(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    """A Sketchpad drawing, pen 10-40 px, black on opaque white: uint8 RGBA (H, W, 4)."""
    return opaque_canvas(random_canvas_drawing(digit, rng, (10, 40)))


def make_transparent_canvas(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    """A Sketchpad drawing, pen 10-40 px, black on a transparent canvas: uint8 RGBA (H, W, 4)."""
    return transparent_canvas(random_canvas_drawing(digit, rng, (10, 40)))


def make_thick_pen(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    """A drawing whose pen is 15-20% of the digit's height (MNIST's strokes are about 12%)."""
    return opaque_canvas(random_canvas_drawing(digit, rng, (0.15, 0.20), pen_relative=True))


def make_thin_pen(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    """A drawing with a 1-2 px pen on a 400-800 px canvas."""
    return opaque_canvas(random_canvas_drawing(digit, rng, (1, 2)))


def make_few_points(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    """A Sketchpad drawing through 8-12 points (`drawing.trajectory_segments`), pen 10-30 px: uint8 RGBA (H, W, 4)."""
    return opaque_canvas(random_canvas_drawing(digit, rng, (10, 30), through_points=int(rng.integers(8, 13))))


TILT_DEGREES = (15.0, 25.0)
"""How far a `tilted` digit is turned, either way: beyond the 10 degrees or so of MNIST's own writers."""


def make_tilted(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    """A Sketchpad drawing as `make_canvas`'s of the digit turned by TILT_DEGREES either way (a phone held askew, a
    writer who leans): uint8 RGBA (H, W, 4)."""
    angle = rng.uniform(*TILT_DEGREES) * rng.choice((-1.0, 1.0))
    turned = ndimage.rotate(digit.astype(np.float32), angle, reshape=False, order=1)
    return opaque_canvas(random_canvas_drawing(np.clip(turned, 0, 255).astype(np.uint8), rng, (10, 40)))
