"""Gradio's login check moved onto the event loop (webapp.login_on_loop): no route left calling it in a
thread, and the same answers for a visitor without and with a login, on a real Gradio server."""

from __future__ import annotations

import inspect

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.gradio_servers import echo_blocks, served
from webapp import login_on_loop, page


@pytest.fixture(scope="module")
def guarded_app():
    demo = echo_blocks(lambda value: value)
    with served(demo, auth=("teacher", "chalk"), app_kwargs={"lifespan": page.start_up}) as url:
        yield demo, url


def test_no_route_runs_the_login_check_in_a_thread(guarded_app):
    demo, _ = guarded_app
    check = login_on_loop.gradio_login_check(demo.app)
    assert check is not None and not inspect.iscoroutinefunction(check)
    dependencies = [
        dependency.call
        for route in demo.app.routes
        if isinstance(route, APIRoute) and route.endpoint is not check
        for dependency in route.dependant.dependencies
    ]
    assert check not in dependencies
    on_loop = [call for call in dependencies if getattr(call, "__name__", "") == f"{check.__name__}_on_loop"]
    assert len(on_loop) >= 10  # Upload, queue join and data, files, ...: every route Gradio guards.
    assert all(inspect.iscoroutinefunction(call) for call in on_loop)


def test_the_guarded_routes_still_ask_for_the_login(guarded_app):
    _, url = guarded_app
    join = {"data": ["hello"], "fn_index": 0, "session_hash": "login-test"}
    with httpx.Client(base_url=url, timeout=30) as client:
        refused = client.post("/gradio_api/queue/join", json=join)
        assert refused.status_code == 401
        assert refused.json()["detail"]["error"] == "Not authenticated"
        assert client.post("/gradio_api/upload", files={"files": ("a.txt", b"a")}).status_code == 401
        assert client.post("/login", data={"username": "teacher", "password": "wrong"}).status_code == 400
        assert client.post("/login", data={"username": "teacher", "password": "chalk"}).status_code == 200
        assert client.post("/gradio_api/queue/join", json=join).status_code == 200
        assert client.post("/gradio_api/upload", files={"files": ("a.txt", b"a")}).status_code == 200
