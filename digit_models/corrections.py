"""Corrections from the people who draw: "Wrong? I meant: 7", kept in one SQLite file.

Each correction holds the 28x28 model input (never the original upload), the digit the
person meant, every model's answer, the time (UTC) and the app version. The file is
`corrections.sqlite3` under `$DIGITS_DATA_DIR` (default `.data/` in the repository, git-ignored).
Every call opens its own connection, in WAL mode with a busy timeout, so clicks from many
threads or app processes at once all land. Anything that stops a save or a read (a full disk,
a folder that cannot be written, a corrupt file) raises CorrectionsError with a message a
person can act on; the app shows it and keeps serving.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

FILE_NAME = "corrections.sqlite3"
BUSY_TIMEOUT_SECONDS = 10.0
"""How long one attempt waits for another writer; one insert takes about a millisecond here."""
BUSY_DEADLINE_SECONDS = 60.0
"""How long a call keeps retrying attempts that found the file busy before it gives up.

SQLite's busy handler is not fair: on a slow disk under load one writer can lose the race
for the whole timeout while others keep winning, so a busy attempt is retried after a short
random pause rather than reported to the person who clicked."""
_T = TypeVar("_T")
SIDE = 28

_SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,          -- UTC, ISO 8601
    app_version TEXT NOT NULL,
    meant INTEGER NOT NULL CHECK (meant BETWEEN 0 AND 9),
    answers TEXT NOT NULL,             -- JSON: model key -> {"digit", "probabilities"}
    image BLOB NOT NULL                -- float32 (28, 28) in [0, 1], ink bright, C order
)
"""


class CorrectionsError(RuntimeError):
    """A correction could not be stored or read; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Correction:
    """One stored correction. image: float32 (28, 28) in [0, 1], ink bright."""

    id: int
    created_at: str
    app_version: str
    meant: int
    answers: dict[str, Any]
    image: np.ndarray

    def model_digits(self) -> dict[str, int | None]:
        """Each model's digit when the person corrected it: key -> digit."""
        return {key: answer.get("digit") for key, answer in self.answers.items()}


