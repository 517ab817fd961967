"""Finding a request's route: Gradio's order against the app's (webapp.route_order), side by side.

    .venv/bin/python -m bench.route_matching      # about 30 s; writes bench/results/route_matching.json

The app's own Blocks (app.py's page, its models loaded) are built into Gradio's FastAPI app twice, one
left in Gradio's order and one with the busiest routes first. For each path an answer takes, the time
Starlette's router spends trying routes until the one that answers (`route_order.first_match`), in
rounds that alternate the two orders, median over rounds, in microseconds per request.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import gradio as gr

from bench.startup import machine
from webapp import route_order

RESULTS = Path(__file__).resolve().parent / "results" / "route_matching.json"
REQUESTS = {
    "upload": ("POST", "/gradio_api/upload"),
    "call": ("POST", "/gradio_api/call/classify"),
    "call_stream": ("GET", "/gradio_api/call/classify/0123456789abcdef"),
    "queue_join": ("POST", "/gradio_api/queue/join"),
    "queue_data": ("GET", "/gradio_api/queue/data"),
    "api_classify": ("POST", "/api/classify"),
}
PATHS = {
    "/classify call": ("upload", "call", "call_stream"),
    "page drawing event": ("upload", "queue_join", "queue_data"),
}
"""The requests of one answer: a `/classify` call (deploy.clients.gradio_call) and the page's drawing event
(deploy.clients.page_event)."""


def app_routes() -> list:
    """The routes of app.py's FastAPI app as Gradio builds it, in Gradio's order (before start-up)."""
    import app
    from webapp import page

    options = page.app_options(app.PRESENTER, app.FEEDBACK, None)
    return list(gr.routes.App.create_app(app.demo, app_kwargs=options).router.routes)


def microseconds_per_request(routes: list, request: dict, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        route_order.first_match(routes, request)
    return 1e6 * (time.perf_counter() - started) / repeats


def position(routes: list, name: str) -> int:
    """Where the route answering request `name` of REQUESTS stands in `routes`, counted from 1."""
    return routes.index(route_order.first_match(routes, route_order.http_request(*REQUESTS[name]))) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.route_matching", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=2000, help="requests per round and order")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    gradio_order = app_routes()
    app_order = list(gradio_order)
    if not route_order.busiest_first(app_order):
        raise SystemExit("the busiest routes could not be moved first on this Gradio version")
    times: dict[str, dict[str, list[float]]] = {name: {"gradio": [], "app": []} for name in REQUESTS}
    for _ in range(arguments.rounds):
        for name, (method, path) in REQUESTS.items():
            request = route_order.http_request(method, path)
            for order, routes in (("gradio", gradio_order), ("app", app_order)):
                times[name][order].append(microseconds_per_request(routes, request, arguments.repeats))
    per_request = {
        name: {
            "route_position": {"gradio": position(gradio_order, name), "app": position(app_order, name)},
            **{order: round(statistics.median(values), 2) for order, values in times[name].items()},
        }
        for name in REQUESTS
    }
    per_answer = {
        path: {order: round(sum(per_request[name][order] for name in names), 1) for order in ("gradio", "app")}
        for path, names in PATHS.items()
    }
    result = {
        "what": __doc__.split("\n\n")[0],
        "unit": "microseconds of CPU per request (median over rounds), routes tried until the one that answers",
        "machine": machine(),
        "gradio": gr.__version__,
        "routes": len(gradio_order),
        "rounds": arguments.rounds,
        "repeats": arguments.repeats,
        "per_request": per_request,
        "per_answer": per_answer,
    }
    arguments.output.write_text(json.dumps(result, indent=2) + "\n")
    for path, row in per_answer.items():
        print(f"{path}: {row['gradio']} -> {row['app']} microseconds per answer")
    print(f"written to {arguments.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
