"""A real browser on the real app: Debian's Chromium, headless, driven by the PyPI playwright package.

It draws digits with the mouse on the canvas at desktop size and with a finger (touch events) at
phone size, uploads an example photo, clears the canvas and checks what the page says each time,
then saves the README's screenshots (screenshot.png, screenshot_phone.png and the Why? views) into a
temporary folder, or into assets/ with `pytest tests/test_app_browser.py --screenshots assets`. Playwright
never downloads a browser here: it drives /usr/bin/chromium, and the tests are skipped where that
is absent. With the committed models the drawings are recognised; with --quick ones they may not be.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from deploy.browser import CHROMIUM  # The `browser` fixture (tests/conftest.py) drives it.

REPOSITORY = Path(__file__).resolve().parent.parent
PHOTO, PHOTO_DIGIT = REPOSITORY / "assets" / "examples" / "photo_4_blue_ink_cream.jpg", "4"
HEIC_SOURCE, HEIC_DIGIT = REPOSITORY / "assets" / "examples" / "photo_9_blue_ink.jpg", "9"
# Software WebGL on two busy cores can take a second per pointer event; Gradio answers in milliseconds.
TIMEOUT_MS = 90_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium is absent from /usr/bin/chromium (apt-get install chromium)"
    ),
]

# Strokes as (x, y) in [0, 1] of the drawing square, top-left origin, each drawn in one pen stroke.
ZERO = [(0.5 + 0.2 * math.sin(angle), 0.5 - 0.3 * math.cos(angle)) for angle in [k * math.pi / 10 for k in range(22)]]
ONE = [(0.5, 0.2 + 0.06 * step) for step in range(11)]
SEVEN = [(0.3 + 0.05 * step, 0.22) for step in range(9)] + [(0.7 - 0.028 * k, 0.22 + 0.058 * k) for k in range(1, 11)]


def open_page(browser, url: str, width: int, height: int):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    expect(page.locator("#verdict")).to_have_text(re.compile(r"Draw a digit"))
    wait_for_brush(page)
    return page


def wait_for_brush(page) -> None:
    """The app's script selects the brush whenever Gradio shows "select the draw tool"."""
    from playwright.sync_api import expect

    page.locator("#sketchpad canvas").first.wait_for()
    expect(page.locator("#sketchpad button[aria-label='Brush Size']")).to_be_visible()


def draw(page, points: list[tuple[float, float]]) -> None:
    """Draw one stroke with the mouse through `points` (fractions of the canvas), in small steps."""
    box = page.locator("#sketchpad canvas").first.bounding_box()
    # The white drawing square is centred in the canvas element and fills most of its smaller side.
    side = 0.8 * min(box["width"], box["height"])
    left = box["x"] + (box["width"] - side) / 2
    top = box["y"] + (box["height"] - side) / 2
    page.mouse.move(left + points[0][0] * side, top + points[0][1] * side)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(left + x * side, top + y * side, steps=2)
    page.mouse.up()


