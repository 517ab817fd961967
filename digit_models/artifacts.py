"""Model artifacts on disk: the manifest, hash checks, and saving and loading each kind.

`assets/models/manifest.json` holds one entry per model key: the file, its sha256, size,
library versions, parameters, training time, data source and test metrics. Loading
checks the hash before anything is deserialised, so a tampered or corrupted file never
runs code (unpickling can).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    path = Path(folder) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


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


def save_sklearn(pipeline, path: Path) -> None:
    import skops.io

    skops.io.dump(pipeline, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)


def load_sklearn(path: Path):
    """Load a skops file whose hash was already verified against the manifest."""
    import skops.io

    # skops lists every type it would construct; the hash check is what makes them trusted.
    return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))


def save_keras(network, path: Path) -> None:
    network.save(path)


def load_keras(path: Path):
    import keras

    return keras.saving.load_model(path, compile=False, safe_mode=True)


def load_model(key: str, entry: dict[str, Any], folder: Path = MODELS_DIR) -> DigitModel:
    """Build the model `key` from its manifest entry after checking the file's hash."""
    path = verified_path(folder, entry)
    name = DISPLAY_NAMES.get(key, key)
    try:
        if entry["kind"] == "sklearn":
            from digit_models.sklearn_model import SklearnDigitModel

            return SklearnDigitModel(key=key, name=name, pipeline=load_sklearn(path))
        if entry["kind"] == "keras":
            from digit_models.cnn import KerasDigitModel

            return KerasDigitModel(
                key=key, name=name, network=load_keras(path), temperature=entry.get("temperature", 1.0)
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
