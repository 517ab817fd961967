"""`python -m deploy.serve`: two replicas behind a real nginx classify, a killed replica comes back, the app's
flags reach the replicas, and SIGTERM stops them all while their logs stay."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from deploy.processes import descendant_pids, free_port
from deploy.serve import find_nginx, render_config

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed (/usr/sbin/nginx or on PATH)"),
]

REPOSITORY = Path(__file__).resolve().parent.parent


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_rendered_config_lists_every_replica_and_keeps_nginx_variables(tmp_path):
    config = render_config(tmp_path, "127.0.0.1:8080", [7001, 7002])
    named = re.findall(r"upstream replica_(\d+) \{\s+server 127\.0\.0\.1:(\d+) max_fails", config)
    assert named == [("0", "7001"), ("1", "7002")]
    assert "server 127.0.0.1:7002 max_fails=1 fail_timeout=10s backup;" in config  # replica 0's stand-in
    assert re.search(r"upstream digits_by_address \{\s+hash \$remote_addr consistent;", config)
    assert "r1 replica_1;" in config and "proxy_pass http://$replicas;" in config
    assert "listen 127.0.0.1:8080;" in config
    assert f"pid {tmp_path}/nginx.pid;" in config
    assert "set_real_ip_from" not in config  # No proxy is trusted unless named: X-Forwarded-For is ignored.
    behind = render_config(tmp_path, "127.0.0.1:8080", [7001], trusted_proxies=["10.0.0.5/32", "fd00::/8"])
    assert re.search(
        r"set_real_ip_from 10\.0\.0\.5/32;\s+set_real_ip_from fd00::/8;\s+real_ip_header X-Forwarded-For;", behind
    )


def test_a_trusted_proxy_must_be_an_address_or_a_network():
    from deploy import serve

    assert serve.parse_arguments(
        ["--trusted-proxy", "10.0.0.5", "--trusted-proxy", "192.168.1.7/24"]
    ).trusted_proxy == [
        "10.0.0.5/32",
        "192.168.1.0/24",
    ]
    with pytest.raises(SystemExit):
        serve.parse_arguments(["--trusted-proxy", "proxy.example.org"])


def replica_pid(serve_pid: int, port: int) -> int | None:
    """The app.py process listening on `port` among serve's children, from /proc."""
    for pid in descendant_pids(serve_pid):
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"app.py" in arguments and str(port).encode() in arguments and alive(pid):
            return pid
    return None


