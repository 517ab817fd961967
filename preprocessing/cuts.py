"""Cut a group of touching digits where a classifier reads the pieces best.

A group of ink wider than one digit (see `segmentation`) may hold several digits written into
each other. Candidate cuts are paths from its top to its bottom through its thin points
(`cut_paths`), started at the valleys of its ink's column profile, at the edges of its strokes and
at regular steps; every stretch of the group between two cuts is a candidate digit, read into the
models' 28x28 by the caller and scored by the classifier. A dynamic program over the cuts (exact,
where a beam search would only approximate it) picks the reading whose digits are most probable
together, with priors on each digit's aspect given what it is read as, on the number of cuts and on
the ink each cut separates, and the caller's word on whether each candidate is one whole digit at
all (its distance to the training digits, a check trained on pieces and pairs of digits).

The tunable numbers (`CutSettings`) were chosen on numbers made of MNIST *validation* digits by
`python -m bench.number_tuning` (bench/results/number_tuning.json), never on test digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import ndimage

from preprocessing import cut_paths, geometry, line_image


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

SPLIT_ASPECT = 1.0
"""Groups of one stroke wider than this many line heights may hold several touching digits; narrower
ones are taken as one digit without asking the classifier. Chosen from 0.5-1.0 on numbers of MNIST
validation digits by `python -m bench.number_tuning`: below it, wide single digits get cut."""

WHOLE_MAX_ASPECT = 1.8
"""A group up to this many line heights wide may still be read as one digit: MNIST's widest digits
are 1.43 times as wide as high (99th percentile on 5,000 training digits), and the line height of a
lone digit is its own. Wider groups must be cut. Chosen from 1.2-1.8 on numbers of MNIST validation
digits by `bench.number_tuning`: since its tuning set holds single digits drawn alone on the wide
canvas (round 6), 1.8 keeps one more of 300 of them whole than 1.6; 1.2 and 1.4 do worse."""

CUT_PRIOR = 0.5
"""Each cut multiplies the reading's probability by this. With the line reader weighing every span (a
span over two digits reads as no single digit there) the prior matters little: 0.5-16 are within one
number of each other on each family of MNIST validation numbers, and 0.5 came out best in round 6
(16 in round 5, with the line reader trained for 10 epochs). Chosen from 0.5-32 by
`python -m bench.number_tuning`."""

ASPECT_WEIGHT = 0.0
"""Weight of the log prior of a digit's aspect given what it is read as (ASPECT_LOG_MEAN): an
8 as wide as it is high is most likely two digits. 0.5 helped before the line reader, which now
tells two digits from one better: chosen from 0-1.5 on numbers of MNIST validation digits by
`python -m bench.number_tuning`."""

DISTANCE_WEIGHT = 1.0
"""Log-probability cost of each unit of a digit's distance to the classifier's training digits
(`Scores.distances`; about 1.2-5 for real digits). The strongest cue against two digits read as
one: without it 87% of validation numbers read right, with it 90% (72% and 88% before the
whole-digit check). Chosen from 0-1.5 on numbers of MNIST validation digits by
`python -m bench.number_tuning`."""

WHOLE_WEIGHT = 2.0
"""Weight of the log probability that a span is one whole digit (`Scores.whole`): the classifiers,
trained on whole digits only, read half a 0 as a confident 1. Chosen from 0-3 on numbers of MNIST
validation digits by `python -m bench.number_tuning` (touching numbers: 42% at 0, 58% at 0.5,
62% at 2, 58% at 3)."""

LINE_WEIGHT = 1.0
"""Weight of the line reader's log probability that the frames under a span read as exactly one digit
(`line_image.LineFrames.one_digit`), for groups that may hold several digits. It speaks both to the
cut (a span over two digits or half of one reads as no single digit) and to which digit it is, where
a crop holding a piece of its neighbour misleads the classifier. Chosen from 0-3 on numbers of MNIST
validation digits by `python -m bench.number_tuning` (touching numbers: 58% at 0, 79% at 0.5, 87% at
1, 88% at 1.5-3, where spaced and photo numbers begin to lose)."""

LINE_SHIFT = 3
"""Frames by which the line reader emits a digit ahead of the columns it lies in: its frames see the
digit coming and CTC lets it speak once, early, so the frames between a span's cuts are taken this
many frames (6 line columns, about a quarter of a digit) to the left. Chosen from 0-4 on numbers of
MNIST validation digits by `python -m bench.number_tuning` (round 6, the reader trained 15 epochs;
touching: 58% at 0, 79% at 1, 86% at 2, 87% at 3, 83% at 4)."""

INK_WEIGHT = 0.0
"""Log-probability cost of each stroke a cut crosses (its separated ink over the stroke width).
0 and 0.1 tie on numbers of MNIST validation digits, more does worse (`bench.number_tuning`):
the path search already prefers thin crossings."""

LOG_FLOOR = -30.0
"""The line reader's log probabilities count down to this: a digit it finds impossible there is
very unlikely, not ruled out (the classifier may still be sure of it)."""

MIN_DIGIT_ASPECT = 0.12
MAX_DIGIT_ASPECT = 1.3
"""A digit cut out of a wider group is between these many line heights wide: a 1 can be a
single stroke, and no digit is much wider than it is high."""

ASPECT_LOG_MEAN = (-0.103, -0.892, -0.075, -0.232, -0.226, -0.075, -0.308, -0.254, -0.288, -0.388)
ASPECT_LOG_STD = (0.191, 0.428, 0.208, 0.21, 0.203, 0.244, 0.214, 0.208, 0.213, 0.208)
"""Mean and standard deviation of log(width / height) of each class's ink box (pixels above 40 of
255), measured on 5,000 digits of MNIST's training part (tests/test_cuts.py measures them again).
A 1 may be any narrower than its mean: a pen stroke is as narrow as the pen."""

MIN_HEIGHT_FRACTION = 0.4
"""A digit cut out of a group stands at least this fraction of the line height, as a group must to be
a digit: a cut-off tail or bar is not a digit. Chosen by `bench.number_tuning` (round 6: 88 touching
numbers of 100 at 0.4, 87 at 0.5-0.55, 85 at 0.65). It costs time: shorter spans are candidates the cut
search must read. Against 0.55, side by side, the 6-digit canvas read takes 103-119 ms median where it
took 76-88 ms, and on the other 200 touching validation numbers (`bench.number_accuracy --digits
validation`) 0.4 reads 88.5% against 85.5%, so the accuracy was kept. Since round 7 only the candidates
that could still win are read (`could_win`), which takes most of that cost away again."""


@dataclass(frozen=True)
class CutSettings:
    """The tunable numbers of the cut search; the defaults are the module's constants."""

    split_aspect: float = SPLIT_ASPECT
    whole_max_aspect: float = WHOLE_MAX_ASPECT
    cut_prior: float = CUT_PRIOR
    aspect_weight: float = ASPECT_WEIGHT
    ink_weight: float = INK_WEIGHT
    distance_weight: float = DISTANCE_WEIGHT
    whole_weight: float = WHOLE_WEIGHT
    line_weight: float = LINE_WEIGHT
    line_shift: int = LINE_SHIFT
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


