"""The real app on 127.0.0.1, called over HTTP with gradio_client as DESIGN.md's API section says."""

from __future__ import annotations

from pathlib import Path

import pillow_heif
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

pytestmark = pytest.mark.server

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"


@pytest.fixture(scope="module")
def client(app_server) -> Client:
    return Client(app_server, verbose=False)


def test_classify_answers_with_the_design_json(client):
    answer = client.predict(handle_file(str(EXAMPLES / "canvas_3.png")), api_name="/classify")
    assert set(answer) == {"digit", "confidence", "models", "ensemble"}
    assert set(answer["models"]) == {"knn", "rf", "sgd", "cnn"}
    assert all(len(values) == 10 for values in [*answer["models"].values(), answer["ensemble"]])
    assert answer["digit"] == max(range(10), key=answer["ensemble"].__getitem__)
    assert 0 < answer["confidence"] <= 1


def test_the_server_answers_exactly_as_the_library(client, app_models_dir):
    """The app's serving path (one BLAS thread, shared batches, the fast KNN search) changes no
    answer: every example image gets the probabilities the library computes in one batch here."""
    import numpy as np

    import preprocessing
    from digit_models.artifacts import load_models
    from digit_models.classify import classify_images

    paths = sorted(path for path in EXAMPLES.iterdir() if path.suffix in {".png", ".jpg"})
    expected = classify_images(load_models(app_models_dir), [preprocessing.to_mnist(path).image for path in paths])
    for path, library in zip(paths, expected, strict=True):
        served = client.predict(handle_file(str(path)), api_name="/classify")
        assert served["digit"] == library["digit"], path.name
        for key in library["models"]:
            np.testing.assert_allclose(served["models"][key], library["models"][key], atol=2e-6, err_msg=path.name)
        np.testing.assert_allclose(served["ensemble"], library["ensemble"], atol=2e-6, err_msg=path.name)


def test_curls_call_answers_exactly_as_the_queue_does(client, app_server):
    """`/gradio_api/call/classify` (curl's door, answered beside Gradio's queue: webapp.direct_calls) gives every
    example image the very answer that gradio_client's door, the queue, gives it."""
    import httpx

    from deploy import clients

    paths = sorted(path for path in EXAMPLES.iterdir() if path.suffix in {".png", ".jpg"})
    with httpx.Client(base_url=app_server, timeout=60) as http:
        for path in paths:
            direct = clients.gradio_call(http, "classify", path.read_bytes(), path.name)
            assert direct == client.predict(handle_file(str(path)), api_name="/classify"), path.name


def test_an_iphone_heic_photo_is_read_like_its_jpeg(client, app_server, tmp_path):
    import httpx

    jpeg = EXAMPLES / "photo_9_blue_ink.jpg"
    heic = tmp_path / "IMG_0002.HEIC"
    pillow_heif.from_pillow(Image.open(jpeg)).save(heic, quality=95)
    from_heic = client.predict(handle_file(str(heic)), api_name="/classify")
    assert from_heic["digit"] == client.predict(handle_file(str(jpeg)), api_name="/classify")["digit"] == 9
    posted = httpx.post(f"{app_server}api/classify", files={"file": (heic.name, heic.read_bytes())}, timeout=60)
    assert posted.status_code == 200 and posted.json()["digit"] == 9


def test_blank_image_gets_no_digit_and_a_message(client, tmp_path):
    path = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(path)
    answer = client.predict(handle_file(str(path)), api_name="/classify")
    assert answer["digit"] is None
    assert answer["message"].startswith("No digit found")


def test_bad_file_raises_an_error_and_the_server_keeps_serving(client, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not an image")
    with pytest.raises(AppError, match=r"broken\.png"):
        client.predict(handle_file(str(bad)), api_name="/classify")
    answer = client.predict(handle_file(str(EXAMPLES / "photo_0_black_ink.jpg")), api_name="/classify")
    assert isinstance(answer["digit"], int)


def test_file_over_the_size_limit_is_refused_and_the_server_keeps_serving(client, tmp_path):
    from preprocessing import MAX_INPUT_BYTES

    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\0" * (MAX_INPUT_BYTES + 1024))
    # The client reads the limit from the app's config and refuses; the server would answer HTTP 413.
    with pytest.raises(ValueError, match="maximum file size"):
        client.predict(handle_file(str(huge)), api_name="/classify")
    answer = client.predict(handle_file(str(EXAMPLES / "canvas_5.png")), api_name="/classify")
    assert isinstance(answer["digit"], int)


def test_api_page_lists_the_three_endpoints_and_nothing_of_the_page_wiring(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert sorted(endpoints) == ["/classify", "/explain", "/read_number"]
    for name in endpoints:
        (parameter,) = endpoints[name]["parameters"]
        assert parameter["component"] == "File"


def test_explain_over_http_gives_every_models_reason(client):
    answer = client.predict(handle_file(str(EXAMPLES / "canvas_3.png")), api_name="/explain")
    assert "path" not in answer
    assert set(answer["models"]) == {"knn", "rf", "sgd", "cnn"}
    assert len(answer["input"]) == 28 and len(answer["models"]["cnn"]["saliency"]) == 28
    assert answer["models"]["knn"]["neighbours"][0]["label"] in range(10)


@pytest.mark.parametrize("endpoint", ["classify", "explain", "read_number"])
def test_a_file_on_the_server_that_was_not_uploaded_is_refused(app_server, endpoint):
    """The endpoints take the uploaded file's path as it arrives (webapp.file_endpoints): a path anywhere
    else on the server, such as the app's own example images, must still be refused, as Gradio refuses it
    before any handler runs, and the server keeps answering."""
    import httpx

    from deploy import clients

    with httpx.Client(base_url=app_server, timeout=60) as http:
        for path in (str(EXAMPLES / "canvas_3.png"), "/etc/passwd"):
            payload = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}], "session_hash": "outsider"}
            event = http.post(f"gradio_api/call/{endpoint}", json=payload).json()["event_id"]
            streamed = http.get(f"gradio_api/call/{endpoint}/{event}").text
            assert "event: error" in streamed and "event: complete" not in streamed, streamed[:300]
        answer = clients.gradio_call(http, endpoint, (EXAMPLES / "canvas_3.png").read_bytes(), "canvas_3.png")
    read = answer["number"] if endpoint == "read_number" else str(answer["digit"])
    assert read == "3"
