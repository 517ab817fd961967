"""The common PNG, decoded by libspng: the same pixels as Pillow's, in about two thirds of the time.

Every drawing the page sends and most uploads are 8-bit PNGs: a browser's canvas exports 8-bit RGBA
with no other chunk. Pillow spends about 3 ms of an answer's 15-25 ms of CPU decoding a 767x436
canvas PNG; libspng (the `pyspng` wheel, Linux x86-64 only) about 2 ms. Only files that both decode to
identical samples take this path: 8 bits per sample, grey, RGB or RGBA, every chunk's
checksum correct, and no chunk that Pillow reads into something this app uses (transparency, EXIF
orientation, text that may carry EXIF). Anything else, or no pyspng, gives None, and the caller
decodes with Pillow as before. libspng is called through ctypes, which releases Python's lock while it
decodes, as Pillow's decoder does: pyspng's own `load` holds it, and an app under load runs one thread
of Python at a time. The library is opened so that it calls its own zlib, whatever was loaded before it
(`_libspng`): TensorFlow's copy, which it makes global, inflates at less than half the speed.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import struct
import zlib
from collections.abc import Collection
from pathlib import Path
from typing import NamedTuple

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {0: "L", 2: "RGB", 6: "RGBA"}
"""PNG colour type -> Pillow's mode for the same samples. Palette (3) and grey + alpha (4, which libspng
cannot hand back as two channels) are left to Pillow."""
MODES = tuple(COLOUR_TYPES.values())
PLAIN_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"sRGB", b"gAMA", b"cHRM", b"iCCP", b"pHYs", b"sBIT", b"tIME"})
"""Chunks that change no sample Pillow returns (it applies neither gamma nor colour profiles) and none of
the image's `info` that loading reads."""


HEADER_BYTES = len(SIGNATURE) + 16
"""A PNG's signature, and its first chunk's length, type, width and height."""


