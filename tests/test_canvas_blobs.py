"""The canvas's posted blobs wait a while for the event that names them, then go."""

from __future__ import annotations

import numpy as np

from tests.test_canvas_value import png_bytes
from tests.test_webapp_handlers import drawn_one
from webapp.canvas_blobs import ExpiringBlobs


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def post_stroke(sketchpad, stroke_id: str) -> None:
    """Post background, layer and composite under stroke_id, as the page's canvas does after a stroke."""
    from gradio.components.image_editor import AcceptBlobs

    images = {
        "background": np.full((600, 600, 4), 255, np.uint8),
        "layer": drawn_one(transparent=True),
        "composite": drawn_one(),
    }
    for kind, image in images.items():
        data = {"type": kind, "index": 0 if kind == "layer" else None, "file": b"", "id": stroke_id}
        sketchpad.accept_blobs(AcceptBlobs(data=data, files=[("file", png_bytes(image))]))


def test_an_unclaimed_stroke_goes_after_its_lifetime_and_a_claimed_one_is_read():
    """Gradio keeps posted blobs until an event names them; the page's events seldom do, so they would pile up
    for the life of the process. Here they go after the lifetime, and a stroke claimed in time still reads."""
    from gradio.components.image_editor import EditorData

    from webapp.canvas import drawing_canvas

    sketchpad = drawing_canvas(elem_id="pad", label="pad", canvas_size=(600, 600), pen_radius=20)
    assert isinstance(sketchpad.blob_storage, ExpiringBlobs)
    clock = Clock()
    sketchpad.blob_storage = ExpiringBlobs(lifetime_s=60, clock=clock)
    post_stroke(sketchpad, "never-claimed")
    clock.now = 30.0
    post_stroke(sketchpad, "claimed")
    assert set(sketchpad.blob_storage) == {"never-claimed", "claimed"}

    clock.now = 61.0
    post_stroke(sketchpad, "later")  # Every post drops what has waited longer than the lifetime.
    assert set(sketchpad.blob_storage) == {"claimed", "later"}
    value = sketchpad.preprocess(EditorData(background=None, layers=[], composite=None, id="claimed"))
    assert value["composite"].min() == 0  # The drawn 1's black ink.
    assert set(sketchpad.blob_storage) == {"later"} and list(sketchpad.blob_storage.first_posted) == ["later"]


def test_no_more_than_the_most_strokes_wait():
    blobs = ExpiringBlobs(lifetime_s=60, most=3, clock=Clock())
    for number in range(5):
        blobs[f"stroke-{number}"] = number
        blobs[f"stroke-{number}"] = number  # A stroke's second and third posts keep its place in line.
    assert list(blobs) == ["stroke-2", "stroke-3", "stroke-4"] == list(blobs.first_posted)
    del blobs["stroke-3"]
    assert blobs.pop("stroke-9", None) is None and list(blobs.first_posted) == ["stroke-2", "stroke-4"]
