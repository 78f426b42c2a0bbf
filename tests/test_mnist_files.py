"""Tests of the MNIST IDX reader, md5 checks and downloader, on small hand-written IDX files; no network.

The last test reads the real MNIST test split when it is at `$KAE_ZOO_DATA/mnist` and skips otherwise.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from kae_zoo.tasks import mnist_files
from kae_zoo.tasks.mnist_files import (
    ChecksumError,
    available_splits,
    download_mnist,
    load_mnist_split,
    md5sum,
    mnist_root,
    read_idx,
    verify_md5,
)

TEST_IMAGES, TEST_LABELS = mnist_files.MNIST_FILES["test"]


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """IDX encoding of `array`, written by hand from the spec: 0, 0, type code, n dims, big-endian sizes, data."""
    big_endian = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[type_code]
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian).tobytes()


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def fake_split(n: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray, bytes, bytes]:
    """Random uint8 images (n, 28, 28) and labels (n,), and their gzip IDX files."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels, gzip.compress(idx_bytes(images)), gzip.compress(idx_bytes(labels))


# ----------------------------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_read_idx_uint8_images(tmp_path: Path, compress: bool) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(images)
    path = tmp_path / ("images.gz" if compress else "images")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    got = read_idx(path)
    assert got.shape == (2, 3, 4)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, images)
    got[0, 0, 0] = 255  # an owned, writable array, not a view on the file buffer


def test_read_idx_header_parsed_by_hand(tmp_path: Path) -> None:
    # labels 7, 0, 9 as the literal bytes of a 1-d uint8 IDX file
    path = tmp_path / "labels"
    path.write_bytes(b"\x00\x00\x08\x01" + b"\x00\x00\x00\x03" + b"\x07\x00\x09")
    got = read_idx(path)
    assert got.dtype == np.uint8
    assert got.tolist() == [7, 0, 9]


@pytest.mark.parametrize(
    ("type_code", "dtype"),
    [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_read_idx_other_types_big_endian_to_native(tmp_path: Path, type_code: int, dtype: type) -> None:
    values = np.array([[-3, 1, 2], [100, -7, 0]], dtype=dtype)
    path = tmp_path / "values.idx"
    path.write_bytes(idx_bytes(values, type_code))
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype)
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, values)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "magic"),
        (b"\x00\x00\x42\x01\x00\x00\x00\x01\x05", "type code"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "header truncated"),
        (b"\x00\x00", "too short"),
    ],
    ids=["nonzero-magic", "unknown-type", "zero-dims", "short-dims", "short-file"],
)
def test_read_idx_corrupt_header(tmp_path: Path, raw: bytes, problem: str) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=problem) as excinfo:
        read_idx(path)
    message = str(excinfo.value)
    assert str(path) in message
    assert "\n" not in message


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_read_idx_truncated_payload(tmp_path: Path, compress: bool) -> None:
    raw = idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8))[:-10]
    path = tmp_path / "truncated"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(ValueError, match="truncated") as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_read_idx_trailing_bytes(tmp_path: Path) -> None:
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8)) + b"\x00")
    with pytest.raises(ValueError, match="trailing"):
        read_idx(path)


def test_read_idx_truncated_gzip_stream(tmp_path: Path) -> None:
    compressed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8) % 251))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(ValueError, match="gzip") as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)


# ---------------------------------------------------------------------------------------------- checksums


def test_md5sum_and_verify(tmp_path: Path) -> None:
    data = b"kae-zoo" * 1000
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    assert md5sum(path) == md5_of(data)
    verify_md5(path, md5_of(data))
    verify_md5(path, md5_of(data).upper())


