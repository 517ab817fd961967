"""The routes every answer takes, tried first: Starlette finds a request's route by trying them in order.

Gradio adds some 85 routes, and the ones an answer uses come late: `/gradio_api/upload` is the 76th,
`/gradio_api/call/<name>` the 66th, its event stream the 69th, the page's queue the 67th and 71st. Every
request matched its path's regular expression against each route before its own: about 45 microseconds of
CPU per request on this machine idle (bench/results/route_matching.json), several times that under load,
three requests per `/classify` call and as many per drawing event. The routes of BUSIEST are moved to the
front, in their own order, at the app's start-up (`webapp.page.start_up`), after Gradio has added them.

Order decides which route answers a path two routes could both match, so the move is made only when it
changes no route's answer: for every route's own example request (`example_requests`, each path
parameter filled in) the first route that matches is the same before and after; otherwise the order is
left as Gradio made it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Route

BUSIEST = (
    ("POST", "/gradio_api/upload"),
    ("POST", "/gradio_api/queue/join"),
    ("GET", "/gradio_api/queue/data"),
    ("POST", "/gradio_api/call/{api_name}"),
    ("GET", "/gradio_api/call/{api_name}/{event_id}"),
    ("GET", "/gradio_api/heartbeat/{session_hash}"),
)
"""(method, path) of the routes each answer uses: a file's upload, the page's queue (join, then its event
stream), an API call and its event stream, and the page's heartbeat while it is open."""

PARAMETER = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def busiest_first(routes: list[BaseRoute], busiest: Sequence[tuple[str, str]] = BUSIEST) -> bool:
    """Move the routes of `busiest` to the front of `routes` (in place), the rest in their order; returns
    whether they moved: not when one is missing or the move would change which route answers any route's
    example request."""
    chosen = [_find(routes, method, path) for method, path in busiest]
    if any(route is None for route in chosen):
        return False
    moved = {id(route) for route in chosen}  # Identity: Starlette's routes compare equal by path and endpoint.
    reordered = [*chosen, *(route for route in routes if id(route) not in moved)]
    examples = [request for route in routes for request in example_requests(route)]
    if any(first_match(routes, request) is not first_match(reordered, request) for request in examples):
        return False
    routes[:] = reordered
    return True


def example_requests(route: BaseRoute) -> list[dict]:
    """ASGI scopes of requests `route` answers: its path with every parameter filled in, once per method
    (GET for a route without methods: a mount or websocket has none that this order can change)."""
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return []
    filled = PARAMETER.sub(lambda found: f"example-{found.group(1)}", path)
    methods = getattr(route, "methods", None) or {"GET"}
    return [http_request(method, filled) for method in sorted(methods)]


def http_request(method: str, path: str) -> dict:
    """The ASGI scope of an HTTP request for `path`, as much of it as route matching reads."""
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def first_match(routes: Sequence[BaseRoute], request: dict) -> BaseRoute | None:
    """The route that answers `request` (the first full match, as Starlette's router takes it), or None."""
    for route in routes:
        if route.matches(request)[0] == Match.FULL:
            return route
    return None


def _find(routes: Sequence[BaseRoute], method: str, path: str) -> Route | None:
    for route in routes:
        if isinstance(route, Route) and route.path == path and method in (route.methods or ()):
            return route
    return None
