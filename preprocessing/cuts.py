"""Cut a group of touching digits where a classifier reads the pieces best.

A group of ink wider than one digit (see `segmentation`) may hold several digits written into
each other. Candidate cuts are paths from its top to its bottom through its thin points
(`cut_paths`), started at the valleys of its ink's column profile, at the edges of its strokes and
at regular steps; every stretch of the group between two cuts is a candidate digit, read into the
models' 28x28 by the caller and scored by the classifier. A dynamic program over the cuts (exact,
where a beam search would only approximate it) picks the reading whose digits are most probable
together, with priors on each digit's aspect given what it is read as, on the number of cuts and on
the ink each cut separates.

The tunable numbers (`CutSettings`) were chosen on numbers made of MNIST *validation* digits by
`python -m bench.number_tuning` (bench/results/number_tuning.json), never on test digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from preprocessing import cut_paths, geometry


@dataclass(frozen=True)
class Scores:
    """What a classifier says of n candidate digits.

    probabilities: (n, 10), rows summing to 1.
    distances: (n,) how far each lies from the digits the classifier learnt from (Euclidean, in the
        feature space of its nearest-neighbour member), or None when it cannot tell. A fragment of a
        digit or two digits run together is read as some digit with confidence, but lies far from
        every digit ever written.
    """

    probabilities: np.ndarray
    distances: np.ndarray | None = None


Score = Callable[[np.ndarray], "np.ndarray | Scores"]
"""float32 (n, 28, 28) in [0, 1], ink bright -> probabilities (n, 10) rows summing to 1, or `Scores`."""

SPLIT_ASPECT = 1.0
"""Groups of one stroke wider than this many line heights may hold several touching digits; narrower
ones are taken as one digit without asking the classifier. Chosen from 0.5-1.0 on numbers of MNIST
validation digits by `python -m bench.number_tuning`: below it, wide single digits get cut."""

WHOLE_MAX_ASPECT = 1.6
"""A group up to this many line heights wide may still be read as one digit: MNIST's widest digits
are 1.43 times as wide as high (99th percentile on 5,000 training digits), and the line height of a
lone digit is its own. Wider groups must be cut. 1.6 and 1.8 tie on validation numbers
(`bench.number_tuning`), 1.2 and 1.4 do worse."""

CUT_PRIOR = 2.0
"""Each cut multiplies the reading's probability by this. Above 1 because each digit also pays for
its distance to the training digits (DISTANCE_WEIGHT), so a cut adds one such cost. Chosen from
0.5-32 on numbers of MNIST validation digits by `python -m bench.number_tuning`."""

ASPECT_WEIGHT = 0.5
"""Weight of the log prior of a digit's aspect given what it is read as (ASPECT_LOG_MEAN): an
8 as wide as it is high is most likely two digits. Chosen from 0-1.5 on numbers of MNIST
validation digits by `python -m bench.number_tuning`."""

DISTANCE_WEIGHT = 0.5
"""Log-probability cost of each unit of a digit's distance to the classifier's training digits
(`Scores.distances`; about 1.2-5 for real digits). The strongest cue against two digits read as
one: without it 72% of validation numbers read right, with it 88%. Chosen from 0-1.5 on numbers
of MNIST validation digits by `python -m bench.number_tuning`."""

INK_WEIGHT = 0.0
"""Log-probability cost of each stroke a cut crosses (its separated ink over the stroke width).
0 and 0.1 tie on numbers of MNIST validation digits, more does worse (`bench.number_tuning`):
the path search already prefers thin crossings."""

MIN_DIGIT_ASPECT = 0.12
MAX_DIGIT_ASPECT = 1.3
"""A digit cut out of a wider group is between these many line heights wide: a 1 can be a
single stroke, and no digit is much wider than it is high."""

ASPECT_LOG_MEAN = (-0.103, -0.892, -0.075, -0.232, -0.226, -0.075, -0.308, -0.254, -0.288, -0.388)
ASPECT_LOG_STD = (0.191, 0.428, 0.208, 0.21, 0.203, 0.244, 0.214, 0.208, 0.213, 0.208)
"""Mean and standard deviation of log(width / height) of each class's ink box (pixels above 40 of
255), measured on 5,000 digits of MNIST's training part (tests/test_cuts.py measures them again).
A 1 may be any narrower than its mean: a pen stroke is as narrow as the pen."""

MIN_HEIGHT_FRACTION = 0.55
"""A digit cut out of a group stands at least this fraction of the line height, as a group must to be
a digit: a cut-off tail or bar is not a digit. 0.4-0.55 tie on numbers of MNIST validation digits
(`bench.number_tuning`)."""

MAX_CUTS_PER_LINE_HEIGHT = 8
"""At most this many candidate cuts per line height of the group's width (thinnest first): a bound
on the time spent, as each cut starts up to MAX_DIGIT_ASPECT / CUT_SPACING spans to score."""

START_STEP = 0.05
"""Besides the profile's valleys and the strokes' edges, a path starts every this many line heights."""

CUT_SPACING = 0.08
"""Kept cuts are at least this many line heights apart (their mean columns) and from the group's edges:
the cheapest cut of each such neighbourhood stands for it. On 60 touching numbers of MNIST validation
digits, the right reading is among the candidates for 80% at 0.08, 72% at 0.15."""

PROFILE_SMOOTHING = 1.0
"""Standard deviation, in reduced pixels, of the smoothing of the column profile before its valleys are found."""


@dataclass(frozen=True)
class CutSettings:
    """The tunable numbers of the cut search; the defaults are the module's constants."""

    split_aspect: float = SPLIT_ASPECT
    whole_max_aspect: float = WHOLE_MAX_ASPECT
    cut_prior: float = CUT_PRIOR
    aspect_weight: float = ASPECT_WEIGHT
    ink_weight: float = INK_WEIGHT
    distance_weight: float = DISTANCE_WEIGHT
    min_height_fraction: float = MIN_HEIGHT_FRACTION


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
    and its distance to the classifier's training digits (None when unknown)."""

    probabilities: np.ndarray
    aspect: float
    height: float
    distance: float | None = None


