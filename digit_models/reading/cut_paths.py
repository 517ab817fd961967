"""Cut paths between touching digits: from the top of a group of ink to its bottom, through its thin points.

Two handwritten digits that touch seldom meet along a straight vertical line: a 7's bar overhangs
the digit after it, a slanted 1 leans over its neighbour. A cut here is a path of boundaries, one
per row of the group, each at most one column from the one above: pixels left of a row's boundary
belong to the digit on the left. Each path starts near a candidate column and is the cheapest
within reach of it, its cost the ink it separates (a boundary along a stroke's edge costs nothing,
one through a stroke costs the stroke's ink), so it slips through gaps and round overhangs and
crosses the strokes where they are thinnest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

PATH_REACH = 0.25
"""A path stays within this many line heights of its start column on either side: enough to go
round a 7's bar or a leaning 1, not so much that it wanders into the next gap (MNIST's digits are
0.75-0.95 line heights wide, median per class on 5,000 training digits). On 60 touching numbers of
MNIST validation digits, the right reading is among the candidate cuts for 80% at 0.25, 65% at 0.4."""

STEP_COST = 0.05
"""Cost of a sideways step of the path, in pixels of full ink: a straight path wins between two
equally clean ones, while a single pixel of ink is worth a detour of twenty steps."""

DRIFT_COST = 0.01
"""Cost per row and per column of distance from the start column: among clean paths, the one near
where the profile said the gap was."""


MAX_CUTS_PER_LINE_HEIGHT = 8
"""At most this many candidate cuts per line height of the group's width (thinnest first): a bound
on the time spent, as each cut starts up to `settings.MAX_DIGIT_ASPECT` / CUT_SPACING spans to score."""

START_STEP = 0.05
"""Besides the profile's valleys and the strokes' edges, a path starts every this many line heights."""

CUT_SPACING = 0.08
"""Kept cuts are at least this many line heights apart (their mean columns) and from the group's edges:
the cheapest cut of each such neighbourhood stands for it. On 60 touching numbers of MNIST validation
digits, the right reading is among the candidates for 80% at 0.08, 72% at 0.15."""

PROFILE_SMOOTHING = 1.0
"""Standard deviation, in reduced pixels, of the smoothing of the column profile before its valleys are found."""


@dataclass(frozen=True)
class CutPath:
    """A cut through a group: `columns[i]` is the boundary in row `top + i` (pixels left of it are left of the cut).

    columns: int (rows,) as a tuple, in the reduced copy's columns; cost: the ink it separates, in
    pixels of full ink (0 when it runs through a gap).
    """

    top: int
    columns: tuple[int, ...]
    cost: float

    @property
    def mean(self) -> float:
        return float(np.mean(self.columns))


def boundary_ink(ink: np.ndarray) -> np.ndarray:
    """float32 (h, w + 1): ink separated by a boundary before each column (and after the last).

    A boundary between two pixels splits ink only when both hold some: the smaller of the two.
    """
    padded = np.pad(ink, ((0, 0), (1, 1)))
    return np.minimum(padded[:, :-1], padded[:, 1:])


def cheapest_paths(ink: np.ndarray, top: int, left: int, starts: list[int], reach: int) -> list[CutPath]:
    """The cheapest path near each start column through a group's ink (a dynamic program, row by row).

    ink: float32 (h, w) in [0, 1], the group's ink in its box (other groups' ink zeroed), whose
    top-left is (top, left) in the reduced copy; starts: boundary columns relative to the box,
    1..w-1; reach: how far in columns a path may stray from its start. One path per start, in order.
    """
    if not starts:
        return []
    cost = boundary_ink(ink)
    height, boundaries = cost.shape
    offsets = np.arange(-reach, reach + 1)
    columns = np.clip(np.asarray(starts)[:, None] + offsets[None, :], 0, boundaries - 1)
    drift = DRIFT_COST * np.abs(offsets)[None, :].astype(np.float32)
    # Steps from a window position k to k-1, k, k+1 of the row above; moves off the window are barred.
    total = cost[0][columns] + drift
    came_from = np.zeros((height, *columns.shape), dtype=np.int8)
    blocked = np.full((len(starts), 1), np.inf, dtype=np.float32)
    for row in range(1, height):
        from_left = np.concatenate([blocked, total[:, :-1]], axis=1) + STEP_COST
        from_right = np.concatenate([total[:, 1:], blocked], axis=1) + STEP_COST
        choices = np.stack([from_left, total, from_right])
        came_from[row] = np.argmin(choices, axis=0) - 1
        total = np.min(choices, axis=0) + cost[row][columns] + drift
    paths = []
    for index in range(len(starts)):
        position = int(np.argmin(total[index]))
        trail = [position]
        for row in range(height - 1, 0, -1):
            position += int(came_from[row, index, position])
            trail.append(position)
        along = columns[index, trail[::-1]]
        separated = float(cost[np.arange(height), along].sum())
        paths.append(CutPath(top=top, columns=tuple(int(left + column) for column in along), cost=separated))
    return paths


def candidate_paths(ink: np.ndarray, top: int, left: int, edges: list[int], line_height: float) -> list[CutPath]:
    """Cuts worth trying through a group, left to right by mean column.

    ink: float32 (h, w) in [0, 1], the group's ink over its box (other groups' ink zeroed), whose top-left
    is (top, left) in the reduced copy; edges: its strokes' left and right edges, in columns of the box;
    line_height: in reduced pixels. Paths start at the valleys of the column profile, at the edges and
    every START_STEP line heights; the cheapest are kept, CUT_SPACING line heights apart and from the
    group's edges, at most MAX_CUTS_PER_LINE_HEIGHT per line height.
    """
    width = ink.shape[1]
    profile = ndimage.gaussian_filter1d(ink.sum(axis=0), PROFILE_SMOOTHING)
    valleys = [
        column
        for column in range(1, width - 1)
        if profile[column] <= profile[column - 1] and profile[column] < profile[column + 1]
    ]
    step = max(1, round(START_STEP * line_height))
    spacing = CUT_SPACING * line_height
    starts = sorted(
        {column for column in (*valleys, *edges, *range(step, width, step)) if spacing <= column <= width - spacing}
    )
    reach = max(1, round(PATH_REACH * line_height))
    found = cheapest_paths(ink, top, left, starts, reach)
    # The cheapest cut of each neighbourhood: two digits meet at a local minimum of the ink to cross,
    # however much ink that is, so the limit is on the spacing, not on the cost.
    limit = max(1, math.ceil(MAX_CUTS_PER_LINE_HEIGHT * width / line_height))
    kept: list[CutPath] = []
    for path in sorted(found, key=lambda path: path.cost):
        centre = path.mean - left
        if spacing <= centre <= width - spacing and all(abs(path.mean - other.mean) >= spacing for other in kept):
            kept.append(path)
        if len(kept) == limit:
            break
    return sorted(kept, key=lambda path: path.mean)


def between(left: CutPath | None, right: CutPath | None, box: tuple[int, int, int, int]) -> np.ndarray:
    """bool (h, w) over `box` (left, top, right, bottom) of the reduced copy: right of `left` and left of `right`.

    None stands for no cut on that side. Rows of the box outside a path's rows are not limited by it.
    """
    box_left, box_top, box_right, box_bottom = box
    columns = np.arange(box_left, box_right)[None, :]
    mask = np.ones((box_bottom - box_top, box_right - box_left), dtype=bool)
    for path, keep_left in ((left, False), (right, True)):
        if path is None:
            continue
        rows = np.arange(path.top, path.top + len(path.columns))
        inside = (rows >= box_top) & (rows < box_bottom)
        boundary = np.asarray(path.columns)[inside][:, None]
        mask[rows[inside] - box_top] &= (columns < boundary) if keep_left else (columns >= boundary)
    return mask
