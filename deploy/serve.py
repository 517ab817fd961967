"""N copies of the digit recognizer behind nginx, with session affinity, supervised.

    .venv/bin/python -m deploy.serve --replicas 2 --port 8080           # http://127.0.0.1:8080/
    .venv/bin/python -m deploy.serve --replicas 4 --port 80 --host 0.0.0.0 --auth-file /etc/digits/logins

Starts `python app.py --host 127.0.0.1 --port <free port>` N times (models from
$DIGITS_MODELS_DIR or assets/models, each replica with its own $DIGITS_DATA_DIR,
`<data dir>/replica-<i>/`, so corrections go to one SQLite file per replica), renders
deploy/nginx.conf.template into a temporary folder and runs nginx in the foreground in front
of them. Waits until every replica and nginx answer, prints the URL, and on Ctrl-C or SIGTERM
stops nginx and every replica. A replica that exits is started again on its port after a
back-off (1 s, doubling up to 30 s while it keeps failing); nginx sends its clients to the others
meanwhile. Logs (each replica's output, nginx's access and error logs) go to --log-dir, which
outlives the run. The app's flags --no-corrections, --mcp and --auth-file reach every replica;
a login comes from a file or $DIGITS_AUTH, never the command line (other users see it in `ps`).
Behind another proxy (a TLS terminator for a public link), `--trusted-proxy ADDRESS` lets nginx take
each visitor's address from that proxy's X-Forwarded-For (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from deploy.processes import REPOSITORY, AppFailedError, free_port, start_app, wait_until_ready

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# The Debian package's path first: /usr/sbin is not on every user's PATH.
NGINX_CANDIDATES = ("/usr/sbin/nginx", "nginx")
# bench/results/startup.json: one app is ready in about 10 s on the 2-core machine; N of them
# load their models at once and share the cores, so allow generously.
READY_TIMEOUT_S = 180.0
FIRST_BACK_OFF_S = 1.0
MAX_BACK_OFF_S = 30.0
STEADY_S = 60.0
"""A replica that has run this long since its last start is well again: its next back-off starts at the first."""


class ServeError(RuntimeError):
    """nginx exited, or a replica or nginx did not answer in time at start-up."""


@dataclasses.dataclass
class Replica:
    """One app process on a fixed port (nginx's upstream list never changes), restarted when it exits."""

    index: int
    port: int
    data_dir: Path
    log_path: Path
    flags: tuple[str, ...]
    cpus: frozenset[int] | None = None
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    back_off_s: float = FIRST_BACK_OFF_S
    restart_at: float | None = None

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = start_app(
            self.port,
            None,
            self.log_path,
            flags=self.flags,
            environment={"DIGITS_DATA_DIR": str(self.data_dir)},
            append=True,
            cpus=self.cpus,
        )
        self.started_at = time.monotonic()

    def supervise(self, now: float) -> str | None:
        """Notice an exit and schedule a restart, or restart when its time has come; what to report, if anything."""
        if self.process is not None and self.process.poll() is None:
            if now - self.started_at > STEADY_S:
                self.back_off_s = FIRST_BACK_OFF_S
            return None
        if self.restart_at is None:
            code = None if self.process is None else self.process.returncode
            self.restart_at = now + self.back_off_s
            message = f"replica {self.index} exited ({code}); restarting in {self.back_off_s:.0f} s"
            self.back_off_s = min(2 * self.back_off_s, MAX_BACK_OFF_S)
            return message + "; nginx serves from the others meanwhile"
        if now >= self.restart_at:
            self.restart_at = None
            self.restarts += 1
            self.start()
            return f"replica {self.index} started again on port {self.port} (restart {self.restarts})"
        return None


def replica_cpus(count: int, cores: Sequence[int] | None = None) -> list[frozenset[int] | None]:
    """The core each of `count` replicas runs on: its own, in turn, while there are at least as many cores as
    replicas (`cores`: those this process may use); with fewer cores, None for every replica (no pinning).

    Why: one app process runs one thread of Python at a time, but its native work (TensorFlow's, libspng's)
    runs beside it, so an unpinned replica under load takes more than a core, and two of them on two cores
    crowd each other, nginx and the clients; each on its own core keeps its caches warm too
    (docs/deployment.md, "Deployment: a classroom on one machine").
    """
    if cores is None and not hasattr(os, "sched_getaffinity"):  # macOS: no affinity to set
        return [None] * count
    available = sorted(os.sched_getaffinity(0)) if cores is None else list(cores)
    if count > len(available):
        return [None] * count
    return [frozenset({core}) for core in available[:count]]


def find_nginx() -> str | None:
    """Path of the nginx binary, or None when it is not installed."""
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def render_config(
    prefix: Path,
    listen: str,
    replica_ports: list[int],
    log_dir: Path | None = None,
    trusted_proxies: Sequence[str] = (),
) -> str:
    """deploy/nginx.conf.template filled in: nginx's files under prefix, its logs in log_dir (default prefix),
    the replicas on replica_ports: replica i is named `r<i>` in the affinity cookie; `real_ip_block` for
    trusted_proxies."""
    return string.Template(TEMPLATE.read_text()).substitute(
        prefix=prefix,
        logs=log_dir or prefix,
        listen=listen,
        real_ip=real_ip_block(trusted_proxies),
        upstreams=upstream_blocks(replica_ports),
        cookie_names="\n".join(f"        r{index} replica_{index};" for index in range(len(replica_ports))),
        served_names="\n".join(
            f'        "~(^|, )127\\.0\\.0\\.1:{port}$" r{index};' for index, port in enumerate(replica_ports)
        ),
    )


def real_ip_block(trusted_proxies: Sequence[str]) -> str:
    """nginx's realip directives: a request from one of `trusted_proxies` (addresses or networks) counts as
    coming from the last address in its X-Forwarded-For that is not itself a trusted proxy, so the
    per-address limit and the address hash (`digits_by_address`) see each visitor, not the proxy. Without
    trusted proxies the header is ignored: any client could write one, and a forged address would dodge
    the limit."""
    if not trusted_proxies:
        return "    # No trusted proxy (deploy.serve --trusted-proxy): X-Forwarded-For is ignored."
    lines = [f"    set_real_ip_from {proxy};" for proxy in trusted_proxies]
    return "\n".join([*lines, "    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"])


def trusted_proxy(text: str) -> str:
    """An argparse type: an IP address or network (`10.0.0.5`, `10.0.0.0/8`, `::1`), as nginx will read it."""
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address or network ({error})") from None


def upstream_blocks(replica_ports: list[int]) -> str:
    """nginx's upstreams: each replica by name (the others as its backups), all of them in turn, and all of
    them hashed on the client's address (deploy/nginx.conf.template, "Session affinity")."""

    def server(port: int, backup: bool = False) -> str:
        return f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s{' backup' * backup};"

    blocks = []
    for index, port in enumerate(replica_ports):
        servers = [server(port)] + [server(other, backup=True) for other in replica_ports if other != port]
        blocks.append(f"    upstream replica_{index} {{\n" + "\n".join(servers) + "\n        keepalive 16;\n    }")
    everyone = "\n".join(server(port) for port in replica_ports)
    blocks.append(f"    upstream digits_in_turn {{\n{everyone}\n        keepalive 16;\n    }}")
    # `consistent` (ketama): when a replica is marked down, only its own clients move.
    hashed = f"        hash $remote_addr consistent;\n{everyone}"
    blocks.append(f"    upstream digits_by_address {{\n{hashed}\n        keepalive 16;\n    }}")
    return "\n".join(blocks)


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
    parser.add_argument("--log-dir", type=Path, help="replica and nginx logs, kept after the run (DATA_DIR/logs)")
    parser.add_argument("--no-corrections", action="store_true", help="passed to every replica (see app.py --help)")
    parser.add_argument("--mcp", action="store_true", help="passed to every replica: also serve MCP")
    parser.add_argument(
        "--no-pinning", action="store_true", help="let replicas run on any core (default: each its own, if enough)"
    )
    parser.add_argument(
        "--auth-file", type=Path, metavar="FILE", help="ask for a login: USER:PASSWORD lines ($DIGITS_AUTH works too)"
    )
    parser.add_argument(
        "--trusted-proxy",
        type=trusted_proxy,
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a proxy in front of nginx (a TLS terminator, a tunnel) whose X-Forwarded-For names the visitor: "
        "an address or network; repeat for several (default: none, the header is ignored)",
    )
    arguments = parser.parse_args(argv)
    if arguments.replicas < 1:
        parser.error("--replicas must be at least 1")
    if arguments.auth_file is not None and not arguments.auth_file.is_file():
        parser.error(f"--auth-file {arguments.auth_file}: no such file")
    arguments.log_dir = arguments.log_dir or arguments.data_dir / "logs"
    return arguments


def app_flags(arguments: argparse.Namespace) -> tuple[str, ...]:
    """The app's own flags every replica gets (its login as a file path, never the password itself)."""
    flags = ["--no-corrections"] * arguments.no_corrections + ["--mcp"] * arguments.mcp
    if arguments.auth_file is not None:
        flags += ["--auth-file", str(arguments.auth_file.resolve())]
    return tuple(flags)


def wait_for_replicas(replicas: list[Replica], deadline: float) -> None:
    for replica in replicas:
        try:
            wait_until_ready(f"http://127.0.0.1:{replica.port}/", replica.process, max(deadline - time.monotonic(), 1))
        except AppFailedError as error:
            log = replica.log_path.read_text()[-3000:]
            raise ServeError(f"replica {replica.index}: {error}; its output ends:\n{log}") from error


def supervise(front: subprocess.Popen, replicas: list[Replica], log_dir: Path) -> None:
    """Until nginx exits: restart replicas that exit, saying so. Raises ServeError when nginx exits."""
    while front.poll() is None:
        now = time.monotonic()
        for replica in replicas:
            message = replica.supervise(now)
            if message:
                print(message, flush=True)
        time.sleep(0.5)
    raise ServeError(f"nginx exited with status {front.returncode}; see {log_dir}/nginx-error.log")


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    nginx = find_nginx()
    if nginx is None:
        raise SystemExit("deploy.serve needs nginx (Debian/Ubuntu: apt-get install nginx)")
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)

    prefix = Path(tempfile.mkdtemp(prefix="digits-nginx-"))
    log_dir = arguments.log_dir.resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    # nginx's workers may run as another user (nobody, when started as root): let them in.
    prefix.chmod(0o755)
    cores = [None] * arguments.replicas if arguments.no_pinning else replica_cpus(arguments.replicas)
    replicas = [
        Replica(
            i,
            free_port(),
            arguments.data_dir / f"replica-{i}",
            log_dir / f"replica-{i}.log",
            app_flags(arguments),
            cores[i],
        )
        for i in range(arguments.replicas)
    ]
    front: subprocess.Popen | None = None
    try:
        for replica in replicas:
            replica.start()
        config = prefix / "nginx.conf"
        ports = [replica.port for replica in replicas]
        listen = f"{arguments.host}:{arguments.port}"
        config.write_text(render_config(prefix, listen, ports, log_dir, arguments.trusted_proxy))
        front = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"])

        deadline = time.monotonic() + READY_TIMEOUT_S
        wait_for_replicas(replicas, deadline)
        shown_host = "127.0.0.1" if arguments.host in ("0.0.0.0", "::") else arguments.host
        url = f"http://{shown_host}:{arguments.port}/"
        try:
            wait_until_ready(url, front, max(deadline - time.monotonic(), 1))
        except AppFailedError as error:
            raise ServeError(f"nginx: {error}") from error
        print(f"Serving {arguments.replicas} replicas behind nginx on {url} (Ctrl-C to stop)", flush=True)
        print(f"replica ports: {ports}; logs: {log_dir}", flush=True)
        supervise(front, replicas, log_dir)
        return 1  # not reached: supervise returns only by raising
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
        running = [front] if front is not None else []
        stop(running + [replica.process for replica in replicas if replica.process is not None])
        shutil.rmtree(prefix, ignore_errors=True)  # nginx's configuration and buffers; the logs stay in log_dir


if __name__ == "__main__":
    sys.exit(main())
