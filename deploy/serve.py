"""N copies of the digit recognizer behind nginx, with session affinity.

    .venv/bin/python -m deploy.serve --replicas 2 --port 8080           # http://127.0.0.1:8080/
    .venv/bin/python -m deploy.serve --replicas 4 --port 80 --host 0.0.0.0

Starts `python app.py --host 127.0.0.1 --port <free port>` N times (models from
$DIGITS_MODELS_DIR or assets/models, each replica with its own $DIGITS_DATA_DIR,
`<data dir>/replica-<i>/`, so corrections go to one SQLite file per replica), renders
deploy/nginx.conf.template into a temporary folder and runs nginx in the foreground in front
of them. Waits until every replica and nginx answer, prints the URL, and on Ctrl-C or SIGTERM
stops nginx and every replica. If a replica exits while serving, nginx sends its clients to
the others; this command says so and keeps serving.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import FrameType

REPOSITORY = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# The Debian package's path first: /usr/sbin is not on every user's PATH.
NGINX_CANDIDATES = ("/usr/sbin/nginx", "nginx")
# bench/results/startup.json: one app is ready in about 10 s on the 2-core machine; N of them
# load their models at once and share the cores, so allow generously.
READY_TIMEOUT_S = 180.0


class ServeError(RuntimeError):
    """A replica or nginx exited or did not answer in time."""


def find_nginx() -> str | None:
    """Path of the nginx binary, or None when it is not installed."""
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def render_config(prefix: Path, listen: str, replica_ports: list[int]) -> str:
    """deploy/nginx.conf.template filled in: nginx's files under prefix, upstream = the replicas."""
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in replica_ports)
    return string.Template(TEMPLATE.read_text()).substitute(prefix=prefix, listen=listen, servers=servers)


def start_replica(index: int, port: int, data_root: Path, log_folder: Path) -> subprocess.Popen:
    """`python app.py` on 127.0.0.1:port with its own data folder, output to log_folder/replica-<i>.log."""
    data_dir = data_root / f"replica-{index}"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "DIGITS_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    with (log_folder / f"replica-{index}.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPOSITORY,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until_answering(url: str, process: subprocess.Popen, name: str, deadline: float) -> None:
    """Poll GET url until it answers 200; ServeError if the process exits or the deadline passes."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(f"{name} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise ServeError(f"{name} did not answer on {url} in time")


def stop(processes: list[subprocess.Popen], timeout_s: float = 20) -> None:
    """SIGTERM every process still running, wait for all, SIGKILL those that do not exit in time."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout_s
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (from systemd, docker stop, a test) takes the same clean path as Ctrl-C.
    raise KeyboardInterrupt


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="app processes (default 2; about 1 per core)")
    parser.add_argument("--port", type=int, default=8080, help="port nginx listens on (default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="address nginx listens on (0.0.0.0 for your network)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("DIGITS_DATA_DIR") or REPOSITORY / ".data"),
        help="replica i stores its corrections in DATA_DIR/replica-<i>/ (default $DIGITS_DATA_DIR or .data)",
    )
    arguments = parser.parse_args(argv)
    if arguments.replicas < 1:
        parser.error("--replicas must be at least 1")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    nginx = find_nginx()
    if nginx is None:
        raise SystemExit("deploy.serve needs nginx (Debian/Ubuntu: apt-get install nginx)")
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)

    prefix = Path(tempfile.mkdtemp(prefix="digits-nginx-"))
    # nginx's workers may run as another user (nobody, when started as root): let them in.
    prefix.chmod(0o755)
    processes: list[subprocess.Popen] = []
    try:
        ports = [free_port() for _ in range(arguments.replicas)]
        replicas = [start_replica(i, port, arguments.data_dir, prefix) for i, port in enumerate(ports)]
        processes.extend(replicas)
        config = prefix / "nginx.conf"
        config.write_text(render_config(prefix, f"{arguments.host}:{arguments.port}", ports))
        front = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"])
        processes.append(front)

        deadline = time.monotonic() + READY_TIMEOUT_S
        for index, (port, replica) in enumerate(zip(ports, replicas, strict=True)):
            try:
                wait_until_answering(f"http://127.0.0.1:{port}/", replica, f"replica {index}", deadline)
            except ServeError as error:
                log = (prefix / f"replica-{index}.log").read_text()[-3000:]
                raise ServeError(f"{error}; its output ends:\n{log}") from error
        shown_host = "127.0.0.1" if arguments.host in ("0.0.0.0", "::") else arguments.host
        url = f"http://{shown_host}:{arguments.port}/"
        wait_until_answering(url, front, "nginx", deadline)
        print(f"Serving {arguments.replicas} replicas behind nginx on {url} (Ctrl-C to stop)", flush=True)
        print(f"replica ports: {ports}; nginx files and replica logs: {prefix}", flush=True)

        reported: set[int] = set()
        while front.poll() is None:
            for index, replica in enumerate(replicas):
                if replica.poll() is not None and index not in reported:
                    reported.add(index)
                    print(f"replica {index} exited ({replica.returncode}); nginx serves from the others", flush=True)
            if len(reported) == len(replicas):
                raise ServeError("every replica has exited")
            time.sleep(0.5)
        raise ServeError(f"nginx exited with status {front.returncode}; see {prefix}/error.log")
    except KeyboardInterrupt:
        print("stopping nginx and the replicas", flush=True)
        return 0
    except ServeError as error:
        print(f"deploy.serve: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        # Ctrl-C at the terminal reaches every child too; a second signal must not cut this short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(processes[::-1])
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