def split_groups(
    groups: Sequence[list[Piece]],
    labels: np.ndarray,
    ink: np.ndarray,
    reader: Reader | None,
    line_height: float,
    settings: CutSettings = CutSettings(),
) -> list[Chosen]:
    """Each group as one or more digits, left to right: the most probable cuts where it may hold several.

    labels: int32 (h, w) strokes of the reduced copy, the pieces' labels; ink: float32 (h, w) there;
    reader: the caller's normalisation and classifier, None to never cut; line_height: in reduced pixels.
    The groups that may be cut are first read whole by the line reader, in one batch. Then the candidates
    are read in two batches (each call of the models has a fixed cost, and the reader keeps its readings for
    the digits finally chosen): the groups not to be cut with, in each group to cut, the chain of candidates
    the line reader finds likeliest; then only the candidates that could still be part of a better chain
    (`could_win`). The choice is the one reading every candidate would make, at a fraction of the
    normalisations and model calls.
    """
    lattices = [lattice(group, labels, ink, reader is not None, line_height, settings) for group in groups]
    if reader is None:
        return [Chosen(found.whole) for found in lattices]
    cut = [found for found in lattices if found.spans]
    lines = reader.lines([found.whole for found in cut])
    scores = {id(found): line_scores(found, line, settings) for found, line in zip(cut, lines, strict=True)}
    candidates = {id(found): winnable(found, reader, line_height, settings) for found in cut}
    # First the groups not to be cut and, in each group to cut, the chain the line reader finds likeliest...
    first = [found.whole for found in lattices if not found.spans] + [
        span for found in cut for span in likeliest_chain(found, candidates[id(found)], scores[id(found)], settings)
    ]
    readings = dict(zip(first, reader.readings(first), strict=True))
    # ...then only the candidates that could still beat the best chain read so far.
    rest = [
        span for found in cut for span in could_win(found, candidates[id(found)], readings, scores[id(found)], settings)
    ]
    readings.update(zip(rest, reader.readings(rest), strict=True))
    return [chosen for found in lattices for chosen in best_reading(found, readings, settings, scores.get(id(found)))]


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
    stroke = cut_paths.stroke_width(group_ink)
    cut_costs = [math.log(settings.cut_prior) - settings.ink_weight * path.cost / stroke for path in paths]
    return Lattice(everything, spans, [0.0, *cut_costs, 0.0])


