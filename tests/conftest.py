"""Shared fixtures: a real --quick training run, done once per test session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deploy.browser import CHROMIUM, CHROMIUM_ARGUMENTS

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory) -> dict[str, Path]:
    """Run `python -m training all --quick` once into a temporary folder (about a minute).

    Returns {"models": folder with the four artifacts + manifest, "reports": report folder,
    "log": the command's output, "timings": its --timings JSON}. Real models, real data (a small MNIST subset).
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
            "--timings",
            str(root / "timings.json"),
        ],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    (root / "training.log").write_text(completed.stdout)
    return {"models": models, "reports": reports, "log": root / "training.log", "timings": root / "timings.json"}


@pytest.fixture(scope="session")
def quick_models_dir(quick_run) -> Path:
    """Folder of real models trained by the --quick run: knn, rf, sgd, cnn + ensemble weights."""
    return quick_run["models"]


@pytest.fixture(scope="session")
def quick_models(quick_models_dir):
    """The --quick models loaded through the app's own loader: key -> model."""
    from digit_models.artifacts import load_models

    return load_models(quick_models_dir)


# --- The running app (tests/test_app_server.py, tests/test_app_browser.py) ---------------


def complete_models_dir(folder: Path) -> bool:
    """True when `folder` has a manifest naming all four models and every file it names exists."""
    import json

    manifest = folder / "manifest.json"
    if not manifest.exists():
        return False
    entries = json.loads(manifest.read_text()).get("models", {})
    return all(key in entries and (folder / entries[key]["file"]).exists() for key in ("knn", "rf", "sgd", "cnn"))


@pytest.fixture(scope="session")
def app_models_dir(request) -> Path:
    """Models for the running app: $DIGITS_MODELS_DIR when set, else the committed models in
    assets/models when all four are there, else the --quick ones trained for this session."""
    import os

    from digit_models.artifacts import MODELS_DIR

    if os.environ.get("DIGITS_MODELS_DIR"):
        return Path(os.environ["DIGITS_MODELS_DIR"])
    if complete_models_dir(MODELS_DIR):
        return MODELS_DIR
    return request.getfixturevalue("quick_models_dir")


@pytest.fixture(scope="session")
def app_server(app_models_dir, tmp_path_factory):
    """`python app.py` listening on 127.0.0.1 at a free port; yields its URL, stops it afterwards.

    Generous timeout: the start-up budget is 15 s on an idle machine, and tests may share it with training.
    """
    from deploy import processes

    folder = tmp_path_factory.mktemp("app")
    # Corrections clicked in tests land in this session's own folder, never in the repository's .data/.
    environment = {"DIGITS_DATA_DIR": str(folder / "data")}
    with processes.serving(app_models_dir, folder, environment=environment, timeout_s=180) as url:
        yield url


# --- A real browser (tests/test_app_browser.py, tests/test_number_browser.py) ------------


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--screenshots",
        metavar="FOLDER",
        type=Path,
        help="where the browser tests save the README's screenshots (`--screenshots assets` updates them; "
        "default: a temporary folder, so a test run leaves the working tree as it was)",
    )


@pytest.fixture(scope="session")
def screenshots_dir(request, tmp_path_factory) -> Path:
    """The folder the browser tests write screenshot*.png to: --screenshots, else a temporary one."""
    folder = request.config.getoption("--screenshots") or tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Software WebGL on two busy cores can take a second per pointer event; Gradio answers in milliseconds.
BROWSER_TIMEOUT_MS = 90_000


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by playwright (never a downloaded browser); skipped where absent."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is absent from /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGUMENTS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def mnist():
    from digit_data.mnist import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def reference(mnist):
    """predict(images float32 (n, 28, 28)) -> labels (n,), from 3-NN on 5,000 training digits."""
    from sklearn.neighbors import KNeighborsClassifier

    classifier = KNeighborsClassifier(n_neighbors=3).fit(
        mnist.X_train[:5000].reshape(5000, -1) / 255, mnist.y_train[:5000]
    )
    return lambda images: classifier.predict(np.asarray(images).reshape(len(images), -1))
