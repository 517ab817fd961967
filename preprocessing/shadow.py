"""A sharp-edged shadow across a photo of paper: a phone or a hand held between a lamp and the page.

background.py's smooth surface follows uneven light and soft shadows, not a shadow with a sharp edge: detection
then takes the shaded part for ink (a band read as a 1, a frame read as a 0) or the lit part for a light digit on
a dark ground. The paper's own level follows such an edge: a grey closing of the photo (its lightest level within
a window, then the darkest of those) fills each pen stroke narrower than the window with the paper round it, and
keeps any wide shade where it is, edge included. Divided by that level, the photo is even paper with the ink on it,
and the digit is looked for there; where the closing could not follow the shade's edge, along the photo's border,
what it left there is painted over and the digit looked for again (`without_border_pieces`). Works on a copy reduced
as detection.py's; dark ink on light paper only (a shadow darkens the paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from preprocessing import detection, geometry, sheet, statistics

PAPER_WINDOW = 0.12
"""The closing's window, a share of the reduced copy's longest side: wider than a pen's stroke where paper shows
round the digit (a photo's digit takes half the photo or less, its strokes a fifth of its height or less),
narrower than a shadow."""

SHADOW_MIN_CONTRAST = 0.15
"""The darkest of the paper's levels lies at least this share of the lit paper's level under it; a shallower shade
is followed by background.py's surface (0.32-0.79 on the 222 of 300 photos with a sharp-edged shadow, made from
MNIST *training* digits, on which detection went wrong)."""

SHADOW_MIN_DEPTH = 0.21
"""The shade holds a disc of this radius, a share of the reduced copy's shorter side: a shadow is wide (0.23 and more
on 95% of those photos, 0.14 at least). Thick digits filling the frame leave shade of their strokes' shape that is
as deep (load_digits' digits enlarged to 128 px: up to 0.30; tight crops up to 0.8, a wide crop's strokes reaching
its border): the tests of the digit found on the evened photo (`written_on_the_paper`) tell them apart."""

DIGIT_MAX_EXTENT = 0.6
"""On the evened photo, the digit's box spans at most this share of the photo's side: a photo of paper with a shadow
across it shows paper round the digit (0.24-0.50 on 95% of those photos, 0.67 at most). Where a thick digit that
fills the frame was taken for shade, what is left of it spans the frame: tight crops 0.94-0.96, load_digits' digits
0.67-0.88 but for 2 of 1,797."""

SHADE_MIN_STROKES = 6.0
"""The shade is at least this many times as deep as the digit found on the evened photo is thick (the 95th
percentile of its pixels' distances to the paper): a shadow spans many strokes (7.6 and more on 95% of those
photos, 4.4 at least); what is left of a thick digit whose blobs were taken for shade spans a few (4.6 on the one
load_digits digit that passed every other test)."""

BORDER_PIECES_MAX_SHARE = 0.8
"""A digit found on the evened photo with pieces of ink on the photo's border is looked for again with those pieces
painted over as paper, when they are at most this share of the strokes found: beside the digit, what the closing
leaves of the shade's edge there (0.03-0.08 of the strokes on 300 photos of *validation* digits with a
sharp-edged shadow), or the desk round a note that crosses the border (0.30-0.61 on 300 desk photos). Where the
pieces on the border are the digit itself (0.96-1.0: load_digits' and the mfeat development half's digits that fill
the frame, a low-resolution crop), what is left is specks."""

LIT_QUANTILE = 0.95
SHADE_QUANTILE = 0.02
"""The lit paper's level and the shade's: these quantiles of the paper's levels."""


@dataclass(frozen=True)
class Evened:
    """A photo evened out by its paper's level.

    gray: float32 (H, W) in [0, 1], the working copy divided by its paper's level.
    shade_depth: the radius of the largest disc inside the shade, in pixels of the copy reduced as detection.py's.
    """

    gray: np.ndarray
    shade_depth: float


