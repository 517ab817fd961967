"""`python -m digit_models`: the --json contract other tools rely on, bad files, and Kaggle's CSV.

Runs real models: the session's --quick training (tests/conftest.py, shared with the
other tests that need trained models).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digit_data import families
from digit_models import cli

REPOSITORY = Path(__file__).resolve().parent.parent
MEMBERS = {"knn", "rf", "sgd", "cnn"}
HEADER = ",".join(f"pixel{index}" for index in range(784)) + "\n"  # Kaggle's test.csv header line.


@pytest.fixture(scope="module")
def mnist():
    from digit_data.mnist import load_mnist

    return load_mnist()


@pytest.fixture(scope="module")
def image_files(tmp_path_factory, mnist) -> dict[str, Path]:
    """A drawn 7, a photographed 2, a blank canvas, a corrupt file and a missing one."""
    folder = tmp_path_factory.mktemp("images")
    files = {name: folder / name for name in ("seven.png", "two.jpg", "blank.png", "broken.png", "missing.png")}
    Image.fromarray(families.make_canvas(mnist.X_test[0], np.random.default_rng(0))).save(files["seven.png"])
    files["two.jpg"].write_bytes(families.make_photo(mnist.X_test[1], np.random.default_rng(1), 1))
    Image.new("RGB", (400, 400), "white").save(files["blank.png"])
    files["broken.png"].write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    assert mnist.y_test[0] == 7 and mnist.y_test[1] == 2
    return files


@pytest.fixture(scope="module")
def models(quick_models_dir):
    from digit_models.artifacts import load_models

    return load_models(quick_models_dir)


def test_predict_json_follows_the_contract(image_files, quick_models_dir):
    paths = [str(path) for path in image_files.values()]
    completed = subprocess.run(
        [sys.executable, "-m", "digit_models", "predict", *paths, "--json", "--models-dir", str(quick_models_dir)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 1, completed.stderr[-2000:]  # Two files failed.
    records = [json.loads(line) for line in completed.stdout.splitlines()]
    assert [record["path"] for record in records] == paths  # One object per line, in input order.
    seven, two, blank, broken, missing = records

    for record, digit in ((seven, 7), (two, 2)):
        assert set(record) == {"path", "digit", "confidence", "models", "ensemble"}
        assert record["digit"] == digit
        assert set(record["models"]) == MEMBERS
        for probabilities in [*record["models"].values(), record["ensemble"]]:
            assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1, abs=1e-4)
        assert record["digit"] == int(np.argmax(record["ensemble"]))
        assert record["confidence"] == max(record["ensemble"])

    assert blank["digit"] is None and "uniform" in blank["message"]
    assert set(broken) == {"path", "error"} and "not an image" in broken["error"]
    assert set(missing) == {"path", "error"} and "no such file" in missing["error"]


def test_predict_exits_zero_when_every_file_is_read(image_files, models):
    out = io.StringIO()
    paths = [str(image_files["seven.png"]), str(image_files["blank.png"])]
    status = cli.predict_files(models, paths, as_json=False, out=out)
    assert status == 0
    seven, blank = out.getvalue().splitlines()
    assert seven.startswith(f"{paths[0]}: 7 (ensemble ") and all(key in seven for key in MEMBERS)
    assert blank == f"{paths[1]}: no digit found: the image is one uniform colour"


def test_predict_answers_many_files_in_batches(image_files, models, monkeypatch):
    monkeypatch.setattr(cli, "BATCH_SIZE", 3)
    paths = [str(image_files[name]) for name in ("seven.png", "broken.png", "two.jpg", "blank.png")] * 2
    records = list(cli.answers(models, paths))
    assert [record["path"] for record in records] == paths
    assert [record.get("digit") for record in records] == [7, None, 2, None] * 2
    assert ["error" in record for record in records] == [False, True, False, False] * 2


def test_predict_reads_an_iphone_photo(tmp_path, mnist, models):
    photo = Image.open(io.BytesIO(families.make_photo(mnist.X_test[1], np.random.default_rng(1), 1)))
    exif = Image.Exif()
    exif[0x0112] = 8  # Stored lying on its side, "turn 90 degrees counter-clockwise to display".
    path = tmp_path / "IMG_0001.HEIC"
    photo.transpose(Image.Transpose.ROTATE_270).save(path, "HEIF", quality=90, exif=exif.tobytes())
    (record,) = cli.answers(models, [str(path)])
    assert record["digit"] == 2, record


def test_predict_csv_writes_a_kaggle_submission(tmp_path, mnist, models, quick_models_dir):
    digits = mnist.X_test[:6].reshape(6, -1)
    csv = tmp_path / "test.csv"
    csv.write_text(HEADER + "\n".join(",".join(map(str, row)) for row in digits) + "\n")
    output = tmp_path / "submission.csv"
    status = cli.main(
        ["predict-csv", str(csv), "-o", str(output), "--models-dir", str(quick_models_dir)], out=io.StringIO()
    )
    assert status == 0
    lines = output.read_text().splitlines()
    assert lines[0] == "ImageId,Label" and [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3", "4", "5", "6"]
    from digit_models import classify

    expected = classify.predict_all(models, digits.reshape(6, 28, 28) / 255)["ensemble"].argmax(axis=1)
    assert [int(line.split(",")[1]) for line in lines[1:]] == expected.tolist()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("a,b,c\n1,2,3\n", "expected the header", id="wrong header"),
        pytest.param("label," + HEADER, "train.csv", id="train.csv"),
        pytest.param(HEADER + "0," * 10 + "0\n", "784", id="short row"),
        pytest.param(HEADER + ",".join(["300"] * 784) + "\n", "0..255", id="value over 255"),
        pytest.param(HEADER, "no rows", id="header only"),
    ],
)
def test_predict_csv_rejects_a_malformed_file_before_loading_models(tmp_path, capsys, content, message):
    csv = tmp_path / "test.csv"
    csv.write_text(content)
    status = cli.main(["predict-csv", str(csv), "--models-dir", str(tmp_path / "no-models")], out=io.StringIO())
    assert status == 2
    assert message in capsys.readouterr().err


def test_missing_models_give_a_clear_error(tmp_path, capsys, image_files):
    status = cli.main(["predict", str(image_files["seven.png"]), "--models-dir", str(tmp_path)], out=io.StringIO())
    assert status == 2
    assert "python -m training" in capsys.readouterr().err
