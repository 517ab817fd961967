"""What Gradio keeps track of after answers: the paths in `Blocks.temp_file_sets`, against the files still there.

    .venv/bin/python -m bench.tracked_files                         # about a minute per checkout
    .venv/bin/python -m bench.tracked_files --before /tmp/before    # and another checkout's app

The app (this checkout's; with `--before`, that checkout's too, each in a process of its own) is
started with uploads living LIFETIME_S seconds, answers ROUNDS x CALLS `/classify`
calls, each with its own file, and after each round waits until every upload has passed its lifetime
and the sweeps have run. Counted then: the paths Gradio still tracks, and how many of them name a file
that is gone. A path kept for a file gone is kept for the process's life (webapp/uploads.py). Writes
bench/results/tracked_files.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LIFETIME_S = 3
ROUNDS, CALLS = 3, 40
REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "bench" / "results" / "tracked_files.json"
RESULT_LINE = "tracked files: "


def tracked(demo: Any) -> list[str]:
    # Not webapp.uploads.tracked_by: the checkout measured may be older than it.
    return [path for files in list(demo.temp_file_sets) for path in list(files)]


def measure(checkout: Path) -> dict[str, Any]:
    """Start `checkout`'s app in this process and count what Gradio tracks after each round of answers."""
    data = tempfile.mkdtemp(prefix="tracked-files-")
    os.environ.update(DIGITS_UPLOAD_LIFETIME_S=str(LIFETIME_S), DIGITS_DATA_DIR=data)
    sys.path.insert(0, str(checkout))
    sys.argv = ["app.py"]
    import httpx

    import app  # The checkout's: the page is built, the models loaded.
    from deploy import clients
    from deploy.processes import free_port
    from webapp import page, uploads

    port = free_port()
    options = page.app_options(app.PRESENTER, app.FEEDBACK, None)
    app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, app_kwargs=options)
    uploads.start_sweeping(uploads.temporary_folder(), blocks=app.demo)
    digit = (checkout / "assets" / "examples" / "canvas_3.png").read_bytes()
    at_start = len(tracked(app.demo))
    rounds = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/", timeout=60) as client:
            for round_index in range(ROUNDS):
                for call in range(CALLS):
                    clients.gradio_call(client, "classify", digit, f"digit-{round_index}-{call}.png", "bench")
                time.sleep(4 * LIFETIME_S)  # every upload past its lifetime, and several sweeps since
                paths = tracked(app.demo)
                gone = sum(not os.path.lexists(path) for path in paths)
                answers = (round_index + 1) * CALLS
                size = sum(sys.getsizeof(path) for path in paths)  # the strings alone, not the sets' slots
                rounds.append({"answers": answers, "tracked_paths": len(paths), "of_files_gone": gone, "bytes": size})
    finally:
        app.demo.close()
    return {"checkout": str(checkout), "tracked_paths_at_start": at_start, "rounds": rounds}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.tracked_files", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout (git worktree add ...), measured the same way")
    parser.add_argument("--checkout", type=Path, help=argparse.SUPPRESS)  # one app, printed as JSON: the parts
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    if arguments.checkout:
        print(RESULT_LINE + json.dumps(measure(arguments.checkout.resolve())))
        return {}
    checkouts = {"this": REPOSITORY, **({"before": arguments.before.resolve()} if arguments.before else {})}
    result = {"what": __doc__.split("\n\n")[0], "upload_lifetime_s": LIFETIME_S}
    for name, checkout in checkouts.items():
        # A process each: an app's modules can be imported once per process.
        command = [sys.executable, "-m", "bench.tracked_files", "--checkout", str(checkout)]
        output = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=True).stdout
        result[name] = json.loads(output.split(RESULT_LINE)[-1])
        print(name, json.dumps(result[name]["rounds"]), flush=True)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
