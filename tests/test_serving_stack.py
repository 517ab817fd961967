"""What the app's server runs on, and which interpreter a side-by-side measurement gives each checkout."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploy.processes import REPOSITORY, checkout_python


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop has no Windows build")
def test_uvicorn_parses_http_with_httptools_and_loops_on_uvloop():
    """requirements.txt brings both; uvicorn's "auto" choices (what Gradio's server uses) must pick them,
    or every request pays for pure-Python parsing again (bench/results/interleaved_cost_round13.json)."""
    import uvloop
    from uvicorn.loops.auto import auto_loop_factory
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    assert AutoHTTPProtocol.__name__ == "HttpToolsProtocol"
    loop = auto_loop_factory()()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_another_checkout_runs_in_its_own_environment_when_it_has_one(tmp_path):
    assert checkout_python(REPOSITORY) == Path(sys.executable)
    other = tmp_path / "before"
    other.mkdir()
    assert checkout_python(other) == Path(sys.executable)
    own = other / ".venv" / "bin" / "python"
    own.parent.mkdir(parents=True)
    own.write_text("")
    assert checkout_python(other) == own


def test_fastapi_copies_included_routes_so_each_request_is_matched_once():
    """Gradio includes its ~60 routes as a router; FastAPI 0.136+ keeps that router as a layer that matches
    every request twice (3-5% more app CPU per answer, docs/deployment.md), so requirements.txt holds it below."""
    from fastapi import APIRouter, FastAPI
    from fastapi.routing import APIRoute

    included = APIRouter(prefix="/gradio_api")
    included.add_api_route("/upload", lambda: None, methods=["POST"])
    app = FastAPI()
    app.include_router(included)
    assert [type(route) for route in app.router.routes if "/gradio_api" in getattr(route, "path", "")] == [APIRoute]
