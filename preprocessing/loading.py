"""Turn any input into one grayscale image on white, within explicit size limits.

Accepted inputs: the Gradio Sketchpad/ImageEditor value (a dict with `background`,
`layers` and `composite`), PIL images in any mode, numpy arrays, file paths and raw
bytes. Whatever comes in, `load_image` returns a `LoadedImage` whose `gray` is float32
(H, W) in [0, 1] (0 black, 1 white) with transparency composited onto white, EXIF
orientation applied and large inputs reduced to at most `LOAD_MAX_SIDE` pixels.

Unreadable inputs raise `ImageError` (a ValueError) with a message a person can act on;
an empty canvas is not an error but a `LoadedImage` with an `empty_reason`.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from preprocessing import geometry, png

MAX_INPUT_BYTES = 20 * 1024 * 1024
"""Largest file or byte string accepted (20 MiB): a phone photo is 2-8 MB."""

MAX_INPUT_PIXELS = 40_000_000
"""Largest image accepted, in pixels (40 megapixels), checked from the header before decoding."""

CANVAS_EMPTY = "the canvas is empty"
"""The reason given for a canvas with nothing drawn on it."""

LOAD_MAX_SIDE = 1024
"""Longest side of the working copy: enough to keep a small digit in a corner of a photo."""

# JPEG decoders can shrink by 1/2, 1/4 or 1/8 while decoding, almost for free; asking for
# at least this size keeps the working copy between 512 and 1024 pixels for big photos.
_DRAFT_MIN_SIDE = 512
_EXIF_ORIENTATION = 0x0112
_ROTATING_ORIENTATIONS = (5, 6, 7, 8)
_OPAQUE = 255


class ImageError(ValueError):
    """The input cannot be read as an image (not an image, truncated, too large, bad values)."""


@dataclass(frozen=True)
class LoadedImage:
    """An input as one grayscale image on white.

    gray: float32 (H, W) in [0, 1], 0 black and 1 white, transparency composited onto
        white, EXIF orientation applied, longest side at most LOAD_MAX_SIDE; None when
        there is nothing to look at (then `empty_reason` says why).
    input_size: (width, height) of the input after EXIF rotation, the coordinates that
        bounding boxes are reported in; `gray` may be smaller when the input was reduced.
    fully_transparent: every pixel of the input had alpha 0.
    from_canvas: the input was a Sketchpad/ImageEditor value.
    """

    gray: np.ndarray | None
    input_size: tuple[int, int]
    fully_transparent: bool = False
    from_canvas: bool = False
    empty_reason: str = ""


def load_image(source: Any) -> LoadedImage:
    """Read `source` (canvas dict, PIL image, numpy array, path or bytes) as a `LoadedImage`.

    Raises ImageError when the input is not a readable image or exceeds the size limits.
    """
    if source is None:
        return LoadedImage(gray=None, input_size=(0, 0), empty_reason="no image was given")
    if isinstance(source, Mapping):
        return _load_canvas(source)
    if isinstance(source, Image.Image):
        return _load_pil(source)
    if isinstance(source, np.ndarray):
        return _load_array(source)
    if isinstance(source, str | os.PathLike):
        return _load_pil(*open_image_bytes(read_file(Path(source)), name=Path(source).name))
    if isinstance(source, bytes | bytearray | memoryview):
        return _load_pil(*open_image_bytes(bytes(source)))
    raise ImageError(
        f"cannot read a {type(source).__name__} as an image; expected a file path, bytes, a PIL image, "
        "a numpy array or a Sketchpad value"
    )


def read_file(path: Path) -> bytes:
    """The bytes of an image file, refusing folders, missing files and files over MAX_INPUT_BYTES."""
    name = path.name or str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as error:
        raise ImageError(f"{name}: no such file") from error
    except OSError as error:
        raise ImageError(f"{name}: cannot be read ({error.strerror or error})") from error
    if path.is_dir():
        raise ImageError(f"{name}: is a folder, not an image file")
    if size > MAX_INPUT_BYTES:
        raise ImageError(_named(name, too_many_bytes(size)))
    try:
        return path.read_bytes()
    except OSError as error:
        raise ImageError(f"{name}: cannot be read ({error.strerror or error})") from error


def open_image_bytes(data: bytes, *, name: str = "") -> tuple[Image.Image, tuple[int, int]]:
    """Decode image file bytes into a loaded PIL image (first frame) and the (width, height) its header states.

    The header is checked against MAX_INPUT_PIXELS before any pixel is decoded (`open_header`), so a
    file that claims 50000x50000 pixels costs nothing. The image may be smaller than its header
    says: JPEGs much larger than the working copy are decoded at a reduced scale.
    """
    image = open_header(data, name=name)
    header_size = image.size
    if image.format == "PNG" and (plain := png.decode_plain_png(data)) is not None:
        return Image.fromarray(plain[0]), header_size  # The same pixels, decoded faster.
    try:
        if image.format == "JPEG" and max(image.size) > 2 * _DRAFT_MIN_SIDE:
            scale = _DRAFT_MIN_SIDE / max(image.size)
            image.draft(image.mode, (math.ceil(image.width * scale), math.ceil(image.height * scale)))
        image.load()
    except Exception as error:
        raise ImageError(_named(name, f"the image data is damaged or truncated ({_describe(error)})")) from error
    return image, header_size


def open_header(data: bytes, *, name: str = "") -> Image.Image:
    """Image file bytes opened lazily, their size and their header's pixel count checked, nothing decoded.

    Raises ImageError for an empty or oversized file, one that is not an image, or one over
    MAX_INPUT_PIXELS; every input path calls this before any decoding."""
    if not data:
        raise ImageError(_named(name, "the file is empty (0 bytes)"))
    if len(data) > MAX_INPUT_BYTES:
        raise ImageError(_named(name, too_many_bytes(len(data))))
    # Decoders raise many exception types for corrupt data (OSError, SyntaxError, struct.error,
    # zlib.error, ...); every one of them means the same thing to the user: not a readable image.
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise ImageError(_named(name, f"the image claims too many pixels ({error})")) from error
    except UnidentifiedImageError as error:
        message = "not an image file in a format we can read (PNG, JPEG, HEIC, GIF, BMP, TIFF, WebP, ...)"
        raise ImageError(_named(name, message)) from error
    except Exception as error:
        raise ImageError(_named(name, f"not a recognised image file ({_describe(error)})")) from error
    check_pixel_count(image.size, name)
    return image


def limit_decoding() -> None:
    """Make Pillow itself refuse, at `Image.open`, any image over twice MAX_INPUT_PIXELS, wherever it is
    opened (Gradio's own decoding of a component's value included); called once at start-up."""
    Image.MAX_IMAGE_PIXELS = MAX_INPUT_PIXELS


def check_pixel_count(size: tuple[int, int], name: str = "") -> None:
    """Raise ImageError when (width, height) is empty or exceeds MAX_INPUT_PIXELS."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageError(_named(name, f"the image has no pixels ({width}x{height})"))
    if width * height > MAX_INPUT_PIXELS:
        limit = f"{MAX_INPUT_PIXELS / 1e6:.0f} megapixels"
        raise ImageError(_named(name, f"{width}x{height} pixels is over the limit of {limit}; reduce the image first"))


