"""The canvas's value as the page sends it: only the composite is decoded, however it arrives."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.test_webapp_handlers import drawn_one


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_canvas_decodes_only_its_composite_however_the_value_arrives():
    """The page's canvas posts background, layer and composite as blobs and names them by an id in its event;
    only the composite is decoded (and the blobs are dropped once used), as for a value of uploaded files."""
    from gradio.components.image_editor import EditorData, EditorDataBlobs

    from webapp.canvas import drawing_canvas

    sketchpad = drawing_canvas(elem_id="pad", label="pad", canvas_size=(600, 600), pen_radius=20)
    white = np.full((600, 600, 4), 255, np.uint8)
    sketchpad.blob_storage["stroke-1"] = EditorDataBlobs(
        background=png_bytes(white), layers=[png_bytes(drawn_one(transparent=True))], composite=png_bytes(drawn_one())
    )
    value = sketchpad.preprocess(EditorData(background=None, layers=[], composite=None, id="stroke-1"))
    assert value["background"] is None and value["layers"] == []
    assert value["composite"].shape[:2] == (600, 600) and value["composite"].min() == 0  # The 1's black ink.
    assert "stroke-1" not in sketchpad.blob_storage
