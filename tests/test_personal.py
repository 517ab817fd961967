"""A person's examples (digit_models.personal): the library, the examples CSV and `predict --personal`.

Real models (the committed ones, else the session's --quick run), real digits: the mfeat development
half as one more writer, MNIST test digits as everyone else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digit_data import writers
from digit_models import cross_writer, personal
from digit_models.classify import predict_all
from digit_models.personal import PersonalExamples

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def models(app_models_dir):
    from digit_models.artifacts import load_models

    return load_models(app_models_dir)


@pytest.fixture(scope="module")
def scans():
    """The mfeat development half through the app's preprocessing: float32 (1000, 28, 28), labels (1000,)."""
    images, labels = writers.mfeat_development_inputs()
    inputs, found, _ = cross_writer.preprocess(images)
    assert found.all()
    return inputs, labels


@pytest.fixture(scope="module")
def mnist_test():
    from digit_data.mnist import load_mnist

    data = load_mnist()
    return data.X_test[:2000].astype(np.float32) / 255, data.y_test[:2000]


def examples_of(images: np.ndarray, labels: np.ndarray, per_digit: int) -> tuple[PersonalExamples, np.ndarray]:
    """The first `per_digit` images of each digit as examples, and the indices of the others."""
    chosen = np.concatenate([np.flatnonzero(labels == digit)[:per_digit] for digit in range(10)])
    rest = np.setdiff1d(np.arange(len(labels)), chosen)
    return PersonalExamples(images[chosen], labels[chosen]), rest


def accuracy(models, images, labels, examples=None) -> float:
    return float(np.mean(predict_all(models, images, examples)["ensemble"].argmax(axis=1) == labels))


def test_without_examples_every_answer_is_unchanged(models, mnist_test):
    images, _ = mnist_test
    plain = predict_all(models, images[:50])
    with_none = predict_all(models, images[:50], PersonalExamples.empty())
    for key in plain:
        np.testing.assert_array_equal(plain[key], with_none[key])


def test_a_writers_examples_adapt_the_ensemble_and_leave_every_model_alone(models, scans):
    images, labels = scans
    examples, rest = examples_of(images, labels, 3)
    plain = predict_all(models, images[rest])
    adapted = predict_all(models, images[rest], examples)
    for key in ("knn", "rf", "sgd", "cnn"):
        np.testing.assert_array_equal(plain[key], adapted[key])
    np.testing.assert_allclose(adapted["ensemble"].sum(axis=1), 1.0)
    before = float(np.mean(plain["ensemble"].argmax(axis=1) == labels[rest]))
    after = float(np.mean(adapted["ensemble"].argmax(axis=1) == labels[rest]))
    assert after >= before + 0.005, (before, after)  # 87.2 -> 88.0% with the committed models.
    truth = np.eye(10)[labels[rest]].astype(bool)
    assert adapted["ensemble"][truth].mean() > plain["ensemble"][truth].mean()


def test_another_writers_examples_cost_mnist_digits_at_most_a_third_of_a_point(models, scans, mnist_test):
    examples, _ = examples_of(*scans, 3)
    before, after = accuracy(models, *mnist_test), accuracy(models, *mnist_test, examples)
    assert before - after <= 0.003, (before, after)


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_one_mislabelled_example_does_not_take_over(models, mnist_test, index):
    images, labels = mnist_test
    wrong = (labels[index] + 1 + index) % 10
    prank = PersonalExamples(images[index : index + 1], np.array([wrong]))
    others = np.arange(len(labels)) != index
    before = accuracy(models, images[others], labels[others])
    after = accuracy(models, images[others], labels[others], prank)
    assert before - after <= 0.003, (before, after)


def test_a_mislabelled_ordinary_digit_reaches_less_far_than_an_unusual_style(models, scans, mnist_test):
    """The guard: an example counts only closer than the nearest MNIST digit of another digit is to it.
    An ordinary 3 called a 4 has MNIST 3s close by; a scanned 1 with a flag and a base has no MNIST
    digit of another kind nearly as close."""
    images, labels = mnist_test
    pranks = PersonalExamples(images[:20], (labels[:20] + 1) % 10)
    scan_images, scan_labels = scans
    ones = PersonalExamples(scan_images[scan_labels == 1][:20], np.ones(20, dtype=np.int64))
    (_, prank_reach), (_, style_reach) = pranks.features(models["cnn"]), ones.features(models["cnn"])
    assert np.median(prank_reach) > np.median(style_reach) + 0.05, (np.median(prank_reach), np.median(style_reach))
    # A near-copy of the mislabelled digit is within its reach; the digit's own MNIST neighbours are not.
    query = personal.normalised_features(models["cnn"], np.roll(images[:1], 1, axis=2))
    far = personal.normalised_features(models["cnn"], images[20:200][labels[20:200] == labels[0]])
    features, reaches = pranks.features(models["cnn"])
    near = personal.evidence(query, features[:1], pranks.labels[:1], reaches=reaches[:1])
    others = personal.evidence(far, features[:1], pranks.labels[:1], reaches=reaches[:1])
    assert near.max() > 5 * np.median(others.max(axis=1))


