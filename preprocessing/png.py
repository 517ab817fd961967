"""The common PNG, decoded by libspng: the same pixels as Pillow's, in about two thirds of the time.

Every drawing the page sends and most uploads are 8-bit PNGs: a browser's canvas exports 8-bit RGBA
with no other chunk. Pillow spends about 3 ms of an answer's 15-25 ms of CPU decoding a 767x436
canvas PNG; libspng (the `pyspng` wheel, Linux x86-64 only) about 2 ms. Only files that both decode to
identical samples take this path: 8 bits per sample, grey, RGB or RGBA, every chunk's
checksum correct, and no chunk that Pillow reads into something this app uses (transparency, EXIF
orientation, text that may carry EXIF). Anything else, or no pyspng, gives None, and the caller
decodes with Pillow as before.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {0: "L", 2: "RGB", 6: "RGBA"}
"""PNG colour type -> Pillow's mode for the same samples. Palette (3) and grey + alpha (4, which libspng
cannot hand back as two channels) are left to Pillow."""
MODES = tuple(COLOUR_TYPES.values())
PLAIN_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"sRGB", b"gAMA", b"cHRM", b"iCCP", b"pHYs", b"sBIT", b"tIME"})
"""Chunks that change no sample Pillow returns (it applies neither gamma nor colour profiles) and none of
the image's `info` that loading reads."""


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
    try:
        import pyspng
    except ImportError:
        return None
    try:
        pixels = pyspng.load(data, format="RGBA" if as_rgba else mode)
    except (RuntimeError, ValueError):
        return None
    return pixels, mode
