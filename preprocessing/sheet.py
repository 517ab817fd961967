"""The sheet of paper in a photo that shows more than the sheet: a desk, a table or a hand round it.

A phone photo of a note on a desk shows the desk round the paper. The desk is darker than the paper, so for
detection it is ink along the border: a frame round the digit (read as a 0) or a band beside it. The sheet is
the convex hull of the largest light region (lighter than half-way from the border's level to the paper's),
the digit inside it. It must cover a fair share of the photo, be mostly light, nearly filled by the light
region (a sheet is a quadrilateral, even tilted or seen at an angle) and have a sharp edge (a shadow's is
soft); what lies round it must run along most of the border and be dark (the paper showing round a
frame-filling digit is light), and it may run off one edge of the photo, not two opposite ones (a light band
across the image is a stroke). Works on a copy reduced as detection.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage, spatial

from preprocessing import detection, geometry, statistics

SHEET_MIN_AREA = 0.15
"""The sheet covers at least this share of the photo."""

SHEET_MIN_LIGHT = 0.8
"""At least this share of the sheet is light: the digit's strokes take a small part of it. The ground inside a
light digit's outline is dark."""

SHEET_MIN_SOLIDITY = 0.8
"""The light region fills at least this share of its convex hull, the sheet: a sheet's outline is straight (the
digit and the light's fall take a little of it), paper showing between strokes is not."""

SURROUND_MIN_BORDER = 0.5
"""What lies round the sheet covers at least this share of the photo's border..."""

SURROUND_MAX_LIGHT = 0.05
"""...and at most this share of it is as light as the paper (inside a frame-filling 0, the light region round it
holds 0.12 and more)."""

SURROUND_MIN_CONTRAST = 0.15
"""The border's level lies at least this far (gray levels in [0, 1]) under the paper's."""

SHEET_MIN_RECTANGULARITY = 0.92
"""The sheet fills at least this share of the smallest rectangle round it: a sheet is a quadrilateral, tilted, seen
at a slight angle or cut by the photo's edge (0.91-1.0 on 100 notes of the desk family made from MNIST training
digits; 0.86 on 2 of 100 notes holding numbers, whose corners the light's fall darkens: they are left unread); a
light digit's outline is not (0.71-0.89 on white validation digits on black, enlarged to 280 px, whose outline
passed every other test)."""

SHEET_MIN_SIDE = 0.3
"""That rectangle's shorter side is at least this share of the photo's shorter side: a note (0.35 and more on those
desks), not a light stroke (a thick 1: 0.27)."""

MIN_PHOTO_SIDE = 64
"""A photo of a note on a desk is at least this many pixels a side; MNIST's own 28x28 digits are not."""

SHEET_EDGE_STEP = 0.2
EDGE_RING_PIXELS = 2
"""A sheet's edge is sharp: within EDGE_RING_PIXELS of it on either side, the level steps by at least SHEET_EDGE_STEP
of the paper-to-surround contrast (0.27-0.88 on 300 notes on desks made from MNIST training digits). A shadow's edge
(the light falling across a photo) is soft, spread over a tenth of the image: 0.03-0.04 on the photos of the photo
family whose lit part passed every other test."""

SHEET_INSET = 0.03
"""The sheet's edge (its shadow, its blurred outline) is left out: this share of its longest side."""

PAPER_QUANTILE = 0.9
"""The paper's level: this quantile of the photo's levels (the sheet is its largest light part)."""


@dataclass(frozen=True)
class Sheet:
    """The sheet found on the reduced copy.

    inside: bool (h, w) of the reduced copy: the sheet (the digit on it included), without its edge.
    reduced: float32 (h, w), the reduced copy: the working copy shrunk by `factor` (box average).
    """

    inside: np.ndarray
    reduced: np.ndarray
    factor: int


def find_sheet(gray: np.ndarray, max_side: int) -> Sheet | None:
    """The sheet of paper in float32 (H, W) in [0, 1] on white, looked for on a copy reduced to `max_side`;
    None when the photo shows nothing darker round a sheet."""
    if min(gray.shape) < MIN_PHOTO_SIDE:
        return None
    small, factor = geometry.reduce_array(gray, max_side)
    border = np.concatenate([small[0], small[-1], small[1:-1, 0], small[1:-1, -1]])
    paper, surround = statistics.quantile(small, PAPER_QUANTILE), statistics.median(border)
    if paper - surround < SURROUND_MIN_CONTRAST:
        return None
    light = small > (paper + surround) / 2
    labels, count = ndimage.label(light)
    if count == 0:
        return None
    largest = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    # The sheet is the light region's convex hull: its holes (the digit) filled, and the digit's strokes kept even
    # where they come close to the sheet's edge and cut into the light region from there.
    sheet, corners = _convex_hull(largest)
    if len(corners) < 3:
        return None
    shorter, longer = _smallest_rectangle(corners)
    outside = ~sheet
    on_border = np.concatenate([outside[0], outside[-1], outside[1:-1, 0], outside[1:-1, -1]])
    if (
        sheet.mean() < SHEET_MIN_AREA
        or light[sheet].mean() < SHEET_MIN_LIGHT
        or on_border.mean() < SURROUND_MIN_BORDER
        or light[outside].mean() > SURROUND_MAX_LIGHT
        or ndimage.binary_fill_holes(largest).sum() < SHEET_MIN_SOLIDITY * sheet.sum()
        or _edge_step(small, sheet) < SHEET_EDGE_STEP * (paper - surround)
        or _area(corners) < SHEET_MIN_RECTANGULARITY * shorter * longer
        or shorter < SHEET_MIN_SIDE * min(small.shape)
        or (sheet[0].any() and sheet[-1].any())
        or (sheet[:, 0].any() and sheet[:, -1].any())
    ):
        return None
    inset = max(1, round(SHEET_INSET * max(small.shape)))
    inside = ndimage.binary_erosion(sheet, iterations=inset)
    return Sheet(inside=inside, reduced=small, factor=factor) if inside.any() else None


