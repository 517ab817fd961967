"""A real browser reads a number drawn with the mouse on the Number tab's wide canvas.

Debian's Chromium, headless, driven by the PyPI playwright package (as tests/test_app_browser.py).
It runs on a small Gradio app built here from `webapp.number_tab.build_number_tab`, and on the real
app (`python app.py`) once its page has the Number tab; it relies only on DESIGN.md's page ids
(`number-sketchpad`, `number`). With the committed models the drawing is read; with --quick ones
it may not be.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator

import pytest

from tests.test_app_browser import CHROMIUM, TIMEOUT_MS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium is absent from /usr/bin/chromium (apt-get install chromium)"
    ),
]

# Each digit as strokes of (x, y) in [0, 1] of its own cell, top-left origin; one list per pen stroke.
ONE = [[(0.5, 0.1 + 0.2 * step) for step in range(5)]]
SEVEN = [[(0.2 + 0.2 * step, 0.12) for step in range(4)] + [(0.8 - 0.1 * k, 0.12 + 0.22 * k) for k in range(1, 5)]]
ZERO = [[(0.5 + 0.28 * math.sin(angle), 0.5 - 0.4 * math.cos(angle)) for angle in [k * math.pi / 6 for k in range(13)]]]
FOUR = [  # Two strokes, as many people write it: the open corner, then the long stem.
    [(0.6 - 0.13 * k, 0.1 + 0.2 * k) for k in range(4)] + [(0.2 + 0.2 * k, 0.7) for k in range(1, 4)],
    [(0.65, 0.3 + 0.2 * k) for k in range(4)],
]
NUMBER = "1704"
STROKES = {"1": ONE, "7": SEVEN, "0": ZERO, "4": FOUR}
CANVAS_SIZE = (1200, 400)  # webapp.number_tab.CANVAS_SIZE
CANVAS_ASPECT = CANVAS_SIZE[0] / CANVAS_SIZE[1]
PAGE_LOAD_MS = 30_000


def playwright_errors():
    from playwright import sync_api

    return sync_api


@pytest.fixture(scope="module")
def number_tab_app(app_models_dir) -> Iterator[str]:
    """A small Gradio app holding only the Number tab, served from a thread; yields its URL."""
    import gradio as gr

    from digit_models.artifacts import load_models
    from webapp import page
    from webapp.number_tab import build_number_tab

    models = load_models(app_models_dir)
    with gr.Blocks() as demo, gr.Tab("Number"):
        build_number_tab(models)
    port = free_port()
    # Styled as the real app is (app.py): the layout under test is the one people get.
    demo.queue().launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        css=page.styles(),
        head=page.head(),
        js=page.script(),
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        threading.Thread(target=demo.close, daemon=True).start()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def open_number_tab(browser, url: str, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    tab = page.get_by_role("tab", name="Number", exact=True)
    try:
        tab.first.wait_for(timeout=PAGE_LOAD_MS)
    except playwright_errors().TimeoutError:
        page.close()
        pytest.skip("this page has no Number tab yet")
    tab.first.click()
    pad = page.locator("#number-sketchpad")
    pad.locator("canvas").first.wait_for()
    brush = pad.locator("button[aria-label='Brush']")
    if not pad.locator("button[aria-label='Brush Size']").is_visible() and brush.count():
        brush.first.click()
    return page


def drawing_area(page) -> tuple[float, float, float, float]:
    """(left, top, width, height) on the screen of the 1200x400 drawing area, measured now.

    The area is centred in the canvas element at the zoom the editor shows ("22%" on a phone);
    without that label it is taken to fill 90% of the element. Measured before every stroke,
    because the answer above the canvas can change the layout while one draws.
    """
    box = page.locator("#number-sketchpad canvas").first.bounding_box()
    zoom = page.locator("#number-sketchpad").get_by_text(re.compile(r"^\s*\d+%\s*$"))
    if zoom.count():
        width = min(CANVAS_SIZE[0] * int(zoom.first.inner_text().strip().rstrip("%")) / 100, box["width"])
    else:
        width = 0.9 * min(box["width"], box["height"] * CANVAS_ASPECT)
    height = width / CANVAS_ASPECT
    return box["x"] + (box["width"] - width) / 2, box["y"] + (box["height"] - height) / 2, width, height


def draw_number(page, number: str) -> None:
    """Draw `number` with the mouse, digit by digit, across the middle of the wide canvas."""
    for position, character in enumerate(number):
        for stroke in STROKES[character]:
            left, top, width, height = drawing_area(page)
            cell = width / (len(number) + 1)
            cell_left = left + cell * (position + 0.5)
            points = [(cell_left + x * cell * 0.8, top + height * (0.15 + 0.7 * y)) for x, y in stroke]
            page.mouse.move(*points[0])
            page.mouse.down()
            for x, y in points[1:]:
                page.mouse.move(x, y, steps=3)
            page.mouse.up()


def read_back(page, number: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#number")).to_have_text(re.compile(rf"^\s*{number}\b"))


def test_number_drawn_with_the_mouse_is_read_back(browser, number_tab_app):
    from playwright.sync_api import expect

    page = open_number_tab(browser, number_tab_app, 1280, 1000)
    draw_number(page, NUMBER)
    read_back(page, NUMBER)
    expect(page.get_by_text("What the models see, digit by digit")).to_be_visible()
    page.close()


def test_number_drawn_on_a_phone_is_read_back(browser, number_tab_app):
    page = open_number_tab(browser, number_tab_app, 390, 844)
    canvas = page.locator("#number-sketchpad canvas").first
    before = canvas.bounding_box()
    draw_number(page, NUMBER)
    read_back(page, NUMBER)
    # A finger mid-stroke must not lose the canvas: the longest answer keeps the canvas where it was.
    assert canvas.bounding_box() == before
    page.close()


@pytest.mark.server
def test_number_tab_of_the_real_app_reads_a_drawn_number(browser, app_server):
    page = open_number_tab(browser, app_server, 1280, 1000)
    draw_number(page, NUMBER)
    read_back(page, NUMBER)
    page.close()
