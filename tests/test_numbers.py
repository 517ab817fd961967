"""digit_models.reading.numbers and `python -m digit_models read-number`: DESIGN.md's number contract, real models."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from digit_models import classify, cli
from digit_models.reading import numbers
from preprocessing import ImageError
from tests.test_segmentation import enlarged, on_paper


@pytest.fixture(scope="module")
def number_image(tmp_path_factory) -> tuple[str, str]:
    """A PNG of three spaced MNIST test digits, dark on white, and the digit string it shows."""
    from digit_data.mnist import load_mnist

    data = load_mnist()
    chosen = [int(np.flatnonzero(data.y_test == digit)[0]) for digit in (4, 0, 7)]
    inks = [enlarged(data.X_test[index]) for index in chosen]
    gray = on_paper(inks, [(40, 50), (220, 60), (400, 45)], (560, 260))
    path = tmp_path_factory.mktemp("numbers") / "407.png"
    Image.fromarray(gray).save(path)
    return str(path), "407"


def test_read_number_follows_the_contract(quick_models, number_image):
    path, _ = number_image
    result = numbers.read_number(quick_models, path)
    assert set(result) == {"number", "confidence", "digits"}
    assert len(result["number"]) == len(result["digits"]) == 3
    assert result["number"] == "".join(str(digit["digit"]) for digit in result["digits"])
    assert result["confidence"] == pytest.approx(np.prod([digit["confidence"] for digit in result["digits"]]), abs=1e-5)
    lefts = []
    for digit in result["digits"]:
        assert list(digit) == ["digit", "confidence", "box", "models", "ensemble"]
        assert set(digit["models"]) == {"knn", "rf", "sgd", "cnn"}
        assert sum(digit["ensemble"]) == pytest.approx(1.0, abs=1e-4)
        assert digit["digit"] == int(np.argmax(digit["ensemble"]))
        left, top, right, bottom = digit["box"]
        assert 0 <= left < right <= 560 and 0 <= top < bottom <= 260
        lefts.append(left)
    assert lefts == sorted(lefts)
    json.dumps(result)  # Plain JSON types only.


def test_read_number_of_a_blank_image_is_null_with_the_reason(quick_models):
    result = numbers.read_number(quick_models, np.full((400, 1200), 255, dtype=np.uint8))
    assert result["number"] is None and result["digits"] == [] and result["confidence"] is None
    assert result["message"].startswith("No digit found: ")


def test_read_number_of_an_unreadable_file_raises_image_error(quick_models, tmp_path):
    path = tmp_path / "notes.png"
    path.write_bytes(b"these are not pixels")
    with pytest.raises(ImageError):
        numbers.read_number(quick_models, path)


def test_scorer_gives_the_ensembles_probabilities_the_nearest_distance_and_the_whole_digit_check(quick_models):
    rng = np.random.default_rng(0)
    images = rng.random((5, 28, 28), dtype=np.float32)
    scores = numbers.ensemble_scorer(quick_models)(images)
    np.testing.assert_allclose(scores.probabilities, quick_models["ensemble"].predict_proba(images), atol=1e-9)
    # The fast distance against scikit-learn's own nearest-neighbour search (float32 against float64).
    knn = quick_models["knn"]
    features = knn.pipeline[:-1].transform(images.reshape(5, -1))
    expected, _ = knn.final_step.kneighbors(features, n_neighbors=1)
    np.testing.assert_allclose(scores.distances, expected[:, 0], rtol=1e-4)
    np.testing.assert_allclose(scores.whole, quick_models["ensemble"].whole_digit.probability(images), atol=1e-6)


def test_cli_read_number_prints_one_json_line_per_file_in_order(quick_models_dir, number_image, tmp_path):
    path, _ = number_image
    blank, broken = tmp_path / "blank.png", tmp_path / "broken.png"
    Image.new("L", (600, 200), 255).save(blank)
    broken.write_bytes(b"\x89PNG but not really")
    out = io.StringIO()
    status = cli.main(
        ["read-number", path, str(blank), str(broken), path, "--json", "--models-dir", str(quick_models_dir)], out=out
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 1
    assert [line["path"] for line in lines] == [path, str(blank), str(broken), path]
    assert len(lines[0]["number"]) == 3 and lines[3]["number"] == lines[0]["number"]
    assert lines[1]["number"] is None and "message" in lines[1]
    assert set(lines[2]) == {"path", "error"} and lines[2]["error"]


def test_cli_read_number_exits_0_when_every_file_reads(quick_models_dir, number_image):
    path, _ = number_image
    out = io.StringIO()
    assert cli.main(["read-number", path, "--models-dir", str(quick_models_dir)], out=out) == 0
    assert out.getvalue().startswith(f"{path}: ")


def test_predict_all_from_the_scorers_kept_probabilities_equals_running_every_model(quick_models):
    rng = np.random.default_rng(1)
    images = rng.random((7, 28, 28), dtype=np.float32)
    scorer = numbers.ensemble_scorer(quick_models)
    scorer(images)
    # Some images in another order, as the chosen digits come out of the candidates scored.
    chosen = images[[4, 0, 6]]
    kept = scorer.predict_all(chosen)
    fresh = classify.predict_all(quick_models, chosen)
    assert list(kept) == list(fresh)
    for key in fresh:
        np.testing.assert_allclose(kept[key], fresh[key], atol=1e-6)
    unseen = rng.random((2, 28, 28), dtype=np.float32)  # Not scored: every model runs.
    expected = classify.predict_all(quick_models, unseen)["ensemble"]
    np.testing.assert_allclose(scorer.predict_all(unseen)["ensemble"], expected)
