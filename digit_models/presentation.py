"""What the app shows: from an input (canvas, upload, MNIST test digit) to the page's outputs.

`app.py` only lays out components and wires events to the methods of `Presenter`; the
text, the enlarged 28x28 view, the per-model `gr.Label` values and the comparison chart
are built here, so they can be tested without a server. Image math stays in
`preprocessing/` and model code in `digit_models/`; the only pixels touched here are the
nearest-neighbour enlargement of the 28x28 image for display.
"""

from __future__ import annotations

import functools
import html
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

import preprocessing
from digit_models.artifacts import DISPLAY_NAMES, MEMBER_KEYS, read_manifest
from digit_models.base import DigitModel
from digit_models.classify import answer, no_digit_answer, predict_all

LOW_CONFIDENCE = 0.7
"""Below this ensemble probability the verdict says "I'm not sure"."""

MIN_AGREEING_MODELS = 3
"""Fewer members than this agreeing with the ensemble also means "I'm not sure"."""

PIXEL_SCALE = 10
"""Each of the 28x28 pixels is shown as a PIXEL_SCALE x PIXEL_SCALE square."""

GRID_LEVEL = 48
"""Grey level (0-255) of the one-pixel lines between enlarged pixels, so each pixel stays visible."""

SHORT_NAMES = {"knn": "KNN", "rf": "Random forest", "sgd": "Linear SGD", "cnn": "CNN", "ensemble": "Ensemble"}
CHART_NAMES = {**SHORT_NAMES, "rf": "Forest", "sgd": "SGD"}

DRAW_PROMPT = "Draw a digit"
UPLOAD_PROMPT = "Upload or photograph a digit"


@dataclass(frozen=True)
class Outputs:
    """Everything the page shows for one input, in the order app.py lists the output components.

    verdict: HTML for the `verdict` element; its visible text starts with the digit, or holds
        only a message when there is none.
    model_view: uint8 (28 * PIXEL_SCALE + 1, same, 3) RGB enlargement of the 28x28 input, or None.
    labels: one `gr.Label` value per member key (MEMBER_KEYS order): {"0": p0, ..., "9": p9} or None.
    chart: HTML table comparing every model over the ten digits.
    note: Markdown under the inputs: the true label of an MNIST digit, what preprocessing did.
    """

    verdict: str
    model_view: np.ndarray | None
    labels: tuple[dict[str, float] | None, ...]
    chart: str
    note: str

    def as_tuple(self) -> tuple[Any, ...]:
        """The values in output-component order: verdict, model view, four labels, chart, note."""
        return (self.verdict, self.model_view, *self.labels, self.chart, self.note)


class Presenter:
    """The app's handlers, bound to loaded models.

    models: {"knn", "rf", "sgd", "cnn", "ensemble"} -> DigitModel (see digit_models.artifacts).
    load_test_digits: returns MNIST's test set as (uint8 (n, 28, 28) ink bright, int labels (n,));
        called once, on the first "random MNIST test digit" request.
    """

    def __init__(
        self,
        models: Mapping[str, DigitModel],
        *,
        load_test_digits: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
        seed: int | None = None,
    ) -> None:
        self.models = models
        self.predictor = SharedBatches(models)
        self.load_test_digits = load_test_digits or _load_mnist_test
        self.random = np.random.default_rng(seed)
        self._test_digits: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"Presenter(models={sorted(self.models)})"

    # Inputs from the page.

    def show_canvas(self, value: Mapping[str, Any] | None) -> tuple[Any, ...]:
        """Sketchpad value {background, layers, composite} (or None) -> outputs for the page."""
        return self.show_image(value, empty_prompt=DRAW_PROMPT).as_tuple()

    def show_blank_canvas(self) -> tuple[Any, ...]:
        """The page after the canvas is cleared: the "draw a digit" prompt."""
        return empty_outputs(DRAW_PROMPT).as_tuple()

    def show_upload(self, value: Any) -> tuple[Any, ...]:
        """Uploaded, photographed or pasted image (path, PIL image or array; None when cleared) -> outputs."""
        return self.show_image(value, empty_prompt=UPLOAD_PROMPT, describe=True).as_tuple()

    def show_image(self, source: Any, *, empty_prompt: str, describe: bool = False) -> Outputs:
        """Preprocess any image and run every model on it; an unreadable file raises gr.Error.

        describe: add a note saying where the digit was found and whether it was inverted.
        """
        if _is_empty(source):
            return empty_outputs(empty_prompt)
        prepared = read_image(source)
        if not prepared.found:
            return empty_outputs(empty_prompt, reason=prepared.reason, image=prepared.image)
        note = preprocessing_note(prepared) if describe else ""
        return build_outputs(answer(self.predictor.predict(prepared.image)), prepared.image, note=note)

    def show_random_test_digit(self) -> tuple[Any, ...]:
        """A random MNIST test digit (never seen in training): outputs plus its true label."""
        images, labels = self.test_digits()
        index = int(self.random.integers(len(images)))
        image = images[index].astype(np.float32) / 255
        result = answer(self.predictor.predict(image))
        return build_outputs(result, image, note=truth_note(result, int(labels[index]), index)).as_tuple()

    def test_digits(self) -> tuple[np.ndarray, np.ndarray]:
        """MNIST's test images uint8 (n, 28, 28) and labels (n,), loaded on first use and kept."""
        if self._test_digits is None:
            self._test_digits = self.load_test_digits()
        return self._test_digits

    # The HTTP API.

    def classify(self, path: str | None) -> dict[str, Any]:
        """The /classify endpoint: one image file -> DESIGN.md's JSON answer (no `path` key).

        Raises gr.Error with the reason when the file is missing or is not a readable image.
        """
        if not path:
            raise gr.Error("Send one image file (PNG, JPEG, WebP, ...).", title="No image")
        prepared = read_image(path)
        if not prepared.found:
            return no_digit_answer(prepared.reason)
        return answer(self.predictor.predict(prepared.image))