def evened_out(gray: np.ndarray, max_side: int) -> Evened | None:
    """The photo `gray` (float32 (H, W) in [0, 1], dark ink on light paper) divided by its paper's level
    (`paper_level`, on a copy reduced to `max_side`) where a sharp-edged shadow may lie across it: a shade
    SHADOW_MIN_CONTRAST under the lit paper and SHADOW_MIN_DEPTH deep. None when it shows none."""
    small, factor = geometry.reduce_array(gray, max_side)
    paper = paper_level(small)
    lit, shade = statistics.quantile(paper, LIT_QUANTILE), statistics.quantile(paper, SHADE_QUANTILE)
    if lit - shade < SHADOW_MIN_CONTRAST * lit:
        return None
    shaded = paper < (lit + shade) / 2
    # Distances to the lit paper; the shade runs on beyond the photo's border.
    depth = ndimage.distance_transform_edt(np.pad(shaded, 1, constant_values=True))[1:-1, 1:-1]
    if depth.max() < SHADOW_MIN_DEPTH * min(small.shape):
        return None
    height, width = gray.shape
    # Evened on the reduced copy, where the closing keeps the shadow's edge exactly, then enlarged (pixel centres
    # line up: reduced pixel (r, c) is the average of working pixels [r*f, (r+1)*f), likewise for c). A paper level
    # enlarged instead would blur the edge, which would then show as a line of ink along it.
    evened = np.clip(small / np.maximum(paper, np.float32(0.05)), 0, 1).astype(np.float32)
    if factor == 1:
        return Evened(evened, float(depth.max()))
    enlarged = Image.fromarray(evened, "F").resize(
        (width, height), Image.Resampling.BILINEAR, box=(0, 0, width / factor, height / factor)
    )
    return Evened(np.asarray(enlarged, dtype=np.float32), float(depth.max()))


def paper_level(small: np.ndarray) -> np.ndarray:
    """The paper's level under float32 (h, w) `small`: float32 (h, w), each stroke narrower than PAPER_WINDOW
    filled in with the paper round it; a 3x3 median first, so that the noise's light tail does not set it. A
    straight edge stays where it is, except within a window of the border, where the image is mirrored (a shade
    assumed to run on past the border instead lost 2.6 points on the photos with a sharp-edged shadow)."""
    window = max(3, round(PAPER_WINDOW * max(small.shape)))
    closed = ndimage.grey_closing(ndimage.median_filter(small, size=3), size=(window, window))
    return closed.astype(np.float32)


def written_on_the_paper(found: detection.Detection | detection.NoDigit, evened: Evened) -> bool:
    """Whether the digit found on an evened photo looks written on the paper: dark ink standing out from it
    (`sheet.written_on_the_note`'s test), clear of the photo's border, with paper round it (DIGIT_MAX_EXTENT), its
    strokes far narrower than the shade (`shade_wider_than_strokes`)."""
    return (
        sheet.written_on_the_note(found)
        and isinstance(found, detection.Detection)
        and not found.reaches_border
        and found.extent <= DIGIT_MAX_EXTENT
        and shade_wider_than_strokes(evened, found.support)
    )


def without_border_pieces(gray: np.ndarray, found: detection.Detection) -> np.ndarray | None:
    """The evened photo `gray` (float32 (H, W), the working copy `found` was made on, paper 1.0) with the pieces of
    `found`'s strokes that touch its border painted over as paper; None when none touches it, or when those pieces
    are more than BORDER_PIECES_MAX_SHARE of the strokes."""
    pieces, _ = ndimage.label(found.support, structure=np.ones((3, 3)))
    touching = np.isin(pieces, geometry.labels_on_border(pieces))
    if not touching.any() or touching.sum() > BORDER_PIECES_MAX_SHARE * found.support.sum():
        return None
    # A reduced pixel covers factor x factor working pixels; a pixel more round the pieces takes their soft edge.
    grown = ndimage.binary_dilation(touching)
    painted = np.repeat(np.repeat(grown, found.factor, axis=0), found.factor, axis=1)
    height, width = gray.shape
    painted = np.pad(painted, ((0, max(height - painted.shape[0], 0)), (0, max(width - painted.shape[1], 0))), "edge")
    cleared = gray.copy()
    cleared[painted[:height, :width]] = 1.0
    return cleared


def shade_wider_than_strokes(evened: Evened, strokes: np.ndarray) -> bool:
    """Whether the shade is at least SHADE_MIN_STROKES times as deep as the strokes of bool (h, w) `strokes` (on the
    reduced copy) are at their thickest (the 95th percentile of their pixels' distances to the paper)."""
    depths = ndimage.distance_transform_edt(strokes)[strokes]
    return depths.size > 0 and evened.shade_depth >= SHADE_MIN_STROKES * statistics.quantile(depths, 0.95)
