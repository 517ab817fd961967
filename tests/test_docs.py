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


def test_the_readmes_front_matter_runs_the_app_as_a_gradio_space():
    import yaml
    from packaging.requirements import Requirement

    text = (REPOSITORY / "README.md").read_text()
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py"
    requirements = (REPOSITORY / "requirements.txt").read_text().splitlines()
    pinned = next(line for line in requirements if line.startswith("gradio"))
    assert Requirement(pinned.split("#")[0]).specifier.contains(front["sdk_version"])  # a version the app supports
    assert (REPOSITORY / front["app_file"]).exists()