def expect_verdict(page, digit: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#verdict")).to_have_text(re.compile(rf"^\s*{digit}"))


def clear_canvas(page) -> None:
    from playwright.sync_api import expect

    page.locator("#sketchpad button[aria-label='Clear canvas']").click()
    expect(page.locator("#verdict")).to_have_text(re.compile(r"^\s*Draw a digit\s*$"))
    wait_for_brush(page)


def boxes(page, selector: str) -> list[dict]:
    """The bounding boxes (x, y, width, height) of every element matching `selector`."""
    return [box for box in (element.bounding_box() for element in page.locator(selector).all()) if box]


def test_drawn_digits_photo_and_clear_show_on_the_page(browser, app_server, screenshots_dir, tmp_path):
    from playwright.sync_api import expect

    # Tall enough for the whole page: a full-page screenshot would resize the canvas mid-shot.
    page = open_page(browser, app_server, 1280, 1100)
    # "Wrong? I meant:" on one line, its ten buttons beside it on the same row.
    (prompt,) = boxes(page, "#correction-buttons > div:first-child")
    buttons = boxes(page, "#correction-buttons > button")
    assert prompt["height"] <= 32 and len(buttons) == 10
    assert all(abs(button["y"] - prompt["y"]) <= 6 for button in buttons), (prompt, buttons)
    for digit, stroke in (("0", ZERO), ("1", ONE)):
        draw(page, stroke)
        expect_verdict(page, digit)
        clear_canvas(page)

    draw(page, SEVEN)
    expect_verdict(page, "7")
    for name in ("K-nearest neighbours", "Random forest", "Linear (SGD)", "CNN"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "screenshot.png"))

    # Why? on demand, then a correction: the page says what it saved.
    page.get_by_text("Why? How each model decided").click()
    page.locator("#why-button").click()
    expect(page.locator("#why-neighbours")).to_contain_text("Red")
    expect(page.locator("#why-maps img").first).to_be_visible()
    page.locator("#why").screenshot(path=str(screenshots_dir / "screenshot_why.png"))
    page.locator("#correction-buttons button", has_text="1").click()
    expect(page.locator("#correction-message")).to_contain_text("Saved: you meant 1")

    clear_canvas(page)
    expect(page.locator("#verdict")).not_to_contain_text(re.compile(r"\d"))

    page.get_by_role("tab", name="Upload or photograph").click()
    page.locator("#upload input[type=file]").set_input_files(str(PHOTO))
    expect_verdict(page, PHOTO_DIGIT)
    expect(page.get_by_text("Dark ink on a light background")).to_be_visible()
    # An iPhone's photo (HEIC) of another digit, typed as Safari and macOS type it (this Chromium knows no HEIC
    # type, and Gradio's page takes only image/* files). This Chromium cannot show it; the app reads it.
    heic = tmp_path / "IMG_0004.HEIC"
    pillow_heif.from_pillow(Image.open(HEIC_SOURCE)).save(heic, quality=90)
    upload = {"name": heic.name, "mimeType": "image/heic", "buffer": heic.read_bytes()}
    page.locator("#upload input[type=file]").set_input_files(upload)
    expect_verdict(page, HEIC_DIGIT)

    page.get_by_role("button", name="Random MNIST test digit").click()
    expect(page.get_by_text(re.compile(r"true label \d"))).to_be_visible()
    page.close()


def touch_draw(page, points: list[tuple[float, float]]) -> None:
    """Draw one stroke with a finger through `points`: real touch events sent through Chromium's DevTools."""
    box = page.locator("#sketchpad canvas").first.bounding_box()
    side = 0.8 * min(box["width"], box["height"])
    left = box["x"] + (box["width"] - side) / 2
    top = box["y"] + (box["height"] - side) / 2
    session = page.context.new_cdp_session(page)

    def touch(kind: str, x: float, y: float) -> None:
        finger = [{"x": left + x * side, "y": top + y * side, "radiusX": 4, "radiusY": 4, "force": 1, "id": 0}]
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": finger if kind != "touchEnd" else []})

    touch("touchStart", *points[0])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        touch("touchMove", (x0 + x1) / 2, (y0 + y1) / 2)
        touch("touchMove", x1, y1)
    touch("touchEnd", *points[-1])
    session.detach()


