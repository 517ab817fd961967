"""The digit recognizer's web app: draw, upload or photograph a digit and compare the models.

Layout and event wiring only: what each output shows is built in digit_models/presentation.py,
images become 28x28 digits in preprocessing/, models load from assets/models (or the folder in
$DIGITS_MODELS_DIR). Run `python app.py --help` for the launch flags.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from pathlib import Path

import gradio as gr
import numpy as np

from digit_models import presentation
from digit_models.artifacts import MEMBER_KEYS, MODELS_DIR, ArtifactError, load_models
from digit_models.classify import predict_all
from preprocessing import MAX_INPUT_BYTES

ROOT = Path(__file__).resolve().parent
MODELS_FOLDER = Path(os.environ.get("DIGITS_MODELS_DIR") or MODELS_DIR)
REPORTS_FOLDER = MODELS_FOLDER.parent / "reports"
EXAMPLES_FOLDER = ROOT / "assets" / "examples"

# Every event that runs the models shares one group of CONCURRENCY worker threads: they read
# and preprocess images side by side while presentation.SharedBatches runs the models for all of
# them in one batched call at a time. The queue refuses events beyond QUEUE_SIZE waiting instead
# of letting latency grow without bound.
CONCURRENCY = 16
QUEUE_SIZE = 64
CANVAS_SIDE = 600
PEN_RADIUS = 20  # Thick enough that a digit drawn across the canvas looks like MNIST's 2-3 px strokes.


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve the digit recognizer.",
        epilog="Models load from assets/models, or from the folder in $DIGITS_MODELS_DIR.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for your network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also create a temporary public gradio.live link")
    parser.add_argument("--auth", metavar="USER:PASSWORD", help="ask for this login (a share link is open to anyone)")
    arguments = parser.parse_args(argv)
    if arguments.auth is not None and (":" not in arguments.auth or arguments.auth.startswith(":")):
        parser.error("--auth expects USER:PASSWORD")
    return arguments


# The command line is checked before the models load, so --help and mistakes answer at once.
ARGUMENTS = parse_arguments() if __name__ == "__main__" else None

try:
    MODELS = load_models(MODELS_FOLDER)
except ArtifactError as error:
    raise SystemExit(f"app.py cannot start: {error}") from error
predict_all(MODELS, np.zeros((1, 28, 28), dtype=np.float32))  # Traces the CNN now, not on the first request.
PRESENTER = presentation.Presenter(MODELS)

CSS = """
#verdict { min-height: 7.5rem; display: flex; align-items: center; }
#verdict .verdict-sure, #verdict .verdict-unsure { display: flex; align-items: center; gap: 1.2rem; }
#verdict .verdict-digit { font-size: 6rem; font-weight: 700; line-height: 1; }
#verdict .verdict-unsure .verdict-digit { color: #b45309; }
#verdict .verdict-headline { font-size: 1.6rem; font-weight: 600; }
#verdict .verdict-unsure .verdict-headline { font-size: 1.3rem; }
#verdict .verdict-prompt { font-size: 2rem; font-weight: 600; opacity: 0.7; padding: 1.5rem 0 0.5rem; }
#verdict .verdict-detail { opacity: 0.75; }
.prob-chart { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 0.8rem;
              font-variant-numeric: tabular-nums; }
