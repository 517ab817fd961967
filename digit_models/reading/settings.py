"""The tunable numbers of reading a number, each declared once with where its value comes from.

Every value was chosen on numbers made of MNIST *validation* digits by `python -m bench.number_tuning`
(bench/results/number_tuning.json), never on numbers of test digits; the tried ranges and the
figures behind each choice are in CHANGELOG.md. `bench.number_tuning` varies the fields by name
("cuts.<field>" for the cut search's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_DIGIT_ASPECT = 0.12
MAX_DIGIT_ASPECT = 1.3
"""A digit cut out of a wider group is between these many line heights wide: a 1 can be a single
stroke, and no digit is much wider than it is high (fixed, not tuned)."""

LOG_FLOOR = -30.0
"""The line reader's log probabilities count down to this: a digit it finds impossible there is very
unlikely, not ruled out (the classifier may still be sure of it). Fixed, not tuned."""


@dataclass(frozen=True)
class CutSettings:
    """The cut search's settings (`reading.cuts`): where touching digits are cut and how a cut is scored."""

    # One-stroke groups wider than this many line heights may hold several digits (0.5-1.0 tried).
    split_aspect: float = 1.0
    # A group up to this many line heights wide may be one digit (1.2-1.8 tried; MNIST's widest digits are 1.43).
    whole_max_aspect: float = 1.8
    # Each cut multiplies a reading's probability by this (0.5-32 tried; within one number of each other).
    cut_prior: float = 0.5
    # Log-probability cost per unit of a digit's distance to the KNN's training digits (0-1.5 tried: 87% -> 90%).
    distance_weight: float = 1.0
    # Weight of log P(one whole digit) from the whole-digit check (0-3 tried; touching numbers 42% at 0, 62% at 2).
    whole_weight: float = 2.0
    # Weight of the line reader's log P(exactly one digit, d) under a span (0-3 tried; touching 58% at 0, 87% at 1).
    line_weight: float = 1.0
    # Frames the line reader speaks ahead of its digit's columns (0-4 tried; touching 58% at 0, 87% at 3).
    line_shift: int = 3
    # A digit cut out of a group stands at least this fraction of the line height (0.4-0.65 tried; 88% at 0.4).
    min_height_fraction: float = 0.4


@dataclass(frozen=True)
class Settings:
    """The segmentation's settings (`reading.segmentation`), with the cut search's inside."""

    # A stroke under this fraction of the tallest stroke's height is a speck: a dot, dust (0.08-0.25 tried).
    speck_fraction: float = 0.25
    # Pieces whose horizontal extents overlap by this share of the narrower are one digit (0.3-0.7 alike).
    merge_overlap: float = 0.5
    # A group lower than this fraction of the line height is a loose piece, not a digit (0.4-0.7 tried).
    small_group_fraction: float = 0.4
    # A loose piece joins a digit within this many line heights of it, else it is dropped (0.1-0.4 alike).
    loose_reach_fraction: float = 0.25
    cuts: CutSettings = field(default_factory=CutSettings)
