"""The drawing canvas, one recipe for every tab: a black round pen ready at once, nothing else to learn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from preprocessing import loading, png
from webapp.canvas_blobs import ExpiringBlobs

CANVAS_TITLE = "Cannot read this drawing"


def limit_before_decoding(sketchpad: gr.Sketchpad) -> gr.Sketchpad:
    """Make `sketchpad` check every image of its value (background, layers, composite) by size in bytes and
    by the pixel count in its header before Gradio decodes it, with the upload path's message.

    Gradio decodes the canvas value itself, before any handler runs: without this check a 0.6 MB PNG
    claiming 12,000 x 12,000 transparent pixels, sent through the page's own event, took 13-30 s and
    up to 4.2 GB of memory before the app's own limit answered. The check wraps this one component's
    decoding step (a subclass would be a component the browser does not know)."""
    decode = sketchpad.convert_and_format_image

    def checked_then_decoded(file: Any, flatten_on_white: bool = False) -> Any:
        if file is not None:
            check_canvas_image(file)
        return decode(file, flatten_on_white)

    sketchpad.convert_and_format_image = checked_then_decoded
    return decode_only_the_composite(sketchpad)


def decode_only_the_composite(sketchpad: gr.Sketchpad) -> gr.Sketchpad:
    """Make `sketchpad` hand its handlers the composite alone, leaving the background and the layer undecoded.

    The handlers read the composite only (`preprocessing.loading`: the layers over the background are
    what it already is). Gradio decodes all three, three 600x600 PNGs per stroke: two thirds of the
    canvas's decoding for nothing. That holds for both ways a value arrives: as uploaded files, and
    as the blobs the browser's canvas posts before its change event (`accept_blobs`), which the event
    then names by their `id` (what a drawing on the page sends). A value without a composite goes
    through Gradio's own decoding as before.
    """
    preprocess = sketchpad.preprocess

    def composite_only(payload: Any) -> Any:
        if payload is None:
            return preprocess(payload)
        if payload.id is not None:
            blobs = sketchpad.blob_storage.get(payload.id)
            if blobs is None or blobs.composite is None:
                return preprocess(payload)
            sketchpad.blob_storage.pop(payload.id, None)  # As Gradio's own preprocess does: used once.
            composite = blobs.composite
        elif payload.composite is not None:
            composite = payload.composite
        else:
            return preprocess(payload)
        return {"background": None, "layers": [], "composite": decoded_composite(sketchpad, composite)}

    sketchpad.preprocess = composite_only
    return sketchpad


def decoded_composite(sketchpad: gr.Sketchpad, file: Any) -> Any:
    """The composite (FileData or bytes) as Gradio would hand it to the handler, checked against the limits.

    A canvas PNG (8-bit RGBA, or RGB, `preprocessing.png`) for a numpy RGBA Sketchpad is decoded by
    libspng into the array that Gradio's Pillow decoding and RGBA conversion would make (an opaque alpha
    added to RGB, as Pillow's conversion does), about a millisecond sooner per stroke. Anything else goes
    through Gradio's own decoding."""
    if sketchpad.type == "numpy" and sketchpad.image_mode == "RGBA":
        plain = png.decode_plain_png(check_canvas_image(file), modes=("RGB", "RGBA"), as_rgba=True)
        if plain is not None:
            return plain[0]
    return sketchpad.convert_and_format_image(file, True)


def check_canvas_image(file: Any) -> bytes:
    """The bytes of a canvas image (Gradio FileData or bytes); gr.Error when it is over loading's byte or
    pixel limits, with the upload path's message (`loading.open_header`: only the size and the header
    are read)."""
    try:
        if isinstance(file, bytes | bytearray | memoryview):
            data = bytes(file)
        else:
            size = Path(file.path).stat().st_size
            if size > loading.MAX_INPUT_BYTES:  # Not even read into memory.
                raise loading.ImageError(loading.too_many_bytes(size))
            data = Path(file.path).read_bytes()
        loading.open_header(data).close()
        return data
    except loading.ImageError as error:
        raise gr.Error(str(error), title=CANVAS_TITLE) from error
    except OSError as error:
        raise gr.Error(f"the drawing cannot be read ({error})", title=CANVAS_TITLE) from error


def drawing_canvas(
    *, elem_id: str, label: str, canvas_size: tuple[int, int], pen_radius: int, height: int | None = None
) -> gr.Sketchpad:
    """A Sketchpad of canvas_size (width, height) px with a black pen of pen_radius px and an eraser twice as wide.

    No layers, transforms or colour choice: a person draws, undoes or clears. The class
    `digit-canvas` lets webapp/static/page.js select the brush whenever Gradio deselects it.
    """
    sketchpad = gr.Sketchpad(
        elem_id=elem_id,
        elem_classes=["digit-canvas"],
        label=label,
        canvas_size=canvas_size,
        fixed_canvas=True,
        height=height,
        brush=gr.Brush(default_size=pen_radius, colors=["#000000"], color_mode="fixed"),
        eraser=gr.Eraser(default_size=pen_radius * 2),
        layers=False,
        transforms=(),
        buttons=[],
    )
    # Gradio keeps every stroke's posted images until an event names them, and the page's events seldom do.
    sketchpad.blob_storage = ExpiringBlobs()
    return limit_before_decoding(sketchpad)


def image_upload(*, elem_id: str, label: str, height: int) -> gr.Image:
    """An image input from a file, the camera or the clipboard, handed to its handler as a file path.

    The path goes to preprocessing untouched: it applies EXIF rotation and composites transparency
    onto white, which Gradio's own conversion would not, and checks size and pixel count before decoding.
    """
    return gr.Image(
        elem_id=elem_id,
        label=label,
        sources=["upload", "webcam", "clipboard"],
        type="filepath",
        image_mode=None,
        height=height,
    )
