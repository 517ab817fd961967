"""Realistic inputs built from MNIST test digits: photos, canvas drawings, odd pens, odd file formats.

Each family turns one MNIST digit (uint8 (28, 28), ink bright) and a seeded random
generator into what a user would really hand the app: a phone photo's JPEG bytes, a
Sketchpad canvas array, a palette PNG, an EXIF-rotated JPEG... Everything is
deterministic given the seed (`family_input(name, digit, seed, index)`), so the tests use
a few of these and `bench/family_accuracy.py` measures every model on a thousand of each.

Measured with MNIST *test* digits, the families are an acceptance test; a change to preprocessing is
developed on *training* digits fed the same way, so nothing is tuned on the digits that judge it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from digit_data.canvas_families import (
    make_canvas,
    make_few_points,
    make_thick_pen,
    make_thin_pen,
    make_tilted,
    make_transparent_canvas,
)
from digit_data.drawing import (
    crop_to_ink,
    draw_strokes,
    encode,
    opaque_canvas,
    upscale,
)
from preprocessing import geometry

FAMILIES: dict[str, str] = {
    "photo": "phone photo: dark ink (blue, grey, black) on white or cream paper, uneven light, "
    "soft shadow, noise, JPEG q60-85, digit small and off-centre",
    "canvas": "Sketchpad canvas: round pen 10-40 px, black on opaque white, 400-800 px, off-centre",
    "canvas-transparent": "drawings like those of canvas, in black on a transparent canvas (RGBA)",
    "thick-pen": "very thick strokes: pen width 15-20% of the digit's height",
    "thin-pen": "very thin strokes: a 1-2 px pen on a 400-800 px canvas",
    "odd-format": "palette PNG (with and without transparency), 16-bit PNG, CMYK JPEG, "
    "LA PNG, 1-bit PNG, EXIF-rotated JPEG",
    "tight-crop": "a photo cropped tightly to the digit: it fills the frame and touches or crosses "
    "its edges (margins -6% to +4% of its height), dark ink on paper, noise, JPEG q70-90",
    "low-resolution": "the digit shrunk to 8-32 px, enlarged to 64-256 px (nearest, bilinear or bicubic), "
    "blurred; dark on white, filling the frame",
    "frame-filling-thick": "a blobby pen (18-25% of the digit's height) on a canvas cropped to the drawing, "
    "each edge from a quarter pen inside the strokes to a quarter pen outside",
    "notebook": "phone photo of the digit on ruled or squared notebook paper (light blue, grey or dark grey lines "
    "0.45-1.2 digit heights apart, crossing it or not), tilted up to 3 degrees, light and pen as photo",
    "desk": "phone photo of a note on a desk: the sheet (45-85% of the photo's width and height, tilted up to 10 "
    "degrees, sometimes running off one edge) on dark or light wood, grey, black or green, with its shadow; "
    "light and pen as photo",
    "sharp-shadow": "phone photo as photo, with the sharp-edged shadow of a phone or a hand across the paper (one "
    "straight edge or a corner), 30-55% darker than the lit paper, the digit in the light, the shade or both",
    "few-points": "as canvas (pen 10-30 px), each stroke a pen trajectory through 8-12 points for the whole digit, "
    "joined by straight lines: a fast stroke on a touch screen that reports few positions",
    "tilted": "as canvas, the digit written turned by 15-25 degrees either way: a phone held askew, a leaning hand",
}


def family_input(family: str, digit: np.ndarray, seed: int, index: int) -> Any:
    """The input of `family` made from `digit` (uint8 (28, 28), ink bright) for image `index`.

    Returns what the app would receive: bytes of an image file, or a uint8 RGBA canvas
    array (H, W, 4). The same (family, digit, seed, index) always gives the same input.
    """
    if family not in _MAKERS:
        raise ValueError(f"unknown family {family!r}; expected one of {sorted(_MAKERS)}")
    rng = np.random.default_rng([seed, list(_MAKERS).index(family), index])
    return _MAKERS[family](digit, rng, index)


# --- the families --------------------------------------------------------------------


def make_photo(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    """A phone photo of the digit written on paper: JPEG bytes, about 500 to 1,300 pixels a side."""
    return _photo(digit, rng, index)


def make_sharp_shadow(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    """A phone photo of the digit written on paper (as `make_photo`), a sharp-edged shadow across it: JPEG bytes."""
    return _photo(digit, rng, index, sharp_shadow=True)


def _photo(digit: np.ndarray, rng: np.random.Generator, index: int, sharp_shadow: bool = False) -> bytes:
    """The digit enlarged 8-12 times somewhere on a sheet 2.5-4.5 times its size, photographed (`photograph_sheet`)."""
    ink = upscale(digit, rng.uniform(8, 12))
    sheet_scale = rng.uniform(2.5, 4.5)
    longest = max(ink.shape)
    height = int(longest * sheet_scale * rng.uniform(0.75, 1.0))
    width = int(longest * sheet_scale * rng.uniform(0.75, 1.0))
    top = int(rng.integers(0, height - ink.shape[0] + 1))
    left = int(rng.integers(0, width - ink.shape[1] + 1))
    amount = np.zeros((height, width), dtype=np.float32)
    amount[top : top + ink.shape[0], left : left + ink.shape[1]] = ink * rng.uniform(0.85, 1.0)
    return photograph_sheet(amount, rng, index, sharp_shadow=sharp_shadow)


def photograph_sheet(
    amount: np.ndarray,
    rng: np.random.Generator,
    index: int,
    lines: np.ndarray | None = None,
    desk: tuple[np.ndarray, np.ndarray] | None = None,
    sharp_shadow: bool = False,
) -> bytes:
    """Ink `amount` (float32 (h, w) in [0, 1], already placed on the sheet) photographed: JPEG bytes.

    Paper white or cream, a blue, grey or black pen (by `index`), a light gradient and vignette,
    sometimes a soft shadow, noise, blur, JPEG quality 60-85. `lines` (float32 (h, w) in [0, 1]): a
    notebook's printed lines, light blue, grey or dark grey, under the ink. `desk`: where the sheet lies
    (float32 (h, w) in [0, 1]) and the colour round it (float (h, w, 3), 0-255). `sharp_shadow`: a phone's or a
    hand's shadow under a lamp across the sheet, its edge 0.3-2% of the photo wide, one straight edge or a corner.
    """
    height, width = amount.shape
    paper = np.array([250, 250, 248]) if rng.random() < 0.5 else np.array([246, 237, 214])
    paper = paper + rng.normal(0, 3, 3)
    sheet = np.broadcast_to(paper, (height, width, 3))
    if lines is not None:
        printed = np.array([[150, 185, 225], [175, 175, 175], [115, 115, 125]])[rng.integers(3)]  # blue, grey, dark
        sheet = sheet * (1 - lines[..., None]) + (printed + rng.normal(0, 6, 3)) * lines[..., None]
    if desk is not None:
        on_sheet, surround = desk
        sheet = surround * (1 - on_sheet[..., None]) + sheet * on_sheet[..., None]
    pens = {"blue": [28, 48, 135], "grey": [75, 75, 80], "black": [22, 22, 28]}
    pen = np.array(pens[("blue", "grey", "black")[index % 3]]) + rng.normal(0, 6, 3)
    colour = sheet * (1 - amount[..., None]) + pen[None, None] * amount[..., None]

    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    y, x = rows / height - 0.5, columns / width - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    gradient = 1 - rng.uniform(0.1, 0.35) * (0.5 + np.cos(angle) * x + np.sin(angle) * y)
    vignette = 1 - rng.uniform(0.1, 0.3) * (x**2 + y**2) / 0.5
    light = gradient * vignette
    if rng.random() < 0.5:
        # A soft shadow (a hand, a phone) across part of the sheet.
        shadow_angle = rng.uniform(0, 2 * np.pi)
        distance = np.cos(shadow_angle) * x + np.sin(shadow_angle) * y - rng.uniform(-0.3, 0.3)
        light = light * (1 - rng.uniform(0.15, 0.35) / (1 + np.exp(-distance / rng.uniform(0.05, 0.12))))
    if sharp_shadow:
        light = light * (1 - rng.uniform(0.3, 0.55) * _sharp_shade(x, y, rng))
    colour = colour * light[..., None] + rng.normal(0, rng.uniform(2, 5), colour.shape)
    image = Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8), "RGB")
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))
    return encode(image, "JPEG", quality=int(rng.integers(60, 86)))


def _sharp_shade(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Where a sharp-edged shadow falls, float32 (h, w) in [0, 1], at positions x, y (-0.5 to 0.5 across the photo):
    beyond one straight edge, or one time in two inside a corner (a phone's), its edges 0.3-2% of the photo wide."""
    shade = np.ones_like(x)
    angle = rng.uniform(0, 2 * np.pi)
    for turn in (0.0, np.pi / 2) if rng.random() < 0.5 else (0.0,):
        across = np.cos(angle + turn) * x + np.sin(angle + turn) * y - rng.uniform(-0.35, 0.35)
        shade = shade * (1 / (1 + np.exp(np.clip(-across / rng.uniform(0.003, 0.02), -50, 50))))
    return shade.astype(np.float32)


