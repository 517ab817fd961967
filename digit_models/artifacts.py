"""Model artifacts on disk: the manifest, hash checks, and saving and loading each kind.

`assets/models/manifest.json` holds one entry per model key: the file, its sha256, size,
library versions, parameters, training time, data source and test metrics. Loading
checks the hash before anything is deserialised, so a tampered or corrupted file never
runs code (unpickling can).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from digit_models.base import DigitModel
from digit_models.names import DISPLAY_NAMES, MEMBER_KEYS

MODELS_DIR = Path(__file__).resolve().parent.parent / "assets" / "models"
MANIFEST_NAME = "manifest.json"
WHOLE_DIGIT_KEY = "whole_digit"
"""Manifest key of the segmentation's whole-digit check (not a digit model, not an ensemble member)."""
LINE_READER_KEY = "line_reader"
"""Manifest key of the segmentation's line reader (not a digit model, not an ensemble member)."""
SEGMENTATION_KEYS = (WHOLE_DIGIT_KEY, LINE_READER_KEY)
"""The manifest's networks that help read numbers, not digit models."""

if TYPE_CHECKING:
    from digit_models.reading.line_reader import LineReader
    from digit_models.reading.whole_digit import WholeDigitCheck


class ArtifactError(ValueError):
    """A model file is missing, does not match its manifest, or cannot be loaded."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path = MODELS_DIR) -> dict[str, Any]:
    path = Path(folder) / MANIFEST_NAME
    if not path.exists():
        raise ArtifactError(f"{path} is missing: train the models with `python -m training all`")
    return json.loads(path.read_text())


def write_manifest(manifest: dict[str, Any], folder: Path = MODELS_DIR) -> None:
    """Write the manifest atomically: a reader sees the old file or the new one, never half of one."""
    path = Path(folder) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"  # Fails here, before any file is touched.
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{MANIFEST_NAME}.", delete=False) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(handle.name, 0o644)  # Readable like any committed file (temporary files start private).
    os.replace(handle.name, path)


def verified_path(folder: Path, entry: dict[str, Any]) -> Path:
    """The artifact's path once its sha256 matches the manifest; ArtifactError otherwise."""
    path = Path(folder) / entry["file"]
    if not path.exists():
        raise ArtifactError(f"{path} is missing: train it with `python -m training all`")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise ArtifactError(
            f"{path} does not match the hash in {MANIFEST_NAME} (expected {entry['sha256'][:12]}..., "
            f"got {actual[:12]}...): refusing to load a file that may have been altered. Restore it with "
            "`git checkout assets/models` or retrain with `python -m training all`."
        )
    return path


def neighbour_steps(pipeline) -> list:
    """The pipeline's nearest-neighbour steps (their fitted rows are most of a KNN file)."""
    from sklearn.neighbors import KNeighborsClassifier

    return [step for _, step in getattr(pipeline, "steps", []) if isinstance(step, KNeighborsClassifier)]


