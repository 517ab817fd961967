"""An upload's bytes written on the event loop (webapp.upload_writes): through a real Gradio server, an
upload is stored byte for byte, large ones too, without a worker thread for its writes."""

from __future__ import annotations

import gradio as gr
import httpx
import pytest
from starlette import datastructures

from tests.gradio_servers import served
from tests.loops import awaited
from webapp import upload_writes


@pytest.fixture(scope="module")
def upload_server():
    assert upload_writes.write_uploads_on_loop()
    with gr.Blocks() as demo:
        gr.File()
    with served(demo) as url:
        yield url


@pytest.fixture
def threadpool_calls(monkeypatch):
    """The functions Starlette's UploadFile hands to a worker thread during the test."""
    calls = []
    original = datastructures.run_in_threadpool

    async def counting(function, *args, **kwargs):
        calls.append(getattr(function, "__name__", repr(function)))
        return await original(function, *args, **kwargs)

    monkeypatch.setattr(datastructures, "run_in_threadpool", counting)
    return calls


@pytest.mark.parametrize("size", [30_000, 5_000_000])
def test_an_upload_is_stored_byte_for_byte_without_a_worker_thread(upload_server, threadpool_calls, size):
    content = bytes(range(256)) * (size // 256)
    with httpx.Client(base_url=upload_server, timeout=30) as client:
        response = client.post("/gradio_api/upload", files={"files": ("drawing.png", content)})
    assert response.status_code == 200
    (stored,) = response.json()
    with open(stored, "rb") as file:
        assert file.read() == content
    assert threadpool_calls == []


def test_without_the_switch_starlette_would_use_a_worker_thread(threadpool_calls, tmp_path):
    # The check above can fail: a file on disk, not marked in memory, goes to the thread pool.
    with open(tmp_path / "part", "wb+") as file:
        awaited(datastructures.UploadFile(file).write(b"ink"))
    assert threadpool_calls == ["write"]