def make_notebook(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    """A phone photo of the digit on ruled (even `index`) or squared (odd) notebook paper, tilted: JPEG bytes."""
    ink = upscale(digit, rng.uniform(6, 9))
    longest = max(ink.shape)
    height, width = (int(longest * rng.uniform(1.8, 2.6)) for _ in range(2))
    margin = int(0.15 * longest)  # the tilt must not carry the digit out of the photo
    top = int(rng.integers(margin, height - ink.shape[0] - margin + 1))
    left = int(rng.integers(margin, width - ink.shape[1] - margin + 1))
    amount = np.zeros((height, width), dtype=np.float32)
    amount[top : top + ink.shape[0], left : left + ink.shape[1]] = ink * rng.uniform(0.85, 1.0)
    return photograph_notebook(amount, longest, rng, index)


def photograph_notebook(amount: np.ndarray, size: float, rng: np.random.Generator, index: int) -> bytes:
    """Ink `amount` (float32 (h, w) in [0, 1], placed on the sheet) written on ruled (even `index`) or squared
    (odd) paper whose lines lie 0.45-1.2 `size` (the writing's height, in pixels) apart, tilted by up to 3
    degrees and photographed (`photograph_sheet`): JPEG bytes."""
    height, width = amount.shape
    lines = np.zeros((height, width), dtype=np.float32)
    gap = size * rng.uniform(0.45, 1.2)
    thickness = max(1, round(size * rng.uniform(0.006, 0.012)))
    for start in np.arange(rng.uniform(0, gap), max(height, width), gap).astype(int):
        lines[start : start + thickness] = 1.0
        if index % 2:
            lines[:, start : start + thickness] = 1.0
    degrees = rng.uniform(-3, 3)
    amount, lines = (ndimage.rotate(layer, degrees, reshape=False, order=1) for layer in (amount, lines))
    return photograph_sheet(np.clip(amount, 0, 1), rng, index, lines=np.clip(lines, 0, 1))


def make_desk(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    """A phone photo of the digit on a note lying on a desk, which shows round it: JPEG bytes."""
    ink = upscale(digit, rng.uniform(4, 7))
    height, width = (int(max(ink.shape) * rng.uniform(2.6, 4.0)) for _ in range(2))
    return photograph_desk(ink, rng, index, (height, width))


def photograph_desk(ink: np.ndarray, rng: np.random.Generator, index: int, size: tuple[int, int]) -> bytes:
    """Ink `ink` (float32 (h, w) in [0, 1]) written on a note lying on a desk, in a photo of `size` (height, width)
    pixels: JPEG bytes. The note covers 45-85% of the photo's height and width, tilted by up to 10 degrees, one
    time in four running off an edge; the desk is dark or light wood, grey, black or green, with the note's shadow."""
    longest = max(ink.shape)
    height, width = size
    sheet_height, sheet_width = int(height * rng.uniform(0.45, 0.85)), int(width * rng.uniform(0.45, 0.85))
    # The sheet somewhere in the photo; one time in four it runs off an edge.
    top = int(rng.integers(0, height - sheet_height + 1))
    left = int(rng.integers(0, width - sheet_width + 1))
    if rng.random() < 0.25:
        side = int(rng.integers(4))
        top = {0: -sheet_height // 4, 1: height - 3 * sheet_height // 4}.get(side, top)
        left = {2: -sheet_width // 4, 3: width - 3 * sheet_width // 4}.get(side, left)
    on_sheet = np.zeros((height, width), dtype=np.float32)
    on_sheet[max(top, 0) : top + sheet_height, max(left, 0) : left + sheet_width] = 1.0
    # The digit on the sheet, clear of its edges (the part of it in the photo).
    rows, columns = np.flatnonzero(on_sheet.any(axis=1)), np.flatnonzero(on_sheet.any(axis=0))
    room_top, room_left = rows[0] + sheet_height // 10, columns[0] + sheet_width // 10
    room_bottom = rows[-1] - sheet_height // 10 - ink.shape[0]
    room_right = columns[-1] - sheet_width // 10 - ink.shape[1]
    digit_top = int(rng.integers(room_top, max(room_bottom, room_top) + 1))
    digit_left = int(rng.integers(room_left, max(room_right, room_left) + 1))
    amount = np.zeros((height, width), dtype=np.float32)
    amount[digit_top : digit_top + ink.shape[0], digit_left : digit_left + ink.shape[1]] = ink[
        : height - digit_top, : width - digit_left
    ] * rng.uniform(0.85, 1.0)
    degrees = rng.uniform(-10, 10)
    amount, on_sheet = (ndimage.rotate(layer, degrees, reshape=False, order=1) for layer in (amount, on_sheet))
    desks = np.array([[92, 62, 40], [165, 125, 85], [105, 105, 110], [32, 32, 36], [45, 75, 60]])
    surround = desks[index % len(desks)] + rng.normal(0, 6, 3)
    # Wood grain or a mat's texture, and the sheet's shadow on the desk below and to one side.
    grain = ndimage.gaussian_filter(rng.normal(0, 1, (height, width)), (1, rng.uniform(4, 20))) * rng.uniform(5, 15)
    shadow = ndimage.shift(ndimage.gaussian_filter(on_sheet, longest * 0.05), (longest * 0.03, longest * 0.02))
    desk = (surround + grain[..., None]) * (1 - rng.uniform(0.2, 0.5) * np.clip(shadow, 0, 1)[..., None])
    return photograph_sheet(np.clip(amount, 0, 1), rng, index, desk=(np.clip(on_sheet, 0, 1), desk))


def make_odd_format(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    """The digit in an unusual file format (cycling through them by index): file bytes."""
    ink = upscale(digit, rng.uniform(4, 8))
    height, width = int(max(ink.shape) * rng.uniform(1.4, 2.2)), int(max(ink.shape) * rng.uniform(1.4, 2.2))
    top = int(rng.integers(0, height - ink.shape[0] + 1))
    left = int(rng.integers(0, width - ink.shape[1] + 1))
    amount = np.zeros((height, width), dtype=np.float32)
    amount[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    dark_on_white = np.round(255 * (1 - amount)).astype(np.uint8)
    kind = ("palette", "palette-transparent", "16-bit", "cmyk", "la", "bilevel", "exif-rotated")[index % 7]
    if kind == "palette":
        blue = np.dstack([dark_on_white * 0.4 + 153, dark_on_white * 0.6 + 102, np.full_like(dark_on_white, 230)])
        rgb = Image.fromarray(np.clip(blue, 0, 255).astype(np.uint8), "RGB")
        return encode(rgb.quantize(colors=16), "PNG")
    if kind == "palette-transparent":
        levels = np.minimum(np.round(amount * 15).astype(np.uint8), 15)
        image = Image.fromarray(levels, "P")
        image.putpalette([0, 0, 0] * 16)
        return encode(image, "PNG", transparency=bytes(round(255 * level / 15) for level in range(16)))
    if kind == "16-bit":
        values = np.round(65535 * (0.05 + 0.9 * (1 - amount))).astype(np.uint16)
        return encode(Image.fromarray(values), "PNG")
    if kind == "cmyk":
        return encode(Image.fromarray(dark_on_white, "L").convert("RGB").convert("CMYK"), "JPEG", quality=85)
    if kind == "la":
        alpha = np.round(255 * amount).astype(np.uint8)
        return encode(Image.fromarray(np.dstack([np.zeros_like(alpha), alpha]), "LA"), "PNG")
    if kind == "bilevel":
        return encode(Image.fromarray(dark_on_white, "L").convert("1", dither=Image.Dither.NONE), "PNG")
    # EXIF orientation 6 means "turn 90 degrees clockwise to display": store it turned the other way.
    orientation, stored_turn = [
        (6, Image.Transpose.ROTATE_90),
        (8, Image.Transpose.ROTATE_270),
        (3, Image.Transpose.ROTATE_180),
    ][int(rng.integers(0, 3))]
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = Image.fromarray(dark_on_white, "L").convert("RGB").transpose(stored_turn)
    return encode(stored, "JPEG", quality=85, exif=exif.tobytes())


def make_tight_crop(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    """A photo of the digit cropped to it, some margins cutting into the strokes: JPEG bytes."""
    ink = upscale(digit, rng.uniform(4, 10))
    height = ink.shape[0]
    # Each side's margin, as a fraction of the digit's height: negative cuts into the digit.
    top, bottom, left, right = (round(height * rng.uniform(-0.06, 0.04)) for _ in range(4))
    amount = np.pad(ink, ((max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0))))
    amount = amount[max(-top, 0) : amount.shape[0] - max(-bottom, 0), max(-left, 0) : amount.shape[1] - max(-right, 0)]
    paper = rng.uniform(200, 250)
    pen = rng.uniform(20, 90)
    light = 1 - rng.uniform(0, 0.15) * np.linspace(0, 1, amount.shape[1])[None, :]
    gray = (paper * (1 - amount) + pen * amount) * light + rng.normal(0, rng.uniform(1, 4), amount.shape)
    image = Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), "L").filter(
        ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0))
    )
    return encode(image, "JPEG", quality=int(rng.integers(70, 91)))


def make_low_resolution(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> bytes:
    """The digit at 8-32 px, enlarged again and blurred, dark on white, filling the frame: PNG bytes."""
    crop = geometry.crop_to_mask(digit)
    small_side = int(rng.integers(8, 33))
    scale = small_side / max(crop.shape)
    small_size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = Image.fromarray(255 - crop).resize(small_size, Image.Resampling.BOX)
    large_side = int(rng.integers(64, 257))
    large_size = (max(1, round(small_size[0] * large_side / small_side)), large_side)
    resample = (Image.Resampling.NEAREST, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)[index % 3]
    large = small.resize(large_size, resample).filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.5) * large_side / 32))
    return encode(large, "PNG")


