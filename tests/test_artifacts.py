"""Model files are trusted deliberately: only the types listed in code load, the manifest is written
atomically, and a model trained with other library versions says so."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from digit_models import artifacts
from digit_models.features import deskew


def fitted(first_step) -> Pipeline:
    """A tiny pipeline of the app's shape (a function step, then a classifier) on random 28x28 digits."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 784)), np.arange(40) % 10
    return Pipeline([("features", FunctionTransformer(first_step)), ("model", KNeighborsClassifier(1))]).fit(X, y)


def model_folder(tmp_path, pipeline: Pipeline, **entry_fields) -> tuple:
    """A models folder holding `pipeline` as knn.skops with a manifest entry whose hash matches it."""
    path = tmp_path / "knn.skops"
    artifacts.save_sklearn(pipeline, path)
    entry = {"file": path.name, "kind": "sklearn", "sha256": artifacts.sha256_of(path), **entry_fields}
    artifacts.write_manifest({"models": {"knn": entry}}, tmp_path)
    return path, entry


def test_a_file_of_the_listed_types_loads(tmp_path):
    _, entry = model_folder(tmp_path, fitted(deskew))
    model = artifacts.load_model("knn", entry, tmp_path)
    assert model.predict_proba(np.zeros((2, 28, 28), np.float32)).shape == (2, 10)


def test_a_planted_foreign_type_is_refused_even_with_a_matching_manifest(tmp_path):
    # A swapped folder: the file and its manifest entry agree, but the file asks for a type not on the list.
    path, entry = model_folder(tmp_path, fitted(copy.copy))  # harmless here; any function could be named
    with pytest.raises(artifacts.ArtifactError, match=r"does not trust: copy\.copy"):
        artifacts.load_model("knn", entry, tmp_path)
    with pytest.raises(artifacts.ArtifactError, match=r"copy\.copy"):
        artifacts.load_sklearn(path)


def test_the_committed_models_ask_only_for_listed_types():
    import skops.io

    for name in ("knn", "rf", "sgd"):
        wanted = set(skops.io.get_untrusted_types(file=artifacts.MODELS_DIR / f"{name}.skops"))
        assert wanted <= artifacts.SKOPS_TRUSTED_TYPES, name


def test_the_manifest_is_replaced_whole_or_not_at_all(tmp_path):
    artifacts.write_manifest({"models": {"knn": {"file": "knn.skops"}}}, tmp_path)
    before = (tmp_path / artifacts.MANIFEST_NAME).read_text()
    with pytest.raises(TypeError):
        artifacts.write_manifest({"models": {"knn": {"file": object()}}}, tmp_path)  # fails while writing
    assert (tmp_path / artifacts.MANIFEST_NAME).read_text() == before
    assert [path.name for path in tmp_path.iterdir()] == [artifacts.MANIFEST_NAME]  # no temporary left behind


def test_other_library_versions_at_training_give_a_clear_warning(tmp_path):
    _, entry = model_folder(tmp_path, fitted(deskew), library_versions={"scikit-learn": "0.24.2"})
    with pytest.warns(UserWarning, match=r"trained with scikit-learn 0\.24\.2 \(installed "):
        artifacts.load_model("knn", entry, tmp_path)
    same = {"scikit-learn": artifacts.library_versions()["scikit-learn"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        artifacts.load_model("knn", {**entry, "library_versions": same}, tmp_path)
