"""What the "Why?" view shows for one explanation (digit_models/explain.py): pure functions, no events.

- `saliency_image`: one model's map drawn over the 28x28 input, on the one diverging colour
  scale every map shares (red: pushed towards that model's answer, blue: against it), with
  the input's ink as grey underneath, so a learner sees which strokes counted.
- `model_maps`: (image, caption) per model that has a map, for a gallery.
- `neighbours_html`: the KNN's nearest training digits as a strip with label, distance and
  share of the vote; it wraps to a second row below 390 px.
- `legend_html`: the colour scale explained in words.
Images are uint8 RGB (h, w, 3). Each map is scaled by its own largest magnitude because the
models' units differ (probability drops, logits, decision-score evidence); the colours say
"more" or "less" within one model, not across models.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from digit_models.names import SHORT_NAMES

MAP_SCALE = 8
"""Each input pixel becomes an 8x8 square: 224 px maps, two side by side fit 390 px with margins."""
NEIGHBOUR_SCALE = 3
"""Neighbour thumbnails are 84 px: four in a row fit 390 px."""
TOWARDS = np.array([214, 39, 40], dtype=np.float64)  # Red: pushed towards the model's answer.
AGAINST = np.array([31, 119, 180], dtype=np.float64)  # Blue: pushed against it.
PAPER = np.array([255, 255, 255], dtype=np.float64)
INK_GREY = 0.55
"""How dark the input's ink shows under the colours (0 white, 1 black): visible, never louder than the map."""
METHODS = {
    "rf": "occlusion: how much its vote fell when each small square of ink was hidden",
    "sgd": "weight x pixel: each pixel's exact share of its score",
    "cnn": "integrated gradients: each pixel's share of its score, from a blank image to yours",
}

LEGEND = (
    "Red: this ink pushed the model towards its answer. Blue: it pushed against it. "
    "White or grey: it hardly mattered. The darker the colour, the more it counted "
    "(compared within one model's map)."
)


def saliency_image(input_image: np.ndarray, saliency: np.ndarray, *, scale: int = MAP_SCALE) -> np.ndarray:
    """The map over the input: float (28, 28) input in [0, 1] and signed saliency (28, 28) -> uint8 (28s, 28s, 3)."""
    pixels = np.clip(np.asarray(input_image, dtype=np.float64), 0.0, 1.0)
    values = np.asarray(saliency, dtype=np.float64)
    largest = np.abs(values).max()
    strength = values / largest if largest > 0 else np.zeros_like(values)  # In [-1, 1].
    base = PAPER * (1 - INK_GREY * pixels[..., None])  # The digit in grey on white.
    colour = np.where(strength[..., None] >= 0, TOWARDS, AGAINST)
    alpha = np.abs(strength)[..., None] ** 0.7  # A gentle curve so mid-sized evidence stays visible.
    mixed = base * (1 - alpha) + colour * alpha
    enlarged = np.repeat(np.repeat(mixed, scale, axis=0), scale, axis=1)
    return np.clip(np.round(enlarged), 0, 255).astype(np.uint8)


def model_maps(explanation: Mapping[str, Any]) -> list[tuple[np.ndarray, str]]:
    """(map image, caption) for every model with a saliency map, in the explanation's order."""
    input_image = np.asarray(explanation["input"], dtype=np.float64)
    items = []
    for key, model in (explanation.get("models") or {}).items():
        if "saliency" not in model:
            continue
        name = SHORT_NAMES.get(key, key)
        method = METHODS.get(key, "")
        caption = f"{name} said {model['digit']}" + (f" ({method})" if method else "")
        items.append((saliency_image(input_image, model["saliency"]), caption))
    return items


def template_image(template: np.ndarray, *, scale: int = MAP_SCALE) -> np.ndarray:
    """The linear model's weights for one digit, on the same colours: red where ink counts for it, blue against."""
    return saliency_image(np.zeros((28, 28)), template, scale=scale)


