"""The drawing canvas, one recipe for every tab: a black round pen ready at once, nothing else to learn."""

from __future__ import annotations

import gradio as gr


def drawing_canvas(
    *, elem_id: str, label: str, canvas_size: tuple[int, int], pen_radius: int, height: int | None = None
) -> gr.Sketchpad:
    """A Sketchpad of canvas_size (width, height) px with a black pen of pen_radius px and an eraser twice as wide.

    No layers, transforms or colour choice: a person draws, undoes or clears. The class
    `digit-canvas` lets webapp/static/page.js select the brush whenever Gradio deselects it.
    """
    return gr.Sketchpad(
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
