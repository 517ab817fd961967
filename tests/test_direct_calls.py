"""webapp.direct_calls: `/gradio_api/call/<name>` of the stateless endpoints answered beside Gradio's queue,
byte for byte as the queue answers it, and everything it does not take left to Gradio."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import gradio as gr
import httpx
import pytest
from starlette.middleware import Middleware

from tests.gradio_servers import call_echo, echo_blocks, served
from webapp import direct_calls
from webapp.file_endpoints import file_to_json_endpoint


async def measure(path: str) -> dict:
    """An async handler as the page's /classify is: the file's size and first bytes, or a gr.Error."""
    data = Path(path).read_bytes()
    if len(data) < 4:
        raise gr.Error(f"{len(data)} bytes is too short", title="Cannot read this file")
    return {"bytes": len(data), "first": data[:4].hex(), "ratio": len(data) / 3}


def first_byte(path: str) -> dict:
    """A plain handler, as /explain and /read_number are: run in a worker thread."""
    return {"first": Path(path).read_bytes()[0]}


def endpoints_blocks() -> gr.Blocks:
    demo = echo_blocks(str.upper)
    with demo:
        file_to_json_endpoint(measure, "measure")
        file_to_json_endpoint(first_byte, "first_byte")
    return demo


def with_direct_calls(**launch_options) -> dict:
    handlers = {"measure": measure, "first_byte": first_byte}
    middleware = [Middleware(direct_calls.AnswerStatelessCalls, handlers=handlers, max_pending=8)]
    return {"app_kwargs": {"middleware": middleware}, **launch_options}


def call_stream(client: httpx.Client, name: str, content: bytes | None = None, path: str | None = None) -> str:
    """Upload `content` (or name `path` as the file), POST the call, GET its stream: the stream's text."""
    if path is None:
        path = client.post("/gradio_api/upload", files={"files": ("file.bin", content)}).json()[0]
    call = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}
    posted = client.post(f"/gradio_api/call/{name}", json=call)
    posted.raise_for_status()
    return client.get(f"/gradio_api/call/{name}/{posted.json()['event_id']}").text


@pytest.fixture
def taken(monkeypatch) -> list[str]:
    """The paths of the calls the middleware answered itself; "cancelled" for one it dropped unanswered."""
    paths: list[str] = []
    answer_text = direct_calls.answer_text

    async def counted(handler, path, show_error):
        paths.append(path)
        try:
            return await answer_text(handler, path, show_error)
        except asyncio.CancelledError:
            paths.append("cancelled")
            raise

    monkeypatch.setattr(direct_calls, "answer_text", counted)
    return paths


def test_answers_and_errors_are_the_queues_byte_for_byte(taken):
    calls = [(name, content) for name in ("measure", "first_byte") for content in (b"\x89PNG more", bytes(range(200)))]
    calls.append(("measure", b"ab"))  # Too short: the handler's gr.Error.
    with served(endpoints_blocks()) as url, httpx.Client(base_url=url, timeout=30) as client:
        through_queue = [call_stream(client, name, content) for name, content in calls]
    assert taken == []
    with served(endpoints_blocks(), **with_direct_calls()) as url, httpx.Client(base_url=url, timeout=30) as client:
        direct = [call_stream(client, name, content) for name, content in calls]
        assert call_echo(client, "still gradio's") == "STILL GRADIO'S"
    assert len(taken) == 5
    assert direct == through_queue
    assert through_queue[-1].startswith("event: error\n") and "too short" in through_queue[-1]


def test_what_it_does_not_take_goes_to_gradio(taken):
    with served(endpoints_blocks(), **with_direct_calls()) as url, httpx.Client(base_url=url, timeout=30) as client:
        # A file Gradio's upload did not make: Gradio refuses it, no handler runs.
        refused = call_stream(client, "measure", path=str(Path(__file__)))
        assert refused.startswith("event: error") and "bytes" not in refused
        assert client.post("/gradio_api/call/measure", content=b"not json").status_code == 422
        assert taken == []
        assert '"bytes": 5' in call_stream(client, "measure", b"12345")
    assert len(taken) == 1


def test_with_a_login_only_a_signed_in_caller_is_answered(taken):
    with (
        served(endpoints_blocks(), **with_direct_calls(auth=("ada", "lovelace"))) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        upload = client.post("/gradio_api/upload", files={"files": ("file.bin", b"12345")})
        assert upload.status_code == 401
        call = {"data": [{"path": "/tmp/x", "meta": {"_type": "gradio.FileData"}}]}
        assert client.post("/gradio_api/call/measure", json=call).status_code == 401
        client.post("/login", data={"username": "ada", "password": "lovelace"}).raise_for_status()
        assert '"bytes": 5' in call_stream(client, "measure", b"12345")
        path = client.post("/gradio_api/upload", files={"files": ("file.bin", b"123456")}).json()[0]
        call = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}
        event = client.post("/gradio_api/call/measure", json=call).json()["event_id"]
        assert httpx.get(f"{url}/gradio_api/call/measure/{event}", timeout=30).status_code == 401
        assert '"bytes": 6' in client.get(f"/gradio_api/call/measure/{event}").text
    assert len(taken) == 2


def test_an_answer_nobody_fetches_is_dropped(taken, monkeypatch):
    async def slow(path: str) -> dict:
        await asyncio.sleep(30)
        return {}

    monkeypatch.setattr(direct_calls, "UNCLAIMED_S", 0.0)
    demo = endpoints_blocks()
    with demo:
        file_to_json_endpoint(slow, "slow")
    options = with_direct_calls()
    options["app_kwargs"]["middleware"][0].kwargs["handlers"]["slow"] = slow
    with served(demo, **options) as url, httpx.Client(base_url=url, timeout=30) as client:
        path = client.post("/gradio_api/upload", files={"files": ("file.bin", b"12345")}).json()[0]
        call = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}
        client.post("/gradio_api/call/slow", json=call).raise_for_status()  # Never fetched.
        fetched = client.post("/gradio_api/call/measure", json=call).json()["event_id"]
        assert '"bytes": 5' in client.get(f"/gradio_api/call/measure/{fetched}").text
        deadline = time.monotonic() + 10
        while "cancelled" not in taken and time.monotonic() < deadline:
            time.sleep(0.05)
    assert taken == [path, path, "cancelled"] or taken == [path, "cancelled", path]
