"""The Number tab: draw or upload a whole number, see each digit found, its 28x28 and every model's answer.

`build_number_tab(models)` is called inside an open `gr.Blocks()` / `gr.Tab("Number")`: it lays out
a wide canvas (`elem_id="number-sketchpad"`) and an upload, the answer (`elem_id="number"`, whose
visible text starts with the digit string), the image with a box and the digit over each part
found, and one 28x28 per digit with its confidence and the four models' answers. It also registers
the HTTP endpoint `/read_number`: one image file in, DESIGN.md's object (without `path`) out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

import preprocessing
from digit_models.base import DigitModel
from digit_models.reading import numbers
from webapp import rendering
from webapp.canvas import drawing_canvas, image_upload
from webapp.file_endpoints import file_to_json_endpoint
from webapp.handlers import is_empty

CANVAS_SIZE = (1200, 400)
"""Width and height of the number canvas: room for about six digits of a comfortable size."""

PEN_RADIUS = 20
"""The single-digit canvas's pen: digits drawn across the 400-pixel height look like MNIST's strokes."""

DRAW_PROMPT = "Draw a number"
UPLOAD_PROMPT = "Upload or photograph a number"
SHORT_NAMES = {"knn": "KNN", "rf": "Forest", "sgd": "SGD", "cnn": "CNN"}
SURE_COLOUR, UNSURE_COLOUR = (22, 163, 74), (217, 119, 6)


def build_number_tab(models: Mapping[str, DigitModel], examples: Sequence[str] = ()) -> None:
    """Lay out the Number tab and wire its events, inside an open Blocks/Tab context.

    examples: image files of whole numbers shown as a clickable gallery under the upload."""
    answer = gr.HTML(_prompt_html(DRAW_PROMPT), elem_id="number")
    with gr.Tab("Draw"):
        sketchpad = drawing_canvas(
            elem_id="number-sketchpad",
            label="Draw a number, one digit after another",
            canvas_size=CANVAS_SIZE,
            pen_radius=PEN_RADIUS,
        )
    with gr.Tab("Upload or photograph"):
        upload = image_upload(elem_id="number-upload", label="A photo, scan or image of a number", height=300)
        if examples:
            gr.Examples(
                examples=list(examples),
                inputs=upload,
                label="Examples: a drawn number, a photo of a handwritten number, touching digits (click one)",
            )
    found = gr.Image(label="Digits found", format="png", interactive=False, buttons=[])
    digits = gr.Gallery(label="What the models see, digit by digit", columns=6, height="auto", allow_preview=False)

    reader = NumberReader(models)
    outputs = [answer, found, digits]
    live = {"outputs": outputs, "show_progress": "hidden", "trigger_mode": "always_last", "api_visibility": "private"}
    sketchpad.change(reader.show_canvas, sketchpad, **live)
    sketchpad.clear(lambda: reader.show(None, DRAW_PROMPT), None, **live)
    upload.change(reader.show_upload, upload, **live)

    file_to_json_endpoint(
        reader.read_number,
        "read_number",
        api_description="One image file of a number in; the digit string, its confidence and each digit's answers out.",
    )


class NumberReader:
    """The Number tab's handlers, bound to loaded models (key -> DigitModel, the ensemble included)."""

    def __init__(self, models: Mapping[str, DigitModel]) -> None:
        self.models = models

    def __repr__(self) -> str:
        return f"NumberReader(models={sorted(self.models)})"

    def show_canvas(self, value: Mapping[str, Any] | None) -> tuple[Any, ...]:
        """Sketchpad value {background, layers, composite} -> (answer HTML, annotated image, gallery)."""
        return self.show(value, DRAW_PROMPT)

    def show_upload(self, path: str | None) -> tuple[Any, ...]:
        return self.show(path, UPLOAD_PROMPT)

    def show(self, source: Any, prompt: str) -> tuple[Any, ...]:
        if is_empty(source):
            return _prompt_html(prompt), None, []
        reading = self._read(source)
        result = reading.answer
        if result["number"] is None:
            return _prompt_html(prompt, result["message"]), None, []
        shown, scale = _display_image(source)
        picture = annotate(shown, result["digits"], scale)
        gallery = [
            (rendering.enlarge(image), digit_caption(digit))
            for image, digit in zip(reading.images, result["digits"], strict=True)
        ]
        return number_html(result), picture, gallery

    def read_number(self, path: str | None) -> dict[str, Any]:
        """The /read_number endpoint: one image file -> DESIGN.md's object without `path`; gr.Error when unreadable."""
        if not path:
            raise gr.Error("Send one image file (PNG, JPEG, HEIC, WebP, ...).", title="No image")
        return self._read(path).answer

    def _read(self, source: Any) -> numbers.NumberReading:
        try:
            return numbers.read_number_details(self.models, source)
        except preprocessing.ImageError as error:
            raise gr.Error(str(error), title="Cannot read this image") from error