def read_image(source: Any) -> preprocessing.Preprocessed:
    """to_mnist, with an unreadable file turned into the gr.Error the person sees."""
    try:
        return preprocessing.to_mnist(source)
    except preprocessing.ImageError as error:
        raise gr.Error(str(error), title="Cannot read this image") from error


class SharedBatches:
    """Runs the models for concurrent callers together, one batch at a time.

    Each caller adds its image to a waiting list; whichever caller finds the models idle runs
    everything waiting in one `predict_all` call and hands every caller its row. A lone request
    waits for nobody, and twenty at once cost about one batched call instead of twenty. This is
    done here rather than with Gradio's `batch=True` because a Gradio batch shares one fate: one
    unreadable file would fail every request batched with it. Here each request is read and
    checked on its own, and only valid 28x28 images are ever batched.
    """

    def __init__(self, models: Mapping[str, DigitModel], *, max_batch: int = 64) -> None:
        self.models = models
        self.max_batch = max_batch
        self._waiting: list[_Slot] = []
        self._waiting_lock = threading.Lock()
        self._models_lock = threading.Lock()

    def predict(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """float32 (28, 28) in [0, 1] -> {key: float64 (1, 10)} for every model and the ensemble."""
        slot = _Slot(image=np.asarray(image, dtype=np.float32))
        with self._waiting_lock:
            self._waiting.append(slot)
        while not slot.done.is_set():
            with self._models_lock:
                # Another caller may have run our image while we waited for the models.
                if not slot.done.is_set():
                    self._run_waiting()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _run_waiting(self) -> None:
        with self._waiting_lock:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
        try:
            probabilities = predict_all(self.models, np.stack([slot.image for slot in batch]))
            for row, slot in enumerate(batch):
                slot.result = {key: values[row : row + 1] for key, values in probabilities.items()}
        except Exception as error:
            for slot in batch:
                slot.error = error
        finally:
            for slot in batch:
                slot.done.set()


@dataclass
class _Slot:
    """One caller's image in SharedBatches, and where its answer goes."""

    image: np.ndarray
    done: threading.Event = field(default_factory=threading.Event)
    result: dict[str, np.ndarray] = field(default_factory=dict)
    error: Exception | None = None


# Building the outputs.


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
            f"{SHORT_NAMES.get(key, key)} says {int(np.argmax(values))}"
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
        body.append(f"<tr{row_class}><th>{html.escape(CHART_NAMES.get(key, key))}</th>{''.join(cells)}</tr>")
    return (
        '<table class="prob-chart"><caption>Probability of each digit, %</caption>'
        f"<thead><tr><th></th>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def enlarge(image: np.ndarray, scale: int = PIXEL_SCALE) -> np.ndarray:
    """float32 (28, 28) in [0, 1] -> uint8 RGB (28 * scale + 1, 28 * scale + 1, 3), nearest neighbour.

    Every source pixel becomes a flat scale x scale square and a thin grid separates them,
    so the user sees exactly the 784 values the models received (white ink on black, as in MNIST).
    """
    levels = np.clip(np.rint(np.asarray(image, dtype=np.float32) * 255), 0, 255).astype(np.uint8)
    side = levels.shape[0] * scale + 1
    big = np.full((side, side), GRID_LEVEL, dtype=np.uint8)
    blocks = np.kron(levels, np.ones((scale, scale), dtype=np.uint8))
    # Leave the first row and column of every square as grid line.
    mask = np.ones((scale, scale), dtype=bool)
    mask[0, :] = False
    mask[:, 0] = False
    inside = np.tile(mask, levels.shape)
    big[:-1, :-1][inside] = blocks[inside]
    return np.repeat(big[..., None], 3, axis=2)


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


# The "Models" tab.


def models_markdown(reports_dir: Path, models_dir: Path) -> str:
    """Markdown for the "Models" tab: the metrics table and how each model works.

    Reads reports_dir/metrics.json (written by `python -m training report`); falls back to
    the manifest's test metrics when the report has not been written yet.
    """
    metrics_path = Path(reports_dir) / "metrics.json"
    if metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())
        models = metrics["models"]
        count = metrics.get("test_images")
        count = f"{count:,}" if isinstance(count, int) else "MNIST"
        source = f"Scored on the {count} MNIST test images by `python -m training report`."
    else:
        entries = read_manifest(models_dir)["models"]
        models = {
            key: {
                "accuracy": entry.get("test_accuracy"),
                "log_loss": entry.get("test_log_loss"),
                "size_bytes": entry.get("size_bytes"),
                "how_it_works": entry.get("how_it_works", ""),
            }
            for key, entry in entries.items()
        }
        source = "From the model manifest; run `python -m training report` for the full report."
    lines = [
        "| model | test accuracy | log loss | size | latency, one image | how it works |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for key in (*MEMBER_KEYS, "ensemble"):
        row = models.get(key)
        if row is None:
            continue
        lines.append(
            f"| {DISPLAY_NAMES.get(key, key)} | {_percent(row.get('accuracy'))} | {_number(row.get('log_loss'), 4)} "
            f"| {_megabytes(row.get('size_bytes'))} | {_number(row.get('latency_ms_one_image'), 1, ' ms')} "
            f"| {row.get('how_it_works', '')} |"
        )
    return "\n".join([*lines, "", source])


def report_figures(reports_dir: Path) -> list[tuple[str, str]]:
    """(path, caption) of the report's figures that exist: confusion matrices, then misclassified digits."""
    reports_dir = Path(reports_dir)
    candidates = [("confusion_matrices.png", "Confusion matrices on the MNIST test set (rows: true digit)")]
    candidates += [
        (f"misclassified_{key}.png", f"{DISPLAY_NAMES[key]}: misclassified test digits (true→predicted)")
        for key in (*MEMBER_KEYS, "ensemble")
    ]
    return [(str(reports_dir / name), caption) for name, caption in candidates if (reports_dir / name).exists()]


def example_paths(folder: Path) -> list[str]:
    """Image files in the examples folder, sorted by name (PNG, JPEG, WebP)."""
    suffixes = {".png", ".jpg", ".jpeg", ".webp"}
    return sorted(str(path) for path in Path(folder).glob("*") if path.suffix.lower() in suffixes)


def _is_empty(source: Any) -> bool:
    """An untouched or cleared Sketchpad sends {background: None, layers: [], composite: None}."""
    if source is None:
        return True
    if isinstance(source, Mapping):
        return source.get("composite") is None and source.get("background") is None and not source.get("layers")
    return False


@functools.cache
def _load_mnist_test() -> tuple[np.ndarray, np.ndarray]:
    from digit_models.mnist import load_mnist

    data = load_mnist()
    return data.X_test, data.y_test


def _percent(value: float | None) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "–"


def _number(value: float | None, decimals: int, unit: str = "") -> str:
    return f"{value:.{decimals}f}{unit}" if isinstance(value, int | float) else "–"


def _megabytes(size: int | None) -> str:
    if not isinstance(size, int | float):
        return "–"
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"
