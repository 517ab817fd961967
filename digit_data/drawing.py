"""Drawing MNIST digits the way people hand them to the app: strokes, canvases, files.

The shared pieces of `digit_data/families.py` and `digit_data/number_families.py`: a digit's crop and
enlargement, its centre line re-drawn with a round pen, canvases and encoded files.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from digit_data import trajectories
from preprocessing import geometry

_SKELETON_SCALE = 4
_SUPERSAMPLING = 2
_BLOB_DEPTH = 1.25  # Deeper inside the ink than this many typical half-widths is a blob, not a stroke.


def crop_to_ink(digit: np.ndarray) -> np.ndarray:
    """uint8 (28, 28) -> the digit's bounding box of non-zero pixels."""
    return geometry.crop_to_mask(digit)


def upscale(digit: np.ndarray, scale: float) -> np.ndarray:
    """The digit's crop enlarged `scale` times with bicubic interpolation: float32 ink amount in [0, 1]."""
    crop = geometry.crop_to_mask(digit)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    large = Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC)
    return np.clip(np.asarray(large, dtype=np.float32) / 255, 0, 1)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a bool mask (h, w) to one-pixel-wide, 8-connected centre lines."""
    image = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            # Neighbours P2..P9, clockwise from north, of every interior pixel.
            p2, p3, p4 = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:]
            p5, p6, p7 = image[2:, 2:], image[2:, 1:-1], image[2:, :-2]
            p8, p9 = image[1:-1, :-2], image[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = sum(ring[:-1])
            transitions = sum((ring[k] == 0) & (ring[k + 1] == 1) for k in range(8))
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            centre = image[1:-1, 1:-1]
            remove = (centre == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def centre_line(digit: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The digit's centre line as segments: float (n, 4) rows of (x0, y0, x1, y1), and the line image's (w, h).

    Coordinates are in pixels of the digit enlarged _SKELETON_SCALE times; each segment joins
    two 8-neighbouring skeleton pixels, so drawing them with a round pen re-strokes the digit.
    Where the writer's strokes merged into a blob (a loop filled in by a fat pen), a thin
    centre line would turn a 9 into a 7; the blob's core is added as dots, so the pen fills
    it in as the writer did.
    """
    mask = upscale(digit, _SKELETON_SCALE) > 0.5
    line = skeleton(mask)
    depth = ndimage.distance_transform_edt(mask)
    blob_rows, blob_columns = np.nonzero(depth >= _BLOB_DEPTH * np.median(depth[line]))
    blobs = np.stack([blob_columns, blob_rows, blob_columns, blob_rows], axis=1)
    rows, columns = np.nonzero(line)
    segments = []
    for row_step, column_step in ((0, 1), (1, 0), (1, 1), (1, -1)):
        neighbour_rows, neighbour_columns = rows + row_step, columns + column_step
        inside = (neighbour_rows < line.shape[0]) & (neighbour_columns >= 0) & (neighbour_columns < line.shape[1])
        joined = np.zeros(len(rows), dtype=bool)
        joined[inside] = line[neighbour_rows[inside], neighbour_columns[inside]]
        segments.append(np.stack([columns, rows, neighbour_columns, neighbour_rows], axis=1)[joined])
    lonely = np.stack([columns, rows, columns, rows], axis=1)  # Isolated pixels still get a dot.
    return np.concatenate([*segments, lonely, blobs]).astype(np.float64), (line.shape[1], line.shape[0])


