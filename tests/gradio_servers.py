"""Small Gradio apps served on 127.0.0.1 for a test, and a call through their HTTP API."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr
import httpx

from deploy import clients
from deploy.processes import free_port


@contextlib.contextmanager
def served(demo: gr.Blocks, **launch_options: Any) -> Iterator[str]:
    """`demo` launched on a free port of 127.0.0.1 (launch_options: Gradio's, such as app_kwargs or auth);
    yields its URL and closes it afterwards."""
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


def echo_blocks(transform: Callable[[str], str]) -> gr.Blocks:
    """A Blocks with one text event, `transform`, at `/gradio_api/call/echo`."""
    with gr.Blocks() as demo:
        text, echoed = gr.Textbox(), gr.Textbox()
        text.submit(transform, text, echoed, api_name="echo")
    return demo


def call_echo(client: httpx.Client, text: str) -> Any:
    """`POST /gradio_api/call/echo`, then its event stream: the answer."""
    response = client.post("/gradio_api/call/echo", json={"data": [text]})
    response.raise_for_status()
    events = clients.CallEvents()
    with client.stream("GET", f"/gradio_api/call/echo/{response.json()['event_id']}") as stream:
        return next(answer for done, answer in map(events.feed, stream.iter_lines()) if done)
