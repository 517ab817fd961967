"""Corrections: SQLite storage (digit_models/corrections.py), the report and export (training/corrections.py)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from digit_data import mnist
from digit_models import classify
from digit_models import corrections as store
from webapp import corrections_view

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("DIGITS_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def test_digits() -> tuple[np.ndarray, np.ndarray]:
    """Eight MNIST test digits of each class: float32 (80, 28, 28) in [0, 1] and labels (80,)."""
    data = mnist.load_mnist()
    rows = np.concatenate([np.flatnonzero(data.y_test == digit)[:8] for digit in range(10)])
    return data.X_test[rows].astype(np.float32) / 255, data.y_test[rows]


def test_store_then_list_round_trip(data_dir, test_digits):
    image = test_digits[0][0]
    answers = {"cnn": {"digit": 1, "probabilities": [0.0, 1.0] + [0.0] * 8}}
    identifier = store.store(image, 7, answers, version="9.9.9")
    (saved,) = store.list_corrections()
    assert saved.id == identifier and saved.meant == 7 and saved.app_version == "9.9.9"
    assert saved.answers == answers and saved.model_digits() == {"cnn": 1}
    assert np.array_equal(saved.image, image) and saved.image.dtype == np.float32
    assert saved.created_at.endswith("+00:00")
    assert store.database_path() == data_dir / store.FILE_NAME


def test_listing_is_newest_first_and_empty_without_a_file(data_dir, test_digits):
    assert store.list_corrections() == [] and store.count() == 0
    for meant in (1, 2, 3):
        store.store(test_digits[0][meant], meant, {})
    assert [correction.meant for correction in store.list_corrections(limit=2)] == [3, 2]


def test_concurrent_clicks_from_threads_all_land(data_dir, test_digits):
    errors = []

    def click(thread: int) -> None:
        try:
            for repeat in range(10):
                store.store(test_digits[0][thread], (thread + repeat) % 10, {"ensemble": {"digit": 0}})
        except Exception as error:  # Collected: an exception in a thread would otherwise vanish.
            errors.append(error)

    threads = [threading.Thread(target=click, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    saved = store.list_corrections()
    assert len(saved) == 80 == len({correction.id for correction in saved})


def test_a_click_waits_out_a_writer_holding_the_file_longer_than_one_busy_timeout(data_dir, test_digits, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_SECONDS", 0.05)
    store.store(test_digits[0][0], 0, {})
    holder = sqlite3.connect(store.database_path(), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # Another process's write, held for 20 busy timeouts.
    releaser = threading.Timer(1.0, holder.execute, args=("COMMIT",))
    releaser.start()
    store.store(test_digits[0][1], 1, {})
    releaser.join()
    holder.close()
    assert [correction.meant for correction in store.list_corrections()] == [1, 0]


def test_a_file_busy_past_the_deadline_gives_a_clear_error(data_dir, test_digits, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(store, "BUSY_DEADLINE_SECONDS", 0.5)
    store.store(test_digits[0][0], 0, {})
    holder = sqlite3.connect(store.database_path(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(store.CorrectionsError, match="busy with other writers: try again in a moment"):
            store.store(test_digits[0][1], 1, {})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.count() == 1


def test_corrupt_database_raises_a_clear_error(data_dir, test_digits):
    data_dir.mkdir(parents=True)
    (data_dir / store.FILE_NAME).write_bytes(b"this is not SQLite " * 200)
    with pytest.raises(store.CorrectionsError, match="damaged"):
        store.list_corrections()
    with pytest.raises(store.CorrectionsError, match="damaged"):
        store.store(test_digits[0][0], 3, {})


def test_a_folder_that_cannot_be_made_raises_a_clear_error(tmp_path, monkeypatch, test_digits):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    monkeypatch.setenv("DIGITS_DATA_DIR", str(blocker / "data"))
    with pytest.raises(store.CorrectionsError, match="cannot be saved"):
        store.store(test_digits[0][0], 3, {})


def test_bad_arguments_are_refused(data_dir, test_digits):
    with pytest.raises(ValueError, match="0-9"):
        store.store(test_digits[0][0], 10, {})
    with pytest.raises(ValueError, match="28x28"):
        store.store(np.zeros((20, 20)), 3, {})


def test_click_to_database_to_report_to_csv_to_training_loader(data_dir, test_digits, quick_models, quick_models_dir):
    images, labels = test_digits
    # What a click does: the page's answer for the image, then the digit the person meant.
    results = classify.classify_images(quick_models, list(images))
    for image, label, result in zip(images, labels, results, strict=True):
        store.store(image, int(label), store.answers_from_result(result))
    gallery = corrections_view.gallery_items(store.list_corrections())
    assert len(gallery) == corrections_view.GALLERY_LIMIT and gallery[0][0].shape == (112, 112)
    assert gallery[0][1].startswith(f"meant {labels[-1]}")

    reports = data_dir.parent / "reports"
    command = ["-m", "training", "corrections", "--models-dir", str(quick_models_dir), "--reports-dir", str(reports)]
    completed = subprocess.run(
        [sys.executable, *command],
        cwd=REPOSITORY,
        env={**os.environ, "DIGITS_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads((reports / "corrections.json").read_text())
    assert report["corrections"] == 80
    expected_cnn = np.mean(quick_models["cnn"].predict_proba(images).argmax(axis=1) == labels)
    assert report["models"]["cnn"]["accuracy"] == pytest.approx(expected_cnn)
    assert report["models"]["cnn"]["accuracy_when_corrected"] == pytest.approx(expected_cnn)
    assert len(list((data_dir / "export").glob("*_meant_*.png"))) == 80

    # The CSV is Kaggle's train.csv format, which every training command reads with --data.
    loaded = mnist.load_mnist(data_dir / "export" / "corrections.csv", use_cache=False)
    assert len(loaded.y_train) + len(loaded.y_test) == 80
    exported, exported_labels = mnist.read_kaggle_csv(data_dir / "export" / "corrections.csv", labelled=True)
    assert np.array_equal(exported_labels, labels)
    assert np.array_equal(exported, np.round(images * 255).astype(np.uint8))


def test_replicas_databases_are_merged_into_one_report_and_export(tmp_path, test_digits, quick_models_dir):
    """Replicas behind nginx each keep a database (deploy.serve: .data/replica-<i>); the report reads them all."""
    from training import corrections as report

    images, labels = test_digits
    replicas = [tmp_path / "replica-0", tmp_path / "replica-1"]
    for index, (image, label) in enumerate(zip(images[:5], labels[:5], strict=True)):
        store.store(image, int(label), {}, folder=replicas[index % 2])

    assert report.main(quick_models_dir, tmp_path / "reports", replicas) == 0

    merged = json.loads((tmp_path / "reports" / "corrections.json").read_text())
    assert merged["corrections"] == 5
    assert merged["databases"] == [str(store.database_path(folder)) for folder in replicas]
    exported, exported_labels = mnist.read_kaggle_csv(replicas[0] / "export" / "corrections.csv", labelled=True)
    # Oldest first: the order in which they were stored, alternating between the two databases.
    assert np.array_equal(exported_labels, labels[:5])
    assert np.array_equal(exported, np.round(images[:5] * 255).astype(np.uint8))
    assert len(list((replicas[0] / "export").glob("*_meant_*.png"))) == 5
    # The export is also a set of personal examples for `predict --personal`.
    from digit_models import personal

    examples, warnings = personal.read_examples_csv(replicas[0] / "export" / "examples.csv")
    assert warnings == [] and examples.labels.tolist() == labels[:5].tolist()


def test_messages_name_what_the_models_said(test_digits):
    result = {"digit": 1, "models": {"knn": [0] * 7 + [1, 0, 0], "cnn": [0, 1] + [0] * 8}}
    message = corrections_view.saved_message(7, result)
    assert "you meant 7" in message and "said 1" in message and "KNN said 7" in message
    error = store.CorrectionsError("the disk is full")
    assert "disk is full" in corrections_view.error_message(error)
