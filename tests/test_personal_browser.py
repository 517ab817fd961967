"""A real browser: a person corrects a digit written in their own style, and the page learns it.

Also: "Your corrections" lists this session's corrections only; another session sees none.

A 1 written with a long, flat flag, as many Europeans write it, is read as 7 by every model (the CNN
learned the steep flags of scanned forms, not this one). The person
presses "1" under "Wrong? I meant:", draws it again in the same browser session, and the page reads
1; a second session, drawing the same strokes, still sees 7 and knows none of the first one's
digits; "Forget my digits" takes the session back to the models' own answer.
"""

from __future__ import annotations

import re

import pytest

from tests.test_app_browser import CHROMIUM, clear_canvas, draw, expect_verdict, open_page


def line(start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> list[tuple[float, float]]:
    return [
        (start[0] + (end[0] - start[0]) * k / steps, start[1] + (end[1] - start[1]) * k / steps)
        for k in range(steps + 1)
    ]


# One stroke: a long, flat flag up to the top of the stem, then the stem straight down.
LONG_FLAG_ONE = [line((0.2, 0.4), (0.6, 0.15)) + line((0.6, 0.15), (0.6, 0.85))[1:]]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium is absent from /usr/bin/chromium (apt-get install chromium)"
    ),
]


def draw_all(page, strokes) -> None:
    for stroke in strokes:
        draw(page, stroke)


def test_a_correction_teaches_this_session_and_no_other(browser, app_server):
    from playwright.sync_api import expect

    first = open_page(browser, app_server, 1280, 1100)
    draw_all(first, LONG_FLAG_ONE)
    expect_verdict(first, "7")  # The style MNIST's writers lack: every model reads a 7.
    expect(first.locator("#personal-note")).to_contain_text("teaches this page your handwriting")

    first.locator("#correction-buttons button", has_text="1").click()
    expect(first.locator("#correction-message")).to_contain_text("Saved: you meant 1")
    expect(first.locator("#personal-note")).to_contain_text("knows 1 of your digit")
    first.get_by_role("button", name=re.compile("^Your corrections")).click()
    expect(first.locator("#corrections-gallery img")).to_have_count(1)
    clear_canvas(first)
    draw_all(first, LONG_FLAG_ONE)
    expect_verdict(first, "1")

    # Another visitor: a fresh browser context is a fresh session.
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    second = context.new_page()
    second.set_default_timeout(90_000)
    second.goto(app_server)
    expect(second.locator("#verdict")).to_have_text(re.compile(r"Draw a digit"))
    expect(second.locator("#personal-note")).not_to_contain_text("knows")
    from tests.test_app_browser import wait_for_brush

    wait_for_brush(second)
    draw_all(second, LONG_FLAG_ONE)
    expect_verdict(second, "7")
    second.get_by_role("button", name=re.compile("^Your corrections")).click()
    expect(second.get_by_text("No corrections yet")).to_be_visible()
    expect(second.locator("#corrections-gallery img")).to_have_count(0)
    context.close()

    first.locator("#forget-digits").click()
    expect(first.locator("#personal-note")).not_to_contain_text("knows")
    clear_canvas(first)
    draw_all(first, LONG_FLAG_ONE)
    expect_verdict(first, "7")
    first.close()
