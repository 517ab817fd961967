"""Talking to a running app over HTTP as its callers do: the page's own drawing event, and the API calls.

Shared by the tests that hold the app to its limits and by bench/request_cost.py; imports nothing of the
project, like the rest of `deploy`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

_CONFIGS: dict[tuple[int, str], dict] = {}
"""The page's configuration per client and address, fetched on its first page event."""


class CallError(Exception):
    """The app answered with an error event or an unexpected status."""


class CallEvents:
    """Reads the server-sent events of one `/gradio_api/call/<api_name>/<event_id>` stream, line by line.

    `feed(line)` returns (True, the answer) once the `complete` event's data arrives, (False, None) before;
    an `error` event raises CallError. One reader for the synchronous client here and bench's asynchronous one.
    """

    def __init__(self) -> None:
        self.event: str | None = None

    def feed(self, line: str) -> tuple[bool, Any]:
        if line.startswith("event:"):
            self.event = line.removeprefix("event:").strip()
        elif line.startswith("data:") and self.event in ("complete", "error"):
            data = json.loads(line.removeprefix("data:").strip() or "null")
            if self.event == "error":
                raise CallError(f"error event: {data}")
            return True, data[0]
        return False, None


def page_event(
    client: httpx.Client, image: bytes, elem_id: str = "sketchpad", session: str | None = None, *, blobs: bool = False
) -> dict:
    """A drawing as the page sends it, then the canvas's change event through the queue
    (`/gradio_api/queue/join`, answer read from `/gradio_api/queue/data`).

    blobs: False sends the PNG as an uploaded file named in the event (as a program may); True as the page's
    canvas does on each stroke: it posts its background, layer and composite to the canvas's `accept_blobs`
    (`/gradio_api/component_server`) and the event names them by an id.
    Returns Gradio's `process_completed` message ({"success", "output": {"data" or "error"}}). The page's
    configuration is fetched once per client, as a browser tab does when it opens the page.
    """
    key = (id(client), str(client.base_url))
    if key not in _CONFIGS:
        _CONFIGS[key] = client.get("config").json()
    canvas, fn_index, inputs = canvas_change_event(_CONFIGS[key], elem_id)
    session = session or f"page-{time.monotonic_ns()}"
    value = post_blobs(client, canvas, image, session) if blobs else uploaded_canvas(client, image)
    body = canvas_event_body(value, canvas, fn_index, inputs, session)
    client.post("gradio_api/queue/join", json=body).raise_for_status()
    with client.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line.removeprefix("data:"))
                if message.get("msg") == "process_completed":
                    return message
    raise CallError("the stream ended without an answer")


def canvas_change_event(config: dict, elem_id: str = "sketchpad") -> tuple[int, int, int]:
    """From the page's configuration (`/config`): the canvas's component id, the index of its change event
    and how many inputs that event takes."""
    canvas = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    fn_index, dependency = next(
        (index, d)
        for index, d in enumerate(config["dependencies"])
        if [canvas, "change"] in [list(target) for target in d["targets"]]
    )
    return canvas, fn_index, len(dependency["inputs"])


def canvas_event_body(value: dict, canvas: int, fn_index: int, inputs: int, session: str) -> dict:
    """The queue join's JSON for the canvas's change event with `value`; the event's other inputs (this
    session's state) are None, as the page sends them."""
    data = [value] + [None] * (inputs - 1)
    return {"data": data, "fn_index": fn_index, "session_hash": session, "trigger_id": canvas}


def uploaded_canvas(client: httpx.Client, image: bytes) -> dict:
    """The canvas value with `image` uploaded once and named as its background, layer and composite."""
    path = client.post("gradio_api/upload", files={"files": ("canvas.png", image, "image/png")}).json()[0]
    return canvas_value(path)


def canvas_value(path: str) -> dict:
    """The canvas value naming the uploaded file `path` as its background, layer and composite."""
    file_data = {"path": path, "orig_name": "canvas.png", "meta": {"_type": "gradio.FileData"}}
    return {"background": file_data, "layers": [file_data], "composite": file_data, "id": None}


def post_blobs(client: httpx.Client, canvas: int, image: bytes, session: str) -> dict:
    """Post `image` as the canvas's background, layer 0 and composite, as the page's canvas does: {"id": ...}."""
    blob_id = f"blobs-{time.monotonic_ns()}"
    for part, index in (("background", "null"), ("layer", "0"), ("composite", "null")):
        fields = {"component_id": str(canvas), "session_hash": session, "fn_name": "accept_blobs"}
        fields |= {"id": blob_id, "type": part, "index": index}
        response = client.post(
            "gradio_api/component_server/", data=fields, files={"file": (f"{part}.png", image, "image/png")}
        )
        if response.status_code != 200:
            raise CallError(f"accept_blobs: {response.status_code}: {response.text[:200]}")
    return {"id": blob_id}


def gradio_call(client: httpx.Client, api_name: str, image: bytes, name: str, session: str | None = None) -> Any:
    """`POST /gradio_api/upload`, `POST /gradio_api/call/<api_name>`, then its event stream: the answer.

    session: Gradio's session hash, as a browser tab sends one for all its calls; None as curl does.
    """
    path = client.post("gradio_api/upload", files={"files": (name, image)}).json()[0]
    payload = {"data": [{"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}]}
    if session is not None:
        payload["session_hash"] = session
    response = client.post(f"gradio_api/call/{api_name}", json=payload)
    response.raise_for_status()
    events = CallEvents()
    with client.stream("GET", f"gradio_api/call/{api_name}/{response.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            done, answer = events.feed(line)
            if done:
                return answer
    raise CallError("the event stream ended without a result")


def api_call(client: httpx.Client, route: str, image: bytes, name: str) -> Any:
    """`POST /api/<route>` with the image as the form field `file`: the answer, in one round trip."""
    response = client.post(f"api/{route}", files={"file": (name, image)})
    if response.status_code != 200:
        raise CallError(f"{response.status_code}: {response.text[:200]}")
    return response.json()
