"""What the page shows for one answer: the verdict, the enlarged 28x28 view, the labels and the chart.

Pure functions from digit_models.classify's answer (and the float32 (28, 28) model input) to
HTML, arrays and gr.Label values, so they are tested without a server. The only pixels
touched here are the nearest-neighbour enlargement of the 28x28 image for display.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import preprocessing
from digit_models.names import DISPLAY_NAMES, MEMBER_KEYS, SHORT_NAMES

LOW_CONFIDENCE = 0.7
"""Below this ensemble probability the verdict says "I'm not sure"."""

MIN_AGREEING_MODELS = 3
"""Fewer members than this agreeing with the ensemble also means "I'm not sure"."""

PIXEL_SCALE = 10
"""Each of the 28x28 pixels is shown as a PIXEL_SCALE x PIXEL_SCALE square."""

GRID_LEVEL = 48
"""Grey level (0-255) of the one-pixel lines between enlarged pixels, so each pixel stays visible."""


DRAW_PROMPT = "Draw a digit"
UPLOAD_PROMPT = "Upload or photograph a digit"


@dataclass(frozen=True)
class Outputs:
    """Everything the page shows for one input, in the order app.py lists the output components.

    verdict: HTML for the `verdict` element; its visible text starts with the digit, or holds
        only a message when there is none.
    model_view: uint8 (28 * PIXEL_SCALE + 1, same) grey enlargement of the 28x28 input, or None.
    labels: one `gr.Label` value per member key (MEMBER_KEYS order): {"0": p0, ..., "9": p9} or None.
    chart: HTML table comparing every model over the ten digits.
    note: Markdown under the inputs: the true label of an MNIST digit, what preprocessing did.
    current: the session's state for "Why?" and corrections: {"image": float32 (28, 28) the
        models saw, "result": classify's answer}, or None when there is no digit.
    """

    verdict: str
    model_view: np.ndarray | None
    labels: tuple[dict[str, float] | None, ...]
    chart: str
    note: str
    current: dict[str, Any] | None = None

    def as_tuple(self) -> tuple[Any, ...]:
        """The values in output-component order: verdict, model view, four labels, chart, note, state."""
        return (self.verdict, self.model_view, *self.labels, self.chart, self.note, self.current)


def empty_outputs(prompt: str, *, reason: str = "", image: np.ndarray | None = None) -> Outputs:
    """The page when there is no digit: a friendly prompt, no probabilities.

    reason: why preprocessing found nothing (empty for an untouched canvas).
    image: float32 (28, 28) that preprocessing produced, shown so the user sees it is blank.
    """
    detail = f'<div class="verdict-detail">No digit found: {html.escape(reason)}</div>' if reason else ""
    verdict = f'<div class="verdict-empty"><div class="verdict-prompt">{html.escape(prompt)}</div>{detail}</div>'
    view = enlarge(image) if image is not None else None
    return Outputs(verdict=verdict, model_view=view, labels=(None,) * len(MEMBER_KEYS), chart="", note="")


def build_outputs(result: Mapping[str, Any], image: np.ndarray, *, note: str = "") -> Outputs:
    """Outputs for one answer of digit_models.classify.answer and the float32 (28, 28) image the models saw."""
    labels = tuple(label_value(result["models"][key]) for key in MEMBER_KEYS)
    return Outputs(
        verdict=verdict_html(result),
        model_view=enlarge(image),
        labels=labels,
        chart=comparison_chart(result),
        note=note,
        current={"image": np.asarray(image, dtype=np.float32), "result": dict(result)},
    )


def is_unsure(result: Mapping[str, Any]) -> bool:
    """True when the ensemble is not confident or too few members agree with it."""
    return result["confidence"] < LOW_CONFIDENCE or agreeing_models(result) < MIN_AGREEING_MODELS


def agreeing_models(result: Mapping[str, Any]) -> int:
    """How many member models' top digit equals the ensemble's."""
    return sum(int(np.argmax(values)) == result["digit"] for values in result["models"].values())


def verdict_html(result: Mapping[str, Any]) -> str:
    """The ensemble's answer, big: the digit first, then its confidence and how the models agree."""
    digit = result["digit"]
    confidence = result["confidence"]
    members = result["models"]
    agreeing = agreeing_models(result)
    if agreeing == len(members):
        agreement = f"all {len(members)} models agree"
    else:
        dissent = ", ".join(
            f"{DISPLAY_NAMES.get(key, key)} says {int(np.argmax(values))}"
            for key, values in members.items()
            if int(np.argmax(values)) != digit
        )
        agreement = f"{agreeing} of {len(members)} models agree ({dissent})"
    if is_unsure(result):
        ranked = np.argsort(result["ensemble"])[::-1]
        runner_up = int(ranked[1])
        headline = (
            f"I'm not sure: {confidence:.0%} for {digit}, maybe {runner_up} ({result['ensemble'][runner_up]:.0%})"
        )
        css_class = "verdict-unsure"
    else:
        headline = f"{confidence:.0%} sure"
        css_class = "verdict-sure"
    return (
        f'<div class="{css_class}"><span class="verdict-digit">{digit}</span>'
        f'<div class="verdict-text"><div class="verdict-headline">{html.escape(headline, quote=False)}</div>'
        f'<div class="verdict-detail">{html.escape(agreement, quote=False)}</div></div></div>'
    )