def header_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's first HEADER_BYTES bytes (its IHDR chunk); None when they are not a PNG's."""
    if len(head) < HEADER_BYTES or not head.startswith(SIGNATURE) or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack_from(">II", head, len(SIGNATURE) + 8)
    return width, height


def plain_png_mode(data: bytes) -> str | None:
    """Pillow's mode ("L", "RGB" or "RGBA") when `data` is an 8-bit PNG of plain chunks with correct
    checksums; None for anything else (palette, grey + alpha, 16-bit, transparency or EXIF chunks, damage)."""
    if not data.startswith(SIGNATURE):
        return None
    position, mode = len(SIGNATURE), None
    while position + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, position)
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if kind not in PLAIN_CHUNKS or end > len(data):
            return None
        body = data[position + 8 : end - 4]
        if zlib.crc32(body, zlib.crc32(kind)) != struct.unpack_from(">I", data, end - 4)[0]:
            return None
        if kind == b"IHDR":
            bit_depth, colour_type = body[8], body[9]
            mode = COLOUR_TYPES.get(colour_type) if bit_depth == 8 else None
            if mode is None:
                return None
        if kind == b"IEND":
            return mode
        position = end
    return None  # Truncated: Pillow says what is wrong.


def decode_plain_png(
    data: bytes, modes: Collection[str] = MODES, *, as_rgba: bool = False
) -> tuple[np.ndarray, str] | None:
    """(uint8 pixels (H, W) or (H, W, C), the file's Pillow mode) for a plain 8-bit PNG (`plain_png_mode`) of
    one of `modes`, decoded by libspng; None when the file is not one, pyspng is not installed, or libspng
    refuses the data (nothing is decoded then: the caller's decoding is not paid twice).

    as_rgba: the samples as RGBA (H, W, 4), an opaque alpha added to grey or RGB as Pillow's
    `convert("RGBA")` adds it."""
    mode = plain_png_mode(data)
    if mode not in modes:
        return None
    library = _libspng()
    if library is None:
        return None
    output = "RGBA" if as_rgba else mode
    width, height = struct.unpack_from(">II", data, len(SIGNATURE) + 8)  # IHDR, the first chunk
    samples = _decode(library, data, output, height * width * len(output))
    if samples is None:
        return None
    return samples.reshape((height, width) if output == "L" else (height, width, len(output))), mode


class _LibSpng(NamedTuple):
    """libspng's C API, as the pyspng extension exports it, called through ctypes."""

    functions: ctypes.CDLL
    formats: dict[str, int]  # Pillow's mode -> libspng's `spng_format` for 8-bit samples in that layout


SPNG_FORMATS = {"L": 64, "RGB": 4, "RGBA": 1}
"""Pillow's mode -> libspng's `enum spng_format` for 8-bit samples in that layout (SPNG_FMT_G8, _RGB8, _RGBA8)."""


@functools.cache
def _libspng() -> _LibSpng | None:
    """libspng through ctypes, or None without pyspng.

    pyspng's own `load` holds Python's lock (the GIL) for the whole decoding, about 2 ms of every answer
    during which no other request's Python can run; ctypes releases it for each call into the library, so
    under load other requests go on while a PNG decodes. The functions are libspng's public API, which
    the pyspng extension exports; without them, None (Pillow decodes).

    The extension carries its own zlib, but a library opened the usual way takes each function from the
    libraries already loaded first: once TensorFlow is imported (it loads its framework library globally,
    zlib included) that is TensorFlow's `inflate`, and a 767x436 canvas PNG took 1.5 ms instead of 0.65 ms
    (one core; in the app, 1.6 against 0.9 ms). RTLD_DEEPBIND makes it use its own, whatever the import
    order. pyspng's Python module is never imported, so nothing opens the file before this does.
    """
    path = _extension_path()
    if path is None:
        return None
    try:
        functions = ctypes.CDLL(str(path), mode=os.RTLD_NOW | getattr(os, "RTLD_DEEPBIND", 0))
        pointer, size, integer = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
        functions.spng_ctx_new.restype = pointer
        functions.spng_ctx_new.argtypes = [integer]
        functions.spng_ctx_free.argtypes = [pointer]
        functions.spng_ctx_free.restype = None
        functions.spng_set_chunk_limits.argtypes = [pointer, size, size]
        functions.spng_set_png_buffer.argtypes = [pointer, ctypes.c_char_p, size]
        functions.spng_decoded_image_size.argtypes = [pointer, integer, ctypes.POINTER(size)]
        functions.spng_decode_image.argtypes = [pointer, pointer, size, integer, integer]
    except (OSError, AttributeError):
        return None
    return _LibSpng(functions=functions, formats=SPNG_FORMATS)


def _extension_path() -> Path | None:
    """The pyspng wheel's compiled extension (libspng and its zlib), found without importing pyspng."""
    spec = importlib.util.find_spec("pyspng")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(path for folder in spec.submodule_search_locations for path in Path(folder).glob("_pyspng_c*.so"))
    return found[0] if found else None


CHUNK_LIMIT = 64 * 2**20
"""The most memory libspng may give the chunks it stores (pyspng's own limit)."""


def _decode(library: _LibSpng, data: bytes, mode: str, expected: int) -> np.ndarray | None:
    """The samples of the PNG `data` in `mode`'s layout, flat uint8 of `expected` bytes; None when libspng
    refuses the file or its size differs."""
    functions, spng_format = library.functions, library.formats[mode]
    context = functions.spng_ctx_new(0)
    if not context:
        return None
    try:
        functions.spng_set_chunk_limits(context, CHUNK_LIMIT, CHUNK_LIMIT)
        size = ctypes.c_size_t()
        if (
            functions.spng_set_png_buffer(context, data, len(data)) != 0
            or functions.spng_decoded_image_size(context, spng_format, ctypes.byref(size)) != 0
            or size.value != expected
        ):
            return None
        samples = np.empty(expected, dtype=np.uint8)
        if functions.spng_decode_image(context, samples.ctypes.data, expected, spng_format, 0) != 0:
            return None
        return samples
    finally:
        functions.spng_ctx_free(context)
