"""preprocessing.png: libspng takes only the PNGs it decodes to Pillow's very samples, and answers do not move."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from preprocessing import png, to_mnist

if png._libspng() is None:
    pytest.skip("pyspng has wheels for Linux x86-64 only; elsewhere Pillow decodes", allow_module_level=True)

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "assets" / "examples"
RANDOM = np.random.default_rng(0)


def encoded(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize("mode, channels", [("L", 1), ("RGB", 3), ("RGBA", 4)])
def test_a_plain_8_bit_png_decodes_to_pillows_samples(mode, channels):
    shape = (37, 53) if channels == 1 else (37, 53, channels)
    data = encoded(Image.fromarray(RANDOM.integers(0, 256, shape, dtype=np.uint8), mode))
    pixels, found = png.decode_plain_png(data)
    assert found == mode
    assert np.array_equal(pixels, np.asarray(Image.open(io.BytesIO(data))))


def rotated() -> Image.Exif:
    exif = Image.Exif()
    exif[274] = 6  # Orientation: turned 90 degrees.
    return exif


@pytest.mark.parametrize(
    "make",
    [
        lambda: encoded(Image.new("P", (20, 20), 3)),  # palette
        lambda: encoded(Image.new("LA", (20, 20), (9, 200))),  # grey + alpha: libspng cannot return it as is
        lambda: encoded(Image.new("I;16", (20, 20), 1000)),  # 16 bits per sample
        lambda: encoded(Image.new("RGB", (20, 20), "white"), transparency=(255, 255, 255)),  # tRNS
        lambda: encoded(Image.new("RGB", (20, 20), "white"), exif=rotated()),  # turned by its EXIF tag
        lambda: (EXAMPLES / "photo_0_black_ink.jpg").read_bytes(),  # not a PNG
    ],
    ids=["palette", "grey+alpha", "16-bit", "transparency", "exif", "jpeg"],
)
def test_anything_pillow_reads_differently_is_left_to_pillow(make):
    assert png.decode_plain_png(make()) is None


def test_a_damaged_or_truncated_png_is_left_to_pillow_and_its_message():
    data = bytearray(encoded(Image.new("RGB", (40, 40), "white")))
    idat = data.index(b"IDAT")
    data[idat + 6] ^= 0xFF  # The checksum no longer matches.
    assert png.decode_plain_png(bytes(data)) is None
    assert png.decode_plain_png(encoded(Image.new("RGB", (40, 40), "white"))[:-20]) is None


def test_libspng_is_called_through_ctypes_and_refuses_damaged_data_with_good_checksums():
    """ctypes lets other requests' Python run while a PNG decodes (pyspng's own `load` keeps the GIL)."""
    import struct
    import zlib

    assert png._libspng() is not None
    data = bytearray(encoded(Image.fromarray(RANDOM.integers(0, 256, (40, 40, 3), dtype=np.uint8))))
    idat = data.index(b"IDAT")
    (length,) = struct.unpack_from(">I", data, idat - 4)
    data[idat + 4 : idat + 4 + length] = bytes(length)  # Not a deflate stream, with a correct checksum.
    struct.pack_into(">I", data, idat + 4 + length, zlib.crc32(bytes(data[idat : idat + 4 + length])))
    assert png.plain_png_mode(bytes(data)) == "RGB"
    assert png.decode_plain_png(bytes(data)) is None


def test_every_example_reads_exactly_as_with_pillow_alone(monkeypatch):
    paths = sorted(path for path in EXAMPLES.iterdir() if path.suffix in {".png", ".jpg"})
    assert any(png.decode_plain_png(path.read_bytes()) for path in paths)
    fast = [to_mnist(path.read_bytes()).image for path in paths]
    monkeypatch.setattr(png, "decode_plain_png", lambda data: None)
    for path, image in zip(paths, fast, strict=True):
        assert np.array_equal(to_mnist(path.read_bytes()).image, image), path.name


def test_the_canvas_composite_is_the_array_gradios_decoding_makes():
    import gradio as gr

    from webapp.canvas import decoded_composite

    sketchpad = gr.Sketchpad()
    rgba = encoded(Image.fromarray(RANDOM.integers(0, 256, (60, 80, 4), dtype=np.uint8), "RGBA"))
    rgb = (EXAMPLES / "canvas_3.png").read_bytes()  # Not RGBA: Gradio's own decoding.
    for data in (rgba, rgb):
        assert np.array_equal(decoded_composite(sketchpad, data), sketchpad.convert_and_format_image(data, True))


def test_the_header_size_is_read_from_a_pngs_first_bytes_only():
    buffer = io.BytesIO()
    Image.new("RGB", (321, 123), "white").save(buffer, "PNG")
    assert png.header_size(buffer.getvalue()[: png.HEADER_BYTES]) == (321, 123)
    jpeg = io.BytesIO()
    Image.new("RGB", (321, 123), "white").save(jpeg, "JPEG")
    assert png.header_size(jpeg.getvalue()[: png.HEADER_BYTES]) is None
    assert png.header_size(buffer.getvalue()[:10]) is None


def test_libspng_inflates_with_its_own_zlib_after_tensorflow_is_loaded():
    """TensorFlow makes its zlib global; libspng opened after it must still call its own (2x faster).
    The dynamic linker's record of each binding it makes (LD_DEBUG) says which copy `inflate` is."""
    example = EXAMPLES / "canvas_3.png"
    program = (
        "import tensorflow\nfrom preprocessing import png\n"
        f"assert png.decode_plain_png(open({str(example)!r}, 'rb').read())\n"
    )
    environment = {**os.environ, "LD_DEBUG": "bindings", "PYTHONPATH": str(REPOSITORY), "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", program], env=environment, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    bindings = [line for line in run.stderr.splitlines() if "_pyspng_c" in line and "symbol `inflate'" in line]
    assert bindings, "the linker recorded no binding of libspng's inflate"
    assert all("_pyspng_c" in line.rpartition(" to ")[2] for line in bindings), bindings