def trajectory_segments(digit: np.ndarray, points: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The digit's centre line as a pen trajectory through `points` points in all (`digit_data.trajectories`):
    segments float (n, 4) of (x0, y0, x1, y1) and the line image's (w, h), as `centre_line` gives them."""
    line = skeleton(upscale(digit, _SKELETON_SCALE) > 0.5)
    polylines = [corners[:, ::-1] for corners in trajectories.corners(line, points)]  # (row, column) -> (x, y)
    segments = [np.concatenate([xy[:-1], xy[1:]], axis=1) for xy in polylines]
    return np.concatenate(segments or [np.zeros((0, 4))]), (line.shape[1], line.shape[0])


def draw_strokes(
    digit: np.ndarray,
    canvas_size: tuple[int, int],
    height: float,
    pen: float,
    offset: tuple[float, float],
    through_points: int | None = None,
) -> np.ndarray:
    """Re-draw the digit with a round pen: float32 coverage (H, W) in [0, 1] of a canvas (width, height).

    height: the digit's centre-line height on the canvas in pixels; pen: pen diameter in
    pixels; offset: canvas position (x, y) of the centre line's top-left corner; through_points: draw
    the centre line as a trajectory through that many points (`trajectory_segments`) instead of whole.
    Drawn at _SUPERSAMPLING times the size and averaged down, so edges are anti-aliased like a
    browser canvas.
    """
    if through_points is None:
        segments, (_, line_height) = centre_line(digit)
    else:
        segments, (_, line_height) = trajectory_segments(digit, through_points)
    scale = height / line_height * _SUPERSAMPLING
    points = segments * scale + np.array(offset * 2) * _SUPERSAMPLING
    width, canvas_height = canvas_size
    image = Image.new("L", (width * _SUPERSAMPLING, canvas_height * _SUPERSAMPLING), 0)
    draw = ImageDraw.Draw(image)
    radius = max(pen * _SUPERSAMPLING / 2, 0.5)
    line_width = max(1, round(pen * _SUPERSAMPLING))
    for x0, y0, x1, y1 in points:
        draw.line([(x0, y0), (x1, y1)], fill=255, width=line_width)
        for x, y in ((x0, y0), (x1, y1)):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    coverage = image.reduce(_SUPERSAMPLING)
    return np.asarray(coverage, dtype=np.float32) / 255


def random_canvas_drawing(
    digit: np.ndarray,
    rng: np.random.Generator,
    pen_range: tuple[float, float],
    pen_relative: bool = False,
    through_points: int | None = None,
) -> np.ndarray:
    """Coverage (H, W) of the digit drawn with a random pen somewhere off-centre on a 400-800 px canvas.

    pen_range: pen diameters in pixels, or as fractions of the digit's height when pen_relative;
    through_points: as `draw_strokes`.
    """
    side = int(rng.integers(400, 801))
    canvas_size = (side, int(rng.integers(400, 801))) if rng.random() < 0.3 else (side, side)
    height = rng.uniform(0.35, 0.75) * min(canvas_size)
    pen = rng.uniform(*pen_range) * (height if pen_relative else 1.0)
    aspect = crop_to_ink(digit).shape[1] / crop_to_ink(digit).shape[0]
    margin = pen / 2 + 2
    free_x = max(canvas_size[0] - height * aspect - 2 * margin, 0)
    free_y = max(canvas_size[1] - height - 2 * margin, 0)
    offset = (margin + rng.uniform(0, free_x), margin + rng.uniform(0, free_y))
    return draw_strokes(digit, canvas_size, height, pen, offset, through_points)


def opaque_canvas(coverage: np.ndarray) -> np.ndarray:
    """Black ink of `coverage` on opaque white, as the Sketchpad sends it: uint8 RGBA (H, W, 4)."""
    gray = np.round(255 * (1 - coverage)).astype(np.uint8)
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])


def transparent_canvas(coverage: np.ndarray) -> np.ndarray:
    """Black ink on a transparent canvas: uint8 RGBA (H, W, 4), colour 0 everywhere, alpha = coverage."""
    alpha = np.round(255 * coverage).astype(np.uint8)
    black = np.zeros_like(alpha)
    return np.dstack([black, black, black, alpha])


def encode(image: Image.Image, file_format: str, **options: Any) -> bytes:
    """An image file's bytes."""
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()