def number_html(result: Mapping[str, Any]) -> str:
    """The answer: the digit string first, then its confidence and the digits the models doubt."""
    doubtful = [str(position + 1) for position, digit in enumerate(result["digits"]) if rendering.is_unsure(digit)]
    count = len(result["digits"])
    detail = f"{count} digit{'s' if count != 1 else ''}, {result['confidence']:.0%} sure of the whole number"
    if doubtful:
        detail += f"; I'm not sure of digit{'s' if len(doubtful) > 1 else ''} {', '.join(doubtful)}"
    return (
        f'<div class="number-answer"><div class="number-digits">{html.escape(result["number"])}</div>\n'
        f'<div class="number-detail">{html.escape(detail)}</div></div>'
    )


def digit_caption(digit: Mapping[str, Any]) -> str:
    """One digit's caption: the digit and confidence, "I'm not sure" when in doubt, each model's digit (and
    the line reader's, for a digit cut out of touching digits)."""
    members = " · ".join(
        f"{SHORT_NAMES.get(key, key)} {int(np.argmax(values))}" for key, values in digit["models"].items()
    )
    if digit.get("line") is not None:
        members += f" · Line {int(np.argmax(digit['line']))}"
    doubt = "I'm not sure: " if rendering.is_unsure(digit) else ""
    return f"{doubt}{digit['digit']} ({digit['confidence']:.0%}) — {members}"


def annotate(image: Image.Image, digits: list[Mapping[str, Any]], scale: float = 1.0) -> np.ndarray:
    """The input with a box and the digit over each digit found: uint8 RGB (H, W, 3).

    Boxes are in the input's pixels (as in the JSON), times `scale` for a reduced copy of the input;
    sure digits green, doubted ones amber.
    """
    picture = image.convert("RGB")
    draw = ImageDraw.Draw(picture)
    line = max(2, round(max(picture.size) / 300))
    for digit in digits:
        left, top, right, bottom = (round(scale * value) for value in digit["box"])
        colour = UNSURE_COLOUR if rendering.is_unsure(digit) else SURE_COLOUR
        draw.rectangle([left, top, right - 1, bottom - 1], outline=colour, width=line)
        size = max(12, round(0.3 * (bottom - top)))
        font = ImageFont.load_default(size=size)
        label = str(digit["digit"])
        text_top = max(top - size - line, 0)
        draw.rectangle([left, text_top, left + int(0.7 * size) + 2 * line, text_top + size + line], fill=colour)
        draw.text((left + line, text_top), label, fill=(255, 255, 255), font=font)
    return np.asarray(picture)


DISPLAY_SIDE = 1200
"""Longest side of the picture the boxes are drawn on: a screen's worth, whatever the upload's resolution."""


def _display_image(source: Any) -> tuple[Image.Image, float]:
    """The input as the person sees it, on white, EXIF rotation applied, reduced to DISPLAY_SIDE at most:
    what the boxes are drawn on, and its size over the input's (the boxes' scale).

    A JPEG is decoded at a reduced scale from the start (`Image.draft`), never at full resolution.
    """
    if isinstance(source, Mapping):
        source = source.get("composite") if source.get("composite") is not None else source.get("background")
    image = Image.fromarray(np.asarray(source)) if isinstance(source, np.ndarray) else source
    if not isinstance(image, Image.Image):
        image = Image.open(image)
    full = image.size
    if (image.getexif().get(ORIENTATION_TAG) or 1) in SWAPPED_ORIENTATIONS:
        full = full[::-1]
    image.draft("RGB", (DISPLAY_SIDE, DISPLAY_SIDE))  # JPEG only: decode at 1/2, 1/4 or 1/8 of full size
    image = ImageOps.exif_transpose(image)
    image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return image.convert("RGB"), image.size[0] / full[0]


ORIENTATION_TAG = 0x0112
SWAPPED_ORIENTATIONS = (5, 6, 7, 8)
"""EXIF orientations that turn the picture a quarter: its width and height swap."""


def _prompt_html(prompt: str, message: str = "") -> str:
    detail = f'<div class="number-detail">{html.escape(message)}</div>' if message else ""
    return f'<div class="number-empty"><div class="number-prompt">{html.escape(prompt)}</div>{detail}</div>'