def label_value(probabilities: Sequence[float]) -> dict[str, float]:
    """Ten probabilities -> the {"0": p0, ..., "9": p9} dict that gr.Label shows as bars."""
    return {str(digit): float(value) for digit, value in enumerate(probabilities)}


def comparison_chart(result: Mapping[str, Any]) -> str:
    """An HTML heat map: one row per model (members, then the ensemble), one column per digit.

    Cells hold percentages (blank below 1%) on a shade that grows with the probability, and
    each row's top digit is outlined, so agreement and disagreement show at a glance.
    """
    rows = {**result["models"], "ensemble": result["ensemble"]}
    header = "".join(f"<th>{digit}</th>" for digit in range(10))
    body = []
    for key, values in rows.items():
        top = int(np.argmax(values))
        cells = []
        for digit, value in enumerate(values):
            # Square root: a 10% alternative should still be visible next to a 90% winner.
            alpha = float(np.sqrt(max(float(value), 0.0)))
            colour = "#fff" if alpha > 0.6 else "inherit"
            text = f"{100 * value:.0f}" if value >= 0.01 else ""
            outline = ' class="top"' if digit == top else ""
            cells.append(
                f'<td{outline} style="background: rgba(37, 99, 235, {alpha:.3f}); color: {colour}">{text}</td>'
            )
        row_class = ' class="ensemble-row"' if key == "ensemble" else ""
        body.append(f"<tr{row_class}><th>{html.escape(SHORT_NAMES.get(key, key))}</th>{''.join(cells)}</tr>")
    return (
        '<table class="prob-chart"><caption>Probability of each digit, %</caption>'
        f"<thead><tr><th></th>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def enlarge(image: np.ndarray, scale: int = PIXEL_SCALE) -> np.ndarray:
    """float32 (28, 28) in [0, 1] -> uint8 grey (28 * scale + 1, 28 * scale + 1), nearest neighbour.

    Every source pixel becomes a flat scale x scale square and a thin grid separates them,
    so the user sees exactly the 784 values the models received (white ink on black, as in MNIST).
    """
    levels = np.clip(np.rint(np.asarray(image, dtype=np.float32) * 255), 0, 255).astype(np.uint8)
    side = levels.shape[0] * scale + 1
    big = np.full((side, side), GRID_LEVEL, dtype=np.uint8)
    big[:-1, :-1] = levels.repeat(scale, axis=0).repeat(scale, axis=1)
    # The first row and column of every square are grid line (the last row and column already are).
    big[::scale, :] = GRID_LEVEL
    big[:, ::scale] = GRID_LEVEL
    # One channel: Gradio encodes the view as a PNG on every answer, and a grey PNG costs a third of
    # an RGB one with the same pixels on screen.
    return big


def preprocessing_note(prepared: preprocessing.Preprocessed) -> str:
    """One line on what preprocessing found in an upload: the ink's polarity and where the digit is."""
    ink = "Dark ink on a light background" if prepared.inverted else "Light ink on a dark background"
    where = ""
    if prepared.box is not None:
        left, top, right, bottom = prepared.box
        where = f" found at x {left}–{right}, y {top}–{bottom} px"
    steps = "cropped, inverted, fitted into 20×20 and centred" if prepared.inverted else "cropped, fitted and centred"
    return f"{ink}{where}; {steps}."


def truth_note(result: Mapping[str, Any], label: int, index: int) -> str:
    """Markdown comparing an MNIST digit's true label with every model's answer."""
    answers = {**{key: int(np.argmax(values)) for key, values in result["models"].items()}, "ensemble": result["digit"]}
    parts = [
        f"{SHORT_NAMES.get(key, key)} {digit} {'✅' if digit == label else '❌'}" for key, digit in answers.items()
    ]
    return f"**MNIST test digit #{index}: true label {label}.** " + " · ".join(parts)
