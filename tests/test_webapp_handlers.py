"""The page's handlers and renderers without a server: synthetic canvas dicts and image files in, page outputs out."""

from __future__ import annotations

import html
import inspect
import re
import threading
from collections.abc import Coroutine
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image, ImageDraw

from digit_models.artifacts import MEMBER_KEYS
from tests.loops import awaited
from webapp import handlers, models_tab, rendering

CANVAS = 600
EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"


def visible_text(markup: str) -> str:
    """What a browser shows of an HTML fragment: tags dropped, whitespace collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)).strip())


def drawn_one(transparent: bool = False) -> np.ndarray:
    """A thick vertical stroke, as the canvas sends it: uint8 RGBA (600, 600, 4)."""
    image = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0) if transparent else (255, 255, 255, 255))
    ImageDraw.Draw(image).line([(300, 130), (300, 470)], fill=(0, 0, 0, 255), width=44)
    return np.asarray(image)


def canvas_value(composite: np.ndarray | None) -> dict:
    """The Sketchpad's value: {background, layers, composite}, as Gradio 6 passes it with type="numpy"."""
    if composite is None:
        return {"background": None, "layers": [], "composite": None}
    white = np.full_like(composite, 255)
    return {"background": white, "layers": [composite], "composite": composite}


@pytest.fixture(scope="module")
def presenter(quick_models) -> handlers.Presenter:
    digits = np.zeros((3, 28, 28), dtype=np.uint8)
    digits[:, 4:24, 12:16] = 255  # Three vertical bars: MNIST-like ones.
    return handlers.Presenter(quick_models, load_test_digits=lambda: (digits, np.array([1, 1, 1])), seed=0)


def outputs_of(values: tuple | Coroutine) -> dict:
    """Name the handler's output tuple the way app.py lists the components; a coroutine (the page's events
    run on the server's loop) is awaited first."""
    if inspect.iscoroutine(values):
        values = awaited(values)
    verdict, view, *rest = values
    *labels, chart, note, current = rest
    assert len(labels) == len(MEMBER_KEYS)
    return {"verdict": verdict, "view": view, "labels": labels, "chart": chart, "note": note, "current": current}


def classify(presenter: handlers.Presenter, path: str | None) -> dict:
    """The API's `/classify` handler, awaited on an event loop as the server awaits it."""
    return awaited(presenter.classify(path))


@pytest.mark.parametrize("value", [None, canvas_value(None)])
def test_untouched_or_cleared_canvas_asks_for_a_digit(presenter, value):
    shown = outputs_of(presenter.show_canvas(value))
    assert visible_text(shown["verdict"]) == rendering.DRAW_PROMPT
    assert shown["view"] is None
    assert shown["labels"] == [None] * 4
    assert shown["chart"] == ""


def test_blank_white_canvas_says_no_digit_without_probabilities(presenter):
    blank = np.full((CANVAS, CANVAS, 4), 255, dtype=np.uint8)
    shown = outputs_of(presenter.show_canvas(canvas_value(blank)))
    text = visible_text(shown["verdict"])
    assert text.startswith(rendering.DRAW_PROMPT)
    assert "No digit found" in text
    assert not re.match(r"\d", text)
    assert shown["labels"] == [None] * 4


def test_drawn_stroke_gets_a_verdict_that_starts_with_the_digit(presenter):
    shown = outputs_of(presenter.show_canvas(canvas_value(drawn_one())))
    assert visible_text(shown["verdict"]).startswith("1")
    assert shown["view"].shape == (281, 281)
    assert shown["view"].dtype == np.uint8
    for label in shown["labels"]:
        assert list(label) == [str(digit) for digit in range(10)]
        assert sum(label.values()) == pytest.approx(1, abs=1e-4)
    # One chart row per member plus the ensemble, ten digit columns each.
    assert shown["chart"].count("<tr") == 1 + len(MEMBER_KEYS) + 1
    assert shown["chart"].count("<td") == 10 * (len(MEMBER_KEYS) + 1)


