"""`python -m deploy.serve`: two replicas behind a real nginx classify, and SIGTERM stops them all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from deploy.serve import find_nginx, render_config

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (/usr/sbin/nginx or on PATH)"),
]

REPOSITORY = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children_of(pid: int) -> list[int]:
    """Every descendant process id of pid, from /proc (psutil-free)."""
    parents: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        parents.setdefault(int(fields["PPid"].strip()), []).append(int(status.parent.name))
    found, pending = [], [pid]
    while pending:
        for child in parents.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_rendered_config_lists_every_replica_and_keeps_nginx_variables(tmp_path):
    config = render_config(tmp_path, "127.0.0.1:8080", [7001, 7002])
    assert re.findall(r"server 127\.0\.0\.1:(\d+) max_fails", config) == ["7001", "7002"]
    assert "hash $affinity_key consistent;" in config
    assert "listen 127.0.0.1:8080;" in config
    assert f"pid {tmp_path}/nginx.pid;" in config


def test_two_replicas_behind_nginx_classify_and_sigterm_stops_every_process(app_models_dir, tmp_path):
    port = free_port()
    environment = {**os.environ, "DIGITS_MODELS_DIR": str(app_models_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "deploy.serve", "--replicas", "2", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data")]
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        serve = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=log, stderr=subprocess.STDOUT)
    started: list[int] = []
    try:
        deadline = time.monotonic() + 240
        while "Serving 2 replicas" not in log_path.read_text():
            assert serve.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)
        started = children_of(serve.pid)
        # Two app.py replicas and nginx (master and its worker).
        assert len(started) >= 4, started

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        answer = client.predict(handle_file(str(REPOSITORY / "assets/examples/canvas_3.png")), api_name="/classify")
        assert answer["digit"] == 3
        assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["replica-0", "replica-1"]

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    time.sleep(0.5)
    assert [pid for pid in started if alive(pid)] == []
