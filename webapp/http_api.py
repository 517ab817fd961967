"""One round trip for programs: `POST /api/classify`, `/api/explain` and `/api/read_number`.

Each takes the image as the multipart form field `file` and answers DESIGN.md's JSON object (without
`path`) in the response itself: no upload step, no event id, no event stream, no Gradio session, so a
call costs little more than its models. The page's limits hold (the same byte limit before anything is
read, the same pixel limits before decoding, in `preprocessing`), errors answer HTTP 400 or 413 with
`{"error": "<reason a person understands>"}` (a request over the limit is refused before it is parsed,
`RefuseLargeBodies`), and with a login configured `access.RequireLogin` asks
for it here too. The routes are FastAPI's, so the server's OpenAPI page (/api/docs) documents them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import gradio as gr
from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from preprocessing import MAX_INPUT_BYTES

ImageFile = Annotated[UploadFile, File(description="the image file (PNG, JPEG, HEIC, WebP, ...)")]
PREFIX = "/api"
ENVELOPE_BYTES = 64 * 1024
"""What a multipart request may add to its file: boundaries and headers."""
DOCS_URL = "/api/docs"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": 'not an image this app can read, or no file: {"error": reason}'},
    413: {"description": 'larger than the app\'s limit: {"error": reason}'},
}


class RequestError(Exception):
    """A request this API refuses, with its HTTP status and the reason for the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RefuseLargeBodies:
    """ASGI middleware: a request to the HTTP API larger than the app's limit is answered 413 before the
    app parses it, whether it declares its length or sends it in chunks (read up to the limit, no further)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_INPUT_BYTES + ENVELOPE_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        declared = int(dict(scope["headers"]).get(b"content-length", b"0") or 0)
        if declared > self.limit:
            await too_large(declared)(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # The client went away.
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await too_large(len(body))(scope, receive, send)
                return
        replayed = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive_body() -> Message:
            return replayed.pop() if replayed else await receive()

        await self.app(scope, receive_body, send)


def too_large(size: int) -> JSONResponse:
    limit = MAX_INPUT_BYTES // 2**20
    return JSONResponse({"error": f"the request is over {size / 2**20:.1f} MiB; the limit is {limit} MiB"}, 413)


async def image_bytes(file: UploadFile) -> bytes:
    """The uploaded file's bytes (the request as a whole was held to the limit by RefuseLargeBodies); the
    file itself is refused over the limit, and the image's pixels are checked before decoding downstream."""
    data = await file.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise RequestError(413, f"the file is over the {MAX_INPUT_BYTES // 2**20} MiB limit")
    if not data:
        raise RequestError(400, "the file is empty: send one image (PNG, JPEG, HEIC, WebP, ...)")
    return data


async def answer_with(handler: Callable[[Any], Any], data: bytes) -> dict[str, Any]:
    """Run a page handler on the image bytes: awaited when it is a coroutine function (it chooses its threads
    itself), else in a worker thread; its gr.Error (an unreadable image) becomes a 400."""
    try:
        if inspect.iscoroutinefunction(handler):
            return await handler(data)
        return await run_in_threadpool(handler, data)
    except gr.Error as error:
        raise RequestError(400, str(error.message)) from error


def router(classify: Callable, explain: Callable, read_number: Callable) -> APIRouter:
    """The three routes over the page's own handlers (webapp.handlers, webapp.feedback, webapp.number_tab).

    Handlers take image bytes like the file paths Gradio hands them; the models behind them batch
    concurrent callers (webapp.batching), whichever door the call came in by.
    """
    api = APIRouter(prefix=PREFIX, tags=["digits"], responses=ERRORS)

    def route(name: str, handler: Callable, summary: str) -> None:
        async def endpoint(file: ImageFile) -> Any:
            try:
                data = await image_bytes(file)
                return await answer_with(handler, data)
            except RequestError as error:
                return JSONResponse({"error": error.message}, status_code=error.status)

        api.add_api_route(f"/{name}", endpoint, methods=["POST"], summary=summary, description=handler.__doc__)

    route("classify", classify, "Read one handwritten digit: every model's probabilities and the ensemble's digit")
    route("explain", explain, "Why each model reads the digit as it does: neighbours and saliency maps")
    route("read_number", read_number, "Read a whole number: the digits left to right, each with its models' answers")
    return api


def routes(classify: Callable, explain: Callable, read_number: Callable) -> list[BaseRoute]:
    """The routes to hand FastAPI at construction (`launch(app_kwargs={"routes": ...})`): before Gradio's own."""
    return list(router(classify, explain, read_number).routes)
