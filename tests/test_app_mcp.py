"""`python app.py --mcp`: the classifier is also a Model Context Protocol tool that an agent can list."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def mcp_app(app_models_dir, tmp_path_factory):
    from deploy import processes

    with processes.serving(app_models_dir, tmp_path_factory.mktemp("mcp"), flags=("--mcp",), timeout_s=180) as url:
        yield url


def test_mcp_schema_lists_classify_with_what_it_takes_and_returns(mcp_app):
    with urllib.request.urlopen(f"{mcp_app}gradio_api/mcp/schema", timeout=30) as response:
        tools = json.loads(response.read())
    by_name = {tool["name"]: tool for tool in tools}
    classify = next(tool for name, tool in by_name.items() if name.endswith("classify"))
    assert "handwritten digit" in classify["description"]
    assert "path" in classify["inputSchema"]["properties"]
    # The page's own events (canvas strokes, uploads) are not tools.
    assert not any("show_" in name for name in by_name)
