"""The canvas's value is checked before Gradio decodes it: an oversized drawing sent through the page's own
event, against a running app, is refused within a second without the app's memory growing, and a normal
drawing is answered right after."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.server

MEMORY_BUDGET_MB = 1536


@pytest.fixture(scope="module")
def app(app_models_dir, tmp_path_factory):
    """`python app.py` on a free port: (url, pid), stopped afterwards."""
    from deploy import processes

    folder = tmp_path_factory.mktemp("limits")
    port = processes.free_port()
    process = processes.start_app(
        port, app_models_dir, folder / "app.log", environment={"DIGITS_DATA_DIR": str(folder / "data")}
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        processes.wait_until_ready(url, process, timeout_s=180)
        yield url, process.pid
    finally:
        processes.stop_app(process)


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def send_canvas(client: httpx.Client, image: bytes, blobs: bool) -> tuple[bool, str, float]:
    """The drawing through the page's own event, uploaded (blobs False) or posted to the canvas as the page's
    canvas does (blobs True): (succeeded, the error message or the verdict's HTML, seconds)."""
    from deploy.clients import page_event

    started = time.perf_counter()
    message = page_event(client, image, blobs=blobs)
    seconds = time.perf_counter() - started
    output = message.get("output", {})
    if message.get("success"):
        return True, str(output.get("data", [""])[0]), seconds
    return False, str(output.get("error")), seconds


@pytest.mark.parametrize("blobs", [False, True], ids=["uploaded", "canvas-blobs"])
def test_an_oversized_canvas_is_refused_before_decoding_and_drawing_goes_on(app, blobs):
    url, pid = app
    bomb = png(Image.new("RGBA", (12_000, 12_000), (0, 0, 0, 0)))  # About 0.6 MB for 144 megapixels.
    drawing = Image.new("RGBA", (600, 600), (255, 255, 255, 255))
    ink = np.asarray(drawing).copy()
    ink[120:480, 280:320] = (0, 0, 0, 255)  # A thick 1.
    with httpx.Client(base_url=url, timeout=60) as client:
        ok, answer, _ = send_canvas(client, png(Image.fromarray(ink, "RGBA")), blobs)
        assert ok and "1" in answer  # Warm: the same path answers a drawing.
        before = resident_mb(pid)
        ok, error, seconds = send_canvas(client, bomb, blobs)
        assert not ok and ("over the limit" in error or "too many pixels" in error), error
        assert seconds < 1.0, seconds
        assert resident_mb(pid) < min(MEMORY_BUDGET_MB, before + 100)
        ok, answer, _ = send_canvas(client, png(Image.fromarray(ink, "RGBA")), blobs)
        assert ok and "1" in answer
