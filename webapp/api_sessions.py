"""Calls of the stateless API endpoints that send no session hash share one Gradio session.

A call to `/gradio_api/call/classify` without a session hash (curl as Gradio's API page shows it, most
HTTP clients) makes Gradio open a new session for it: a `SessionState` built from the page's whole
configuration, for every block of the page, then kept until the session store's capacity pushes it
out. `/classify`, `/explain` and `/read_number` keep no state, so their sessionless calls lose nothing
by joining one shared session, and cost what a call with a session hash costs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from webapp import asgi_bodies

SHARED_SESSION = "stateless-api-calls"
MAX_BODY_BYTES = 1 << 20
"""A call's JSON names its file; it never comes near this. Larger bodies pass untouched."""


class ShareSessionlessCalls:
    """ASGI middleware: a POST to one of `paths` whose JSON body has no session hash gets SHARED_SESSION."""

    def __init__(self, app: ASGIApp, paths: Iterable[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        body = await asgi_bodies.read_body(scope, receive, MAX_BODY_BYTES)
        if body.data is None:
            await self.app(scope, body.receive, send)
            return
        shared = with_shared_session(body.data)
        headers = {**dict(scope["headers"]), b"content-length": str(len(shared)).encode()}
        scope = {**scope, "headers": list(headers.items())}
        replayed = asgi_bodies.replay([{"type": "http.request", "body": shared, "more_body": False}], receive)
        await self.app(scope, replayed, send)


def with_shared_session(body: bytes) -> bytes:
    """The JSON body with SHARED_SESSION as its session hash when it has none; any other body as it is."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict) or payload.get("session_hash"):
        return body
    return json.dumps({**payload, "session_hash": SHARED_SESSION}).encode()