def save_sklearn(pipeline, path: Path) -> None:
    """Write the pipeline as a skops file, a KNN's fitted rows as float16 (half the size: every model file
    stays under the 10 MB a Hugging Face Space takes without a large-file store).

    The in-memory rows are rounded the same way, so the pipeline evaluated after saving is the one that loads.
    """
    import skops.io

    for knn in neighbour_steps(pipeline):
        knn._fit_X = np.asarray(knn._fit_X, dtype=np.float16)
    try:
        skops.io.dump(pipeline, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    finally:
        _rows_as_float32(pipeline)


def _rows_as_float32(pipeline) -> None:
    """A KNN's stored float16 rows back to float32 for computing (scikit-learn would convert them per call)."""
    for knn in neighbour_steps(pipeline):
        if knn._fit_X.dtype == np.float16:
            knn._fit_X = knn._fit_X.astype(np.float32)


SKOPS_TRUSTED_TYPES = frozenset(
    {
        "digit_models.features.deskew",  # the pipelines' first step (a FunctionTransformer)
        "sklearn.tree._tree.Tree",  # the fitted trees of the random forest and the decision tree
    }
)
"""The only types beyond skops' own defaults (scikit-learn's estimators, numpy arrays) that a model file
may construct. Anything else a file asks for is refused, whatever the manifest says: a swapped folder
with a matching manifest still cannot run code of its choosing."""


def load_sklearn(path: Path):
    """Load a skops file whose hash was already verified against the manifest, constructing no type
    outside skops' defaults and SKOPS_TRUSTED_TYPES; ArtifactError naming the foreign types otherwise."""
    import skops.io

    wanted = set(skops.io.get_untrusted_types(file=path))
    foreign = sorted(wanted - SKOPS_TRUSTED_TYPES)
    if foreign:
        raise ArtifactError(
            f"{path} asks to construct types this app does not trust: {', '.join(foreign)}. Refusing to load it; "
            "restore the folder with `git checkout assets/models` or retrain with `python -m training all`."
        )
    pipeline = skops.io.load(path, trusted=sorted(wanted))
    _rows_as_float32(pipeline)
    return pipeline


def save_keras(network, path: Path) -> None:
    network.save(path)


def load_keras(path: Path):
    import keras

    return keras.saving.load_model(path, compile=False, safe_mode=True)


def load_model(key: str, entry: dict[str, Any], folder: Path = MODELS_DIR) -> DigitModel:
    """Build the model `key` from its manifest entry after checking the file's hash."""
    path = verified_path(folder, entry)
    warn_about_versions(key, entry)
    name = DISPLAY_NAMES.get(key, key)
    try:
        if entry["kind"] == "sklearn":
            from digit_models.sklearn_model import SklearnDigitModel

            return SklearnDigitModel(key=key, name=name, pipeline=load_sklearn(path))
        if entry["kind"] == "keras":
            from digit_models.cnn import NO_SHIFT, KerasDigitModel

            return KerasDigitModel(
                key=key,
                name=name,
                network=load_keras(path),
                temperature=entry.get("temperature", 1.0),
                shifts=entry.get("parameters", {}).get("test_time_shifts", NO_SHIFT),
                shift_layer=entry.get("parameters", {}).get("test_time_shift_layer", 0),
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ArtifactError(f"{path} could not be loaded: {error}") from error
    raise ArtifactError(f"{MANIFEST_NAME}: unknown model kind {entry['kind']!r} for {key!r}")


def load_models(folder: Path = MODELS_DIR, keys: tuple[str, ...] = MEMBER_KEYS) -> dict[str, DigitModel]:
    """Load the member models and their ensemble: {"knn": ..., "rf": ..., "sgd": ..., "cnn": ..., "ensemble": ...}.

    The ensemble may hold more members than the returned keys (extra CNNs named by its weights).
    Raises ArtifactError with a message naming the file when anything is missing or altered.
    """
    from digit_models.ensemble import EnsembleModel

    folder = Path(folder)
    entries = read_manifest(folder)["models"]
    missing = [key for key in keys if key not in entries]
    if missing:
        raise ArtifactError(f"{folder / MANIFEST_NAME} has no entry for {missing}: run `python -m training all`")
    models: dict[str, DigitModel] = {key: load_model(key, entries[key], folder) for key in keys}
    learned = entries.get("ensemble", {}).get("weights") or {}
    # Extra CNNs (cnn_2, ...) are members of the ensemble only: never keys of the answer's "models".
    # They load with the full set of shown models, and only when their weight is above 0.
    extras = {}
    if set(MEMBER_KEYS) <= set(keys):
        extras = {
            key: load_model(key, entries[key], folder)
            for key, weight in learned.items()
            if key not in models and weight > 0 and key in entries
        }
    members = {**models, **extras}
    weights = {key: weight for key, weight in learned.items() if key in members}
    # Loading a subset of the members whose learned weights are all zero falls back to the plain mean.
    models["ensemble"] = EnsembleModel(
        members=members,
        weights=weights if sum(weights.values()) > 0 else None,
        whole_digit=load_whole_digit_check(entries, folder),
        line_reader=load_line_reader(entries, folder),
    )
    return models


def load_whole_digit_check(entries: dict[str, Any], folder: Path) -> WholeDigitCheck | None:
    """The segmentation's whole-digit check when the manifest has one (`python -m training whole-digit`)."""
    from digit_models.reading.whole_digit import WholeDigitCheck

    network = _load_segmentation_network(entries, folder, WHOLE_DIGIT_KEY)
    return None if network is None else WholeDigitCheck(network)


def load_line_reader(entries: dict[str, Any], folder: Path) -> LineReader | None:
    """The segmentation's line reader when the manifest has one (`python -m training line-reader`)."""
    from digit_models.reading.line_reader import LineReader

    network = _load_segmentation_network(entries, folder, LINE_READER_KEY)
    return None if network is None else LineReader(network)


def _load_segmentation_network(entries: dict[str, Any], folder: Path, key: str):
    """The hash-checked Keras network of manifest entry `key`, None when there is no such entry."""
    entry = entries.get(key)
    if entry is None:
        return None
    path = verified_path(folder, entry)
    warn_about_versions(key, entry)
    try:
        return load_keras(path)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ArtifactError(f"{path} could not be loaded: {error}") from error


def update_manifest_entry(key: str, entry: dict[str, Any], folder: Path = MODELS_DIR) -> None:
    """Replace one model's manifest entry, holding a lock so parallel trainings do not clash."""
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".manifest.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = folder / MANIFEST_NAME
        manifest = json.loads(path.read_text()) if path.exists() else {"models": {}}
        manifest["models"][key] = entry
        write_manifest(manifest, folder)


def library_versions() -> dict[str, str]:
    """Versions of the libraries that wrote an artifact, for its manifest entry."""
    from importlib import metadata

    names = ("numpy", "scipy", "scikit-learn", "skops", "keras", "tensorflow-cpu", "tensorflow")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def version_mismatches(entry: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """{library: (version at training, installed version)} for the entry's libraries whose major.minor
    differ from the installed ones (a library the entry names but that is not installed is skipped)."""
    installed = library_versions()
    recorded = entry.get("library_versions") or {}
    return {
        name: (version, installed[name])
        for name, version in recorded.items()
        if name in installed and version.split(".")[:2] != installed[name].split(".")[:2]
    }


def warn_about_versions(key: str, entry: dict[str, Any]) -> None:
    """A clear warning when a model was trained with other versions of its libraries than those installed:
    it may load but answer differently, or fail to load."""
    mismatches = version_mismatches(entry)
    if mismatches:
        listed = ", ".join(f"{name} {trained} (installed {now})" for name, (trained, now) in sorted(mismatches.items()))
        warnings.warn(
            f"the model {key!r} was trained with {listed}: its answers may differ from the reports. "
            "Install the versions in requirements.txt, or retrain with `python -m training all`.",
            stacklevel=3,
        )