.prob-chart caption { caption-side: bottom; font-size: 0.75rem; opacity: 0.7; padding-top: 0.3rem; }
.prob-chart th, .prob-chart td { padding: 0.25rem 0; text-align: center; border: 1px solid #e5e7eb; overflow: hidden; }
.prob-chart thead th:first-child { width: 5.8em; }
.prob-chart tbody th { text-align: left; white-space: nowrap; padding-left: 0.3rem; }
.prob-chart td.top { outline: 2px solid #1e3a8a; outline-offset: -2px; font-weight: 700; }
.prob-chart .ensemble-row th, .prob-chart .ensemble-row td { border-top: 2px solid #9ca3af; }
/* Phones: the canvas box stays about square instead of 680 px tall, and text shrinks to fit. */
@media (max-width: 640px) {
    #sketchpad { height: calc(100vw + 40px) !important; }
    #verdict .verdict-digit { font-size: 4.5rem; }
    #verdict .verdict-headline { font-size: 1.2rem; }
    .prob-chart { font-size: 0.62rem; }
}
"""

# Gradio's Sketchpad starts, and restarts after "clear", with no tool selected ("select the draw
# tool to start"). Select the brush whenever that hint appears, so the canvas is ready for a pen.
SELECT_BRUSH_JS = """
() => {
    const selectBrush = () => {
        const pad = document.getElementById("sketchpad");
        if (!pad || !pad.innerText.includes("select the draw tool")) return;
        const brush = pad.querySelector('button[aria-label="Brush"]');
        if (brush) brush.click();
    };
    new MutationObserver(selectBrush).observe(document.body, { childList: true, subtree: true });
    selectBrush();
}
"""

ABOUT = (
    "**How an image reaches the models.** Whatever you draw or upload is turned into an MNIST-style digit: "
    "grey on white (EXIF rotation applied, transparency on white), ink made bright whether it was dark or "
    "light, uneven lighting and specks removed, cropped to the ink, fitted into 20×20 pixels and centred by "
    "mass in 28×28 — the image shown under *What the models see*."
)


def build_demo() -> gr.Blocks:
    """The page: inputs on the left, the verdict and every model's answer on the right; then Models."""
    with gr.Blocks(title="Handwritten digit recognizer", analytics_enabled=False) as demo:
        gr.Markdown(
            "# Handwritten digit recognizer\n"
            "Draw a digit, upload or photograph one, and watch four models — K-nearest neighbours, "
            "random forest, a linear SGD classifier and a CNN — agree or disagree."
        )
        with gr.Tab("Try it"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=320):
                    with gr.Tab("Draw"):
                        sketchpad = gr.Sketchpad(
                            elem_id="sketchpad",
                            label="Draw one digit, large",
                            canvas_size=(CANVAS_SIDE, CANVAS_SIDE),
                            fixed_canvas=True,
                            height=CANVAS_SIDE + 80,
                            brush=gr.Brush(default_size=PEN_RADIUS, colors=["#000000"], color_mode="fixed"),
                            eraser=gr.Eraser(default_size=PEN_RADIUS * 2),
                            layers=False,
                            transforms=(),
                            buttons=[],
                        )
                    with gr.Tab("Upload or photograph"):
                        upload = gr.Image(
                            elem_id="upload",
                            label="A photo, scan or image of one digit",
                            sources=["upload", "webcam", "clipboard"],
                            # The path goes to preprocessing untouched: it applies EXIF rotation and
                            # composites transparency onto white, which Gradio's conversion would not.
                            type="filepath",
                            image_mode=None,
                            height=420,
                        )
                        examples = presentation.example_paths(EXAMPLES_FOLDER)
                        if examples:
                            gr.Examples(
                                examples=examples,
                                inputs=upload,
                                label="Examples: drawings and photos, some hard (click one)",
                                examples_per_page=16,
                            )
                    random_digit = gr.Button("Random MNIST test digit", variant="secondary")
                    note = gr.Markdown()
                with gr.Column(scale=1, min_width=320):
                    with gr.Row(equal_height=True):
                        with gr.Column(scale=3, min_width=210):
                            verdict = gr.HTML(
                                presentation.empty_outputs(presentation.DRAW_PROMPT).verdict, elem_id="verdict"
                            )
                        with gr.Column(scale=2, min_width=150):
                            model_view = gr.Image(
                                label="What the models see (28×28)",
                                format="png",
                                interactive=False,
                                buttons=[],
                                height=180,
                            )
                    with gr.Row():
                        labels = [
                            gr.Label(label=presentation.SHORT_NAMES[key], num_top_classes=3, min_width=110)
                            for key in MEMBER_KEYS
                        ]
                    chart = gr.HTML(label="All models, all digits", show_label=True, container=True)
            gr.Markdown(ABOUT)
        with gr.Tab("Models"):
            gr.Markdown(presentation.models_markdown(REPORTS_FOLDER, MODELS_FOLDER))
            for path, caption in presentation.report_figures(REPORTS_FOLDER):
                gr.Image(value=path, label=caption, interactive=False, buttons=["fullscreen"])

        outputs = [verdict, model_view, *labels, chart, note]
        live = {
            "outputs": outputs,
            "show_progress": "hidden",
            # A stroke's update is dropped when a newer one is waiting: the page shows the latest drawing.
            "trigger_mode": "always_last",
            "concurrency_id": "models",
            "concurrency_limit": CONCURRENCY,
            "api_visibility": "private",
        }
        sketchpad.change(PRESENTER.show_canvas, sketchpad, **live)
        sketchpad.clear(PRESENTER.show_blank_canvas, None, **live)
        upload.change(PRESENTER.show_upload, upload, **live)
        random_digit.click(PRESENTER.show_random_test_digit, None, **live)

        # The HTTP API: hidden components give /classify a file input and a JSON output.
        api_file = gr.File(label="image", visible=False)
        api_answer = gr.JSON(label="answer", visible=False)
        api_file.upload(
            PRESENTER.classify,
            api_file,
            api_answer,
            api_name="classify",
            api_description="One image file in; the digit, its confidence and every model's probabilities out.",
            concurrency_id="models",
            concurrency_limit=CONCURRENCY,
        )
    demo.queue(max_size=QUEUE_SIZE)
    return demo


demo = build_demo()


def main(arguments: argparse.Namespace) -> None:
    """Serve on arguments.host:port until interrupted, with a share link and login when asked."""
    launch = {
        "server_name": arguments.host,
        "server_port": arguments.port,
        "share": arguments.share,
        "auth": tuple(arguments.auth.split(":", 1)) if arguments.auth else None,
        "max_file_size": MAX_INPUT_BYTES,
        "css": CSS,
        "js": SELECT_BRUSH_JS,
        "footer_links": ["api"],
        # No per-run records of what people draw or upload, and no work spent keeping them.
        "run_history": False,
        "prevent_thread_lock": True,
    }
    if not arguments.share:
        demo.launch(**launch)
    else:
        # Gradio explains a failed share link over several lines; one is enough, and the app
        # keeps serving locally either way.
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            demo.launch(**launch)
        for line in captured.getvalue().splitlines():
            if line.startswith("* "):
                print(line)
        if not demo.share_url:
            print(f"Could not create a public share link (no internet?); still serving on {demo.local_url}")
    demo.block_thread()


if __name__ == "__main__":
    main(ARGUMENTS)
