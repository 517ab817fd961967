"""`/gradio_api/call/<name>` for the stateless endpoints, answered beside Gradio's queue instead of through it.

Gradio's `call` protocol (what its API page shows for curl) takes two requests after the upload: a POST of
the inputs, answered with an event id, then a GET of that id, answered with an event stream. Gradio runs
each call as a job of its queue: a task that processes it, the file copied (and hashed) into the
component's cache, the result through the session's message queue, a heartbeat task beside the stream.
For `/classify`, `/explain` and `/read_number`, which keep no state and whose models batch concurrent
callers themselves (webapp.batching), none of that changes the answer, and each call paid for all of it:
taken here, a `/classify` call costs 0.85x the app's CPU it cost through the queue (`bench.interleaved_cost`
against the code before; docs/deployment.md).

Here the POST of one of them starts its handler at once, as a task on the event loop, and the GET of the
event id sends the answer in Gradio's own format: `event: complete` with `[answer]`, or `event: error` with
Gradio's error payload (`gradio.utils.error_payload`). The call is taken only when Gradio would take it
the same way: a caller its login lets in, one uploaded file (Gradio's own check that the path is in its
upload folder) and room in the queue's size. Anything else (another endpoint, a body this does not read,
no file, an event id it did not give) goes on to Gradio as before. The page and gradio_client use the
queue's other door (`/queue/join`) and are not touched.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import gradio.utils
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from webapp import access, asgi_bodies

CALL = re.compile(r"^/gradio_api/call/(?P<name>\w+)/?$")
STREAM = re.compile(r"^/gradio_api/call/(?:v2/)?(?P<name>\w+)/(?P<event_id>[0-9a-f]{32})$")
MAX_BODY_BYTES = 64 * 1024
"""A call's JSON names its file; larger bodies go to Gradio unread."""
UNCLAIMED_S = 300.0
"""An answer nobody has asked for within this many seconds is dropped (Gradio keeps its own until the session ends)."""


@dataclass
class Pending:
    """One call taken: its endpoint, the task computing its event-stream text and when it started (monotonic s)."""

    name: str
    task: asyncio.Task
    started: float


class AnswerStatelessCalls:
    """ASGI middleware: `POST /gradio_api/call/<name>` for a name of `handlers` and the GET of its event id.

    handlers: endpoint name -> the page's handler, called with the uploaded file's path (a coroutine
    function is awaited on the loop, another runs in a worker thread, as Gradio runs them).
    max_pending: the most calls taken and not yet fetched (the queue's size: beyond it Gradio decides).
    """

    def __init__(self, app: ASGIApp, handlers: Mapping[str, Callable[[str], Any]], max_pending: int) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.max_pending = max_pending
        self.pending: dict[str, Pending] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "POST" and (call := CALL.match(scope["path"])) and call["name"] in self.handlers:
                await self._take(call["name"], scope, receive, send)
                return
            stream = STREAM.match(scope["path"]) if scope["method"] == "GET" else None
            taken = stream and stream["name"] == getattr(self.pending.get(stream["event_id"]), "name", None)
            # The stream asks for the login as the call did: without it Gradio answers (401).
            if taken and may_call(scope):
                text = await self.pending.pop(stream["event_id"]).task
                await Response(text, media_type="text/event-stream")(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _take(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Start the call and answer its event id, or hand the request, body and all, on to Gradio."""
        body = await asgi_bodies.read_body(scope, receive, MAX_BODY_BYTES)
        path = uploaded_file(scope, body.data) if body.data is not None else None
        self._drop_unclaimed()
        if path is None or not may_call(scope) or len(self.pending) >= self.max_pending:
            await self.app(scope, body.receive, send)
            return
        event_id = uuid.uuid4().hex
        show_error = bool(scope["app"].get_blocks().show_error)
        task = asyncio.create_task(answer_text(self.handlers[name], path, show_error))
        self.pending[event_id] = Pending(name=name, task=task, started=time.monotonic())
        await JSONResponse({"event_id": event_id})(scope, body.receive, send)

    def _drop_unclaimed(self) -> None:
        oldest = time.monotonic() - UNCLAIMED_S
        for event_id in [key for key, pending in self.pending.items() if pending.started < oldest]:
            self.pending.pop(event_id).task.cancel()


def uploaded_file(scope: Scope, body: bytes) -> str | None:
    """The path of the one file a call's JSON body sends (`{"data": [FileData]}`) when Gradio's upload put it
    in its upload folder (what Gradio checks before a component gets a file); else None."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        return None
    path = data[0].get("path")
    if not isinstance(path, str) or not path:
        return None
    blocks = scope["app"].get_blocks()
    allowed, _ = gradio.utils.is_allowed_file(
        gradio.utils.abspath(path),
        blocked_paths=blocks.blocked_paths,
        allowed_paths=[],
        created_paths=[gradio.utils.get_upload_folder()],
    )
    return path if allowed else None


def may_call(scope: Scope) -> bool:
    """Whether Gradio's login check lets this request in: no login, or its session cookie. A custom
    authentication dependency is Gradio's to run."""
    app = scope["app"]
    if getattr(app, "auth_dependency", None) is not None:
        return False
    return getattr(app, "auth", None) is None or access.signed_in(Request(scope))


async def answer_text(handler: Callable[[str], Any], path: str, show_error: bool) -> str:
    """The event stream Gradio's `call` route sends for `handler(path)`: one `complete` event with the answer
    in a list, or one `error` event with Gradio's payload for the exception (the reason of a gr.Error)."""
    try:
        if inspect.iscoroutinefunction(handler):
            answer = await handler(path)
        else:
            answer = await anyio.to_thread.run_sync(handler, path)
    except Exception as error:
        return f"event: error\ndata: {json.dumps(gradio.utils.error_payload(error, show_error))}\n\n"
    return f"event: complete\ndata: {json.dumps([answer])}\n\n"