def make_frame_filling_thick(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    """A fat-pen drawing on a canvas cropped to it: uint8 RGBA (H, W, 4), strokes touching or cut by the edges."""
    height = rng.uniform(150, 400)
    pen = rng.uniform(0.18, 0.25) * height
    crop = crop_to_ink(digit)
    width = height * crop.shape[1] / crop.shape[0]
    # Each edge lies between a quarter pen inside the drawn strokes and a quarter pen outside them.
    left, top, right, bottom = (pen * rng.uniform(0.25, 0.75) for _ in range(4))
    canvas_size = (max(round(width + left + right), 8), round(height + top + bottom))
    return opaque_canvas(draw_strokes(digit, canvas_size, height, pen, (left, top)))


_MAKERS: dict[str, Callable[[np.ndarray, np.random.Generator, int], Any]] = {
    "photo": make_photo,
    "canvas": make_canvas,
    "canvas-transparent": make_transparent_canvas,
    "thick-pen": make_thick_pen,
    "thin-pen": make_thin_pen,
    "odd-format": make_odd_format,
    "tight-crop": make_tight_crop,
    "low-resolution": make_low_resolution,
    "frame-filling-thick": make_frame_filling_thick,
    "notebook": make_notebook,
    "desk": make_desk,
    "sharp-shadow": make_sharp_shadow,
    "few-points": make_few_points,
    "tilted": make_tilted,
}