def test_page_and_api_agree_on_the_same_image(presenter, tmp_path):
    path = tmp_path / "one.png"
    Image.fromarray(drawn_one()).save(path)
    answer = classify(presenter, str(path))
    shown = outputs_of(presenter.show_upload(str(path)))
    assert visible_text(shown["verdict"]).startswith(str(answer["digit"]))
    for key, label in zip(MEMBER_KEYS, shown["labels"], strict=True):
        assert [label[str(digit)] for digit in range(10)] == pytest.approx(answer["models"][key], abs=1e-6)


def test_transparent_upload_is_read_like_an_opaque_one(presenter, tmp_path):
    opaque, transparent = tmp_path / "opaque.png", tmp_path / "transparent.png"
    Image.fromarray(drawn_one()).save(opaque)
    Image.fromarray(drawn_one(transparent=True)).save(transparent)
    first, second = classify(presenter, str(opaque)), classify(presenter, str(transparent))
    assert second["digit"] == first["digit"]
    assert second["ensemble"] == pytest.approx(first["ensemble"], abs=0.02)


def test_an_iphone_heic_upload_reaches_the_page_like_its_png(presenter, tmp_path):
    from gradio.data_classes import ImageData

    from webapp.canvas import image_upload

    png, heic = tmp_path / "one.png", tmp_path / "IMG_0003.HEIC"
    Image.fromarray(drawn_one()).save(png)
    Image.fromarray(drawn_one()).convert("RGB").save(heic, "HEIF", quality=95)
    upload = image_upload(elem_id="upload", label="Upload", height=300)
    handed = upload.preprocess(ImageData(path=str(heic), orig_name=heic.name))  # Gradio opens it first.
    assert handed == str(heic)
    shown, expected = outputs_of(presenter.show_upload(handed)), outputs_of(presenter.show_upload(str(png)))
    assert visible_text(shown["verdict"]).startswith("1")
    assert visible_text(shown["verdict"]) == visible_text(expected["verdict"])


def test_classify_returns_the_design_json_without_a_path(presenter, tmp_path):
    path = tmp_path / "one.png"
    Image.fromarray(drawn_one()).save(path)
    answer = classify(presenter, str(path))
    assert set(answer) == {"digit", "confidence", "models", "ensemble"}
    assert set(answer["models"]) == set(MEMBER_KEYS)
    assert all(len(values) == 10 for values in answer["models"].values())
    assert answer["digit"] == int(np.argmax(answer["ensemble"]))
    assert answer["confidence"] == pytest.approx(max(answer["ensemble"]))


