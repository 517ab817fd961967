"""The whole-digit check of a number's segmentation: is a crop one whole digit, or a piece, or two?"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from digit_models.base import as_image_batch
from digit_models.cnn import traced


class WholeDigitCheck:
    """A Keras network (b, 28, 28, 1) -> logit (b, 1) that a crop is one whole digit.

    Trained by `python -m training whole-digit` on crops of touching pairs of MNIST training digits;
    the cut search (`digit_models.reading.cuts`) weighs each candidate digit by its probability.
    """

    def __init__(self, network) -> None:
        self.network = network
        # The cut search calls it once per number on tens of crops.
        self._logits = traced(network)

    def __repr__(self) -> str:
        return f"WholeDigitCheck({self.network.count_params():,} parameters)"

    def probability(self, images: np.ndarray) -> np.ndarray:
        """float32 (n, 28, 28) in [0, 1], ink bright -> float64 (n,): probability that each is one whole digit."""
        batch = as_image_batch(images)[..., None]
        if not len(batch):
            return np.zeros(0)
        return expit(self._logits(batch).numpy()[:, 0].astype(np.float64))
