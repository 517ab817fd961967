"""Start `python app.py` as a process, wait until it answers, stop it: what tests, bench and serve share.

Imports nothing of the project (it runs app.py as a process), like the rest of `deploy`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


class AppFailedError(RuntimeError):
    """The app exited, or did not answer in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def checkout_python(repository: Path) -> Path:
    """The interpreter that runs `repository`'s app: another checkout's own `.venv` when it has one (the
    code before a change with its requirements as they were, for a side-by-side measurement), else this one."""
    own = repository / ".venv" / "bin" / "python"
    if repository.resolve() != REPOSITORY and own.exists():
        return own
    return Path(sys.executable)


def start_app(
    port: int,
    models_dir: Path | None,
    log_path: Path,
    *,
    flags: Sequence[str] = (),
    environment: Mapping[str, str] = {},
    append: bool = False,
    repository: Path = REPOSITORY,
    program: Sequence[str] = ("app.py",),
    cpus: Collection[int] | None = None,
) -> subprocess.Popen:
    """`python app.py --port port [flags]` on 127.0.0.1 with models from models_dir (None: $DIGITS_MODELS_DIR
    or assets/models), output to log_path (appended to with `append`, as a restarted replica's is).

    environment: variables added to this process's own (for example $DIGITS_DATA_DIR).
    repository: the checkout whose app.py runs (another one's, for a side-by-side measurement), with
    `checkout_python(repository)`.
    program: what the interpreter runs, before the flags: app.py, or a bench's wrapper of it.
    cpus: the cores the app and every thread it starts may run on (set before it runs: its threads inherit
    it); None, every core this process may use.
    """
    models = {} if models_dir is None else {"DIGITS_MODELS_DIR": str(models_dir)}
    environment = {**os.environ, **models, "GRADIO_ANALYTICS_ENABLED": "False", **environment}
    with log_path.open("a" if append else "w") as log:
        return subprocess.Popen(
            [str(checkout_python(repository)), *program, "--host", "127.0.0.1", "--port", str(port), *flags],
            cwd=repository,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if cpus is None else functools.partial(os.sched_setaffinity, 0, set(cpus)),
        )


def wait_until_ready(url: str, process: subprocess.Popen, timeout_s: float = 120) -> float:
    """Seconds from now until GET url answers 200; AppFailedError if the app exits or times out."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise AppFailedError(f"app.py exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    raise AppFailedError(f"app.py did not answer on {url} within {timeout_s:.0f} s")


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def serving(
    models_dir: Path,
    log_folder: Path,
    *,
    flags: Sequence[str] = (),
    environment: Mapping[str, str] = {},
    timeout_s: float = 120,
) -> Iterator[str]:
    """`python app.py [flags]` on 127.0.0.1 at a free port: yields its URL once it answers, stops it after.

    Raises AppFailedError, with the end of the app's output, if it exits or does not answer in time.
    """
    port = free_port()
    log_path = Path(log_folder) / f"app-{port}.log"
    process = start_app(port, models_dir, log_path, flags=flags, environment=environment)
    url = f"http://127.0.0.1:{port}/"
    try:
        try:
            wait_until_ready(url, process, timeout_s=timeout_s)
        except AppFailedError as error:
            raise AppFailedError(f"{error}:\n{log_path.read_text()[-3000:]}") from error
        yield url
    finally:
        stop_app(process)


def parent_pids() -> dict[int, int]:
    """Every running process's id -> its parent's, from /proc."""
    parents: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            parent = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
        except (OSError, StopIteration):
            continue
        parents[int(status.parent.name)] = int(parent.split()[1])
    return parents


def descendant_pids(pid: int) -> list[int]:
    """Process ids of every process below `pid` (children, their children, ...), from /proc."""
    parents = parent_pids()
    found, frontier = [], {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        found += children
        frontier = children
    return sorted(found)
