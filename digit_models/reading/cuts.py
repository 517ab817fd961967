"""Cut a group of touching digits where a classifier reads the pieces best.

Every candidate digit of a group (`spans.lattice`) is scored by the classifier and by the line reader
that reads the whole group at once. A dynamic program over the cuts (exact, where a beam search would
only approximate it) picks the reading whose digits are most probable together, with a prior on the
number of cuts and the caller's word on whether each candidate is one whole digit at all (its
distance to the training digits, a check trained on pieces and pairs of digits). The settings
(`settings.CutSettings`) were chosen on numbers of MNIST validation digits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from digit_models.reading.settings import LOG_FLOOR, CutSettings
from digit_models.reading.spans import Chosen, Lattice, Piece, Reader, Reading, Span, lattice
from preprocessing import line_image


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
    (10,) alone (None without a line reading): the classifier's log P(d), the distance term and the
    whole-digit term are each at most 0 (with the weights at least 0, as every tuning tries)."""
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
    if min(settings.distance_weight, settings.whole_weight) < 0:
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


def digit_log_score(reading: Reading, settings: CutSettings, line: np.ndarray | None = None) -> float:
    """How likely the span is one digit: for its best digit, log P(digit) (+ the weighted line reader's
    log P(one digit, that one) when given, (10,)), less the weighted distance to the classifier's
    training digits, plus the weighted log probability that it is one whole digit."""
    value = float(np.max(label_log_scores(reading.probabilities, line, settings)))
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
