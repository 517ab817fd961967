"""Cut a group of touching digits where a classifier reads the pieces best.

A group of ink wider than one digit (see `segmentation`) may hold several digits written
into each other. Candidate cuts are the thin columns of the ink's profile and the edges of its
strokes; every run of columns between two cuts is a candidate digit, read into the models' 28x28
by the caller and scored by a classifier; dynamic programming picks the cuts whose digits are
most probable together, with priors on a digit's width and on the number of cuts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from preprocessing import geometry

Score = Callable[[np.ndarray], np.ndarray]
"""float32 (n, 28, 28) in [0, 1], ink bright -> probabilities (n, 10), rows summing to 1."""

Read = Callable[["Span"], "tuple[np.ndarray, geometry.Box] | None"]
"""A span -> its float32 (28, 28) in [0, 1] and its box, or None when it holds no ink."""

SPLIT_ASPECT = 0.9
"""Groups wider than this many line heights may hold several touching digits: MNIST's digits other
than 1 are 0.85 times as wide as high (median on 5,000 training digits), so narrower groups are
taken as one digit; for wider ones the classifier decides between keeping them whole and cutting."""

MIN_DIGIT_ASPECT = 0.12
MAX_DIGIT_ASPECT = 1.3
"""A digit cut out of a wider group is between these many line heights wide: a 1 can be a
single stroke, and no digit is much wider than it is high."""

WHOLE_MAX_ASPECT = 1.6
"""A group up to this many line heights wide may still be read as one digit: MNIST's widest digits
are 1.43 times as wide as high (99th percentile on 5,000 training digits), and the line height of a
lone digit is its own. Wider groups must be cut."""

CUT_PRIOR = 0.5
"""Each cut multiplies the reading's probability by this, so a cut must double it to win: the
classifier reads almost any fragment of a digit as some digit with confidence, and a digit cut in
two costs a wrong number as surely as two digits left together. Set by hand from a few dozen
failures (0.9 cut about 3 in 100 single wide digits on the 1200x400 canvas in two)."""

MAX_CUTS = 12
"""At most this many candidate cuts per group (thinnest first), which bounds the scoring to
at most about (MAX_CUTS + 2)^2 / 2 candidate crops per group."""

WHOLE_PIECE_SHARE = 0.8
"""At a cut, a piece with at least this share of its ink on one side goes whole to that side
(a 7's bar overhanging its neighbour); only pieces truly straddling the cut are cut."""

PROFILE_SMOOTHING = 1.0
"""Standard deviation, in reduced pixels, of the smoothing of the column profile before its valleys are found."""


@dataclass(frozen=True)
class Piece:
    """A stroke of the reduced copy: its label, box (left, top, right, bottom) and ink mass."""

    label: int
    box: geometry.Box
    mass: float


@dataclass(frozen=True)
class Span:
    """A candidate digit: the pieces taken whole, those cut, and the columns [left, right) the cut ones keep."""

    whole: tuple[int, ...]
    cut: tuple[int, ...]
    left: int
    right: int


def box_of(group: Sequence[Piece]) -> geometry.Box:
    return (
        min(piece.box[0] for piece in group),
        min(piece.box[1] for piece in group),
        max(piece.box[2] for piece in group),
        max(piece.box[3] for piece in group),
    )


def split(
    group: list[Piece], labels: np.ndarray, ink: np.ndarray, read: Read, line_height: float, score: Score | None
) -> list[Span]:
    """The group as one or more digits: the most probable cuts when it is wide enough to hold several.

    labels: int32 (h, w) strokes of the reduced copy, the pieces' labels; ink: float32 (h, w) there;
    read: a span -> its 28x28 (the caller's normalisation); score: the classifier, None to never cut.
    """
    left, _, right, _ = box_of(group)
    whole = span(group, labels, left, right)
    # Pieces merged by overlap may still be neighbours overhanging each other: worth a try at cutting.
    widest_single = SPLIT_ASPECT * line_height if len(group) == 1 else 2 * MIN_DIGIT_ASPECT * line_height
    if score is None or right - left <= widest_single:
        return [whole]
    cuts = candidate_cuts(group, labels, ink, line_height)
    if not cuts:
        return [whole]
    positions = [left, *cuts, right]
    pairs = [
        (start, stop)
        for start in range(len(positions))
        for stop in range(start + 1, len(positions))
        # The whole group is a candidate up to a wider limit: a 5 with a long bar is wide and still one digit.
        if plausible_width(positions[stop] - positions[start], line_height)
        or ((start, stop) == (0, len(positions) - 1) and right - left <= WHOLE_MAX_ASPECT * line_height)
    ]
    spans = {pair: span(group, labels, positions[pair[0]], positions[pair[1]]) for pair in pairs}
    crops = {pair: read(span) for pair, span in spans.items()}
    scored = [pair for pair in pairs if crops[pair] is not None]
    if not scored:
        return [whole]
    probabilities = np.asarray(score(np.stack([crops[pair][0] for pair in scored])))
    log_score = dict(zip(scored, np.log(np.maximum(probabilities.max(axis=1), 1e-12)), strict=True))
    # best[stop]: the most probable reading of positions[0]..positions[stop], and where its last digit starts.
    best: list[tuple[float, int]] = [(0.0, -1)] + [(-math.inf, -1)] * (len(positions) - 1)
    for stop in range(1, len(positions)):
        for start in range(stop):
            if (start, stop) in log_score and best[start][0] > -math.inf:
                value = best[start][0] + log_score[(start, stop)] + _log_prior(start, stop, positions, line_height)
                if value > best[stop][0]:
                    best[stop] = (value, start)
    chosen = []
    stop = len(positions) - 1
    while stop > 0:
        start = best[stop][1]
        if start < 0:
            return [whole]
        chosen.append(spans[(start, stop)])
        stop = start
    return chosen[::-1]


def _log_prior(start: int, stop: int, positions: list[int], line_height: float) -> float:
    """Log prior of the part of the group between positions[start] and positions[stop]: CUT_PRIOR per cut."""
    return 0.0 if start == 0 else math.log(CUT_PRIOR)


def plausible_width(width: int, line_height: float) -> bool:
    return MIN_DIGIT_ASPECT * line_height <= width <= MAX_DIGIT_ASPECT * line_height


def candidate_cuts(group: list[Piece], labels: np.ndarray, ink: np.ndarray, line_height: float) -> list[int]:
    """Columns where the group may be cut: valleys of its ink's column profile and its pieces' edges.

    A column c means "cut between columns c - 1 and c". Cuts closer than a thin digit's width
    to an edge or to a thinner cut are dropped; at most MAX_CUTS, thinnest first, sorted.
    """
    left, top, right, bottom = box_of(group)
    inside = np.isin(labels[top:bottom, left:right], [piece.label for piece in group])
    profile = ndimage.gaussian_filter1d((ink[top:bottom, left:right] * inside).sum(axis=0), PROFILE_SMOOTHING)
    valleys = [
        column
        for column in range(1, len(profile) - 1)
        if profile[column] <= profile[column - 1] and profile[column] < profile[column + 1]
    ]
    edges = [piece.box[0] - left for piece in group] + [piece.box[2] - left for piece in group]
    candidates = sorted({*valleys, *edges}, key=lambda column: profile[min(column, len(profile) - 1)])
    spacing = MIN_DIGIT_ASPECT * line_height
    kept: list[int] = []
    for column in candidates:
        if spacing <= column <= len(profile) - spacing and all(abs(column - other) >= spacing for other in kept):
            kept.append(column)
        if len(kept) == MAX_CUTS:
            break
    return sorted(left + column for column in kept)


def span(group: list[Piece], labels: np.ndarray, left: int, right: int) -> Span:
    """The pieces of the group that fall into columns [left, right): whole when mostly inside, else cut."""
    whole, cut = [], []
    for piece in group:
        piece_left, piece_top, piece_right, piece_bottom = piece.box
        if piece_right <= left or piece_left >= right:
            continue
        if left <= piece_left and piece_right <= right:
            whole.append(piece.label)
            continue
        region = labels[piece_top:piece_bottom, piece_left:piece_right] == piece.label
        columns = region.sum(axis=0)
        share = columns[max(left - piece_left, 0) : max(right - piece_left, 0)].sum() / max(columns.sum(), 1)
        if share >= WHOLE_PIECE_SHARE:
            whole.append(piece.label)
        elif share > 1 - WHOLE_PIECE_SHARE:
            cut.append(piece.label)
    return Span(whole=tuple(whole), cut=tuple(cut), left=left, right=right)