def winnable(found: Lattice, reader: Reader, line_height: float, settings: CutSettings) -> list[Span]:
    """The spans worth reading: those with ink, tall enough, on some chain of spans from edge to edge.

    Only their ink is looked at, which costs a fraction of reading them; `best_reading` could never
    choose the others, so leaving them unread changes nothing but the time.
    """
    keys = list(found.spans)
    heights = reader.heights([found.spans[key] for key in keys])
    usable = [
        key
        for key, height in zip(keys, heights, strict=True)
        if height is not None and (height >= settings.min_height_fraction * line_height or key == (0, found.last))
    ]
    reached = {0}  # Positions a chain of usable spans reaches from the left edge (keys are by start)...
    for start, stop in usable:
        if start in reached:
            reached.add(stop)
    finishing = {found.last}  # ...and those from which one reaches the right edge.
    for start, stop in sorted(usable, key=lambda key: -key[1]):
        if stop in finishing:
            finishing.add(start)
    return [found.spans[key] for key in usable if key[0] in reached and key[1] in finishing]


def best_reading(
    found: Lattice,
    readings: Mapping[Span, Reading | None],
    settings: CutSettings,
    scores: Mapping[Span, np.ndarray] | None = None,
) -> list[Chosen]:
    """The chain of spans from edge to edge whose digits are most probable together (dynamic programming
    over the cut positions); the whole group when no span was read or no chain is complete. With the
    line reader's `line_scores` of the group, each span's score adds what they say of it."""
    scores = scores or {}
    values = {
        key: digit_log_score(reading, settings, scores.get(span))
        for key, span in found.spans.items()
        if (reading := readings.get(span)) is not None
    }
    best = _best_chains_to(values, found.cut_costs)
    if best[found.last][1] < 0:
        return [Chosen(found.whole, scores.get(found.whole))]
    return [Chosen(found.spans[key], scores.get(found.spans[key])) for key in _trace(best)]


def optimistic_log_score(line: np.ndarray | None, settings: CutSettings) -> float:
    """An upper bound of a span's `digit_log_score` before it is read, from the line reader's log P(exactly d)
    (10,) alone (None without a line reading): the classifier's log P(d), the aspect prior, the distance
    term and the whole-digit term are each at most 0 (with the weights at least 0, as every tuning tries)."""
    if line is None:
        return 0.0
    return float(np.max(settings.line_weight * np.maximum(line, LOG_FLOOR)))


def likeliest_chain(
    found: Lattice, candidates: Sequence[Span], scores: Mapping[Span, np.ndarray], settings: CutSettings
) -> list[Span]:
    """The chain of candidates from edge to edge with the highest `optimistic_log_score`s (what the line
    reader alone finds likeliest), left to right; empty when they make no complete chain."""
    keys = _keys(found)
    values = {keys[span]: optimistic_log_score(scores.get(span), settings) for span in candidates}
    best = _best_chains_to(values, found.cut_costs)
    return [found.spans[key] for key in _trace(best)] if best[found.last][1] >= 0 else []


def could_win(
    found: Lattice,
    candidates: Sequence[Span],
    readings: Mapping[Span, Reading | None],
    scores: Mapping[Span, np.ndarray],
    settings: CutSettings,
) -> list[Span]:
    """The candidates not yet read through which some chain could still beat the best chain of read ones.

    A chain's value is bounded by its read spans' scores and its unread ones' `optimistic_log_score`s; a
    candidate whose every chain is bounded below the best read chain can never be chosen by `best_reading`,
    so leaving it unread changes nothing but the time. All unread candidates when no chain is read yet.
    """
    unread = [span for span in candidates if span not in readings]
    if min(settings.aspect_weight, settings.distance_weight, settings.whole_weight) < 0:
        return unread  # The bound holds only for terms that can only lower a span's score.
    keys = _keys(found)
    known = {
        keys[span]: digit_log_score(reading, settings, scores.get(span))
        for span in candidates
        if (reading := readings.get(span)) is not None
    }
    to_beat = _best_chains_to(known, found.cut_costs)[found.last][0]
    if not unread or to_beat == -math.inf:
        return unread
    bounds = {keys[span]: optimistic_log_score(scores.get(span), settings) for span in unread}
    optimistic = {**known, **bounds}
    before = _best_chains_to(optimistic, found.cut_costs)
    after = _best_chains_from(optimistic, found.cut_costs)
    return [
        found.spans[key]
        for key, bound in bounds.items()
        if before[key[0]][0] + bound + found.cut_costs[key[1]] + after[key[1]] >= to_beat
    ]


