"""The page's API endpoints of one file in and one JSON object out (`/classify`, `/explain`, `/read_number`).

Each is a hidden `gr.File` whose upload event feeds a hidden `gr.JSON`, as Gradio's API page, gradio_client
and the MCP server expect. The event skips both components' own processing (`preprocess=False`,
`postprocess=False`), which Gradio runs in a worker thread each: `gr.File`'s preprocessing only made an
empty temporary file it never used and handed on the upload's path (already checked to be an upload by
then: Gradio does that before and regardless), and `gr.JSON`'s postprocessing re-encodes an answer that
is already plain JSON. Two thread hand-offs and a file less per call; the same request and answer.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

import gradio as gr


def file_to_json_endpoint(handler: Callable[[str | None], Any], api_name: str, **event_options: Any) -> None:
    """Register `handler(path)` at `/gradio_api/call/<api_name>`: one uploaded file in, the handler's
    JSON-ready dict out. event_options: the upload event's other settings (concurrency, description)."""
    api_file = gr.File(label="image", visible=False)
    api_answer = gr.JSON(label="answer", visible=False)
    api_file.upload(
        given_file_data(handler),
        api_file,
        api_answer,
        api_name=api_name,
        preprocess=False,
        postprocess=False,
        **event_options,
    )


def given_file_data(handler: Callable[[str | None], Any]) -> Callable[[Any], Any]:
    """`handler(path)` as an event function that receives the file as Gradio sends it unprocessed (its
    FileData as a dict, or None); a coroutine handler stays a coroutine, so it runs on the event loop.
    The handler's name, docstring and signature are what the API page and MCP read."""
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def event(file: Any) -> Any:
            return await handler(uploaded_path(file))

    else:

        @functools.wraps(handler)
        def event(file: Any) -> Any:
            return handler(uploaded_path(file))

    # Gradio reads the type hints on every call (looking for a gr.Request parameter); written as strings
    # (`from __future__ import annotations`) they are evaluated each time, 25-140 microseconds a call.
    event.__annotations__ = typing.get_type_hints(handler)
    return event


def uploaded_path(file: Any) -> str | None:
    """The path of an unprocessed `gr.File` value: its FileData (dict) `path`, a path given as is, or None."""
    if isinstance(file, Mapping):
        return file.get("path")
    return file if isinstance(file, str) else None