def data_dir() -> Path:
    """`$DIGITS_DATA_DIR`, else `.data/` in the repository."""
    configured = os.environ.get("DIGITS_DATA_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / ".data"


def database_path(folder: Path | None = None) -> Path:
    return Path(folder if folder is not None else data_dir()) / FILE_NAME


def app_version() -> str:
    """The project's version from its installed metadata or pyproject.toml, else "unknown"."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    with contextlib.suppress(OSError):
        for line in pyproject.read_text().splitlines():
            if line.startswith("version"):
                return line.split("=", 1)[1].strip().strip('"')
    return "unknown"


def answers_from_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """Every model's answer from classify's JSON answer: key -> {"digit", "probabilities"}."""
    answers = {
        key: {"digit": int(np.argmax(values)), "probabilities": [float(value) for value in values]}
        for key, values in (result.get("models") or {}).items()
    }
    if result.get("ensemble") is not None:
        answers["ensemble"] = {"digit": result.get("digit"), "probabilities": list(result["ensemble"])}
    return answers


def store(
    image: np.ndarray,
    meant: int,
    answers: Mapping[str, Any],
    *,
    folder: Path | None = None,
    version: str | None = None,
) -> int:
    """Save one correction; returns its id.

    image: float (28, 28) in [0, 1], the model input; meant: the digit 0-9 the person meant;
    answers: key -> {"digit", "probabilities"} (answers_from_result). Raises ValueError for a
    bad argument, CorrectionsError when the database cannot take it.
    """
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.shape != (SIDE, SIDE) or not np.isfinite(pixels).all():
        raise ValueError(f"a correction stores the 28x28 model input; got an array of shape {pixels.shape}")
    if int(meant) != meant or not 0 <= int(meant) <= 9:
        raise ValueError(f"the digit meant must be 0-9, got {meant!r}")
    row = (
        datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
        version or app_version(),
        int(meant),
        json.dumps(dict(answers)),
        np.clip(pixels, 0.0, 1.0).tobytes(),
    )
    insert = "INSERT INTO corrections (created_at, app_version, meant, answers, image) VALUES (?, ?, ?, ?, ?)"
    return _retrying_when_busy(folder, True, lambda connection: int(connection.execute(insert, row).lastrowid))


def list_corrections(*, folder: Path | None = None, limit: int | None = None) -> list[Correction]:
    """Stored corrections, newest first (all, or the `limit` newest); [] when none were ever saved."""
    if not database_path(folder).exists():
        return []
    query = "SELECT id, created_at, app_version, meant, answers, image FROM corrections ORDER BY id DESC"
    parameters: Sequence[Any] = ()
    if limit is not None:
        query += " LIMIT ?"
        parameters = (int(limit),)
    rows = _retrying_when_busy(folder, False, lambda connection: connection.execute(query, parameters).fetchall())
    return [_correction(row) for row in rows]


def count(*, folder: Path | None = None) -> int:
    """How many corrections are stored (0 when the file does not exist yet)."""
    if not database_path(folder).exists():
        return 0
    query = "SELECT COUNT(*) FROM corrections"
    return _retrying_when_busy(folder, False, lambda connection: int(connection.execute(query).fetchone()[0]))


def _correction(row: tuple) -> Correction:
    identifier, created_at, version, meant, answers, image = row
    pixels = np.frombuffer(image, dtype=np.float32)
    if pixels.size != SIDE * SIDE:
        raise CorrectionsError(
            f"correction {identifier} holds {pixels.size} pixels instead of 784: the file is damaged"
        )
    return Correction(identifier, created_at, version, int(meant), json.loads(answers), pixels.reshape(SIDE, SIDE))


def _retrying_when_busy(folder: Path | None, create: bool, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """work(connection) in one transaction, retried while the file is busy, up to BUSY_DEADLINE_SECONDS."""
    deadline = time.monotonic() + BUSY_DEADLINE_SECONDS
    while True:
        try:
            with _connection(folder, create=create) as connection:
                return work(connection)
        except _BusyError as busy:
            if time.monotonic() >= deadline:
                raise CorrectionsError(str(busy)) from busy.__cause__
            time.sleep(random.uniform(0.01, 0.1))


class _BusyError(Exception):
    """Another writer held the file for a whole busy timeout; worth another attempt."""


@contextlib.contextmanager
def _connection(folder: Path | None, *, create: bool) -> Iterator[sqlite3.Connection]:
    """One connection for one call: WAL, busy timeout, committed on success, always closed.

    Translates every sqlite3/OS failure into CorrectionsError naming the file.
    """
    path = database_path(folder)
    connection = None
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL never corrupts the file; it skips the fsync on each commit,
        # so a writer holds the lock for less time on a slow disk.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(_SCHEMA)
        connection.execute("BEGIN IMMEDIATE" if create else "BEGIN")
        yield connection
        connection.execute("COMMIT")
    except sqlite3.DatabaseError as error:
        if connection is not None and connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        message = _explain(error, path)
        if _is_busy(error):
            raise _BusyError(message) from error
        raise CorrectionsError(message) from error
    except OSError as error:
        raise CorrectionsError(f"corrections cannot be saved in {path.parent}: {error.strerror or error}") from error
    finally:
        if connection is not None:
            connection.close()


def _is_busy(error: sqlite3.DatabaseError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _explain(error: sqlite3.DatabaseError, path: Path) -> str:
    text = str(error).lower()
    if "disk is full" in text or "disk i/o" in text:
        return f"the disk holding {path} is full or failing: free some space, then try again"
    if "not a database" in text or "malformed" in text or "no such column" in text:
        return f"{path} is damaged (not a readable corrections database): move it aside to start a new one"
    if _is_busy(error):
        return f"{path} is busy with other writers: try again in a moment"
    if "readonly" in text or "unable to open" in text or "permission" in text:
        return f"{path} cannot be written: check the permissions of {path.parent} or set DIGITS_DATA_DIR"
    return f"{path}: {error}"