def too_many_bytes(size: int) -> str:
    return f"the file is {size / 2**20:.1f} MiB; the limit is {MAX_INPUT_BYTES / 2**20:.0f} MiB"


def _named(name: str, message: str) -> str:
    """The message, prefixed with the file's name when there is one."""
    return f"{name}: {message}" if name else message


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__


def _load_pil(image: Image.Image, header_size: tuple[int, int] | None = None) -> LoadedImage:
    """A PIL image, oriented by its EXIF tag; `header_size` is its size before any draft decoding."""
    check_pixel_count(image.size)
    # Boxes are reported in the coordinates of the full-size input, even when it was decoded smaller.
    input_size = header_size or image.size
    orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    if orientation in _ROTATING_ORIENTATIONS:
        input_size = (input_size[1], input_size[0])
    if orientation != 1:
        try:
            image = ImageOps.exif_transpose(image)
        except Exception as error:
            raise ImageError(f"the image's EXIF orientation cannot be applied ({_describe(error)})") from error
    try:
        gray, fully_transparent = _pil_to_gray(image)
    except ValueError as error:
        raise ImageError(f"cannot convert an image of mode {image.mode} to grayscale ({error})") from error
    return LoadedImage(gray=gray, input_size=input_size, fully_transparent=fully_transparent)


