"""Uploaded and drawn images leave the server within minutes of the answer.

Gradio writes every upload (and every canvas drawing it receives) to its temporary folder and, of
those, deletes on schedule only the copies its components made (`Blocks(delete_cache=...)`), not the
uploads themselves. This app therefore gives Gradio a temporary folder of its own,
`<data dir>/gradio-temp/` (set in `webapp/__init__.py` before gradio is imported, since Gradio reads
$GRADIO_TEMP_DIR then) and sweeps it: every file older than the lifetime goes, whatever made it.
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
    folder: Path, older_than_s: float, now: float | None = None, keep: set[str] = frozenset(), since: float = 0.0
) -> int:
    """Delete the files under `folder` last written more than `older_than_s` seconds ago, then the folders
    left empty; returns how many files went. Spared: the paths in `keep` and files written before `since`
    (the page's own: its examples, cached when the page was built). Files that vanish meanwhile are skipped."""
    now = time.time() if now is None else now
    removed = 0
    for path in sorted(folder.rglob("*"), key=lambda found: -len(found.parts)):  # deepest first
        try:
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
                continue
            written = path.lstat().st_mtime
            if now - written > older_than_s and written >= since and str(path) not in keep:
                path.unlink()
                removed += 1
        except (FileNotFoundError, OSError):
            continue
    return removed


def kept_by(blocks: Any) -> set[str]:
    """The files Gradio's components keep in its cache for good (examples, default values)."""
    return {str(path) for block in blocks.blocks.values() for path in getattr(block, "keep_in_cache", ())}


def start_sweeping(folder: Path, lifetime_s: float = LIFETIME_S, blocks: Any = None) -> threading.Thread:
    """Sweep `folder` now and then every min(lifetime, 60 s), in a daemon thread, for the process's life,
    sparing what `blocks` (the page) keeps and what was there before."""
    every_s = max(1.0, min(60.0, lifetime_s / 2))
    started = time.time()

    def run() -> None:
        while True:
            if folder.exists():
                sweep(folder, lifetime_s, keep=kept_by(blocks) if blocks is not None else set(), since=started)
            time.sleep(every_s)

    thread = threading.Thread(target=run, name="upload-sweeper", daemon=True)
    thread.start()
    return thread
