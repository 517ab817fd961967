"""`POST /api/classify`, `/api/explain`, `/api/read_number` on the running app: DESIGN.md's JSON in one round
trip, the page's answers exactly, the same limits and errors, documented in the server's OpenAPI page."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.server

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"


def post(url: str, route: str, content: bytes, name: str = "image.png") -> httpx.Response:
    return httpx.post(f"{url}api/{route}", files={"file": (name, content)}, timeout=60)


def test_api_classify_answers_as_the_gradio_endpoint_in_one_round_trip(app_server):
    from gradio_client import Client, handle_file

    path = EXAMPLES / "canvas_3.png"
    response = post(app_server, "classify", path.read_bytes())
    assert response.status_code == 200
    direct = response.json()
    through_gradio = Client(app_server, verbose=False).predict(handle_file(path), api_name="/classify")
    assert direct["digit"] == through_gradio["digit"] == 3 and "path" not in direct
    assert set(direct["models"]) == {"knn", "rf", "sgd", "cnn"}
    np.testing.assert_allclose(direct["ensemble"], through_gradio["ensemble"], atol=1e-6)


def test_api_explain_and_read_number_answer_their_contracts(app_server):
    explained = post(app_server, "explain", (EXAMPLES / "canvas_5.png").read_bytes()).json()
    assert (
        explained["digit"] == 5
        and len(explained["input"]) == 28
        and set(explained["models"])
        == {
            "knn",
            "rf",
            "sgd",
            "cnn",
        }
    )
    read = post(app_server, "read_number", (EXAMPLES / "numbers" / "number_2026_drawn.png").read_bytes()).json()
    assert read["number"] == "2026" and len(read["digits"]) == 4
    assert all(len(digit["box"]) == 4 for digit in read["digits"])


def test_api_refuses_bad_files_with_the_reason_and_keeps_serving(app_server):
    unreadable = post(app_server, "classify", b"this is not an image", "notes.txt")
    assert unreadable.status_code == 400 and "image" in unreadable.json()["error"].lower()
    empty = post(app_server, "read_number", b"")
    assert empty.status_code == 400 and "empty" in empty.json()["error"]
    too_big = post(app_server, "classify", b"\0" * (21 * 2**20))
    assert too_big.status_code == 413 and "limit" in too_big.json()["error"]
    assert post(app_server, "classify", (EXAMPLES / "canvas_3.png").read_bytes()).json()["digit"] == 3


def test_api_refuses_a_decompression_bomb_before_decoding_it(app_server):
    bomb = io.BytesIO()
    Image.new("1", (30_000, 30_000), 1).save(bomb, "PNG")  # 900 megapixels in about 100 KB
    started = time.perf_counter()
    refused = post(app_server, "classify", bomb.getvalue())
    assert time.perf_counter() - started < 1.0
    assert refused.status_code == 400 and "pixels" in refused.json()["error"]


def test_the_api_is_documented_in_the_servers_openapi_page(app_server):
    schema = httpx.get(f"{app_server}openapi.json", timeout=30).json()
    for route in ("classify", "explain", "read_number"):
        operation = schema["paths"][f"/api/{route}"]["post"]
        assert {"200", "400", "413"} <= set(operation["responses"])
    assert httpx.get(f"{app_server}api/docs", timeout=30).status_code == 200


def test_api_refuses_a_chunked_body_over_the_limit_before_parsing_it(app_server):
    def chunks():
        for _ in range(22):
            yield b"\0" * 2**20  # no Content-Length: sent in chunks

    refused = httpx.post(f"{app_server}api/classify", content=chunks(), timeout=60)
    assert refused.status_code == 413 and "limit" in refused.json()["error"]
