"""The page's layout and event wiring: which component shows what, and which handler feeds it.

What each output holds is built in `webapp.rendering` and `webapp.handlers`; the styles and
the one script live in `webapp/static/` as plain files.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.middleware import Middleware

from digit_models.names import DISPLAY_NAMES, MEMBER_KEYS
from digit_models.personal import PersonalExamples
from preprocessing import loading
from webapp import (
    access,
    api_sessions,
    corrections_view,
    direct_calls,
    http_api,
    login_on_loop,
    models_tab,
    queue_analytics,
    queue_wake,
    route_order,
    uploads,
)
from webapp.canvas import drawing_canvas, image_upload
from webapp.feedback import WHY_PROMPT, Feedback
from webapp.file_endpoints import file_to_json_endpoint
from webapp.handlers import Presenter, example_paths
from webapp.number_tab import NumberReader, build_number_tab
from webapp.rendering import DRAW_PROMPT, empty_outputs

STATIC = Path(__file__).resolve().parent / "static"

# Every event that runs the models shares one group of CONCURRENCY worker threads: they read
# and preprocess images side by side while webapp.batching.SharedBatches runs the models for all
# of them in one batched call at a time. The queue refuses events beyond QUEUE_SIZE waiting
# instead of letting latency grow without bound.
CONCURRENCY = 16
QUEUE_SIZE = 64
# Gradio keeps each session's state (about 125 KB for this page) and opens a session for every
# API call that sends no session hash: bounded, the oldest unused go first (Gradio keeps 10,000).
SESSION_CAPACITY = 2000
# Gradio's own schedule for the copies its components make, (check every, older than) seconds; the
# uploads themselves are swept by webapp.uploads on the same lifetime.
CACHE_LIFETIME = (max(1, min(60, uploads.LIFETIME_S)), uploads.LIFETIME_S)
UNGUARDED_PATHS = ("/gradio_api/mcp", http_api.PREFIX + "/", "/openapi.json")
"""Paths Gradio's login check does not cover (the MCP server it mounts, the app's own HTTP API and its
OpenAPI description): `access.RequireLogin` guards them."""
API_DOCS = http_api.DOCS_URL
CANVAS_SIDE = 600
PEN_RADIUS = 20  # Thick enough that a digit drawn across the canvas looks like MNIST's 2-3 px strokes.

ABOUT = (
    "**How an image reaches the models.** Whatever you draw or upload is turned into an MNIST-style digit: "
    "grey on white (EXIF rotation applied, transparency on white), ink made bright whether it was dark or "
    "light, uneven lighting and specks removed, cropped to the ink, fitted into 20×20 pixels and centred by "
    "mass in 28×28 — the image shown under *What the models see*."
)


NUMBER_EXAMPLES = "numbers"
"""The Number tab's examples: a folder inside the examples folder (assets/examples/numbers)."""


@dataclass(frozen=True)
class Folders:
    """Where the page reads from: the models' manifest, the report's files, the example images."""

    models: Path
    reports: Path
    examples: Path


def styles() -> str:
    """The page's CSS (webapp/static/page.css), passed to `launch(css=...)`."""
    return (STATIC / "page.css").read_text()


def head() -> str:
    """A <style> for Gradio's page frame (webapp/static/frame.css), passed to `launch(head=...)`."""
    return f"<style>{(STATIC / 'frame.css').read_text()}</style>"


UPLOAD_REUSE_S = min(30.0, uploads.LIFETIME_S / 4)
"""How long the page answers an upload of files it has just sent with that upload's answer (page.js): well
inside the time the server keeps uploaded files, so the paths it reuses still name files."""


def script() -> str:
    """The page's start-up JavaScript (webapp/static/page.js), passed to `launch(js=...)`."""
    return (STATIC / "page.js").read_text().replace("__UPLOAD_REUSE_MS__", str(round(1000 * UPLOAD_REUSE_S)))


def build_demo(presenter: Presenter, feedback: Feedback, folders: Folders) -> gr.Blocks:
    """The whole page: the Digit tab (answer bar, inputs, details, Why?, corrections), Number, Models."""
    # Before any component decodes a value: Pillow itself refuses images far over the app's limit.
    loading.limit_decoding()
    with gr.Blocks(title="Handwritten digit recognizer", analytics_enabled=False, delete_cache=CACHE_LIFETIME) as demo:
        gr.Markdown(
            "# Handwritten digit recognizer\n"
            "Draw a digit, upload or photograph one, and watch four models — K-nearest neighbours, "
            "random forest, a linear SGD classifier and a CNN — agree or disagree.",
            elem_id="header",
        )
        with gr.Tab("Digit"):
            digit_tab(presenter, feedback, folders)
        with gr.Tab("Number"):
            build_number_tab(presenter.models, example_paths(folders.examples / NUMBER_EXAMPLES))
        with gr.Tab("Models"):
            gr.Markdown(models_tab.models_markdown(folders.reports, folders.models))
            for path, caption in models_tab.report_figures(folders.reports):
                gr.Image(value=path, label=caption, interactive=False, buttons=["fullscreen"])
        api_endpoints(presenter, feedback)
    demo.queue(max_size=QUEUE_SIZE)
    queue_wake.wake_on_work(demo._queue)  # Not polled 1,000 times a second while idle.
    queue_analytics.summary_without_thread()  # Its statistics without a worker thread per event.
    return demo


