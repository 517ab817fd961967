"""The model interface on real (--quick) models: shapes, sums, round trips, tampering, ensemble."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest

from digit_data.mnist import load_mnist
from digit_models import artifacts
from digit_models.cnn import KerasDigitModel
from digit_models.ensemble import EnsembleModel
from digit_models.features import deskew
from digit_models.sklearn_model import SklearnDigitModel

CHANCE = 0.10


@pytest.fixture(scope="module")
def test_digits():
    mnist = load_mnist()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(mnist.y_test), 300, replace=False)
    return mnist.X_test[rows].astype(np.float32) / 255.0, mnist.y_test[rows]


def test_quick_run_trains_all_four_and_each_beats_chance_widely(quick_models, test_digits):
    images, labels = test_digits
    for key in (*artifacts.MEMBER_KEYS, "ensemble"):
        accuracy = np.mean(quick_models[key].predict_proba(images).argmax(axis=1) == labels)
        assert accuracy > 0.75, f"{key} reached only {accuracy:.0%} (chance is {CHANCE:.0%})"


@pytest.mark.parametrize("key", [*artifacts.MEMBER_KEYS, "ensemble"])
def test_probabilities_have_shape_n_by_10_and_sum_to_one(quick_models, test_digits, key):
    images, _ = test_digits
    probabilities = quick_models[key].predict_proba(images[:17])
    assert probabilities.shape == (17, 10)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    single = quick_models[key].predict_proba(images[0])  # one (28, 28) image is a batch of one
    np.testing.assert_allclose(single, probabilities[:1], atol=1e-6)


def test_models_refuse_images_of_the_wrong_shape(quick_models):
    with pytest.raises(ValueError, match=r"\(n, 28, 28\)"):
        quick_models["knn"].predict_proba(np.zeros((2, 32, 32), np.float32))


def test_saving_then_loading_gives_identical_probabilities(quick_models, quick_models_dir, test_digits, tmp_path):
    images, _ = test_digits
    for key in ("knn", "rf", "sgd"):
        path = tmp_path / f"{key}.skops"
        artifacts.save_sklearn(quick_models[key].pipeline, path)
        reloaded = SklearnDigitModel(key=key, name=key, pipeline=artifacts.load_sklearn(path))
        np.testing.assert_array_equal(reloaded.predict_proba(images), quick_models[key].predict_proba(images))
    artifacts.save_keras(quick_models["cnn"].network, tmp_path / "cnn.keras")
    network = artifacts.load_keras(tmp_path / "cnn.keras")
    cnn = quick_models["cnn"]
    reloaded = KerasDigitModel(
        key="cnn",
        name="CNN",
        network=network,
        temperature=cnn.temperature,
        shifts=cnn.shifts,
        shift_layer=cnn.shift_layer,
    )
    np.testing.assert_allclose(reloaded.predict_proba(images), quick_models["cnn"].predict_proba(images), atol=1e-6)


def test_a_tampered_artifact_is_refused_before_loading(quick_models_dir, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(quick_models_dir, folder)
    with (folder / "sgd.skops").open("ab") as file:
        file.write(b"\0")  # One extra byte: a different hash.
    with pytest.raises(artifacts.ArtifactError, match="does not match the hash"):
        artifacts.load_models(folder)


def test_the_whole_digit_check_loads_with_the_ensemble_and_is_hash_checked(quick_models, quick_models_dir, tmp_path):
    entry = json.loads((quick_models_dir / "manifest.json").read_text())["models"][artifacts.WHOLE_DIGIT_KEY]
    assert entry["sha256"] == artifacts.sha256_of(quick_models_dir / entry["file"])
    assert {"parameters", "validation_accuracy", "training_seconds", "data_source"} <= set(entry)
    check = quick_models["ensemble"].whole_digit
    probabilities = check.probability(np.zeros((3, 28, 28), dtype=np.float32))
    assert probabilities.shape == (3,) and ((probabilities >= 0) & (probabilities <= 1)).all()
    folder = tmp_path / "models"
    shutil.copytree(quick_models_dir, folder)
    with (folder / entry["file"]).open("ab") as file:
        file.write(b"\0")
    with pytest.raises(artifacts.ArtifactError, match="does not match the hash"):
        artifacts.load_models(folder)


def test_a_missing_artifact_or_manifest_is_explained(quick_models_dir, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(quick_models_dir, folder)
    (folder / "cnn.keras").unlink()
    with pytest.raises(artifacts.ArtifactError, match=r"cnn\.keras is missing"):
        artifacts.load_models(folder)
    with pytest.raises(artifacts.ArtifactError, match=r"manifest\.json is missing"):
        artifacts.load_models(tmp_path / "empty")


def test_manifest_records_what_reproduces_each_model(quick_models_dir):
    manifest = json.loads((quick_models_dir / "manifest.json").read_text())["models"]
    for key in artifacts.MEMBER_KEYS:
        entry = manifest[key]
        for field in (
            "file",
            "sha256",
            "size_bytes",
            "library_versions",
            "parameters",
            "training_seconds",
            "data_source",
            "test_accuracy",
            "test_log_loss",
        ):
            assert field in entry, f"{key} lacks {field}"
        assert entry["sha256"] == artifacts.sha256_of(quick_models_dir / entry["file"])
    weights = manifest["ensemble"]["weights"]
    assert set(artifacts.MEMBER_KEYS) <= set(weights) and sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    # Extra CNNs are recorded like the shown models, weight 0 included ("not used").
    for key in set(weights) - set(artifacts.MEMBER_KEYS):
        assert manifest[key]["kind"] == "keras" and "test_accuracy" in manifest[key]


def test_ensemble_equals_the_weighted_mean_of_its_members(quick_models, test_digits):
    images, _ = test_digits
    ensemble = quick_models["ensemble"]
    expected = sum(weight * ensemble.members[key].predict_proba(images) for key, weight in ensemble.weights.items())
    np.testing.assert_allclose(ensemble.predict_proba(images), expected, atol=1e-12)
    plain = EnsembleModel(members={key: quick_models[key] for key in artifacts.MEMBER_KEYS})
    mean = np.mean([quick_models[key].predict_proba(images) for key in artifacts.MEMBER_KEYS], axis=0)
    np.testing.assert_allclose(plain.predict_proba(images), mean, atol=1e-12)


def test_extra_ensemble_members_never_show_up_as_models_of_the_answer(quick_models, test_digits):
    from digit_models import classify

    images, _ = test_digits
    shown = {key: quick_models[key] for key in artifacts.MEMBER_KEYS}
    members = {**shown, "cnn_2": quick_models["cnn"]}
    ensemble = EnsembleModel(members=members, weights={"cnn": 0.25, "cnn_2": 0.5, "knn": 0.25})
    answers = classify.classify_images({**shown, "ensemble": ensemble}, list(images[:5]))
    assert all(set(answer["models"]) == set(artifacts.MEMBER_KEYS) for answer in answers)
    cnn, knn = quick_models["cnn"].predict_proba(images[:5]), quick_models["knn"].predict_proba(images[:5])
    expected = 0.75 * cnn + 0.25 * knn
    np.testing.assert_allclose([answer["ensemble"] for answer in answers], expected, atol=1e-5)
    with pytest.raises(ValueError, match="needs the images"):
        ensemble.combine({key: model.predict_proba(images[:5]) for key, model in shown.items()})


def test_models_run_together_give_exactly_each_models_own_numbers(quick_models, test_digits):
    """The shared deskew and the joint network call are a saving, never a change of answer."""
    from digit_models import classify, cnn, sklearn_model

    images, _ = test_digits
    second_network = KerasDigitModel(key="cnn_2", name="CNN 2", network=quick_models["cnn"].network, temperature=2.0)
    networks = [quick_models["cnn"], second_network]
    for count in (1, 7):
        for model, together in zip(networks, cnn.predict_proba_together(networks, images[:count]), strict=True):
            np.testing.assert_array_equal(together, model.predict_proba(images[:count]))
        pipelines = [quick_models[key] for key in ("knn", "rf", "sgd")]
        assert all(model.shared_first_step is not None for model in pipelines)
        for model, together in zip(
            pipelines, sklearn_model.predict_proba_together(pipelines, images[:count]), strict=True
        ):
            np.testing.assert_array_equal(together, model.predict_proba(images[:count]))
    members = {key: quick_models[key] for key in artifacts.MEMBER_KEYS}
    ensemble = EnsembleModel(
        members={**members, "cnn_2": second_network}, weights={"cnn": 0.5, "cnn_2": 0.3, "rf": 0.2}
    )
    everything = classify.predict_all({**members, "ensemble": ensemble}, images[:7])
    assert list(everything) == [*artifacts.MEMBER_KEYS, "ensemble"]
    for key, model in members.items():
        np.testing.assert_array_equal(everything[key], model.predict_proba(images[:7]))
    np.testing.assert_array_equal(everything["ensemble"], ensemble.predict_proba(images[:7]))


def test_linear_steps_compute_exactly_what_scikit_learn_computes(test_digits):
    """digit_models.linear_steps skips scikit-learn's input checks, never its arithmetic."""
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import SGDClassifier

    from digit_models import linear_steps

    images, labels = test_digits
    rows = deskew(images.reshape(len(images), -1))
    pca = PCA(n_components=20, random_state=0).fit(rows)
    sgd = SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0).fit(rows, labels)
    assert linear_steps.supports_projection(pca) and linear_steps.supports_probabilities(sgd)
    for count in (1, 7, len(rows)):
        np.testing.assert_array_equal(linear_steps.project(pca, rows[:count]), pca.transform(rows[:count]))
        as_float64 = rows[:count].astype(np.float64)
        np.testing.assert_array_equal(linear_steps.project(pca, as_float64), pca.transform(as_float64))
        np.testing.assert_array_equal(linear_steps.probabilities(sgd, rows[:count]), sgd.predict_proba(rows[:count]))
    assert not linear_steps.supports_projection(PCA(n_components=20, whiten=True).fit(rows))
    assert not linear_steps.supports_probabilities(SGDClassifier(loss="hinge", max_iter=5, tol=None).fit(rows, labels))
    assert not linear_steps.supports_probabilities(RandomForestClassifier(n_estimators=2).fit(rows, labels))