def test_the_same_drawing_corrected_once_is_read_as_corrected(models, scans):
    """A person redraws what they corrected: one example at (nearly) the same place in feature space wins."""
    images, labels = scans
    plain = predict_all(models, images)["ensemble"].argmax(axis=1)
    misread = np.flatnonzero(plain != labels)[:10]
    assert len(misread) == 10
    for index in misread:
        example = PersonalExamples(images[index : index + 1], labels[index : index + 1])
        redrawn = np.roll(images[index], 1, axis=1)[None]  # One pixel to the right: never quite the same.
        assert predict_all(models, redrawn, example)["ensemble"].argmax() == labels[index]


def test_examples_keep_the_newest_and_check_their_labels():
    image = np.zeros((28, 28), np.float32)
    examples = PersonalExamples.empty()
    for count in range(personal.MAX_EXAMPLES + 5):
        examples = examples.add(image, count % 10)
    assert len(examples) == personal.MAX_EXAMPLES
    assert examples.labels[-1] == (personal.MAX_EXAMPLES + 4) % 10
    with pytest.raises(ValueError, match="between 0 and 9"):
        PersonalExamples(image[None], np.array([10]))
    with pytest.raises(ValueError, match="labels"):
        PersonalExamples(np.stack([image, image]), np.array([1]))


@pytest.fixture(scope="module")
def examples_csv(tmp_path_factory, scans) -> Path:
    """A person's folder: three examples per digit as PNGs (dark ink on white), one bad row, one missing file."""
    folder = tmp_path_factory.mktemp("person")
    images, labels = writers.mfeat_development_inputs()
    chosen = np.concatenate([np.flatnonzero(labels == digit)[:3] for digit in range(10)])
    rows = ["file,label"]
    for index in chosen:
        Image.fromarray(images[index]).save(folder / f"{index}.png")
        rows.append(f"{index}.png,{labels[index]}")
    rows += ["missing.png,3", f"{chosen[0]}.png,eleven"]
    (folder / "examples.csv").write_text("\n".join(rows) + "\n")
    return folder / "examples.csv"


def test_the_examples_csv_reads_relative_paths_and_says_which_rows_it_left_out(examples_csv):
    examples, warnings = personal.read_examples_csv(examples_csv)
    assert len(examples) == 30 and np.bincount(examples.labels).tolist() == [3] * 10
    assert len(warnings) == 2
    assert "missing.png" in warnings[0] and "'eleven' is not a digit" in warnings[1]


def test_an_examples_file_without_the_header_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("path,digit\na.png,1\n")
    with pytest.raises(ValueError, match="file,label"):
        personal.read_examples_csv(bad)


def test_predict_personal_adds_the_count_and_keeps_each_models_row(examples_csv, app_models_dir):
    images, _ = writers.mfeat_development_inputs()
    queries = [examples_csv.parent / f"query_{index}.png" for index in (10, 110, 410)]  # Not among the examples.
    for path, index in zip(queries, (10, 110, 410), strict=True):
        Image.fromarray(images[index]).save(path)

    def run(*extra: str) -> list[dict]:
        command = [sys.executable, "-m", "digit_models", "predict", *map(str, queries), "--json"]
        completed = subprocess.run(
            [*command, "--models-dir", str(app_models_dir), *extra],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        return [json.loads(line) for line in completed.stdout.splitlines()], completed.stderr

    (plain, _), (adapted, stderr) = run(), run("--personal", str(examples_csv))
    assert "missing.png" in stderr
    for before, after in zip(plain, adapted, strict=True):
        assert "personal" not in before and after["personal"] == 30
        assert after["models"] == before["models"] and after["path"] == before["path"]
        assert after["digit"] == int(np.argmax(after["ensemble"]))
        assert set(after) == set(before) | {"personal"}
