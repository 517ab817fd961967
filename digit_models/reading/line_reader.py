"""The line reader of a number's segmentation: a whole group of touching digits read at once (CTC)."""

from __future__ import annotations

import numpy as np

from digit_models.cnn import traced
from preprocessing import line_image


class LineReader:
    """A Keras network (1, 28, W, 1) -> logits (1, W / FRAME_STRIDE, 11): blank, then digits 0..9, per frame.

    Trained by `python -m training line-reader` with CTC on touching groups of MNIST training digits
    (`training.line_data`); the cut search (`digit_models.reading.cuts`) adds, for each candidate digit, the
    log probability that the frames under it read as exactly one digit.
    """

    def __init__(self, network) -> None:
        self.network = network
        # One traced graph for any batch and width: the cut search calls it once per number.
        self._logits = traced(network, (None, line_image.LINE_HEIGHT, None, 1))

    def __repr__(self) -> str:
        return f"LineReader({self.network.count_params():,} parameters)"

    def __call__(self, lines: list[np.ndarray]) -> list[np.ndarray]:
        """Line images float32 (LINE_HEIGHT, W_i) -> log probabilities float64 (W_i / FRAME_STRIDE, 11) each.

        One call for all: the lines are padded on the right with paper to the widest.
        """
        if not lines:
            return []
        width = max(line.shape[1] for line in lines)
        batch = np.zeros((len(lines), line_image.LINE_HEIGHT, width, 1), np.float32)
        for row, line in enumerate(lines):
            batch[row, :, : line.shape[1], 0] = line
        logits = self._logits(batch).numpy().astype(np.float64)
        shifted = logits - logits.max(axis=2, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
        return [log_probabilities[row, : line.shape[1] // line_image.FRAME_STRIDE] for row, line in enumerate(lines)]

    def read(self, line: np.ndarray) -> str:
        """The digits a line image reads as, by best path (the likeliest class per frame, repeats and blanks
        dropped)."""
        best = self([line])[0].argmax(axis=1)
        kept = [label for index, label in enumerate(best) if label and (index == 0 or label != best[index - 1])]
        return "".join(str(label - 1) for label in kept)