def test_ensemble_weights_reach_the_lowest_log_loss_on_the_simplex():
    """Two good members, a weak and a useless one: the learned weights are the best of a fine grid (the
    loss is convex in them), the weak and useless members get 0, and neither good member alone does better."""
    from training.evaluate import log_loss
    from training.train import learn_ensemble_weights

    rng = np.random.default_rng(0)
    labels = rng.integers(10, size=4000)

    def member(sharpness: float, wrong_share: float) -> np.ndarray:
        logits = rng.normal(size=(len(labels), 10))
        right = rng.uniform(size=len(labels)) >= wrong_share
        logits[np.arange(len(labels))[right], labels[right]] += sharpness
        probabilities = np.exp(logits)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    members = {"a": member(8.0, 0.02), "b": member(7.0, 0.03), "weak": member(1.0, 0.3)}
    members["useless"] = np.full((len(labels), 10), 0.1)
    weights = learn_ensemble_weights(members, labels)
    assert weights["weak"] == weights["useless"] == 0.0 and sum(weights.values()) == pytest.approx(1.0)
    # At the minimum every member in use has the same marginal value: mean(p_k(true) / mixture(true)) = 1.
    mixture = sum(weight * members[key] for key, weight in weights.items())[np.arange(len(labels)), labels]
    for key in ("a", "b"):
        assert np.mean(members[key][np.arange(len(labels)), labels] / mixture) == pytest.approx(1.0, abs=1e-3)

    def loss(share_a: float) -> float:
        return log_loss(share_a * members["a"] + (1 - share_a) * members["b"], labels)

    grid = np.linspace(0, 1, 1001)
    best = grid[np.argmin([loss(share) for share in grid])]
    assert 0.05 < best < 0.95  # A real mixture, not a corner: the check below means something.
    assert weights["a"] == pytest.approx(best, abs=2e-3)
    assert loss(weights["a"]) <= min(loss(best), loss(0.0), loss(1.0)) + 1e-6


