"""Printing a command's answers: one line per input file, in order, as JSON or for a person."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO


def print_records(
    records: Iterable[Mapping[str, Any]], describe: Callable[[Mapping[str, Any]], str], *, as_json: bool, out: TextIO
) -> int:
    """Print each record as it comes (JSON, or `describe`'s line); returns 1 if any holds an "error", else 0.

    Each line is flushed, so a long run over many files shows its answers as they are made.
    """
    failed = False
    for record in records:
        failed = failed or "error" in record
        print(json.dumps(record) if as_json else describe(record), file=out, flush=True)
    return 1 if failed else 0