def wait_for_line(log_path: Path, text: str, serve: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log_path.read_text():
        assert serve.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, log_path.read_text()[-3000:]
        time.sleep(0.25)


def classify_through(url: str) -> int:
    client = Client(url, verbose=False)
    return client.predict(handle_file(str(REPOSITORY / "assets/examples/canvas_3.png")), api_name="/classify")["digit"]


def assert_nginx_is_hardened(url: str) -> None:
    """No version shown, basic security headers, and a file just over the app's limit gets the app's own
    answer (JSON), not nginx's HTML 413."""
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["Server"] == "nginx"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    boundary = "digitsboundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n\r\n').encode()
    body += b"\0" * (20 * 2**20 + 1) + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{url}gradio_api/upload", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    assert "<html>" not in refused.value.read().decode(errors="replace").lower()


SOURCES = ("127.0.0.2", "127.0.0.1")
"""The trusted proxy (deploy.serve --trusted-proxy in the test below) and anyone else."""


def assert_only_a_trusted_proxy_names_the_client(url: str, access_log: Path) -> None:
    """deploy.serve ran with --trusted-proxy 127.0.0.2: a request from there counts as coming from the address
    its X-Forwarded-For names; the same header from anyone else (127.0.0.1) is ignored. nginx's access log
    shows the address the per-address limit and the address hash used."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    for source, forwarded in zip(SOURCES, ("203.0.113.7", "203.0.113.9"), strict=True):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
        try:
            connection.request("GET", f"/config?from={source}", headers={"X-Forwarded-For": forwarded})
            assert connection.getresponse().status == 200
        finally:
            connection.close()
    # nginx writes a request's log line after its response has gone out: the line may follow the answer by a moment.
    deadline = time.monotonic() + 10
    while True:
        lines = access_log.read_text().splitlines()
        logged = {source: [line.split()[0] for line in lines if f"/config?from={source}" in line] for source in SOURCES}
        if all(logged.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert logged == {"127.0.0.2": ["203.0.113.7"], "127.0.0.1": ["127.0.0.1"]}, logged


def affinity_cookie(url: str, cookie: str | None = None) -> str | None:
    """The affinity cookie's value that nginx sets in answer to GET url (None: it sets none)."""
    request = urllib.request.Request(url, headers={"Cookie": f"digits_affinity={cookie}"} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        found = re.search(r"digits_affinity=([^;]*)", response.headers.get("Set-Cookie") or "")
    return found.group(1) if found else None


def assert_browsers_take_turns_and_keep_their_replica(url: str, log_path: Path) -> None:
    """Browsers loading the page get the replicas in turn, named in their cookie; a request with the cookie
    goes to that replica (nginx's access log names it); a cookie of another value counts as none; only the
    page sets one."""
    assert sorted(affinity_cookie(url) for _ in range(2)) == ["r0", "r1"]
    assert affinity_cookie(url, "r1") is None  # known: kept
    assert affinity_cookie(url, "127.0.0.1:22") in ("r0", "r1")  # forged: replaced by a real replica's name
    assert affinity_cookie(f"{url}config") is None  # set with the page only: no other answer moves a browser
    listed = log_path.read_text().split("replica ports:")[1].split(";")[0]
    second = re.findall(r"\d+", listed)[1]
    for _ in range(4):
        affinity_cookie(f"{url}config", "r1")
    access = (log_path.parent / "logs" / "nginx-access.log").read_text().splitlines()
    to_config = [line for line in access if '"GET /config ' in line]
    assert len(to_config) >= 4 and all(line.endswith(f"replica=127.0.0.1:{second}") for line in to_config[-4:])


def thread_cores(pid: int) -> set[str]:
    """The `Cpus_allowed_list` of every thread of process pid (one entry when they all agree)."""
    cores = set()
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        cores.add(fields["Cpus_allowed_list"].strip())
    return cores


def assert_each_replica_runs_on_its_own_core(log_path: Path, serve_pid: int) -> None:
    """With at least as many cores as replicas, each replica and all its threads are held to one core of its
    own (deploy.serve.replica_cpus); with fewer, none is pinned."""
    listed = log_path.read_text().split("replica ports:")[1].split(";")[0]
    pids = [replica_pid(serve_pid, int(port)) for port in re.findall(r"\d+", listed)]
    cores = [thread_cores(pid) for pid in pids if pid is not None]
    assert len(cores) == len(pids) == 2
    if len(os.sched_getaffinity(0)) >= 2:
        assert all(len(each) == 1 and next(iter(each)).isdigit() for each in cores), cores
        assert cores[0] != cores[1]
    else:
        assert cores[0] == cores[1]


def assert_a_killed_replica_comes_back(serve: subprocess.Popen, log_path: Path, url: str) -> None:
    """SIGKILL replica 0 while requests are in flight: started again and answering within 60 s; every
    request after its return succeeds."""
    listed = log_path.read_text().split("replica ports:")[1].split(";")[0]
    ports = [int(found) for found in re.findall(r"\d+", listed)]
    victim = replica_pid(serve.pid, ports[0])
    assert victim is not None
    with ThreadPoolExecutor(2) as load:
        during = [load.submit(classify_through, url) for _ in range(6)]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for_line(log_path, "replica 0 started again", serve, 60)
        while True:  # answering on its own port again
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/", timeout=2):
                    break
            except OSError:
                assert time.monotonic() - killed_at < 60, log_path.read_text()[-3000:]
                time.sleep(0.25)
        assert time.monotonic() - killed_at < 60
        for future in during:  # nginx sent the killed replica's requests to the other
            future.result()
        # nginx takes the replica back only after fail_timeout (deploy/serve.py, 10 s after the failed
        # connect); a gradio_client call whose upload and call straddle that moment reach two replicas
        # (docs/deployment.md). "After its return" is after nginx has it back.
        time.sleep(max(0.0, killed_at + 11 - time.monotonic()))
        after = [load.submit(classify_through, url) for _ in range(10)]
        assert [future.result() for future in after] == [3] * 10


def test_two_replicas_behind_nginx_classify_survive_a_killed_replica_and_sigterm_stops_every_process(
    app_models_dir, tmp_path
):
    port = free_port()
    environment = {**os.environ, "DIGITS_MODELS_DIR": str(app_models_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "deploy.serve", "--replicas", "2", "--port", str(port)]
    command += ["--data-dir", str(tmp_path / "data"), "--log-dir", str(tmp_path / "logs")]
    command += ["--trusted-proxy", "127.0.0.2"]
    log_path = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}/"
    with log_path.open("w") as log:
        serve = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=log, stderr=subprocess.STDOUT)
    started: list[int] = []
    try:
        wait_for_line(log_path, "Serving 2 replicas", serve, 240)
        started = descendant_pids(serve.pid)
        assert len(started) >= 4, started  # two app.py replicas and nginx (master and its worker)
        assert classify_through(url) == 3
        assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["replica-0", "replica-1"]
        assert_each_replica_runs_on_its_own_core(log_path, serve.pid)
        assert_browsers_take_turns_and_keep_their_replica(url, log_path)

        assert_nginx_is_hardened(url)
        assert_only_a_trusted_proxy_names_the_client(url, tmp_path / "logs" / "nginx-access.log")
        assert_a_killed_replica_comes_back(serve, log_path, url)

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0, log_path.read_text()[-3000:]
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    time.sleep(0.5)
    assert [pid for pid in started if alive(pid)] == []
    # The logs outlive the run: both replicas' (the killed one's first life included) and nginx's.
    logs = sorted(path.name for path in (tmp_path / "logs").iterdir())
    assert logs == ["nginx-access.log", "nginx-error.log", "replica-0.log", "replica-1.log"]
    assert "GET / " in (tmp_path / "logs" / "nginx-access.log").read_text()


def test_the_apps_flags_reach_every_replica_and_a_login_never_goes_on_the_command_line(tmp_path):
    from deploy import serve

    logins = tmp_path / "logins"
    logins.write_text("teacher:secret\n")
    arguments = serve.parse_arguments(["--mcp", "--no-corrections", "--auth-file", str(logins)])
    flags = serve.app_flags(arguments)
    assert flags == ("--no-corrections", "--mcp", "--auth-file", str(logins.resolve()))
    assert "secret" not in " ".join(flags)
    with pytest.raises(SystemExit):
        serve.parse_arguments(["--auth-file", str(tmp_path / "missing")])


def test_replicas_get_a_core_each_while_there_are_enough():
    from deploy.serve import replica_cpus

    assert replica_cpus(2, [0, 1, 2, 3]) == [frozenset({0}), frozenset({1})]
    assert replica_cpus(2, [2, 5]) == [frozenset({2}), frozenset({5})]
    assert replica_cpus(3, [0, 1]) == [None, None, None]  # more replicas than cores: the scheduler decides