def test_ensemble_rejects_weights_for_unknown_members(quick_models):
    with pytest.raises(ValueError, match="not members"):
        EnsembleModel(members={"knn": quick_models["knn"]}, weights={"svm": 1.0})


def test_wrappers_have_readable_reprs(quick_models):
    assert repr(quick_models["knn"]).startswith("SklearnDigitModel(key='knn', FunctionTransformer")
    assert repr(quick_models["knn"]).endswith("KNeighborsClassifier)")
    assert "parameters" in repr(quick_models["cnn"])
    assert repr(quick_models["ensemble"]).startswith("EnsembleModel(")


def test_deskew_straightens_a_slanted_bar_and_keeps_blank_images_blank():
    image = np.zeros((28, 28), np.float32)
    for row in range(6, 22):
        column = 10 + (row - 6) // 2  # a bar leaning right as it goes down
        image[row, column : column + 2] = 1.0
    straight = deskew(image.reshape(1, -1)).reshape(28, 28)
    ink_columns = [
        np.average(np.arange(28), weights=straight[row]) for row in range(8, 20) if straight[row].sum() > 0.5
    ]
    assert np.ptp(ink_columns) < 1.5, "the bar still leans"
    assert not deskew(np.zeros((2, 784))).any()


def test_fast_forest_path_equals_scikit_learns_predict_proba(quick_models, test_digits):
    images, _ = test_digits
    pipeline = quick_models["rf"].pipeline
    expected = pipeline.predict_proba(images.reshape(len(images), -1))
    np.testing.assert_allclose(quick_models["rf"].predict_proba(images), expected, atol=1e-12)


