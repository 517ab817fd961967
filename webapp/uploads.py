"""Uploaded and drawn images leave the server within minutes of the answer.

Gradio writes every upload (and every canvas drawing it receives) to its temporary folder. It deletes
on schedule (`Blocks(delete_cache=...)`) the files it tracks, those in `Blocks.temp_file_sets` (uploads
and its components' copies), not every file it writes there. This app therefore gives Gradio a
temporary folder of its own, `<data dir>/gradio-temp/` (set in `webapp/__init__.py` before gradio is
imported, since Gradio reads $GRADIO_TEMP_DIR then) and sweeps it: every file older than the lifetime
goes, whatever made it, except those Gradio tracks, which Gradio deletes on the same lifetime.

Leaving those to Gradio is what keeps its tracking bounded: Gradio forgets a path when it deletes the
file, and never when it finds the file already gone. Swept from under it, every answer left one or two
paths in those sets for the process's life (memory, and an lstat for each, every minute, in Gradio's
deletion pass). A tracked file Gradio has not deleted well after its lifetime is swept all the same,
and its path dropped from the sets.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

LIFETIME_S = int(os.environ.get("DIGITS_UPLOAD_LIFETIME_S") or 300)
"""How long an uploaded or drawn image stays after it arrives, in seconds: $DIGITS_UPLOAD_LIFETIME_S,
by default five minutes (an answer takes well under a second)."""


def temporary_folder(environ: dict[str, str] | None = None) -> Path:
    """Gradio's temporary folder for this app: $GRADIO_TEMP_DIR when set, else `<data dir>/gradio-temp`."""
    from digit_models.corrections import data_dir

    environ = os.environ if environ is None else environ
    return Path(environ.get("GRADIO_TEMP_DIR") or data_dir() / "gradio-temp")


def sweep(
    folder: Path,
    older_than_s: float,
    now: float | None = None,
    keep: set[str] = frozenset(),
    since: float = 0.0,
    later: set[str] = frozenset(),
    later_by_s: float = 0.0,
) -> int:
    """Delete the files under `folder` last written more than `older_than_s` seconds ago (the paths in
    `later`: `later_by_s` more), then the folders left empty; returns how many files went. Spared: the
    paths in `keep` and files written before `since` (the page's own: its examples, cached when the page
    was built). Files that vanish meanwhile are skipped."""
    now = time.time() if now is None else now
    removed = 0
    for path in sorted(folder.rglob("*"), key=lambda found: -len(found.parts)):  # deepest first
        try:
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
                continue
            written, name = path.lstat().st_mtime, str(path)
            age_limit = older_than_s + (later_by_s if name in later else 0.0)
            if now - written > age_limit and written >= since and name not in keep:
                path.unlink()
                removed += 1
        except (FileNotFoundError, OSError):
            continue
    return removed


def kept_by(blocks: Any) -> set[str]:
    """The files Gradio's components keep in its cache for good (examples, default values)."""
    return {str(path) for block in blocks.blocks.values() for path in getattr(block, "keep_in_cache", ())}


def tracked_by(blocks: Any) -> set[str]:
    """The files Gradio deletes itself on its `delete_cache` schedule: `Blocks.temp_file_sets` (its uploads
    and its components' copies). The server's threads add to those sets while this reads them: each is
    copied whole first (one call into C, which no other Python thread interrupts)."""
    return {path for files in list(getattr(blocks, "temp_file_sets", ())) for path in list(files)}


def forget_missing(blocks: Any, tracked: set[str]) -> int:
    """Drop from Gradio's temp_file_sets the paths of `tracked` whose file is gone; returns how many."""
    missing = {path for path in tracked if not os.path.lexists(path)}
    if missing:
        for files in list(getattr(blocks, "temp_file_sets", ())):
            files.difference_update(missing)  # One call into C, like the server's own additions.
    return len(missing)


GRADIO_GRACE_S = 120
"""How long after the lifetime a file Gradio tracks is left to Gradio (whose pass runs every minute at
most) before the sweep takes it anyway: should Gradio's deletion stop, nothing stays for good."""


def sweep_once(folder: Path, lifetime_s: float, blocks: Any = None, since: float = 0.0) -> int:
    """One pass: the files under `folder` older than `lifetime_s` go, except what `blocks` (the page) keeps
    and, until GRADIO_GRACE_S later, what Gradio tracks and deletes itself; paths Gradio tracks whose file
    is gone are dropped from its sets. Returns how many files went."""
    if blocks is None:
        return sweep(folder, lifetime_s, since=since)
    tracked = tracked_by(blocks)
    removed = sweep(folder, lifetime_s, keep=kept_by(blocks), since=since, later=tracked, later_by_s=GRADIO_GRACE_S)
    forget_missing(blocks, tracked)
    return removed


def start_sweeping(folder: Path, lifetime_s: float = LIFETIME_S, blocks: Any = None) -> threading.Thread:
    """Sweep `folder` now and then every min(lifetime / 2, 60 s) (`sweep_once`), in a daemon thread, for the
    process's life, sparing what `blocks` (the page) keeps or Gradio deletes itself and what was there before."""
    every_s = max(1.0, min(60.0, lifetime_s / 2))
    started = time.time()

    def run() -> None:
        while True:
            if folder.exists():
                sweep_once(folder, lifetime_s, blocks, since=started)
            time.sleep(every_s)

    thread = threading.Thread(target=run, name="upload-sweeper", daemon=True)
    thread.start()
    return thread
