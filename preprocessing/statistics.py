"""Order statistics that are cheap on small arrays.

`np.median` and `np.percentile` cost tens of microseconds of overhead per call, which adds
up to milliseconds over the few dozen calls one image needs; a single `np.partition`
gives the same answer (to within one rank) for a fraction of that.
"""

from __future__ import annotations

import numpy as np

MAD_TO_STANDARD_DEVIATION = 1.4826
"""Median absolute deviation x this = standard deviation, for normally distributed noise."""


def quantile(values: np.ndarray, fraction: float) -> float:
    """The value at `fraction` (0 to 1) of the sorted values, nearest rank; values: any non-empty array."""
    flat = np.ravel(values)
    rank = min(max(round(fraction * (flat.size - 1)), 0), flat.size - 1)
    return float(np.partition(flat, rank)[rank])


def median(values: np.ndarray) -> float:
    """The median of a non-empty array (the upper middle value when the count is even)."""
    return quantile(values, 0.5)


def robust_spread(values: np.ndarray) -> float:
    """Robust standard deviation of a non-empty array: 1.4826 x the median absolute deviation."""
    return MAD_TO_STANDARD_DEVIATION * median(np.abs(values - median(values)))
