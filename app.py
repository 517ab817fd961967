"""The digit recognizer's web app: draw, upload or photograph a digit and compare the models.

Flags, loading, building, launching: the page itself is the `webapp` package. Models load from
assets/models, or from the folder in $DIGITS_MODELS_DIR. `python app.py --help` lists the flags.
"""

from __future__ import annotations

import argparse
import gc
import os
from pathlib import Path

from digit_models.artifacts import MODELS_DIR, ArtifactError, load_models
from digit_models.cnn import serve_on_one_core
from preprocessing import MAX_INPUT_BYTES
from webapp import access, page, uploads
from webapp.feedback import Feedback
from webapp.handlers import Presenter

ROOT = Path(__file__).resolve().parent
MODELS_FOLDER = Path(os.environ.get("DIGITS_MODELS_DIR") or MODELS_DIR)
FOLDERS = page.Folders(
    models=MODELS_FOLDER, reports=MODELS_FOLDER.parent / "reports", examples=ROOT / "assets" / "examples"
)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the digit recognizer.", epilog=__doc__.split("\n\n")[1])
    # Without flags, Gradio's own variables decide (a Hugging Face Space sets them), then the defaults.
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
        help="address to listen on (0.0.0.0 for your network; default $GRADIO_SERVER_NAME or 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GRADIO_SERVER_PORT") or 7860),
        help="port (default $GRADIO_SERVER_PORT or 7860)",
    )
    parser.add_argument("--share", action="store_true", help="also create a temporary public gradio.live link")
    parser.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="ask for this login; other users of the machine see it in `ps`: prefer --auth-file or $DIGITS_AUTH",
    )
    parser.add_argument(
        "--auth-file", type=Path, metavar="FILE", help="ask for a login: USER:PASSWORD lines in FILE ($DIGITS_AUTH too)"
    )
    parser.add_argument(
        "--no-corrections", action="store_true", help="do not offer 'Wrong? I meant: ...' nor store anything"
    )
    parser.add_argument("--mcp", action="store_true", help="also serve the classifier as an MCP tool")
    arguments = parser.parse_args(argv)
    try:
        arguments.logins = access.Logins.configured(arguments.auth, arguments.auth_file)
    except access.CredentialsError as error:
        parser.error(str(error))
    return arguments


# The command line is checked before the models load, so --help and mistakes answer at once.
ARGUMENTS = parse_arguments() if __name__ == "__main__" else None

# One core per process: the BLAS pool is set by webapp.handlers, TensorFlow's pools here, before it runs.
serve_on_one_core()
try:
    MODELS = load_models(MODELS_FOLDER)
except ArtifactError as error:
    raise SystemExit(f"app.py cannot start: {error}") from error

# Without a command line (imported by `gradio app.py` or tests) corrections are on, as by default.
CORRECTIONS = not (ARGUMENTS and ARGUMENTS.no_corrections)
PRESENTER, FEEDBACK = Presenter(MODELS), Feedback(MODELS, MODELS_FOLDER, corrections_enabled=CORRECTIONS)
demo = page.build_demo(PRESENTER, FEEDBACK, FOLDERS)


def main(arguments: argparse.Namespace) -> None:
    """Serve on arguments.host:port until interrupted, with a share link, a login and MCP when asked."""
    logins = arguments.logins
    demo.launch(
        server_name=arguments.host,
        server_port=arguments.port,
        share=arguments.share,
        auth=logins,
        # The login on every door, shared sessions for sessionless calls, POST /api/...: see page.app_options.
        app_kwargs=page.app_options(PRESENTER, FEEDBACK, logins),
        mcp_server=arguments.mcp,
        max_file_size=MAX_INPUT_BYTES,
        css=page.styles(),
        head=page.head(),
        js=page.script(),
        footer_links=["api"],
        # No per-run records of what people draw or upload, and no work spent keeping them.
        run_history=False,
        state_session_capacity=page.SESSION_CAPACITY,
        prevent_thread_lock=True,
    )
    uploads.start_sweeping(uploads.temporary_folder(), blocks=demo)
    # The models, TensorFlow, Gradio and the page are over 550,000 objects that live as long as the app; a
    # full garbage collection walked them all, about 200 ms with the GIL held, every request waiting
    # (docs/deployment.md, "Garbage collection"). Frozen, they are never walked again.
    gc.freeze()
    if arguments.share and not demo.share_url:
        print(f"Could not create a public share link (no internet?); still serving on {demo.local_url}")
    demo.block_thread()


if __name__ == "__main__":
    main(ARGUMENTS)