def digit_tab(presenter: Presenter, feedback: Feedback, folders: Folders) -> None:
    """One digit: the answer bar, the canvas / upload tabs, each model's answer and the chart.

    The three areas are laid out by page.css's grid: side by side on a desktop, the answer bar
    first on a phone so that it stays on screen above the canvas.
    """
    with gr.Row(elem_id="digit-layout"):
        with gr.Column(elem_id="answer-area", min_width=0), gr.Row(elem_id="answer-bar", equal_height=True):
            verdict, model_view = answer_bar()
        with gr.Column(elem_id="input-area", min_width=0):
            sketchpad, upload, random_digit, note = input_area(folders)
        with gr.Column(elem_id="details-area", min_width=0):
            with gr.Row():
                labels = [gr.Label(label=DISPLAY_NAMES[key], num_top_classes=3, min_width=110) for key in MEMBER_KEYS]
            chart = gr.HTML(label="All models, all digits", show_label=True, container=True)
            why_button, why_outputs = why_view()
            correction_buttons, correction_outputs = corrections_panel(feedback.corrections_enabled)
    gr.Markdown(ABOUT)

    current = gr.State(None)  # This session's answer: the 28x28 the models saw and what they said.
    # This session's own digits (every correction adds one); Gradio keeps a State per browser session.
    examples = gr.State(PersonalExamples.empty())
    mine = gr.State([])  # This session's corrections, newest first: "Your corrections" shows only these.
    live = {
        "outputs": [verdict, model_view, *labels, chart, note, current],
        "show_progress": "hidden",
        # A stroke's update is dropped when a newer one is waiting: the page shows the latest drawing.
        "trigger_mode": "always_last",
        "concurrency_id": "models",
        "concurrency_limit": CONCURRENCY,
        "api_visibility": "private",
    }
    sketchpad.change(presenter.show_canvas, [sketchpad, examples], **live)
    sketchpad.clear(presenter.show_blank_canvas, None, **live)
    upload.change(presenter.show_upload, [upload, examples], **live)
    random_digit.click(presenter.show_random_test_digit, examples, **live)

    # Explanations cost 50-150 ms, so they run only when asked, never on every stroke.
    why_button.click(
        feedback.explain, current, why_outputs, api_name="why", api_visibility="private", concurrency_id="why"
    )
    if correction_buttons:
        wire_corrections(feedback, correction_buttons, correction_outputs, [current, examples, mine])


def answer_bar() -> tuple[gr.HTML, gr.Image]:
    """The ensemble's verdict and the 28x28 the models saw, side by side."""
    with gr.Column(scale=3, min_width=0):
        verdict = gr.HTML(empty_outputs(DRAW_PROMPT).verdict, elem_id="verdict")
    with gr.Column(scale=2, min_width=0):
        model_view = gr.Image(
            label="What the models see (28×28)",
            elem_id="model-view",
            format="png",
            interactive=False,
            buttons=[],
            height=180,
        )
    return verdict, model_view


def input_area(folders: Folders) -> tuple[gr.Sketchpad, gr.Image, gr.Button, gr.Markdown]:
    """The canvas and the upload (with its examples) as two tabs, the random digit button and its note."""
    with gr.Tab("Draw"):
        sketchpad = drawing_canvas(
            elem_id="sketchpad",
            label="Draw one digit, large",
            canvas_size=(CANVAS_SIDE, CANVAS_SIDE),
            pen_radius=PEN_RADIUS,
            height=CANVAS_SIDE + 80,
        )
    with gr.Tab("Upload or photograph"):
        upload = image_upload(elem_id="upload", label="A photo, scan or image of one digit", height=420)
        examples = example_paths(folders.examples)
        if examples:
            gr.Examples(
                examples=examples,
                inputs=upload,
                label="Examples: drawings and photos, some hard (click one)",
                examples_per_page=16,
            )
    random_digit = gr.Button("Random MNIST test digit", variant="secondary")
    note = gr.Markdown()
    return sketchpad, upload, random_digit, note


def wire_corrections(feedback: Feedback, buttons: list[gr.Button], outputs: list, states: list[gr.State]) -> None:
    """Each "I meant d" button stores the correction and learns the digit; "Forget my digits" forgets them.

    states: [current answer, this session's examples, this session's corrections].
    """
    message, gallery, summary, personal_note, forget_button = outputs
    current, examples, mine = states
    for digit, button in enumerate(buttons):
        button.click(
            lambda state, known, corrected, meant=digit: feedback.correct(meant, state, known, corrected),
            [current, examples, mine],
            [message, gallery, summary, examples, personal_note, mine],
            api_visibility="private",
        )
    forget_button.click(
        feedback.forget, [examples, mine], [examples, personal_note, mine, gallery, summary], api_visibility="private"
    )


