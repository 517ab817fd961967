"""The README is a map, and its measured tables are those the benchmarks' JSON holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def test_the_readme_is_a_map_a_newcomer_reads_in_five_minutes():
    lines = (REPOSITORY / "README.md").read_text().splitlines()
    assert len(lines) <= 300
    for page in ("docs/results.md", "docs/app.md", "docs/numbers.md", "docs/deployment.md", "CHANGELOG.md"):
        assert (REPOSITORY / page).exists() and page in "\n".join(lines), page


def test_the_readmes_tables_are_written_from_their_json():
    completed = subprocess.run(
        [sys.executable, "-m", "bench.tables", "--check"], cwd=REPOSITORY, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
