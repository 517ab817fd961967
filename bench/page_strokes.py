"""What a stroke on the page costs the app: a real Chromium draws on the canvas and the app's CPU is counted.

    .venv/bin/python -m bench.page_strokes                          # about 5 minutes
    .venv/bin/python -m bench.page_strokes --before /tmp/before     # side by side with another checkout

`bench.request_cost` sends the page's drawing event as one program would (one upload, one queue event).
The page does more per stroke: Gradio's canvas posts its background, layer and composite to the server
(`accept_blobs`), uploads them again whenever it is asked for its value (webapp/static/page.js sends only
what it has not sent in the last 30 s), then sends the event; the answer's 28x28 view is fetched as a
file. Here Debian's Chromium (headless, driven by playwright) opens a fresh `python app.py`, draws
`--strokes` strokes with the mouse, each followed by a pause as a person's would, and the app's CPU time
(every thread, /proc/PID/stat) is divided by the strokes. Also counted: the app's CPU per second while the
page is open and nobody draws (Gradio's queue and the page's connection: part of each stroke's figure,
too uneven between runs to subtract) and the HTTP requests per stroke by route. With `--before DIR` the
app of another checkout is measured too, alternating. Writes bench/results/page_strokes.json. About 10
minutes for two checkouts, two rounds.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench.load_client import cpu_seconds, wait_until_idle
from bench.startup import machine
from deploy.browser import CHROMIUM, CHROMIUM_ARGUMENTS
from deploy.processes import REPOSITORY, free_port, start_app, stop_app, wait_until_ready
from digit_models.artifacts import MODELS_DIR

RESULTS = Path(__file__).resolve().parent / "results" / "page_strokes.json"
PAUSE_MS = 600  # After each stroke, as a person lifts the pen and looks.
IDLE_S = 10.0  # The open, untouched page's CPU is measured over this long.
TIMEOUT_MS = 90_000  # Software WebGL on two busy cores can take a second per pointer event.


def stroke_points(number: int) -> list[tuple[float, float]]:
    """The number-th stroke: a short wavy line across the canvas, (x, y) in [0, 1], lower each time."""
    y = 0.15 + 0.7 * (number % 12) / 12
    return [(0.2 + 0.12 * step, y + 0.04 * (step % 2)) for step in range(6)]


def draw(page: Any, points: list[tuple[float, float]]) -> None:
    """One mouse stroke through `points`, fractions of the white drawing square in the middle of the canvas."""
    box = page.locator("#sketchpad canvas").first.bounding_box()
    side = 0.8 * min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    page.mouse.move(left + points[0][0] * side, top + points[0][1] * side)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(left + x * side, top + y * side, steps=2)
    page.mouse.up()


def measure_app(repository: Path, models_dir: Path, strokes: int, log_folder: Path) -> dict[str, Any]:
    """A fresh app from `repository` and a fresh browser: app CPU per stroke, at rest, and requests per stroke."""
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    process = start_app(port, models_dir, log_folder / f"app-{port}.log", repository=repository)
    url = f"http://127.0.0.1:{port}/"
    routes: collections.Counter[str] = collections.Counter()
    try:
        wait_until_ready(url, process, timeout_s=180)
        wait_until_idle(process.pid)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGUMENTS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            expect(page.locator("#sketchpad button[aria-label='Brush Size']")).to_be_visible(timeout=TIMEOUT_MS)
            draw(page, stroke_points(0))  # The first answer loads what later ones reuse.
            expect(page.locator("#verdict")).not_to_contain_text("Draw a digit", timeout=TIMEOUT_MS)
            page.wait_for_timeout(1500)
            wait_until_idle(process.pid)
            at_rest = cpu_seconds(process.pid)
            page.wait_for_timeout(IDLE_S * 1000)
            idle_ms_per_s = 1000 * (cpu_seconds(process.pid) - at_rest) / IDLE_S
            page.on("request", lambda request: routes.update([route_of(request.url, url)]))
            before, started = cpu_seconds(process.pid), time.perf_counter()
            for number in range(1, strokes + 1):
                draw(page, stroke_points(number))
                page.wait_for_timeout(PAUSE_MS)
            page.wait_for_timeout(1500)
            wait_until_idle(process.pid)
            used_ms, seconds = 1000 * (cpu_seconds(process.pid) - before), time.perf_counter() - started
            browser.close()
    finally:
        stop_app(process)
    return {
        "app_cpu_ms_per_stroke": round(used_ms / strokes, 1),
        "at_rest_cpu_ms_per_s": round(idle_ms_per_s, 1),
        "seconds_per_stroke": round(seconds / strokes, 2),
        "requests_per_stroke": {route: round(count / strokes, 2) for route, count in sorted(routes.items())},
    }


def route_of(address: str, base: str) -> str:
    """`http://host/gradio_api/file=/tmp/x.png?y` -> `gradio_api/file`: the route, without query or file name."""
    return address.removeprefix(base).split("?")[0].split("=")[0]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.page_strokes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--strokes", type=int, default=20, help="timed strokes per app (default 20)")
    parser.add_argument("--before", type=Path, help="another checkout, measured alternately with this one")
    parser.add_argument("--rounds", type=int, default=2, help="apps started per checkout (default 2)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"no browser at {CHROMIUM}: apt-get install chromium")
    log_folder = Path("/tmp") / "page_strokes_logs"
    log_folder.mkdir(exist_ok=True)
    checkouts = {"this": REPOSITORY, **({"before": arguments.before.resolve()} if arguments.before else {})}
    runs: dict[str, list[dict]] = {name: [] for name in checkouts}
    for _ in range(arguments.rounds):
        for name, repository in checkouts.items():  # alternating: this, before, this, before, ...
            runs[name].append(measure_app(repository, arguments.models_dir, arguments.strokes, log_folder))
            print(name, json.dumps(runs[name][-1]), flush=True)
    numbers = ("app_cpu_ms_per_stroke", "at_rest_cpu_ms_per_s", "seconds_per_stroke")
    result = {
        "what": __doc__.split("\n\n")[0],
        "machine": machine(),
        "strokes_per_app": arguments.strokes,
        "pause_ms": PAUSE_MS,
        "checkouts": {name: str(path) for name, path in checkouts.items()},
        "runs": runs,
        "median": {
            name: {figure: round(statistics.median(run[figure] for run in found), 2) for figure in numbers}
            for name, found in runs.items()
        },
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median"], indent=1))
    return result


if __name__ == "__main__":
    main()