def desk_may_show(found: detection.InkMap | detection.Detection | detection.NoDigit, reaches_border: bool) -> bool:
    """Whether a desk round a note may have misled the ink found: none at all (a dark desk over most of the photo),
    a light digit on a dark ground (the note), ink reaching the image's border (`reaches_border`: the desk), or
    thresholds set by the desk's variation (`noise_bound`)."""
    return isinstance(found, detection.NoDigit) or not found.inverted or found.noise_bound or reaches_border


def written_on_the_note(found: detection.InkMap | detection.Detection | detection.NoDigit) -> bool:
    """Whether the ink found on a note alone looks written on it: dark ink on the light paper, standing out."""
    return not isinstance(found, detection.NoDigit) and found.inverted and not found.noise_bound


def note_alone(gray: np.ndarray, max_side: int) -> tuple[np.ndarray, tuple[int, int]] | None:
    """`on_the_sheet` of the sheet `find_sheet` finds in float32 (H, W) `gray`; None when it finds none."""
    found = find_sheet(gray, max_side)
    return None if found is None else on_the_sheet(gray, found)


def on_the_sheet(gray: np.ndarray, sheet: Sheet) -> tuple[np.ndarray, tuple[int, int]]:
    """The working copy cut to the sheet, what lies outside it painted with the nearest paper: float32 (h, w) in
    [0, 1], and the (top, left) of the cut in the working copy."""
    factor = sheet.factor
    left, top, right, bottom = geometry.bounding_box(sheet.inside)
    # Each pixel outside the sheet takes the reduced level of the nearest pixel inside: paper, lit as there.
    nearest = ndimage.distance_transform_edt(~sheet.inside, return_distances=False, return_indices=True)
    painted = sheet.reduced[nearest[0], nearest[1]][top:bottom, left:right]
    inside = sheet.inside[top:bottom, left:right]
    rows, columns = slice(top * factor, bottom * factor), slice(left * factor, right * factor)
    cut = gray[rows, columns]
    expand = np.ones((factor, factor), dtype=bool)
    inside_full = np.kron(inside, expand)[: cut.shape[0], : cut.shape[1]]
    painted_full = np.kron(painted, expand.astype(np.float32))[: cut.shape[0], : cut.shape[1]]
    return np.where(inside_full, cut, painted_full).astype(np.float32), (top * factor, left * factor)


def _edge_step(small: np.ndarray, sheet: np.ndarray) -> float:
    """How much lighter float32 (h, w) `small` is just inside bool (h, w) `sheet`'s edge than just outside it
    (medians of rings EDGE_RING_PIXELS wide); 0 when the sheet fills the image."""
    inner = sheet & ~ndimage.binary_erosion(sheet, iterations=EDGE_RING_PIXELS, border_value=1)
    outer = ndimage.binary_dilation(sheet, iterations=EDGE_RING_PIXELS) & ~sheet
    if not inner.any() or not outer.any():
        return 0.0
    return statistics.median(small[inner]) - statistics.median(small[outer])


def _convex_hull(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """bool (h, w): the convex hull of bool (h, w) `mask`'s pixels, and its corners float (k, 2) as (row, column)
    (none when the mask has fewer than three edge pixels, or they lie on a line)."""
    points = np.argwhere(mask & ~ndimage.binary_erosion(mask))
    try:
        corners = points[spatial.ConvexHull(points).vertices].astype(np.float64)
    except (spatial.QhullError, ValueError):
        return np.zeros(mask.shape, dtype=bool), np.zeros((0, 2))
    drawn = Image.new("1", (mask.shape[1], mask.shape[0]))
    ImageDraw.Draw(drawn).polygon([(int(column), int(row)) for row, column in corners], fill=1, outline=1)
    return np.asarray(drawn, dtype=bool), corners


def _area(corners: np.ndarray) -> float:
    """The area of a polygon whose corners float (k, 2) are in order (shoelace)."""
    rows, columns = corners[:, 0], corners[:, 1]
    return float(abs(rows @ np.roll(columns, -1) - columns @ np.roll(rows, -1)) / 2)


def _smallest_rectangle(corners: np.ndarray) -> tuple[float, float]:
    """The sides (shorter, longer) of the smallest rectangle round a convex polygon's corners float (k, 2): one of
    its sides lies along one of the polygon's (rotating calipers)."""
    edges = np.roll(corners, -1, axis=0) - corners
    best = (np.inf, 0.0, 0.0)
    for angle in np.arctan2(edges[:, 0], edges[:, 1]):
        along = corners @ np.array([np.sin(angle), np.cos(angle)])
        across = corners @ np.array([np.cos(angle), -np.sin(angle)])
        sides = sorted((float(np.ptp(along)), float(np.ptp(across))))
        if sides[0] * sides[1] < best[0]:
            best = (sides[0] * sides[1], *sides)
    return best[1], best[2]
