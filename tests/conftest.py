"""Shared fixtures: a real --quick training run, done once per test session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory) -> dict[str, Path]:
    """Run `python -m training all --quick` once into a temporary folder (about a minute).

    Returns {"models": folder with the four artifacts + manifest, "reports": report folder,
    "log": the command's output}. Real models, real data (a small MNIST subset).
    """
    root = tmp_path_factory.mktemp("quick")
    models, reports = root / "models", root / "reports"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "training",
            "all",
            "--quick",
            "--models-dir",
            str(models),
            "--reports-dir",
            str(reports),
        ],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    (root / "training.log").write_text(completed.stdout)
    return {"models": models, "reports": reports, "log": root / "training.log"}


@pytest.fixture(scope="session")
def quick_models_dir(quick_run) -> Path:
    """Folder of real models trained by the --quick run: knn, rf, sgd, cnn + ensemble weights."""
    return quick_run["models"]


@pytest.fixture(scope="session")
def quick_models(quick_models_dir):
    """The --quick models loaded through the app's own loader: key -> model."""
    from digit_models.artifacts import load_models

    return load_models(quick_models_dir)