def why_view() -> tuple[gr.Button, list]:
    """The "Why?" panel: a button, the legend and the KNN's neighbours, and each model's map."""
    with gr.Accordion("Why? How each model decided", open=False, elem_id="why"):
        button = gr.Button("Why? Explain this answer", variant="secondary", elem_id="why-button")
        neighbours = gr.HTML(WHY_PROMPT, elem_id="why-neighbours")
        maps = gr.Gallery(
            label="Each model's map over the 28×28 input",
            columns=2,
            height="auto",
            allow_preview=False,
            elem_id="why-maps",
        )
    return button, [neighbours, maps]


def corrections_panel(enabled: bool) -> tuple[list[gr.Button], list]:
    """ "Wrong? I meant: 0 ... 9", what a click keeps, and the "Your corrections" gallery."""
    with gr.Group(elem_id="corrections"):
        if not enabled:
            gr.Markdown(corrections_view.DISABLED)
            return [], []
        with gr.Row(elem_id="correction-buttons", equal_height=True):
            gr.Markdown(f"**{corrections_view.PROMPT}**")
            buttons = [gr.Button(label, size="sm", min_width=28) for label in corrections_view.BUTTON_LABELS]
        message = gr.Markdown(
            "A click keeps, on this server until its operator deletes it, the 28×28 image the models saw "
            "(never your upload), the digit you meant, each model's answer, the time and the app version, with "
            "nothing that tells who you are. *Your corrections* lists only this tab's. What you draw or upload "
            f"leaves the server's temporary files within {uploads.LIFETIME_S // 60 or 1} minutes; the digits this "
            "tab learnt from you are forgotten when you close it.",
            elem_id="correction-message",
        )
        with gr.Row(elem_id="personal", equal_height=True):
            note = gr.Markdown(corrections_view.personal_note([0] * 10), elem_id="personal-note")
            forget = gr.Button("Forget my digits", size="sm", variant="secondary", elem_id="forget-digits", scale=0)
        with gr.Accordion("Your corrections", open=False):
            summary = gr.Markdown(corrections_view.EMPTY_GALLERY)
            gallery = gr.Gallery(columns=4, height="auto", allow_preview=False, elem_id="corrections-gallery")
    return buttons, [message, gallery, summary, note, forget]


def app_options(presenter: Presenter, feedback: Feedback, logins: access.Logins | None) -> dict:
    """Options for the FastAPI app Gradio builds (`launch(app_kwargs=...)`): with a login, the same check on
    the doors Gradio's own does not guard; curl's calls of the stateless endpoints answered beside Gradio's queue
    (webapp.direct_calls), and those it leaves to Gradio without a session hash sharing one session
    (webapp.api_sessions); the one-round-trip HTTP API's routes (before Gradio's own) and its docs page; Gradio's
    login check on the event loop and the busiest routes first (`start_up`)."""
    handlers = stateless_handlers(presenter, feedback)
    guard = [Middleware(access.RequireLogin, logins=logins, prefixes=UNGUARDED_PATHS)] if logins else []
    direct = [Middleware(direct_calls.AnswerStatelessCalls, handlers=handlers, max_pending=QUEUE_SIZE)]
    calls = [f"/gradio_api/call/{name}" for name in handlers]
    shared = [Middleware(api_sessions.ShareSessionlessCalls, paths=calls)]
    limited = [Middleware(http_api.RefuseLargeBodies)]
    return {
        "middleware": guard + limited + direct + shared,
        "routes": http_api.routes(**handlers),
        "docs_url": API_DOCS,
        "lifespan": start_up,
    }


@contextlib.asynccontextmanager
async def start_up(app: FastAPI) -> AsyncIterator[None]:
    """The app's start-up (`launch(app_kwargs={"lifespan": ...})`), once Gradio has added its routes: its
    login check moves to the event loop (webapp.login_on_loop) and the routes every answer takes are tried
    first (webapp.route_order)."""
    login_on_loop.run_login_check_on_loop(app)
    route_order.busiest_first(app.router.routes)
    yield


def stateless_handlers(presenter: Presenter, feedback: Feedback) -> dict[str, Callable[[Any], Any]]:
    """The handlers of the endpoints that keep no state, by name: the page's own (`api_endpoints`, the Number
    tab), which the one-round-trip HTTP API (webapp.http_api) and the direct calls (webapp.direct_calls) call too."""
    return {
        "classify": presenter.classify,
        "explain": feedback.explain_file,
        "read_number": NumberReader(presenter.models).read_number,
    }


def api_endpoints(presenter: Presenter, feedback: Feedback) -> None:
    """The HTTP API (and MCP tools): each endpoint a file input and a JSON output (webapp.file_endpoints).

    /read_number is registered by the Number tab (webapp.number_tab).
    """
    # Each handler's docstring is what the API page and an MCP agent read: what it takes and returns.
    for handler, name in ((presenter.classify, "classify"), (feedback.explain_file, "explain")):
        file_to_json_endpoint(handler, name, concurrency_id="models", concurrency_limit=CONCURRENCY)
