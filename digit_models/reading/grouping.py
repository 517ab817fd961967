"""Strokes into digits: a number's pieces of ink grouped by how their horizontal extents overlap.

The bar of a 5 lies over its body and the cross of a 7 over its stem, while neighbouring digits at
most touch or overhang a little; pieces far lower than the line are loose (a dot, a detached bar)
and join the nearest digit or are dropped. The thresholds are `settings.Settings`'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from digit_models.reading.spans import Piece, box_of
from preprocessing import geometry


def pieces_of(labels: np.ndarray, count: int, ink: np.ndarray) -> list[Piece]:
    masses = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)
    pieces = []
    for index, found in enumerate(ndimage.find_objects(labels)):
        if found is not None:
            rows, columns = found
            box = (columns.start, rows.start, columns.stop, rows.stop)
            pieces.append(Piece(label=index + 1, box=box, mass=float(masses[index + 1])))
    return pieces


def extent(box: geometry.Box) -> int:
    return max(box[2] - box[0], box[3] - box[1])


def overlap_share(first: geometry.Box, second: geometry.Box) -> float:
    """How much of the narrower of two boxes' horizontal extents the other covers, 0 to 1."""
    overlap = min(first[2], second[2]) - max(first[0], second[0])
    narrower = min(first[2] - first[0], second[2] - second[0])
    return max(overlap, 0) / max(narrower, 1)


def merge_overlapping(pieces: list[Piece], merge_overlap: float) -> list[list[Piece]]:
    """Groups of pieces whose horizontal extents overlap by `merge_overlap`, left to right."""
    groups = [[piece] for piece in pieces]
    merged = True
    while merged:
        merged = False
        for first in range(len(groups)):
            for second in range(first + 1, len(groups)):
                if overlap_share(box_of(groups[first]), box_of(groups[second])) >= merge_overlap:
                    groups[first].extend(groups.pop(second))
                    merged = True
                    break
            if merged:
                break
    return sorted(groups, key=centre)


def height(group: Sequence[Piece]) -> int:
    _, top, _, bottom = box_of(group)
    return bottom - top


def centre(group: Sequence[Piece]) -> float:
    left, _, right, _ = box_of(group)
    return (left + right) / 2


def attach_loose_pieces(
    groups: list[list[Piece]], small_group_fraction: float, loose_reach_fraction: float
) -> list[list[Piece]]:
    """Groups far lower than the line are loose pieces: joined to a close digit, else dropped."""
    line_height = max(height(group) for group in groups)
    digits = [group for group in groups if height(group) >= small_group_fraction * line_height]
    for group in groups:
        if any(group is digit for digit in digits):
            continue
        left, _, right, _ = box_of(group)
        gaps = [max(box_of(digit)[0] - right, left - box_of(digit)[2], 0) for digit in digits]
        nearest = int(np.argmin(gaps))
        if gaps[nearest] <= loose_reach_fraction * line_height:
            digits[nearest] = digits[nearest] + group
    return sorted(digits, key=centre)