Read = Callable[[Sequence[Span]], "list[Reading | None]"]
"""Spans -> their readings (the caller's normalisation and classifier), None for a span with no ink."""


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


def split(
    group: list[Piece],
    labels: np.ndarray,
    ink: np.ndarray,
    read: Read | None,
    line_height: float,
    settings: CutSettings = CutSettings(),
) -> list[Span]:
    """The group as one or more digits: the most probable cuts when it is wide enough to hold several.

    labels: int32 (h, w) strokes of the reduced copy, the pieces' labels; ink: float32 (h, w) there;
    read: spans -> readings (the caller's normalisation and classifier), None to never cut;
    line_height: in reduced pixels.
    """
    left, top, right, bottom = box_of(group)
    everything = whole(group)
    # Pieces merged by overlap may still be neighbours overhanging each other: worth a try at cutting.
    widest_single = settings.split_aspect if len(group) == 1 else 2 * MIN_DIGIT_ASPECT
    if read is None or right - left <= widest_single * line_height:
        return [everything]
    inside = np.isin(labels[top:bottom, left:right], everything.pieces)
    group_ink = ink[top:bottom, left:right] * inside
    paths = candidate_paths(group, group_ink, line_height)
    if not paths:
        return [everything]
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
    readings = dict(zip(spans, read(list(spans.values())), strict=True))
    stroke = cut_paths.stroke_width(group_ink)
    cut_cost = (
        [0.0] + [math.log(settings.cut_prior) - settings.ink_weight * path.cost / stroke for path in paths] + [0.0]
    )
    # best[stop]: the most probable reading of the group up to position stop, and where its last digit starts.
    best: list[tuple[float, int]] = [(0.0, -1)] + [(-math.inf, -1)] * last
    for (start, stop), reading in sorted(readings.items(), key=lambda item: item[0][1]):
        if reading is None or best[start][0] == -math.inf:
            continue
        if reading.height < settings.min_height_fraction * line_height and (start, stop) != (0, last):
            continue
        value = best[start][0] + digit_log_score(reading, settings) + cut_cost[stop]
        if value > best[stop][0]:
            best[stop] = (value, start)
    if best[last][1] < 0:
        return [everything]
    chosen = []
    stop = last
    while stop > 0:
        start = best[stop][1]
        chosen.append(spans[(start, stop)])
        stop = start
    return chosen[::-1]


def _cross(first: cut_paths.CutPath | None, second: cut_paths.CutPath | None) -> bool:
    """Whether two cuts of one group cross (the second runs left of the first in some row)."""
    if first is None or second is None:
        return False
    return bool(np.any(np.asarray(second.columns) < np.asarray(first.columns)))


def digit_log_score(reading: Reading, settings: CutSettings) -> float:
    """How likely the span is one digit: for its best digit, log P(digit) + the weighted log prior of
    the span's aspect for that digit, less the weighted distance to the classifier's training digits."""
    log_aspect = math.log(max(reading.aspect, 1e-3))
    z = (log_aspect - np.asarray(ASPECT_LOG_MEAN)) / np.asarray(ASPECT_LOG_STD)
    z[1] = max(z[1], 0.0)
    log_probabilities = np.log(np.maximum(np.asarray(reading.probabilities, dtype=np.float64), 1e-12))
    value = float(np.max(log_probabilities - settings.aspect_weight * 0.5 * z**2))
    if reading.distance is not None:
        value -= settings.distance_weight * reading.distance
    return value


def candidate_paths(group: list[Piece], group_ink: np.ndarray, line_height: float) -> list[cut_paths.CutPath]:
    """Cuts worth trying through the group, left to right by mean column.

    group_ink: float32 (h, w) in [0, 1], the group's ink over its box. Paths start at the valleys of
    its column profile, its pieces' edges and every START_STEP line heights; the cheapest are kept,
    CUT_SPACING line heights apart and from the edges, at most CUTS_PER_LINE_HEIGHT per line height.
    """
    left, top, right, _ = box_of(group)
    width = right - left
    profile = ndimage.gaussian_filter1d(group_ink.sum(axis=0), PROFILE_SMOOTHING)
    valleys = [
        column
        for column in range(1, width - 1)
        if profile[column] <= profile[column - 1] and profile[column] < profile[column + 1]
    ]
    edges = [piece.box[0] - left for piece in group] + [piece.box[2] - left for piece in group]
    step = max(1, round(START_STEP * line_height))
    spacing = CUT_SPACING * line_height
    starts = sorted(
        {column for column in (*valleys, *edges, *range(step, width, step)) if spacing <= column <= width - spacing}
    )
    reach = max(1, round(cut_paths.PATH_REACH * line_height))
    found = cut_paths.cheapest_paths(group_ink, top, left, starts, reach)
    # The cheapest cut of each neighbourhood: two digits meet at a local minimum of the ink to cross,
    # however much ink that is, so the limit is on the spacing, not on the cost.
    limit = max(1, math.ceil(MAX_CUTS_PER_LINE_HEIGHT * width / line_height))
    kept: list[cut_paths.CutPath] = []
    for path in sorted(found, key=lambda path: path.cost):
        centre = path.mean - left
        if spacing <= centre <= width - spacing and all(abs(path.mean - other.mean) >= spacing for other in kept):
            kept.append(path)
        if len(kept) == limit:
            break
    return sorted(kept, key=lambda path: path.mean)


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