def _keys(found: Lattice) -> dict[Span, tuple[int, int]]:
    """Each span of the lattice -> its (start, stop) cut positions."""
    return {span: key for key, span in found.spans.items()}


def _best_chains_to(values: Mapping[tuple[int, int], float], cut_costs: Sequence[float]) -> list[tuple[float, int]]:
    """best[p]: the highest total of span values and cut costs over chains of spans from the left edge to
    cut position p, and where its last span starts (-1 where no chain reaches p). values: (start, stop) ->
    the span's value; cut_costs: per position, added after each span."""
    best: list[tuple[float, int]] = [(0.0, -1)] + [(-math.inf, -1)] * (len(cut_costs) - 1)
    for (start, stop), value in sorted(values.items(), key=lambda item: item[0][1]):
        if best[start][0] == -math.inf:
            continue
        total = best[start][0] + value + cut_costs[stop]
        if total > best[stop][0]:
            best[stop] = (total, start)
    return best


def _best_chains_from(values: Mapping[tuple[int, int], float], cut_costs: Sequence[float]) -> list[float]:
    """after[p]: the highest total over chains of spans from cut position p to the right edge (-inf where
    none); the mirror of `_best_chains_to`."""
    after = [-math.inf] * (len(cut_costs) - 1) + [0.0]
    for (start, stop), value in sorted(values.items(), key=lambda item: -item[0][0]):
        if after[stop] > -math.inf:
            after[start] = max(after[start], value + cut_costs[stop] + after[stop])
    return after


def _trace(best: Sequence[tuple[float, int]]) -> list[tuple[int, int]]:
    """The (start, stop) keys of the best chain to the right edge in `_best_chains_to`'s table, left to right."""
    keys = []
    stop = len(best) - 1
    while stop > 0:
        start = best[stop][1]
        keys.append((start, stop))
        stop = start
    return keys[::-1]


def line_scores(found: Lattice, line: line_image.LineFrames | None, settings: CutSettings) -> dict[Span, np.ndarray]:
    """For each span of the lattice, log P(the line reader reads the frames under it as exactly digit d),
    float64 (10,); the span's ends are its cuts' mean columns. Empty without a line reading."""
    if line is None:
        return {}
    shift = settings.line_shift
    scores = {
        span: line.one_digit(
            None if span.left is None else span.left.mean, None if span.right is None else span.right.mean, shift
        )
        for span in found.spans.values()
    }
    scores[found.whole] = line.one_digit(None, None)
    return scores


def _cross(first: cut_paths.CutPath | None, second: cut_paths.CutPath | None) -> bool:
    """Whether two cuts of one group cross (the second runs left of the first in some row)."""
    if first is None or second is None:
        return False
    return bool(np.any(np.asarray(second.columns) < np.asarray(first.columns)))


def digit_log_score(reading: Reading, settings: CutSettings, line: np.ndarray | None = None) -> float:
    """How likely the span is one digit: for its best digit, log P(digit) + the weighted log prior of
    the span's aspect for that digit (+ the weighted line reader's log P(one digit, that one) when
    given, (10,)), less the weighted distance to the classifier's training digits, plus the weighted
    log probability that it is one whole digit."""
    log_aspect = math.log(max(reading.aspect, 1e-3))
    z = (log_aspect - np.asarray(ASPECT_LOG_MEAN)) / np.asarray(ASPECT_LOG_STD)
    z[1] = max(z[1], 0.0)
    value = float(np.max(label_log_scores(reading.probabilities, line, settings) - settings.aspect_weight * 0.5 * z**2))
    if reading.distance is not None:
        value -= settings.distance_weight * reading.distance
    if reading.whole is not None:
        value += settings.whole_weight * math.log(max(reading.whole, 1e-6))
    return value


def label_log_scores(probabilities: np.ndarray, line: np.ndarray | None, settings: CutSettings) -> np.ndarray:
    """float64 (10,): the classifier's log P(d) plus the weighted line reader's log P(exactly d) when given.
    Its largest entry is the digit the number reads there."""
    scores = np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), 1e-12))
    if line is not None:
        scores = scores + settings.line_weight * np.maximum(line, LOG_FLOOR)
    return scores


def label_probabilities(probabilities: np.ndarray, line: np.ndarray | None, settings: CutSettings) -> np.ndarray:
    """float64 (10,) summing to 1: `label_log_scores` normalised, what the number reader answers for the digit."""
    scores = label_log_scores(probabilities, line, settings)
    exponentials = np.exp(scores - scores.max())
    return exponentials / exponentials.sum()


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