def test_verify_md5_mismatch_names_both_md5s(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(b"not mnist")
    wrong = "0" * 32
    with pytest.raises(ChecksumError) as excinfo:
        verify_md5(path, wrong)
    message = str(excinfo.value)
    assert md5_of(b"not mnist") in message
    assert wrong in message
    assert str(path) in message
    assert "download_mnist" in message
    assert "\n" not in message
    assert isinstance(excinfo.value, ValueError)


# ------------------------------------------------------------------------------------ locations and loading


def test_mnist_root_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KAE_ZOO_DATA", str(tmp_path))
    assert mnist_root() == tmp_path / "mnist"
    monkeypatch.delenv("KAE_ZOO_DATA")
    assert mnist_root() == Path("datasets", "mnist")


def test_missing_file_names_expected_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as excinfo:
        load_mnist_split(tmp_path, "test")
    message = str(excinfo.value)
    assert str(tmp_path / TEST_IMAGES) in message
    assert "KAE_ZOO_DATA" in message
    assert "kae_zoo.tasks.mnist_files.download_mnist(root)" in message
    assert "\n" not in message


def test_missing_labels_only(tmp_path: Path) -> None:
    (tmp_path / TEST_IMAGES).write_bytes(b"")
    with pytest.raises(FileNotFoundError) as excinfo:
        load_mnist_split(tmp_path, "test")
    assert str(tmp_path / TEST_LABELS) in str(excinfo.value)
    assert str(tmp_path / TEST_IMAGES) not in str(excinfo.value)


def test_unknown_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown MNIST split 'val'"):
        load_mnist_split(tmp_path, "val")  # type: ignore[arg-type]


def test_load_split_md5_mismatch(tmp_path: Path) -> None:
    _, _, images_gz, labels_gz = fake_split()
    (tmp_path / TEST_IMAGES).write_bytes(images_gz)
    (tmp_path / TEST_LABELS).write_bytes(labels_gz)
    with pytest.raises(ChecksumError) as excinfo:
        load_mnist_split(tmp_path, "test")
    assert mnist_files.MNIST_MD5[TEST_IMAGES] in str(excinfo.value)
    assert md5_of(images_gz) in str(excinfo.value)


def test_load_split_shapes_and_dtypes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    images, labels, images_gz, labels_gz = fake_split(n=7)
    (tmp_path / TEST_IMAGES).write_bytes(images_gz)
    (tmp_path / TEST_LABELS).write_bytes(labels_gz)
    monkeypatch.setattr(mnist_files, "MNIST_MD5", {TEST_IMAGES: md5_of(images_gz), TEST_LABELS: md5_of(labels_gz)})
    got_images, got_labels = load_mnist_split(tmp_path, "test")
    assert got_images.shape == (7, 28, 28) and got_images.dtype == np.uint8
    assert got_labels.shape == (7,) and got_labels.dtype == np.int64
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_load_split_rejects_mismatched_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, images_gz, _ = fake_split(n=7)
    labels_gz = gzip.compress(idx_bytes(np.zeros(6, dtype=np.uint8)))
    (tmp_path / TEST_IMAGES).write_bytes(images_gz)
    (tmp_path / TEST_LABELS).write_bytes(labels_gz)
    monkeypatch.setattr(mnist_files, "MNIST_MD5", {TEST_IMAGES: md5_of(images_gz), TEST_LABELS: md5_of(labels_gz)})
    with pytest.raises(ValueError, match="labels"):
        load_mnist_split(tmp_path, "test")


def test_available_splits(tmp_path: Path) -> None:
    assert available_splits(tmp_path) == []
    assert available_splits(tmp_path / "absent") == []
    (tmp_path / TEST_IMAGES).write_bytes(b"x")
    assert available_splits(tmp_path) == []
    (tmp_path / TEST_LABELS).write_bytes(b"x")
    assert available_splits(tmp_path) == ["test"]
    for name in mnist_files.MNIST_FILES["train"]:
        (tmp_path / name).write_bytes(b"x")
    assert available_splits(tmp_path) == ["train", "test"]


# ----------------------------------------------------------------------------------------------- download


class FakeResponse(io.BytesIO):
    """What urlopen returns, as far as download_mnist uses it: a readable context manager with headers."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


class FakeServer:
    """A fake urllib.request.urlopen serving bytes per URL; an unknown URL raises URLError. Records requests."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requested: list[str] = []

    def __call__(self, request: urllib.request.Request | str, timeout: float | None = None) -> FakeResponse:
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        self.requested.append(url)
        if url not in self.files:
            raise urllib.error.URLError(f"no route to {url}")
        return FakeResponse(self.files[url])


@pytest.fixture
def fake_test_split(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Fake gzip IDX files for the test split, with MNIST_MD5 patched to their md5s."""
    _, _, images_gz, labels_gz = fake_split(n=3)
    files = {TEST_IMAGES: images_gz, TEST_LABELS: labels_gz}
    monkeypatch.setattr(mnist_files, "MNIST_MD5", {name: md5_of(data) for name, data in files.items()})
    return files


def test_download_success_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_test_split: dict[str, bytes]
) -> None:
    server = FakeServer({f"https://mirror-a/mnist/{name}": data for name, data in fake_test_split.items()})
    monkeypatch.setattr(urllib.request, "urlopen", server)
    replaced: list[tuple[Path, Path]] = []
    real_replace = mnist_files.os.replace

    def spy_replace(source: str | Path, destination: str | Path) -> None:
        replaced.append((Path(source), Path(destination)))
        real_replace(source, destination)

    monkeypatch.setattr(mnist_files.os, "replace", spy_replace)
    root = tmp_path / "data" / "mnist"
    download_mnist(root, splits=("test",), mirrors=("https://mirror-a/mnist",))

    assert sorted(p.name for p in root.iterdir()) == sorted(fake_test_split)  # no temporary files left
    for name, data in fake_test_split.items():
        assert (root / name).read_bytes() == data
    # each file arrived by os.replace from a temporary file in the same folder
    assert {destination.name for _, destination in replaced} == set(fake_test_split)
    assert all(source.parent == root and source.name != destination.name for source, destination in replaced)
    assert available_splits(root) == ["test"]
    images, labels = load_mnist_split(root, "test")
    assert images.shape == (3, 28, 28) and labels.shape == (3,)

    # a second call finds both files with the right md5 and fetches nothing
    server.requested.clear()
    download_mnist(root, splits="test", mirrors=("https://mirror-a/mnist/",))
    assert server.requested == []


def test_download_md5_mismatch_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_test_split: dict[str, bytes]
) -> None:
    server = FakeServer({f"https://bad/{name}": data + b"garbage" for name, data in fake_test_split.items()})
    monkeypatch.setattr(urllib.request, "urlopen", server)
    with pytest.raises(RuntimeError, match="md5 mismatch") as excinfo:
        download_mnist(tmp_path, splits=("test",), mirrors=("https://bad/",))
    message = str(excinfo.value)
    assert mnist_files.MNIST_MD5[TEST_IMAGES] in message
    assert md5_of(fake_test_split[TEST_IMAGES] + b"garbage") in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_download_network_error_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_test_split: dict[str, bytes]
) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", FakeServer({}))
    with pytest.raises(RuntimeError, match="no route"):
        download_mnist(tmp_path, splits=("test",), mirrors=("https://down-1/", "https://down-2/"))
    assert list(tmp_path.iterdir()) == []


def test_download_falls_back_to_second_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_test_split: dict[str, bytes]
) -> None:
    served = {f"https://corrupt/{TEST_IMAGES}": b"truncated"}  # first mirror: wrong bytes for images, no labels
    served.update({f"https://good/{name}": data for name, data in fake_test_split.items()})
    server = FakeServer(served)
    monkeypatch.setattr(urllib.request, "urlopen", server)
    download_mnist(tmp_path, splits=("test",), mirrors=("https://corrupt/", "https://good/"))
    assert server.requested == [
        f"https://corrupt/{TEST_IMAGES}",
        f"https://good/{TEST_IMAGES}",
        f"https://corrupt/{TEST_LABELS}",
        f"https://good/{TEST_LABELS}",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(fake_test_split)
    for name, data in fake_test_split.items():
        assert (tmp_path / name).read_bytes() == data


def test_download_replaces_file_with_wrong_md5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_test_split: dict[str, bytes]
) -> None:
    (tmp_path / TEST_IMAGES).write_bytes(b"stale")
    server = FakeServer({f"https://good/{name}": data for name, data in fake_test_split.items()})
    monkeypatch.setattr(urllib.request, "urlopen", server)
    download_mnist(tmp_path, splits=("test",), mirrors=("https://good/",))
    assert (tmp_path / TEST_IMAGES).read_bytes() == fake_test_split[TEST_IMAGES]


# ------------------------------------------------------------------------------------------ the real data


def test_real_mnist_test_split() -> None:
    root = mnist_root()
    if "test" not in available_splits(root):
        pytest.skip(
            f"real MNIST test split not found at {root.absolute()} (set KAE_ZOO_DATA to the folder holding mnist/, "
            f"e.g. KAE_ZOO_DATA=../shared/data, or run kae_zoo.tasks.mnist_files.download_mnist(root))"
        )
    images, labels = load_mnist_split(root, "test")
    assert images.shape == (10000, 28, 28)
    assert images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert labels.min() == 0 and labels.max() == 9
    counts = np.bincount(labels, minlength=10)
    assert counts.sum() == 10000
    assert counts[0] == 980
    assert images.max() == 255 and images.min() == 0
