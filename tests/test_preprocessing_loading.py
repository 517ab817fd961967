"""Loading: every input type and mode becomes the same grayscale image; bad files fail fast and clearly."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from preprocessing import MAX_INPUT_BYTES, MAX_INPUT_PIXELS, ImageError, loading, to_mnist

SIDE = 64


@pytest.fixture(scope="module")
def dark_on_white() -> np.ndarray:
    """uint8 (64, 64): a black bar and a grey square on white, so channels and levels matter."""
    image = np.full((SIDE, SIDE), 255, dtype=np.uint8)
    image[10:50, 20:28] = 0
    image[40:56, 36:52] = 128
    return image


def encode(image: Image.Image, file_format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height 8-bit gray pixels, with almost no data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + png_chunk(b"IEND", b"")
    )


def gray_of(source) -> np.ndarray:
    loaded = loading.load_image(source)
    assert loaded.gray is not None and loaded.gray.dtype == np.float32
    return loaded.gray


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: a, id="uint8 (H, W)"),
        pytest.param(lambda a: a[..., None], id="uint8 (H, W, 1)"),
        pytest.param(lambda a: np.dstack([a] * 3), id="uint8 (H, W, 3)"),
        pytest.param(lambda a: np.dstack([a] * 3 + [np.full_like(a, 255)]), id="uint8 (H, W, 4) opaque"),
        pytest.param(lambda a: a.astype(np.float32) / 255, id="float [0, 1]"),
        pytest.param(lambda a: a.astype(np.float64), id="float [0, 255]"),
        pytest.param(lambda a: a.astype(np.uint16) * 257, id="uint16"),
        pytest.param(lambda a: np.dstack([a] * 3).astype(np.float32) / 255, id="float (H, W, 3)"),
    ],
)
def test_every_array_layout_gives_the_same_gray(dark_on_white, convert):
    np.testing.assert_allclose(gray_of(convert(dark_on_white)), dark_on_white / 255, atol=1 / 255)


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda image: image, id="L"),
        pytest.param(lambda image: image.convert("RGB"), id="RGB"),
        pytest.param(lambda image: image.convert("RGBA"), id="RGBA"),
        pytest.param(lambda image: image.convert("LA"), id="LA"),
        pytest.param(lambda image: image.convert("P"), id="P"),
        pytest.param(lambda image: image.convert("CMYK"), id="CMYK"),
        pytest.param(lambda image: image.convert("I"), id="I"),
        pytest.param(lambda image: image.convert("F"), id="F"),
        pytest.param(lambda image: Image.fromarray(np.asarray(image).astype(np.uint16) * 257), id="I;16"),
    ],
)
def test_every_pil_mode_gives_the_same_gray(dark_on_white, convert):
    image = convert(Image.fromarray(dark_on_white))
    np.testing.assert_allclose(gray_of(image), dark_on_white / 255, atol=2 / 255)
    # The same image as a file on disk (where the format can hold the mode) reads the same.
    if image.mode not in ("F", "CMYK", "I"):
        np.testing.assert_allclose(gray_of(encode(image)), dark_on_white / 255, atol=2 / 255)


def test_bilevel_image_is_read(dark_on_white):
    gray = gray_of(Image.fromarray(dark_on_white).convert("1", dither=Image.Dither.NONE))
    assert gray[30, 24] == 0.0 and gray[5, 5] == 1.0


def test_transparency_is_composited_onto_white():
    # Black ink on a transparent canvas, with the colour under alpha 0 also black (what the canvas exports).
    alpha = np.zeros((SIDE, SIDE), dtype=np.uint8)
    alpha[10:50, 20:28] = 255
    alpha[30, 40] = 128
    rgba = np.dstack([np.zeros_like(alpha)] * 3 + [alpha])
    gray = gray_of(rgba)
    assert gray[5, 5] == 1.0 and gray[30, 24] == 0.0
    assert gray[30, 40] == pytest.approx(1 - 128 / 255, abs=1 / 255)


def test_palette_transparency_is_composited_onto_white():
    indices = np.zeros((SIDE, SIDE), dtype=np.uint8)
    indices[10:50, 20:28] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([0, 0, 0, 0, 0, 0])
    gray = gray_of(encode(image, transparency=0))
    assert gray[5, 5] == 1.0 and gray[30, 24] == 0.0


def test_fully_transparent_image_is_flagged():
    loaded = loading.load_image(np.zeros((SIDE, SIDE, 4), dtype=np.uint8))
    assert loaded.fully_transparent


def test_exif_orientation_is_honoured(dark_on_white):
    upright = Image.fromarray(dark_on_white[:, :48])  # 48 wide, 64 high
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to display"
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    loaded = loading.load_image(encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert loaded.input_size == (48, 64)
    assert np.abs(loaded.gray - dark_on_white[:, :48] / 255).mean() < 0.02


def test_iphone_heic_photo_is_read_upright(dark_on_white):
    # As an iPhone stores a portrait photo: the sensor's landscape pixels and "turn to display".
    upright = Image.fromarray(dark_on_white[:, :48]).convert("RGB")  # 48 wide, 64 high
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    data = encode(stored, "HEIF", quality=95, exif=exif.tobytes())
    assert data[4:12] == b"ftypheic"
    loaded = loading.load_image(data)
    assert loaded.input_size == (48, 64)  # Turned once: not left lying, not turned twice.
    assert np.abs(loaded.gray - dark_on_white[:, :48] / 255).mean() < 0.03


def test_animated_image_uses_its_first_frame(dark_on_white):
    frames = [Image.fromarray(dark_on_white), Image.fromarray(255 - dark_on_white)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    np.testing.assert_allclose(gray_of(data), dark_on_white / 255, atol=2 / 255)


def test_path_string_path_and_bytes_give_the_same_gray(dark_on_white, tmp_path):
    path = tmp_path / "digit.png"
    Image.fromarray(dark_on_white).save(path)
    expected = dark_on_white / 255
    for source in (path, str(path), path.read_bytes(), bytearray(path.read_bytes())):
        np.testing.assert_allclose(gray_of(source), expected, atol=1 / 255)


def test_large_jpeg_is_decoded_reduced_but_reports_full_size_boxes():
    image = Image.new("L", (4000, 3000), 255)
    image.paste(0, (3600, 2500, 3700, 2900))  # A bar near the bottom-right corner.
    loaded = loading.load_image(encode(image, "JPEG", quality=90))
    assert loaded.input_size == (4000, 3000)
    assert max(loaded.gray.shape) <= loading.LOAD_MAX_SIDE
    result = to_mnist(encode(image, "JPEG", quality=90))
    assert result.found
    left, top, right, bottom = result.box
    assert abs(left - 3600) <= 12 and abs(top - 2500) <= 12 and abs(right - 3700) <= 12 and abs(bottom - 2900) <= 12


def test_large_array_is_reduced():
    loaded = loading.load_image(np.full((3000, 2000), 200, dtype=np.uint8))
    assert max(loaded.gray.shape) <= loading.LOAD_MAX_SIDE
    assert loaded.input_size == (2000, 3000)


class TestCanvasValue:
    """The Gradio Sketchpad/ImageEditor value: {"background", "layers", "composite"}."""

    def test_untouched_canvas_is_empty(self):
        loaded = loading.load_image({"background": None, "layers": [], "composite": None})
        assert loaded.gray is None and loaded.empty_reason == "the canvas is empty"

    def test_composite_is_used(self, dark_on_white):
        composite = np.dstack([dark_on_white] * 3 + [np.full_like(dark_on_white, 255)])
        value = {"background": None, "layers": [np.zeros((SIDE, SIDE, 4), dtype=np.uint8)], "composite": composite}
        np.testing.assert_allclose(gray_of(value), dark_on_white / 255, atol=1 / 255)

    def test_layers_are_composited_over_the_background_when_there_is_no_composite(self):
        ink = np.zeros((SIDE, SIDE, 4), dtype=np.uint8)
        ink[10:50, 20:28, 3] = 255
        background = Image.new("RGB", (SIDE, SIDE), (200, 200, 200))
        gray = gray_of({"background": background, "layers": [ink, None], "composite": None})
        assert gray[30, 24] == 0.0 and gray[5, 5] == pytest.approx(200 / 255, abs=1 / 255)
        gray = gray_of({"background": None, "layers": [Image.fromarray(ink, "RGBA")], "composite": None})
        assert gray[30, 24] == 0.0 and gray[5, 5] == 1.0


def test_no_input_is_not_an_error():
    assert loading.load_image(None).empty_reason


def test_image_error_can_be_caught_as_a_value_error():
    with pytest.raises(ValueError, match="empty"):
        to_mnist(b"")


def truncated(file_format: str) -> bytes:
    data = encode(Image.effect_noise((200, 200), 60).convert("L"), file_format)
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(np.random.default_rng(0).bytes(2000), "not an image file", id="random bytes"),
        pytest.param(b"", "empty", id="zero bytes"),
        pytest.param(truncated("PNG"), "damaged or truncated", id="truncated PNG"),
        pytest.param(truncated("JPEG"), "damaged or truncated", id="truncated JPEG"),
        pytest.param(png_header_only(50_000, 50_000), "too many pixels", id="PNG claiming 50000x50000"),
        pytest.param(png_header_only(8_000, 8_000), "over the limit", id="PNG claiming 64 megapixels"),
        pytest.param(np.full((8, 8), np.nan), "NaN", id="NaN array"),
        pytest.param(np.full((8, 8), -1.0), "must lie in", id="negative floats"),
        pytest.param(np.zeros((8, 8, 5), dtype=np.uint8), "shape", id="five channels"),
        pytest.param(np.zeros((0, 8), dtype=np.uint8), "no pixels", id="empty array"),
        pytest.param(12, "cannot read a int", id="a number"),
    ],
)
def test_bad_input_raises_image_error(source, expected):
    with pytest.raises(ImageError, match=expected):
        to_mnist(source)


def test_missing_file_and_folder_raise_image_error(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        to_mnist(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="folder"):
        to_mnist(tmp_path)


def test_file_over_the_byte_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("L", (64, 64), 255).save(path)
    monkeypatch.setattr(loading, "MAX_INPUT_BYTES", 100)
    with pytest.raises(ImageError, match="limit"):
        to_mnist(path)
    with pytest.raises(ImageError, match="limit"):
        to_mnist(path.read_bytes())


def test_pixel_limit_admits_exactly_max_input_pixels():
    width = 8000
    loading.check_pixel_count((MAX_INPUT_PIXELS // width, width))
    with pytest.raises(ImageError, match="over the limit"):
        loading.check_pixel_count((MAX_INPUT_PIXELS // width + 1, width))


def test_byte_limit_admits_exactly_max_input_bytes():
    with pytest.raises(ImageError, match="not an image file"):
        to_mnist(bytes(MAX_INPUT_BYTES))
    with pytest.raises(ImageError, match="limit"):
        to_mnist(bytes(MAX_INPUT_BYTES + 1))