def on_screen(page, selector: str, height: int) -> bool:
    """The element's whole box lies inside the first `height` pixels of the page: no scrolling needed."""
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_phone_finger_drawing_shows_the_answer_above_the_canvas(browser, app_server, screenshots_dir):
    from playwright.sync_api import expect

    width, height = 390, 844
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_server)
    expect(page.locator("#verdict")).to_have_text(re.compile(r"Draw a digit"))
    wait_for_brush(page)

    touch_draw(page, SEVEN)
    expect_verdict(page, "7")
    # What a person sees without scrolling: the answer, what the models saw, and the whole canvas.
    assert on_screen(page, "#verdict", height)
    assert on_screen(page, "#model-view img", height)
    assert on_screen(page, "#sketchpad canvas", height)
    canvas = page.locator("#sketchpad canvas").first.bounding_box()
    assert canvas["width"] >= 0.9 * width  # The canvas uses the width of the screen.
    # The whole 28x28 view shows, below its label, not cut by the answer bar.
    (view,), (image,), (label,) = (boxes(page, f"#model-view {part}") for part in (".image-container", "img", "label"))
    assert image["y"] >= label["y"] + label["height"] - 1, (image, label)
    assert image["y"] + image["height"] <= view["y"] + view["height"] + 1, (image, view)
    page.screenshot(path=str(screenshots_dir / "screenshot_phone.png"))

    # Why? works at phone width too: the neighbours' strip and the maps wrap to the screen.
    page.get_by_text("Why? How each model decided").click()
    page.locator("#why-button").click()
    expect(page.locator("#why-neighbours")).to_contain_text("Red")
    expect(page.locator("#why-maps img").first).to_be_visible()
    assert page.locator("#why").bounding_box()["width"] <= width
    page.locator("#why").screenshot(path=str(screenshots_dir / "screenshot_why_phone.png"))
    context.close()


def test_a_stroke_sends_only_its_new_images(browser, app_server):
    """Gradio's canvas uploads its background, layer and composite each time the page asks it for its value:
    about 21 uploads a stroke, where at most three images are new. The page's script sends each new image
    once: after the first stroke the white background is not sent again while the page reuses its upload
    (page.UPLOAD_REUSE_S from its sending; a stroke that ends later, on a slow machine, may send it once
    more). A digit drawn again after clearing is still read, and so is every stroke whose background upload
    was reused: the answer reused names files the server still has."""
    from webapp.page import UPLOAD_REUSE_S

    page = open_page(browser, app_server, 1280, 1100)
    uploads = []
    page.on("request", lambda request: uploads.append(request.url) if "/gradio_api/upload" in request.url else None)
    uploads_per_stroke, allowed = [], []
    started = time.monotonic()
    for digit, stroke in (("0", ZERO), ("0", ZERO), ("1", ONE)):
        before = len(uploads)
        draw(page, stroke)
        expect_verdict(page, digit)
        page.wait_for_timeout(1000)  # Gradio asks the canvas for its value again as the answer's status settles.
        uploads_per_stroke.append(len(uploads) - before)
        allowed.append(3 if not allowed or time.monotonic() - started > UPLOAD_REUSE_S else 2)
        clear_canvas(page)
    assert all(sent <= most for sent, most in zip(uploads_per_stroke, allowed, strict=True)), (
        uploads_per_stroke,
        allowed,
    )
    page.close()


UPLOAD = """async (content) => {
    const form = new FormData();
    form.append("files", new File([content], "composite.png", { type: "image/png" }));
    const answer = await fetch("gradio_api/upload", { method: "POST", body: form });
    return answer.json();
}"""
"""The page uploading one small file as Gradio's client does (through window.fetch); returns the server's paths."""


def test_an_upload_is_reused_only_while_the_same_server_answers(browser, app_server):
    """The page answers an upload of files it has just sent with that upload's answer, until another server's
    answer comes (a replica that took over from one that stopped keeps its uploads in another folder, and would
    refuse the first one's paths): then it sends every upload again."""
    page = open_page(browser, app_server, 1280, 900)
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.url.endswith("gradio_api/upload") else None)
    first = page.evaluate(UPLOAD, "ink")
    assert page.evaluate(UPLOAD, "ink") == first and len(sent) == 1  # The same file again: not sent.

    elsewhere = ["/srv/replica-1/gradio/0123abcd/composite.png"]
    page.route("**/gradio_api/upload", lambda route: route.fulfill(json=elsewhere))
    assert page.evaluate(UPLOAD, "other ink") == elsewhere and len(sent) == 2
    page.unroute("**/gradio_api/upload")
    assert page.evaluate(UPLOAD, "ink") == first and len(sent) == 3  # Sent again, to the server that answers now.
    page.close()