def neighbour_strip(images: np.ndarray, *, scale: int = NEIGHBOUR_SCALE, gap: int = 4) -> np.ndarray:
    """uint8 (k, 28, 28) MNIST digits (ink bright) -> one uint8 RGB strip, dark ink on white, side by side."""
    tiles = [255 - np.repeat(np.repeat(np.asarray(image, np.uint8), scale, 0), scale, 1) for image in images]
    side = 28 * scale
    strip = np.full((side, max(len(tiles) * (side + gap) - gap, 1)), 255, dtype=np.uint8)
    for number, tile in enumerate(tiles):
        strip[:, number * (side + gap) : number * (side + gap) + side] = tile
    return np.repeat(strip[..., None], 3, axis=2)


def neighbours_html(explanation: Mapping[str, Any], images: np.ndarray) -> str:
    """The KNN's neighbours as an HTML strip: each thumbnail with its label, distance and vote.

    images: uint8 (k, 28, 28), the neighbours' MNIST digits in the explanation's order
    (digit_models.explain.neighbour_images).
    """
    knn = (explanation.get("models") or {}).get("knn")
    if not knn:
        return ""
    figures = []
    for neighbour, image in zip(knn["neighbours"], images, strict=True):
        thumbnail = neighbour_strip(np.asarray(image)[None])
        source = f"MNIST training digit #{neighbour['index']}" if neighbour.get("index") is not None else "training"
        vote = f", vote {neighbour['vote']:.0%}" if "vote" in neighbour else ""
        figures.append(
            '<figure style="margin:0;text-align:center;width:84px">'
            f'<img src="{_png_data_uri(thumbnail)}" width="84" height="84" alt="{html.escape(source)}" '
            'style="image-rendering:pixelated;border:1px solid #ccc">'
            f'<figcaption style="font-size:12px;line-height:1.3"><b>{neighbour["label"]}</b><br>'
            f"distance {neighbour['distance']:.2f}{vote}</figcaption></figure>"
        )
    labels = [neighbour["label"] for neighbour in knn["neighbours"]]
    summary = (
        f"The {len(labels)} training digits closest to yours (nearest first) are "
        f"{', '.join(map(str, labels))}; by their votes, K-nearest neighbours said {knn['digit']}."
    )
    return (
        f'<div class="neighbours"><p style="margin:0 0 6px">{html.escape(summary)}</p>'
        '<div style="display:flex;flex-wrap:wrap;gap:6px">' + "".join(figures) + "</div></div>"
    )


def legend_html() -> str:
    """A colour bar from blue through white to red, with the words under it."""
    return (
        '<div class="saliency-legend" style="max-width:360px">'
        '<div style="height:12px;border-radius:3px;background:linear-gradient(to right,'
        f'{_css_rgb(AGAINST)},#fff,{_css_rgb(TOWARDS)})"></div>'
        '<div style="display:flex;justify-content:space-between;font-size:12px">'
        "<span>against its answer</span><span>no effect</span><span>towards its answer</span></div>"
        f'<p style="font-size:13px;margin:4px 0 0">{html.escape(LEGEND)}</p></div>'
    )


def captions(explanation: Mapping[str, Any]) -> Sequence[str]:
    """One sentence per model for screen readers and narrow screens."""
    sentences = []
    for key, model in (explanation.get("models") or {}).items():
        name = SHORT_NAMES.get(key, key)
        if "neighbours" in model:
            labels = ", ".join(str(neighbour["label"]) for neighbour in model["neighbours"])
            sentences.append(f"{name} said {model['digit']}: its nearest training digits are {labels}.")
        else:
            sentences.append(f"{name} said {model['digit']}: {METHODS.get(key, 'see its map')}.")
    return sentences


def _png_data_uri(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _css_rgb(colour: np.ndarray) -> str:
    return "rgb({},{},{})".format(*(int(value) for value in colour))