def _pil_to_gray(image: Image.Image) -> tuple[np.ndarray, bool]:
    """Any PIL image -> (float32 (H, W) in [0, 1] on white, fully transparent?), reduced if large."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _array_to_gray(np.asarray(image))
    if image.mode in ("P", "L", "RGB") and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("La", "RGBa"):
        image = image.convert(image.mode.upper())  # Premultiplied alpha: undo it first.
    if image.mode in ("LA", "PA", "RGBA"):
        if image.getchannel("A").getextrema()[0] == _OPAQUE:
            # An opaque canvas (the Sketchpad's usual composite): plain luminance is 5x cheaper.
            return np.asarray(_reduce(image.convert("L")), dtype=np.float32) * np.float32(1 / 255), False
        luminance_alpha = np.asarray(_reduce(image.convert("LA")))
        return _composite_on_white(luminance_alpha[..., 0], luminance_alpha[..., 1])
    if image.mode not in ("L", "RGB", "1"):
        # CMYK, YCbCr, LAB and HSV go through RGB; RGB -> L is ITU-R 601 luma.
        image = image.convert("RGB")
    if image.mode != "L":
        image = image.convert("L")
    return np.asarray(_reduce(image), dtype=np.float32) * np.float32(1 / 255), False


def _reduce(image: Image.Image) -> Image.Image:
    """Shrink by a whole factor (box average) until the longest side is at most LOAD_MAX_SIDE."""
    return geometry.reduce_image(image, LOAD_MAX_SIDE)[0]


def _composite_on_white(luminance: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, bool]:
    """uint8 luminance and alpha (H, W) -> float32 gray on white in [0, 1], and whether alpha is all 0."""
    opacity = alpha.astype(np.float32) * np.float32(1 / 255)
    # Colour under alpha 0 is arbitrary (the canvas exports black there), so it must not leak in.
    gray = 1.0 - (1.0 - luminance.astype(np.float32) * np.float32(1 / 255)) * opacity
    return gray, bool(alpha.max() == 0)


def _load_array(array: np.ndarray) -> LoadedImage:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise ImageError(f"an image array must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {array.shape}")
    height, width = array.shape[:2]
    check_pixel_count((width, height), "the array")
    gray, fully_transparent = _array_to_gray(array)
    return LoadedImage(gray=gray, input_size=(width, height), fully_transparent=fully_transparent)


def _array_to_gray(array: np.ndarray) -> tuple[np.ndarray, bool]:
    """(H, W[, C]) array of any numeric dtype -> (float32 (H, W) in [0, 1] on white, fully transparent?)."""
    channels = 1 if array.ndim == 2 else array.shape[2]
    if array.dtype == np.uint8 and channels != 2:
        # uint8 goes through PIL's C conversions: the fast path for Sketchpad canvases.
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
        return _pil_to_gray(Image.fromarray(np.ascontiguousarray(array), mode))
    values = _unit_range(array)
    if channels == 1:
        gray, alpha = values, None
    else:
        if channels in (3, 4):
            gray = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114
        else:
            gray = values[..., 0]
        alpha = values[..., -1] if channels in (2, 4) else None
    fully_transparent = False
    if alpha is not None:
        gray = 1.0 - (1.0 - gray) * alpha
        fully_transparent = bool(alpha.max() == 0)
    return geometry.reduce_array(np.asarray(gray, dtype=np.float32), LOAD_MAX_SIDE)[0], fully_transparent


def _unit_range(array: np.ndarray) -> np.ndarray:
    """Scale bool, integer or float pixel values to float32 in [0, 1], refusing values that fit no range."""
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0:
            raise ImageError(f"integer pixel values must not be negative; the array's minimum is {low}")
        if array.dtype.itemsize == 2 or high > 255:  # 16-bit, in either byte order.
            if high > 65535:
                raise ImageError(f"integer pixel values must lie in 0..255 or 0..65535; the maximum is {high}")
            return array.astype(np.float32) * np.float32(1 / 65535)
        return array.astype(np.float32) * np.float32(1 / 255)
    if np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise ImageError("the image array holds NaN or infinite values")
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 255:
            raise ImageError(f"float pixel values must lie in [0, 1] or [0, 255]; this array spans [{low:g}, {high:g}]")
        return values if high <= 1.0 else values * np.float32(1 / 255)
    raise ImageError(f"cannot read an array of dtype {array.dtype} as an image; expected integers or floats")


def _load_canvas(value: Mapping[str, Any]) -> LoadedImage:
    """The Sketchpad/ImageEditor value: the composite, else the layers over the background."""
    composite = value.get("composite")
    layers = [layer for layer in (value.get("layers") or []) if layer is not None]
    background = value.get("background")
    if composite is None and not layers and background is None:
        return LoadedImage(gray=None, input_size=(0, 0), from_canvas=True, empty_reason=CANVAS_EMPTY)
    if composite is None:
        composite = _composite_layers(background, layers)
    loaded = load_image(composite)
    return LoadedImage(
        gray=loaded.gray,
        input_size=loaded.input_size,
        fully_transparent=loaded.fully_transparent,
        from_canvas=True,
        empty_reason=loaded.empty_reason,
    )


def _composite_layers(background: Any, layers: list[Any]) -> Image.Image:
    """Layers drawn over the background (or over white when there is none), as one RGBA image."""
    images = [_as_rgba(layer) for layer in layers]
    base = _as_rgba(background) if background is not None else None
    size = base.size if base is not None else images[0].size
    canvas = Image.new("RGBA", size, "white")
    for image in ([base] if base is not None else []) + images:
        layer = Image.new("RGBA", size, (0, 0, 0, 0))
        layer.paste(image, (0, 0))
        canvas = Image.alpha_composite(canvas, layer)
    return canvas


def _as_rgba(item: Any) -> Image.Image:
    """One canvas part (PIL image, numpy array, path or bytes) as an RGBA PIL image."""
    if isinstance(item, Image.Image):
        image = item
    elif isinstance(item, np.ndarray):
        if item.dtype != np.uint8:
            raise ImageError(f"canvas layers must be uint8 arrays; got {item.dtype}")
        check_pixel_count(item.shape[1::-1], "a canvas layer")
        image = Image.fromarray(np.ascontiguousarray(item))
    elif isinstance(item, str | os.PathLike):
        image, _ = open_image_bytes(read_file(Path(item)), name=Path(item).name)
    elif isinstance(item, bytes | bytearray | memoryview):
        image, _ = open_image_bytes(bytes(item))
    else:
        raise ImageError(f"cannot read a canvas layer of type {type(item).__name__}")
    check_pixel_count(image.size, "a canvas layer")
    return image.convert("RGBA")