def test_classify_blank_image_says_no_digit(presenter, tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGB", (300, 300), "white").save(path)
    answer = classify(presenter, str(path))
    assert answer["digit"] is None and answer["ensemble"] is None and answer["models"] == {}
    assert answer["message"].startswith("No digit found")


@pytest.mark.parametrize("content", [b"not an image at all", b"\x89PNG\r\n\x1a\n truncated"])
def test_unreadable_file_raises_gr_error_with_the_reason(presenter, tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(gr.Error) as raised:
        classify(presenter, str(path))
    assert len(raised.value.message) > 10  # A reason, not a bare "Error".
    with pytest.raises(gr.Error):
        awaited(presenter.show_upload(str(path)))


def test_classify_without_a_file_raises_gr_error(presenter):
    with pytest.raises(gr.Error, match="one image file"):
        classify(presenter, None)


def test_random_test_digit_shows_its_true_label(presenter):
    shown = outputs_of(presenter.show_random_test_digit())
    assert "true label 1" in shown["note"]
    assert re.match(r"\d", visible_text(shown["verdict"]))
    assert shown["view"].shape == (281, 281)


def result(ensemble_top: float, member_tops: dict[str, int], digit: int = 3) -> dict:
    """A fake answer whose ensemble gives `digit` probability ensemble_top, the rest on digit 5."""
    ensemble = [0.0] * 10
    ensemble[digit] = ensemble_top
    ensemble[5] = 1 - ensemble_top
    models = {key: [1.0 if index == top else 0.0 for index in range(10)] for key, top in member_tops.items()}
    return {"digit": digit, "confidence": ensemble_top, "models": models, "ensemble": ensemble}


def test_confident_agreement_is_stated_plainly():
    text = visible_text(rendering.verdict_html(result(0.97, dict.fromkeys(MEMBER_KEYS, 3))))
    assert text.startswith("3")
    assert "97% sure" in text and "all 4 models agree" in text
    assert "not sure" not in text


def test_low_confidence_says_not_sure_and_names_the_runner_up():
    text = visible_text(rendering.verdict_html(result(0.55, dict.fromkeys(MEMBER_KEYS, 3))))
    assert text.startswith("3")
    assert "I'm not sure" in text and "maybe 5" in text


def test_disagreeing_models_say_not_sure_and_name_the_dissenters():
    tops = {"knn": 3, "rf": 5, "sgd": 5, "cnn": 3}
    text = visible_text(rendering.verdict_html(result(0.8, tops)))
    assert text.startswith("3")
    assert "I'm not sure" in text
    assert "2 of 4 models agree" in text and "Random forest says 5" in text


def test_enlarged_view_shows_every_pixel_as_a_flat_square():
    image = np.zeros((28, 28), dtype=np.float32)
    image[3, 7] = 1.0
    image[20, 10] = 0.5
    view = rendering.enlarge(image)
    scale = rendering.PIXEL_SCALE
    assert view.shape == (28 * scale + 1, 28 * scale + 1)
    assert (view[3 * scale + 1 : 4 * scale, 7 * scale + 1 : 8 * scale] == 255).all()
    assert (view[20 * scale + 1 : 21 * scale, 10 * scale + 1 : 11 * scale] == 128).all()
    # Grid lines between squares keep single pixels visible.
    assert (view[::scale, :] == rendering.GRID_LEVEL).all()
    assert (view[:, ::scale] == rendering.GRID_LEVEL).all()


def test_models_tab_lists_every_model_from_the_report(quick_run):
    markdown = models_tab.models_markdown(quick_run["reports"], quick_run["models"])
    for name in ("K-nearest neighbours", "Random forest", "Linear (SGD)", "CNN", "Ensemble"):
        assert name in markdown
    assert "%" in markdown and "MB" in markdown


def test_models_tab_falls_back_to_the_manifest_without_a_report(quick_models_dir, tmp_path):
    markdown = models_tab.models_markdown(tmp_path / "no-reports", quick_models_dir)
    assert "CNN" in markdown and "python -m training report" in markdown


def test_examples_folder_lists_every_image_in_its_readme():
    paths = handlers.example_paths(EXAMPLES)
    assert len(paths) >= 12
    readme = (EXAMPLES / "README.md").read_text()
    for path in paths:
        assert f"`{Path(path).name}`" in readme


@pytest.fixture(scope="module")
def feedback(quick_models, quick_models_dir):
    from webapp.feedback import Feedback

    return Feedback(quick_models, quick_models_dir)


def test_why_explains_the_current_drawing_with_neighbours_and_maps(presenter, feedback):
    shown = outputs_of(presenter.show_canvas(canvas_value(drawn_one())))
    neighbours, maps = feedback.explain(shown["current"])
    assert "Red" in neighbours  # The legend a newcomer reads.
    assert len(maps) == 3 and all(image.ndim == 3 for image, _ in maps)  # Forest, SGD and CNN maps.


def test_correction_click_stores_the_model_input_and_lists_it(presenter, feedback, tmp_path, monkeypatch):
    from digit_models import corrections

    monkeypatch.setenv("DIGITS_DATA_DIR", str(tmp_path))
    shown = outputs_of(presenter.show_canvas(canvas_value(drawn_one())))
    message, gallery, summary, examples, note, mine = feedback.correct(7, shown["current"])
    assert message.startswith("Saved: you meant 7")
    (stored,) = corrections.list_corrections()
    assert stored.meant == 7
    np.testing.assert_array_equal(stored.image, shown["current"]["image"])
    assert len(gallery) == 1 and summary.startswith("1 correction")
    # The correction is also this session's first example of its writer's handwriting.
    assert examples.labels.tolist() == [7] and "knows 1 of your digit" in note
    np.testing.assert_array_equal(examples.images[0], shown["current"]["image"])
    assert [correction.meant for correction in mine] == [7]


def test_your_corrections_lists_this_sessions_only(presenter, feedback, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITS_DATA_DIR", str(tmp_path))
    current = outputs_of(presenter.show_canvas(canvas_value(drawn_one())))["current"]
    *_, first_examples, _, first = feedback.correct(4, current)
    *_, first_examples, _, first = feedback.correct(9, current, first_examples, first)
    _, gallery, summary, _, _, second = feedback.correct(1, current)  # Another browser session.
    assert [correction.meant for correction in first] == [9, 4]
    assert [correction.meant for correction in second] == [1] and len(gallery) == 1
    assert summary.startswith("1 correction")


def test_a_sessions_examples_adapt_its_answers_and_forgetting_them_restores_the_models(
    presenter, feedback, tmp_path, monkeypatch
):
    from digit_models.personal import PersonalExamples

    monkeypatch.setenv("DIGITS_DATA_DIR", str(tmp_path))
    value = canvas_value(drawn_one())
    plain = outputs_of(presenter.show_canvas(value))["current"]["result"]
    meant = int(np.argsort(plain["ensemble"])[-2])  # The models' second choice for this stroke.
    examples = PersonalExamples.empty()
    *_, examples, note, _ = feedback.correct(meant, outputs_of(presenter.show_canvas(value))["current"], examples)
    assert "knows 1 of your digit" in note
    once = outputs_of(presenter.show_canvas(value, examples))["current"]["result"]
    assert once["ensemble"][meant] > plain["ensemble"][meant] and once["models"] == plain["models"]
    for _ in range(4):  # Five corrections of the same drawing: more than one slip of the finger.
        *_, examples, note, _ = feedback.correct(meant, outputs_of(presenter.show_canvas(value))["current"], examples)
    assert "knows 5 of your digits" in note
    adapted = outputs_of(presenter.show_canvas(value, examples))["current"]["result"]
    assert adapted["digit"] == meant and adapted["models"] == plain["models"]
    assert outputs_of(presenter.show_canvas(value, PersonalExamples.empty()))["current"]["result"] == plain
    examples, note, mine, gallery, _ = feedback.forget(examples)
    assert len(examples) == 0 and "knows" not in note and mine == [] and gallery == []


def test_correction_without_an_answer_or_when_switched_off_stores_nothing(
    quick_models, quick_models_dir, tmp_path, monkeypatch
):
    from digit_models import corrections
    from webapp.feedback import Feedback

    monkeypatch.setenv("DIGITS_DATA_DIR", str(tmp_path))
    switched_off = Feedback(quick_models, quick_models_dir, corrections_enabled=False)
    assert "switched off" in switched_off.correct(3, {"image": np.zeros((28, 28)), "result": {}})[0]
    assert "Draw or upload" in Feedback(quick_models, quick_models_dir).correct(3, None)[0]
    assert corrections.list_corrections() == []


def test_small_images_are_read_on_the_loop_and_large_ones_in_a_thread(tmp_path, monkeypatch):
    threads: dict[str, str] = {}
    read = handlers.read_image

    def recording(source):
        threads[Path(source).name] = threading.current_thread().name
        return read(source)

    monkeypatch.setattr(handlers, "read_image", recording)
    small, large = tmp_path / "small.png", tmp_path / "large.jpg"
    Image.fromarray(drawn_one()).save(small)
    side = int(handlers.LOOP_MAX_PIXELS**0.5) + 100
    Image.fromarray(drawn_one()).convert("RGB").resize((side, side)).save(large)

    async def both() -> list:
        threads["loop"] = threading.current_thread().name
        return [await handlers.read_image_on_loop(str(path)) for path in (small, large)]

    on_loop, in_thread = awaited(both())
    assert threads["small.png"] == threads["loop"]
    assert threads["large.jpg"] != threads["loop"]
    assert on_loop.found and in_thread.found
    np.testing.assert_array_equal(on_loop.image, read(str(small)).image)
    np.testing.assert_array_equal(in_thread.image, read(str(large)).image)
