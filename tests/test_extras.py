"""The report-only extras (decision tree, XGBoost) trained in --quick mode on a small MNIST subset."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from digit_models import artifacts
from training import extras, extras_report, preparation, splits

TRAIN_IMAGES = 1_200  # Of the --quick subset's 2,400: enough for both to beat chance by far, in seconds.
REPORT_STUB = "# Model report\n\n| model | accuracy |\n\n## Per-class precision, recall and F1\n\n(rest)\n"


@pytest.fixture(scope="module")
def extras_run(tmp_path_factory):
    """train_extras on 1,200 training images into temporary folders, over a stub report."""
    prepared = preparation.prepare(None, quick=True)
    prepared = dataclasses.replace(
        prepared, X_train=prepared.X_train[:TRAIN_IMAGES], y_train=prepared.y_train[:TRAIN_IMAGES]
    )
    root = tmp_path_factory.mktemp("extras")
    reports = root / "reports"
    reports.mkdir()
    (reports / "metrics.json").write_text(json.dumps({"models": {"knn": {"accuracy": 0.9}}}))
    (reports / "REPORT.md").write_text(REPORT_STUB)
    # An empty models folder: the ensemble check is skipped rather than failing.
    summary = extras.train_extras(prepared, root / "models", reports, artifacts_dir=root / "artifacts")
    return {"prepared": prepared, "reports": reports, "root": root, "summary": summary}


def test_both_extras_beat_chance_on_test_images(extras_run):
    models = json.loads((extras_run["reports"] / "extras.json").read_text())["models"]
    # Chance is 10%; a tree on 1,200 digits reaches about 70%, boosting about 90%.
    assert models["tree"]["accuracy"] > 0.5
    assert models["xgboost"]["accuracy"] > 0.75
    assert extras_run["summary"]["test_accuracy"] == models["xgboost"]["accuracy"]


def test_booster_round_trips_through_ubj_with_identical_probabilities(extras_run):
    record = json.loads((extras_run["reports"] / "extras.json").read_text())["models"]["xgboost"]["artifact"]
    path = extras_run["root"] / "artifacts" / "xgboost.ubj"
    assert artifacts.sha256_of(path) == record["sha256"]
    assert path.stat().st_size == record["size_bytes"]
    images = splits.to_float_images(extras_run["prepared"].X_test[:200])
    booster = extras.load_booster(path)
    loaded = extras.BoostedTreesModel(booster=booster).predict_proba(images)
    # A second save of the loaded booster gives the same bytes: nothing is lost on the way.
    again = extras_run["root"] / "again.ubj"
    extras.save_booster(booster, again)
    assert again.read_bytes() == path.read_bytes()
    assert loaded.shape == (200, 10)
    np.testing.assert_allclose(loaded.sum(axis=1), 1.0)
    scores = extras.BoostedTreesModel(booster=extras.load_booster(again)).predict_proba(images)
    np.testing.assert_array_equal(scores, loaded)


def test_tree_round_trips_through_skops(extras_run):
    from digit_models.sklearn_model import SklearnDigitModel

    path = extras_run["root"] / "artifacts" / "tree.skops"
    model = SklearnDigitModel(key="tree", name="Decision tree", pipeline=artifacts.load_sklearn(path))
    probabilities = model.predict_proba(splits.to_float_images(extras_run["prepared"].X_test))
    expected = json.loads((extras_run["reports"] / "extras.json").read_text())["models"]["tree"]["accuracy"]
    assert np.mean(probabilities.argmax(axis=1) == extras_run["prepared"].y_test) == expected


def test_metrics_entries_carry_the_documented_keys(extras_run):
    metrics = json.loads((extras_run["reports"] / "metrics.json").read_text())
    assert metrics["models"] == {"knn": {"accuracy": 0.9}}  # The app's models are left alone.
    keys = {
        "name", "report_only", "accuracy", "log_loss", "validation_accuracy", "validation_log_loss",
        "published_anchor", "per_class", "confusion_matrix", "size_bytes", "latency_ms_one_image",
        "training_seconds", "how_it_works", "artifact", "parameters", "shift_augmented", "training_images",
    }  # fmt: skip
    for key in ("tree", "xgboost"):
        entry = metrics["report_only"][key]
        assert keys <= set(entry), keys - set(entry)
        assert entry["report_only"] is True
        assert {"file", "format", "sha256", "size_bytes", "committed"} <= set(entry["artifact"])
        assert entry["latency_ms_one_image"] > 0 and entry["training_seconds"] > 0
    assert "tuning" not in metrics["report_only"]["tree"]  # Kept in extras.json only.


def test_report_section_is_inserted_once_before_per_class(extras_run):
    reports = extras_run["reports"]
    extras_report.fold_into_report(reports)  # A second fold replaces the section, never duplicates it.
    text = (reports / "REPORT.md").read_text()
    assert text.count(extras_report.START) == 1 and text.count(extras_report.END) == 1
    assert text.index(extras_report.END) < text.index("## Per-class precision")
    assert "| Decision tree |" in text and "| Gradient-boosted trees (XGBoost) |" in text
    assert text.endswith("(rest)\n")


def test_no_extras_file_means_no_section(tmp_path):
    assert extras_report.markdown_section(tmp_path) == []
    assert extras_report.metrics_part(tmp_path) == {}
