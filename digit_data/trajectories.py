"""A digit's centre line as a pen trajectory through a few points: a fast stroke on a touch screen that
reports few positions, or a tablet's trajectory resampled to a fixed number of points.

The centre line (one pixel wide, `drawing.skeleton`) is walked into pen paths, and each path is resampled at
evenly spaced points along its length; straight segments between them, drawn with a round pen, make curves
polygons (a loop through five points a pentagon). `training.augmentation.few_point_pen` re-draws training
digits so; the family `few-points` (digit_data/canvas_families.py) draws test digits so on a canvas.
"""

from __future__ import annotations

import numpy as np

MIN_PATH_SHARE = 0.1
"""A path shorter than this share of the longest is a spur of the thinning (a stroke's blunt end), not a
stroke of the writer's: dropped."""


def corners(centre_line: np.ndarray, points: int) -> list[np.ndarray]:
    """The one-pixel centre line bool (h, w) as a trajectory through `points` points in all: each pen path
    (`pen_paths`) resampled at its share of them by length, at least two: float (k, 2) arrays of (row, column)."""
    paths = pen_paths(centre_line)
    if not paths:
        return []
    lengths = np.array([path_length(path) for path in paths])
    counts = np.maximum(2, np.round(points * lengths / lengths.sum()).astype(int))
    return [resampled(path, int(count)) for path, count in zip(paths, counts, strict=True)]


def pen_paths(centre_line: np.ndarray) -> list[np.ndarray]:
    """The one-pixel centre line bool (h, w) walked into paths: float (n, 2) arrays of (row, column), each
    neighbour-to-neighbour step taken once, walks starting at line ends first; short spurs dropped."""
    pixels = set(zip(*np.nonzero(centre_line), strict=True))

    def neighbours(pixel: tuple[int, int]) -> list[tuple[int, int]]:
        row, column = pixel
        around = [(row + dr, column + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
        return [other for other in around if other in pixels]

    walked: set[tuple[tuple[int, int], tuple[int, int]]] = set()
    ends = sorted(pixel for pixel in pixels if len(neighbours(pixel)) == 1)
    paths = []
    for start in ends + sorted(pixels):
        path, here = [start], start
        while True:
            # Straight (4-neighbour) steps first: a diagonal would cut the corner the two straight ones make.
            ahead = sorted(
                (other for other in neighbours(here) if _step(here, other) not in walked),
                key=lambda other: abs(other[0] - here[0]) + abs(other[1] - here[1]),
            )
            if not ahead:
                break
            walked.add(_step(here, ahead[0]))
            path.append(ahead[0])
            here = ahead[0]
        if len(path) > 2:
            paths.append(np.array(path, dtype=float))
    if not paths:
        return []
    longest = max(path_length(path) for path in paths)
    return [path for path in paths if path_length(path) >= MIN_PATH_SHARE * longest]


def _step(one: tuple[int, int], other: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    return (one, other) if one < other else (other, one)


def path_length(path: np.ndarray) -> float:
    """Length of float (n, 2) `path` in pixels."""
    return float(np.hypot(*np.diff(path, axis=0).T).sum())


def resampled(path: np.ndarray, count: int) -> np.ndarray:
    """`count` points (at least 2) evenly spaced along float (n, 2) `path`, its ends included: float (count, 2)."""
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    at = np.linspace(0.0, along[-1], max(count, 2))
    return np.stack([np.interp(at, along, path[:, 0]), np.interp(at, along, path[:, 1])], axis=1)
