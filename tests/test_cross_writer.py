"""The open cross-writer sets: which mfeat rows are ours, and that frame-filling scans are found and read."""

from __future__ import annotations

import numpy as np
import pytest

from digit_data import pen_styles, writers
from digit_models import cross_writer
from preprocessing import to_mnist


def test_mfeat_development_rows_are_the_first_hundred_of_each_class():
    rows = writers.mfeat_development_rows()
    expected = [row for digit in range(10) for row in range(200 * digit, 200 * digit + 100)]
    assert rows.tolist() == expected


def test_mfeat_loader_never_parses_a_held_out_row(tmp_path, monkeypatch):
    """A stand-in file whose held-out rows are not numbers at all still loads: those lines are never parsed."""
    header = ",".join(str(column) for column in range(241))
    lines = [header]
    for row in range(2000):
        held_out = row % 200 >= 100
        values = ["held-out"] * 240 if held_out else [str((row // 200 + column) % 7) for column in range(240)]
        lines.append(",".join([str(row), *values]))
    stand_in = tmp_path / "mfeat-pix.csv"
    stand_in.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(writers, "mfeat_file", lambda: stand_in)

    digits, labels = writers.mfeat_development_digits()
    assert digits.shape == (1000, 16, 15) and digits.dtype == np.float32
    assert np.bincount(labels).tolist() == [100] * 10
    assert digits[0, 0, :3].tolist() == [0, 1, 2]


@pytest.fixture(scope="module")
def mfeat():
    return writers.mfeat_development_inputs()


def test_mfeat_development_half_is_a_thousand_scans_in_class_order(mfeat):
    images, labels = mfeat
    assert len(images) == 1000 and images[0].shape == (128, 120) and images[0].dtype == np.uint8
    assert labels.tolist() == [digit for digit in range(10) for _ in range(100)]


def test_every_frame_filling_scanned_zero_is_found(mfeat):
    """Thick 0s that touch every side of their frame leave almost no paper on the border."""
    images, labels = mfeat
    results = [to_mnist(image) for image, label in zip(images, labels, strict=True) if label == 0]
    assert all(result.found and result.inverted for result in results), [r.reason for r in results if not r.found]
    boxes = np.array([result.box for result in results])
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 120).all() and (boxes[:, 3] <= 128).all()


def test_the_ensemble_reads_the_mfeat_development_half(mfeat, app_models_dir):
    """87.1% with the frame-filling fallback and the CNNs trained before the mfeat styles; 75.7% without it."""
    from digit_models import artifacts

    result = cross_writer.evaluate(artifacts.load_models(app_models_dir), name="mfeat_development")
    assert result["not_found"] == 0
    assert result["accuracy"]["ensemble"] >= 0.86


def test_pen_trajectory_styles_of_other_writers_are_read(app_models_dir):
    """A 1 with a flag and a base, crossed 7s with and without a pen lift, a closed 4 and an angular 9,
    each drawn 10 times as a canvas would: the ensemble reads at least 8 of every 10 right."""
    from digit_models import artifacts

    measured = cross_writer.accuracy_by_style(artifacts.load_models(app_models_dir), count=10)
    assert set(measured) == set(pen_styles.STYLES)
    for name, row in measured.items():
        assert row["not_found"] == 0, name
        assert row["accuracy"]["ensemble"] >= 0.8, (name, row["ensemble_answers"])
