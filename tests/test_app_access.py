"""`python app.py --auth ... / --auth-file ... --mcp`: without a login the page, /classify and the MCP endpoint
refuse; with one they answer. Uploads leave Gradio's temporary files once $DIGITS_UPLOAD_LIFETIME_S has passed."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from webapp import access

pytestmark = pytest.mark.server

USER, PASSWORD = "teacher", "chalk:and:board"  # a password may hold colons
DIGIT = Path(__file__).resolve().parent.parent / "assets" / "examples" / "canvas_3.png"
LIFETIME_S = 2


@pytest.fixture(scope="module", params=["--auth-file", "--auth"])
def guarded_app(request, app_models_dir, tmp_path_factory):
    """The app with a login given as a file or on the command line, MCP on; yields (url, its temporary files)."""
    from deploy import processes

    folder = tmp_path_factory.mktemp("access")
    logins = folder / "logins.txt"
    logins.write_text(f"# who may use the app\n{USER}:{PASSWORD}\n")
    login_flags = ("--auth-file", str(logins)) if request.param == "--auth-file" else ("--auth", f"{USER}:{PASSWORD}")
    environment = {
        "DIGITS_DATA_DIR": str(folder / "data"),
        "GRADIO_TEMP_DIR": str(folder / "gradio"),
        "DIGITS_UPLOAD_LIFETIME_S": str(LIFETIME_S),
    }
    with processes.serving(
        app_models_dir, folder, flags=(*login_flags, "--mcp"), environment=environment, timeout_s=180
    ) as url:
        yield url, folder / "gradio"


def status_of(url: str, *, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_without_a_login_the_page_the_api_and_mcp_refuse(guarded_app):
    url, _ = guarded_app
    assert status_of(f"{url}config") == 401  # the page's configuration: the app itself is not shown
    call = json.dumps({"data": [None]}).encode()
    headers = {"Content-Type": "application/json"}
    assert status_of(f"{url}gradio_api/call/classify", method="POST", body=call, headers=headers) == 401
    assert status_of(f"{url}gradio_api/mcp/schema") == 401
    assert status_of(f"{url}gradio_api/mcp/schema", headers=basic(USER, "wrong")) == 401
    assert status_of(f"{url}gradio_api/mcp/sse", headers=basic("intruder", PASSWORD)) == 401


def test_with_the_login_the_page_the_api_and_mcp_answer(guarded_app):
    from gradio_client import Client, handle_file

    url, _ = guarded_app
    # The page's login form, as a browser sends it: a session cookie, then the page's configuration.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
    with opener.open(urllib.request.Request(f"{url}login", data=form), timeout=30) as response:
        assert response.status == 200
    with opener.open(f"{url}config", timeout=30) as response:
        assert response.status == 200
    with opener.open(f"{url}gradio_api/mcp/schema", timeout=30) as response:  # the same cookie opens MCP
        assert any(tool["name"].endswith("classify") for tool in json.loads(response.read()))
    # A program: gradio_client with the login, and HTTP Basic on the MCP endpoint.
    answer = Client(url, auth=(USER, PASSWORD), verbose=False).predict(handle_file(DIGIT), api_name="/classify")
    assert answer["digit"] == 3
    request = urllib.request.Request(f"{url}gradio_api/mcp/schema", headers=basic(USER, PASSWORD))
    with urllib.request.urlopen(request, timeout=30) as response:
        assert any(tool["name"].endswith("classify") for tool in json.loads(response.read()))


def test_uploads_leave_gradios_temporary_files_after_their_lifetime(guarded_app, tmp_path):
    from gradio_client import Client, handle_file

    url, temporary = guarded_app
    upload = tmp_path / "a-visitors-digit.png"  # a name none of the page's own files has
    upload.write_bytes(DIGIT.read_bytes())
    Client(url, auth=(USER, PASSWORD), verbose=False).predict(handle_file(upload), api_name="/classify")
    uploaded = [path for path in temporary.rglob("*") if path.is_file() and path.name == upload.name]
    assert uploaded, "the upload never reached Gradio's temporary files"
    deadline = time.monotonic() + 4 * LIFETIME_S + 10  # its age passes, then the next sweep (every 2 s) takes it
    while any(path.exists() for path in uploaded) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(path.exists() for path in uploaded)
    # The page's own files (its examples' images) stay: they were there before any upload.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
    opener.open(urllib.request.Request(f"{url}login", data=form), timeout=30)
    with opener.open(f"{url}config", timeout=30) as response:
        files = sorted(set(re.findall(r'"(https?://[^"]*/gradio_api/file=[^"]*)"', response.read().decode())))
    assert len(files) >= 10, files  # the Digit and Number tabs' examples
    for file in files:
        with opener.open(file, timeout=30) as response:
            assert response.status == 200, file


def test_logins_come_from_the_flag_the_file_or_the_environment(tmp_path):
    assert access.Logins.configured(None, None, environ={}) is None  # no login asked: an open app
    from_flag = access.Logins.configured("a:b:c", None, environ={})
    assert from_flag("a", "b:c") and not from_flag("a", "b")
    file = tmp_path / "logins"
    file.write_text("\n# comment\nann:one\nbob:two\n")
    from_file = access.Logins.configured(None, file, environ={})
    assert from_file("ann", "one") and from_file("bob", "two") and not from_file("ann", "two")
    from_environment = access.Logins.configured(None, None, environ={access.AUTH_VARIABLE: "cy:three"})
    assert from_environment("cy", "three")
    assert "three" not in repr(from_environment)
    for bad in ("nocolon", ":password", "user:"):
        with pytest.raises(access.CredentialsError, match="USER:PASSWORD"):
            access.Logins.configured(bad, None, environ={})
    with pytest.raises(access.CredentialsError, match="cannot read it"):
        access.Logins.configured(None, tmp_path / "missing", environ={})


def test_the_sweep_takes_old_files_and_the_folders_they_leave_empty(tmp_path):
    import os

    from webapp import uploads

    old, fresh = tmp_path / "a1" / "old.png", tmp_path / "b2" / "fresh.png"
    for path in (old, fresh):
        path.parent.mkdir()
        path.write_bytes(b"x")
    os.utime(old, (time.time() - 600, time.time() - 600))
    assert uploads.sweep(tmp_path, older_than_s=300) == 1
    assert not old.exists() and not old.parent.exists() and fresh.exists()
    assert uploads.temporary_folder({"GRADIO_TEMP_DIR": str(tmp_path)}) == tmp_path


def test_the_files_gradio_tracks_are_left_to_it_and_it_keeps_no_path_of_a_file_gone(tmp_path):
    """Gradio forgets a tracked path when it deletes the file itself, never when the file is already gone:
    swept from under it, every answer's upload stayed in its sets for good."""
    import os
    from types import SimpleNamespace

    from webapp import uploads

    lifetime = 300
    files = {name: tmp_path / name[:2] / f"{name}.png" for name in ("tracked", "forgotten", "visitor")}
    ages = {"tracked": lifetime + 60, "forgotten": lifetime + uploads.GRADIO_GRACE_S + 60, "visitor": lifetime + 60}
    for name, path in files.items():
        path.parent.mkdir()
        path.write_bytes(b"x")
        os.utime(path, (time.time() - ages[name], time.time() - ages[name]))
    gone = str(tmp_path / "gone.png")  # deleted by someone else: Gradio would keep its path for good
    tracked = {str(files["tracked"]), str(files["forgotten"]), gone}
    blocks = SimpleNamespace(blocks={}, temp_file_sets=[tracked, set()])
    assert uploads.sweep_once(tmp_path, lifetime, blocks) == 2  # the visitor's untracked file, and the forgotten one
    assert files["tracked"].exists(), "a file Gradio tracks is Gradio's to delete, on the same lifetime"
    assert not files["visitor"].exists() and not files["forgotten"].exists()
    assert blocks.temp_file_sets == [{str(files["tracked"])}, set()]
