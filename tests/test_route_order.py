"""The routes every answer takes, tried first (webapp.route_order): on Gradio's own routes the move happens
and changes no route's answer; where it would, the order is left alone; a real server still answers."""

from __future__ import annotations

import gradio as gr
import httpx
import pytest
from starlette.routing import Route

from tests.gradio_servers import call_echo, echo_blocks, served
from webapp import page, route_order


@pytest.fixture(scope="module")
def started_app():
    """A Gradio server started as app.py starts it (page.start_up)."""
    demo = echo_blocks(str.upper)
    with served(demo, app_kwargs={"lifespan": page.start_up}) as url:
        yield demo, url


def gradio_order() -> list:
    """The routes of a Gradio app before start-up: Gradio's own order."""
    return list(gr.routes.App.create_app(echo_blocks(str.upper)).router.routes)


def test_the_busiest_routes_come_first_and_every_route_answers_the_same_paths():
    routes = gradio_order()
    moved = list(routes)
    assert route_order.busiest_first(moved)
    assert [(next(iter(route.methods)), route.path) for route in moved[: len(route_order.BUSIEST)]] == list(
        route_order.BUSIEST
    )
    assert sorted(map(id, moved)) == sorted(map(id, routes))  # The same routes, none lost or doubled.
    examples = [request for route in routes for request in route_order.example_requests(route)]
    assert len(examples) >= len(routes)
    for request in examples:
        assert route_order.first_match(moved, request) is route_order.first_match(routes, request), request["path"]


def test_the_order_is_left_alone_when_a_route_before_would_lose_a_path():
    def endpoint(request):
        return None

    catch_all = Route("/gradio_api/{anything}", endpoint, methods=["POST"])
    routes = [catch_all, *gradio_order()]
    before = list(routes)
    assert not route_order.busiest_first(routes)  # /gradio_api/upload is the catch-all's; moving it would steal it.
    assert routes == before


def test_the_order_is_left_alone_when_a_busiest_route_is_missing():
    routes = [route for route in gradio_order() if getattr(route, "path", "") != "/gradio_api/upload"]
    before = list(routes)
    assert not route_order.busiest_first(routes)
    assert routes == before


def test_a_started_app_tries_the_busiest_routes_first_and_answers(started_app):
    demo, url = started_app
    first = [(next(iter(route.methods)), route.path) for route in demo.app.router.routes[: len(route_order.BUSIEST)]]
    assert first == list(route_order.BUSIEST)
    with httpx.Client(base_url=url, timeout=30) as client:
        assert call_echo(client, "seven") == "SEVEN"
        assert client.get("/gradio_api/no-such-route").status_code == 404
