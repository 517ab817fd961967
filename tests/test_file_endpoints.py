"""webapp.file_endpoints: the API endpoints' handlers get the upload's path from Gradio's unprocessed value."""

from __future__ import annotations

import inspect

from tests.loops import awaited
from webapp.file_endpoints import given_file_data, uploaded_path


def test_the_path_is_taken_from_the_file_data_a_path_or_nothing():
    path = "/tmp/gradio/abc/canvas.png"
    assert uploaded_path({"path": path, "orig_name": "canvas.png", "meta": {"_type": "gradio.FileData"}}) == path
    assert uploaded_path(path) == path
    assert uploaded_path(None) is None
    assert uploaded_path({"orig_name": "no path"}) is None


def test_a_coroutine_handler_stays_a_coroutine_and_keeps_what_the_api_page_reads():
    async def classify(path: str | None) -> dict[str, str | None]:
        """Read one digit."""
        return {"read": path}

    event = given_file_data(classify)
    assert inspect.iscoroutinefunction(event)
    assert event.__name__ == "classify" and event.__doc__ == "Read one digit."
    assert list(inspect.signature(event).parameters) == ["path"]
    assert event.__annotations__["path"] == str | None  # evaluated once, not on every call
    assert awaited(event({"path": "/uploads/a.png"})) == {"read": "/uploads/a.png"}


def test_a_plain_handler_stays_plain():
    def explain(path: str | None) -> dict[str, str | None]:
        return {"read": path}

    event = given_file_data(explain)
    assert not inspect.iscoroutinefunction(event)
    assert event(None) == {"read": None}
