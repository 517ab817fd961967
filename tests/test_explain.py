"""Explanations on real (--quick) models and real MNIST digits: digit_models/explain.py and saliency.py."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from digit_data import mnist
from digit_models import cli, explain, saliency
from digit_models.features import deskew


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The first 20 MNIST test digits: float32 (20, 28, 28) in [0, 1] and their labels."""
    data = mnist.load_mnist()
    return data.X_test[:20].astype(np.float32) / 255, data.y_test[:20]


@pytest.fixture(scope="module")
def explainer(quick_models_dir, quick_models) -> explain.Explainer:
    return explain.Explainer.load(quick_models_dir, quick_models)


def test_knn_neighbours_are_mnist_training_digits_with_their_labels(explainer, digits):
    training = mnist.load_mnist()
    knn = explainer.models["knn"].pipeline.steps[-1][1]
    for image in digits[0][:5]:
        neighbours = explainer.explain(image)["models"]["knn"]["neighbours"]
        assert len(neighbours) == knn.n_neighbors
        indices = [neighbour["index"] for neighbour in neighbours]
        assert all(0 <= index < 60_000 for index in indices)
        assert [neighbour["label"] for neighbour in neighbours] == training.y_train[indices].tolist()
        distances = [neighbour["distance"] for neighbour in neighbours]
        assert distances == sorted(distances)
        assert sum(neighbour["vote"] for neighbour in neighbours) == pytest.approx(1.0)


def test_knn_distance_is_measured_in_its_own_feature_space(explainer, digits):
    image = digits[0][1]
    pipeline = explainer.models["knn"].pipeline
    nearest = explainer.explain(image)["models"]["knn"]["neighbours"][0]
    training_image = mnist.load_mnist().X_train[nearest["index"]].astype(np.float32) / 255
    features = pipeline[:-1].transform(np.stack([image, training_image]).reshape(2, -1))
    assert np.linalg.norm(features[0] - features[1]) == pytest.approx(nearest["distance"], rel=1e-4)


def test_knn_votes_give_its_digit(explainer, digits):
    for image in digits[0][:5]:
        knn = explainer.explain(image)["models"]["knn"]
        votes = np.zeros(10)
        for neighbour in knn["neighbours"]:
            votes[neighbour["label"]] += neighbour["vote"]
        assert int(votes.argmax()) == knn["digit"]
        assert knn["digit"] == int(explainer.models["knn"].predict_proba(image[None]).argmax())


def test_sgd_evidence_sums_to_its_decision_score(explainer, digits):
    pipeline = explainer.models["sgd"].pipeline
    for image in digits[0][:6]:
        sgd = explainer.explain(image)["models"]["sgd"]
        score = pipeline.decision_function(image.reshape(1, -1))[0, sgd["digit"]]
        assert sgd["saliency"].sum() + sgd["intercept"] == pytest.approx(score, rel=1e-5, abs=1e-4)
        assert sgd["score"] == pytest.approx(score, abs=1e-5)
        assert sgd["saliency"].shape == (28, 28)
        assert np.all(sgd["saliency"][image == 0] == 0)  # Blank input pixels carry no evidence.


def test_deskew_matrix_equals_deskew(digits):
    for image in digits[0]:
        matrix = saliency.deskew_matrix(image)
        np.testing.assert_allclose(matrix @ image.ravel(), deskew(image.reshape(1, -1))[0], atol=1e-6)


def test_cnn_saliency_beats_random_in_the_deletion_test(explainer, digits):
    cnn = explainer.models["cnn"]
    drops = []
    # Twenty digits: on a confident digit any deletion barely moves the probability, so a
    # handful could all be saturated.
    for image in digits[0]:
        digit = explainer.explain(image)["models"]["cnn"]["digit"]
        drops.append(
            saliency.deletion_drops(
                cnn.predict_proba, image, digit, explainer._gradients.integrated_gradients(image, digit)
            )
        )
    salient, random = np.mean(drops, axis=0)
    assert salient > 0.02  # A real fall of the probability, not rounding noise.
    assert salient > 2 * random


def test_forest_occlusion_beats_random_in_the_deletion_test(explainer, digits):
    forest = explainer.models["rf"]
    drops = []
    for image in digits[0][:8]:
        forest_map = explainer.explain(image)["models"]["rf"]
        drops.append(saliency.deletion_drops(forest.predict_proba, image, forest_map["digit"], forest_map["saliency"]))
    salient, random = np.mean(drops, axis=0)
    assert salient > random


def test_occlusion_is_zero_off_the_ink_and_batched(explainer, digits):
    calls = []

    def counting(images):
        calls.append(len(images))
        return explainer.models["rf"].predict_proba(images)

    image = digits[0][0]
    occlusion_map = saliency.occlusion(counting, image, 7)
    assert len(calls) == 1 and calls[0] > 1
    far_from_ink = np.ones((28, 28), bool)
    for row, column in zip(*np.nonzero(image), strict=True):
        far_from_ink[max(row - 3, 0) : row + 4, max(column - 3, 0) : column + 4] = False
    assert np.all(occlusion_map[far_from_ink] == 0)


def _write_png(path, image: np.ndarray) -> str:
    Image.fromarray((255 - image * 255).astype(np.uint8)).resize((140, 140)).save(path)  # Dark ink on white.
    return str(path)


def test_cli_json_follows_the_contract(quick_models_dir, digits, tmp_path):
    digit_file = _write_png(tmp_path / "digit.png", digits[0][0])
    blank = tmp_path / "blank.png"
    Image.new("L", (60, 60), 255).save(blank)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    out = io.StringIO()
    status = cli.main(
        ["explain", digit_file, str(blank), str(broken), "--json", "--models-dir", str(quick_models_dir)], out=out
    )
    first, second, third = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 1
    assert first["path"] == digit_file and first["digit"] in range(10)
    assert np.array(first["input"]).shape == (28, 28)
    assert np.min(first["input"]) >= 0 and np.max(first["input"]) <= 1
    assert set(first["models"]) == {"knn", "rf", "sgd", "cnn"}
    for key in ("rf", "sgd", "cnn"):
        assert np.array(first["models"][key]["saliency"]).shape == (28, 28)
        assert first["models"][key]["digit"] in range(10)
    assert set(first["models"]["knn"]["neighbours"][0]) >= {"index", "label", "distance"}
    assert second["path"] == str(blank) and second["digit"] is None and "models" not in second
    assert set(third) == {"path", "error"} and third["path"] == str(broken)


def test_neighbour_images_are_the_indexed_training_digits(explainer, digits):
    neighbours = explainer.explain(digits[0][0])["models"]["knn"]["neighbours"]
    images = explain.neighbour_images(neighbours)
    training = mnist.load_mnist().X_train
    assert np.array_equal(images, training[[neighbour["index"] for neighbour in neighbours]])
