"""The candidate digits of a group of touching digits: pieces, spans between cuts, their readings.

A group of ink wider than one digit (see `segmentation`) may hold several digits written into each
other. Candidate cuts are paths from its top to its bottom through its thin points (`cut_paths`); every
stretch of the group between two cuts is a candidate digit (a `Span`), read into the models' 28x28 by
the caller (a `Reader`) and scored by the classifier. `cuts` chooses among them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import ndimage

from digit_models.reading import cut_paths
from digit_models.reading.settings import MAX_DIGIT_ASPECT, MIN_DIGIT_ASPECT, CutSettings
from preprocessing import geometry, line_image


@dataclass(frozen=True)
class Scores:
    """What a classifier says of n candidate digits.

    probabilities: (n, 10), rows summing to 1.
    distances: (n,) how far each lies from the digits the classifier learnt from (Euclidean, in the
        feature space of its nearest-neighbour member), or None when it cannot tell. A fragment of a
        digit or two digits run together is read as some digit with confidence, but lies far from
        every digit ever written.
    whole: (n,) probability that each is one whole digit, not a piece of one nor two run together
        (a check trained for this question), or None when there is no such check.
    """

    probabilities: np.ndarray
    distances: np.ndarray | None = None
    whole: np.ndarray | None = None


Score = Callable[[np.ndarray], "np.ndarray | Scores"]
"""float32 (n, 28, 28) in [0, 1], ink bright -> probabilities (n, 10) rows summing to 1, or `Scores`."""


@dataclass(frozen=True)
class Piece:
    """A stroke of the reduced copy: its label, box (left, top, right, bottom) and ink mass."""

    label: int
    box: geometry.Box
    mass: float


@dataclass(frozen=True)
class Span:
    """A candidate digit: the group's pieces (labels, within `box`) between two cuts, None at the group's edges."""

    pieces: tuple[int, ...]
    box: geometry.Box
    left: cut_paths.CutPath | None = None
    right: cut_paths.CutPath | None = None


@dataclass(frozen=True)
class Reading:
    """What a span reads as: probabilities (10,), its ink's width / height, its height in reduced pixels,
    its distance to the classifier's training digits and the probability that it is one whole digit
    (None when unknown)."""

    probabilities: np.ndarray
    aspect: float
    height: float
    distance: float | None = None
    whole: float | None = None


class Reader(Protocol):
    """The caller's view of candidate digits: their ink's height first (cheap), then their readings
    (normalisation and classifier, the costly part) only for the spans that can still be chosen."""

    def heights(self, spans: Sequence[Span]) -> list[float | None]:
        """Each span's ink height in reduced pixels, None for a span with no ink."""
        ...

    def readings(self, spans: Sequence[Span]) -> list[Reading | None]:
        """Each span's reading, None for a span with no ink; all spans in one batch."""
        ...

    def lines(self, groups: Sequence[Span]) -> list[line_image.LineFrames | None]:
        """What the line reader says of each group (a whole span), None without a line reader; one batch."""
        ...


@dataclass(frozen=True)
class Lattice:
    """The candidate digits of one group: `spans[(start, stop)]` lies between cut positions start and stop
    (0 is the group's left edge, `last` its right edge); `cut_costs[position]`: log prior of a cut there."""

    whole: Span
    spans: dict[tuple[int, int], Span]
    cut_costs: list[float]

    @property
    def last(self) -> int:
        return len(self.cut_costs) - 1


def box_of(group: Sequence[Piece]) -> geometry.Box:
    return (
        min(piece.box[0] for piece in group),
        min(piece.box[1] for piece in group),
        max(piece.box[2] for piece in group),
        max(piece.box[3] for piece in group),
    )


def whole(group: Sequence[Piece]) -> Span:
    """The group as one span."""
    return Span(pieces=tuple(piece.label for piece in group), box=box_of(group))


@dataclass(frozen=True)
class Chosen:
    """A digit the cut search chose: its span, and the line reader's log P(its frames read as exactly
    digit d) (10,) when its group was read as a line (None otherwise)."""

    span: Span
    line: np.ndarray | None = None


def lattice(
    group: list[Piece], labels: np.ndarray, ink: np.ndarray, cut: bool, line_height: float, settings: CutSettings
) -> Lattice:
    """The group's candidate digits between candidate cuts; none (only `whole`) when it is not to be cut."""
    left, top, right, bottom = box_of(group)
    everything = whole(group)
    # Pieces merged by overlap may still be neighbours overhanging each other: worth a try at cutting.
    widest_single = settings.split_aspect if len(group) == 1 else 2 * MIN_DIGIT_ASPECT
    if not cut or right - left <= widest_single * line_height:
        return Lattice(everything, {}, [0.0])
    inside = np.isin(labels[top:bottom, left:right], everything.pieces)
    group_ink = ink[top:bottom, left:right] * inside
    edges = [piece.box[0] - left for piece in group] + [piece.box[2] - left for piece in group]
    paths = cut_paths.candidate_paths(group_ink, top, left, edges, line_height)
    if not paths:
        return Lattice(everything, {}, [0.0])
    # Positions: the group's left edge, the cuts by their mean column, its right edge.
    means = [float(left), *(path.mean for path in paths), float(right)]
    ends: list[cut_paths.CutPath | None] = [None, *paths, None]
    last = len(ends) - 1
    spans = {}
    for start in range(last):
        for stop in range(start + 1, last + 1):
            width = (means[stop] - means[start]) / line_height
            if (start, stop) == (0, last):
                if width > settings.whole_max_aspect:
                    continue
            elif not MIN_DIGIT_ASPECT <= width <= MAX_DIGIT_ASPECT or _cross(ends[start], ends[stop]):
                continue
            spans[(start, stop)] = Span(everything.pieces, everything.box, ends[start], ends[stop])
    cut_costs = [math.log(settings.cut_prior)] * len(paths)
    return Lattice(everything, spans, [0.0, *cut_costs, 0.0])


def _cross(first: cut_paths.CutPath | None, second: cut_paths.CutPath | None) -> bool:
    """Whether two cuts of one group cross (the second runs left of the first in some row)."""
    if first is None or second is None:
        return False
    return bool(np.any(np.asarray(second.columns) < np.asarray(first.columns)))


def span_support(span: Span, labels: np.ndarray) -> np.ndarray:
    """bool (h, w) of the reduced copy: the span's ink pixels, grown by one pixel for the anti-aliased edges.

    The pieces are taken between the span's cuts, and grown only there: a cut path runs round the
    pieces it can, so a piece it crosses is truly shared by two digits.
    """
    left, top, right, bottom = span.box
    # One pixel more on each side, for the growth.
    box = (max(left - 1, 0), max(top - 1, 0), min(right + 1, labels.shape[1]), min(bottom + 1, labels.shape[0]))
    window = labels[box[1] : box[3], box[0] : box[2]]
    inside = np.isin(window, span.pieces)
    if span.left is None and span.right is None:
        grown = ndimage.maximum_filter(inside, size=3)
    else:
        region = cut_paths.between(span.left, span.right, box)
        grown = ndimage.maximum_filter(inside & region, size=3) & region
    support = np.zeros(labels.shape, dtype=bool)
    support[box[1] : box[3], box[0] : box[2]] = grown
    return support
