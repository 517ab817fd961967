"""A group of touching digits as the line reader sees it, and what its frames say about each candidate digit.

The cut search (`digit_models.reading.cuts`) reads candidate digits one crop at a time. Where digits
interlock (a 3 under a 7's bar, a 1 inside a 7's curve) no cut separates them cleanly, and a crop
holding a piece of the neighbour is misread. A line reader (a small convolutional network trained
with CTC on touching numbers of MNIST training digits, `digit_models.reading.line_reader`) reads the whole
group instead: one distribution over "blank" and the ten digits per frame, a frame every
FRAME_STRIDE columns of the line image. This module makes that line image, in the same way for
training and for the app, and turns the frames under a candidate digit into log P(the frames
there read as exactly one digit d), which the cut search adds to each candidate's score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from preprocessing import geometry, normalisation

LINE_HEIGHT = 28
"""Height of the line image, as MNIST's frame."""

LINE_MARGIN = 4
"""Empty rows above and below the ink, and columns at each end: the ink is 20 px high, as a
digit in MNIST's 20-pixel box."""

FRAME_STRIDE = 2
"""Columns of the line image per frame of the reader's output. A narrow 1 is about 5 px wide;
two touching 1s need a blank frame between them."""

MAX_WIDTH = 400
"""Widest line image (columns): about 20 digits; wider groups are squeezed into it."""


def to_line_image(ink: np.ndarray) -> tuple[np.ndarray, float]:
    """A tightly cropped group of digits, float32 (h, w) in [0, 1] ink bright -> its line image and scale.

    Returns float32 (LINE_HEIGHT, W) in [0, 1], W a multiple of FRAME_STRIDE, and the scale from the
    crop's columns to the line image's (line column = LINE_MARGIN + scale * crop column).
    As `normalisation.to_mnist_frame` does for one digit: the strokes are redrawn at working
    resolution (80 px high) with MNIST's stroke width, then shrunk by box averaging to 20 px high.
    """
    height, width = ink.shape
    work_height = normalisation.WORK_SIDE
    work_width = max(1, min(round(width * work_height / height), 4 * MAX_WIDTH))
    work = geometry.resize(ink, work_height, work_width)
    stroke = normalisation.binarise(work)
    measured = normalisation.stroke_width(stroke)
    if measured <= normalisation.HAIRLINE_WIDTH:
        stroke = normalisation.binarise(work, keep_faint=True)
        measured = normalisation.stroke_width(stroke)
    pad = math.ceil(normalisation.MNIST_STROKE_WIDTH / 2)
    stroke = np.pad(stroke, pad)
    stroke = normalisation.set_stroke_width(
        stroke, measured, normalisation.MNIST_STROKE_WIDTH, normalisation.MNIST_STROKE_WIDTH
    )[pad:-pad, pad:-pad]
    inner_height = LINE_HEIGHT - 2 * LINE_MARGIN
    inner_width = max(1, min(round(work_width * inner_height / work_height), MAX_WIDTH - 2 * LINE_MARGIN))
    small = np.clip(geometry.resize(stroke.astype(np.float32), inner_height, inner_width), 0.0, 1.0)
    total = 2 * LINE_MARGIN + inner_width
    total += -total % FRAME_STRIDE
    line = np.zeros((LINE_HEIGHT, total), dtype=np.float32)
    line[LINE_MARGIN : LINE_MARGIN + inner_height, LINE_MARGIN : LINE_MARGIN + inner_width] = small
    return line, inner_width / width


@dataclass(frozen=True)
class LineFrames:
    """What the line reader says of one group: log probabilities (T, 11) per frame (blank, digits 0..9),
    and where the frames lie: line column = LINE_MARGIN + scale * (column - left), columns of the
    caller's image (the segmentation's reduced copy)."""

    log_probabilities: np.ndarray
    left: float
    scale: float

    def frame(self, column: float) -> int:
        """The frame boundary nearest to a column of the caller's image."""
        line_column = LINE_MARGIN + self.scale * (column - self.left)
        return int(np.clip(round(line_column / FRAME_STRIDE), 0, len(self.log_probabilities)))

    def one_digit(self, start: float | None, stop: float | None, shift: int = 0) -> np.ndarray:
        """log P(the frames between columns start and stop read as exactly digit d), float64 (10,);
        None for the group's left or right edge (the line's first or last frame). shift: frames by which
        the reader emits a digit ahead of its columns (its frames see the digit before they reach it)."""
        first = 0 if start is None else max(self.frame(start) - shift, 0)
        last = len(self.log_probabilities) if stop is None else max(self.frame(stop) - shift, 0)
        return one_digit_log_probability(self.log_probabilities, first, last)


def one_digit_log_probability(log_frames: np.ndarray, start: int, stop: int) -> np.ndarray:
    """log P(frames start..stop-1 read as exactly one digit d), for each d: float64 (10,).

    log_frames: (T, 11) log probabilities per frame, blank first, then digits 0..9. A CTC path
    reads one digit d over a stretch when it is blanks, then d one or more times, then blanks:
    a three-state forward pass over the stretch, for the ten digits at once. -inf for an empty stretch.
    """
    stop = min(stop, len(log_frames))
    if stop <= start:
        return np.full(10, -np.inf)
    blank = log_frames[start:stop, 0].astype(np.float64)
    digits = log_frames[start:stop, 1:].astype(np.float64)
    before = np.full(10, blank[0])  # only blanks so far
    inside = digits[0].copy()  # the digit is being read
    after = np.full(10, -np.inf)  # the digit was read, blanks since
    for frame in range(1, stop - start):
        before, inside, after = (
            before + blank[frame],
            np.logaddexp(before, inside) + digits[frame],
            np.logaddexp(inside, after) + blank[frame],
        )
    return np.logaddexp(inside, after)