def test_the_report_scores_every_model_on_other_writers_digits(quick_run):
    metrics = json.loads((quick_run["reports"] / "metrics.json").read_text())
    beyond = metrics["beyond_mnist"]
    assert beyond["images"] == 1797 and 0 <= beyond["not_found"] < 1797
    keys = {row["key"] for row in beyond["rows"]}
    assert {*artifacts.MEMBER_KEYS, "ensemble"} <= keys
    for row in beyond["rows"]:
        assert 0.10 < row["load_digits_accuracy"] <= 1.0, f"{row['key']} is at chance on load_digits"
        assert 0.10 < row["mfeat_development_accuracy"] <= 1.0, f"{row['key']} is at chance on the mfeat scans"
    assert "## Writers beyond MNIST" in (quick_run["reports"] / "REPORT.md").read_text()


def test_training_times_every_step_and_each_cnn(quick_run):
    """bench.training_time reads --timings: the budget covers every step of `all`, each CNN on its own."""
    from training.__main__ import ALL
    from training.cnn import MEMBERS

    timings = json.loads(quick_run["timings"].read_text())
    # The `cnn` step's entries are its CNNs (`cnn` among them), each with its share of the step's time.
    assert set(timings["steps"]) == {*ALL, *MEMBERS}
    assert all(step["seconds"] >= 0 for step in timings["steps"].values())
    assert sum(step["seconds"] for step in timings["steps"].values()) <= timings["total_seconds"] + 1
    assert 0.1 < timings["steps"]["cnn"]["test_accuracy"] <= 1.0


SPACE_FILE_LIMIT = 10 * 10**6
"""A Hugging Face Space repository takes files up to 10 MB without a large-file store."""


def test_every_committed_model_file_fits_a_space_and_the_models_stay_under_their_budget():
    sizes = {path.name: path.stat().st_size for path in artifacts.MODELS_DIR.iterdir() if path.is_file()}
    assert {name: size for name, size in sizes.items() if size >= SPACE_FILE_LIMIT} == {}
    assert sum(sizes.values()) <= 40 * 2**20  # DESIGN.md: model artifacts committed, in total


def test_a_knn_is_saved_with_half_precision_rows_and_loads_as_it_was_evaluated(quick_models, tmp_path):
    import skops.io

    pipeline = copy.deepcopy(quick_models["knn"].pipeline)  # saving rounds its rows: not the session's model
    path = tmp_path / "knn.skops"
    artifacts.save_sklearn(pipeline, path)
    stored = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    assert stored.steps[-1][1]._fit_X.dtype == np.float16
    reloaded = artifacts.load_sklearn(path)
    assert reloaded.steps[-1][1]._fit_X.dtype == np.float32
    np.testing.assert_array_equal(reloaded.steps[-1][1]._fit_X, pipeline.steps[-1][1]._fit_X)
    images = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(
        reloaded.predict_proba(images.reshape(5, -1)), pipeline.predict_proba(images.reshape(5, -1))
    )
