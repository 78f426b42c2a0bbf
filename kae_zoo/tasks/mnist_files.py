"""The canonical MNIST IDX gzip files: where they live, how to read them, how to fetch them.

kae-zoo reads the four original files (LeCun, Cortes, Burges) directly instead of going through a data-set
library, so that the bytes it trains on are pinned by md5 and no network access is needed at run time.
The data folder is `$KAE_ZOO_DATA/mnist` (or `datasets/mnist` under the current directory); see
`datasets/mnist.md` for the data card.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import math
import os
import struct
import tempfile
import urllib.request
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Union

import numpy as np

from ..core.logs import progress_bar

logger = logging.getLogger(__name__)

StrPath = Union[str, "os.PathLike[str]"]
Split = Literal["train", "test"]

DATA_ENV_VAR = "KAE_ZOO_DATA"
"""Environment variable naming the data folder; MNIST is looked for in its `mnist/` subfolder."""

SPLITS: tuple[Split, ...] = ("train", "test")

MNIST_FILES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        # split: (images file, labels file)
        "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    }
)

MNIST_MD5: Mapping[str, str] = MappingProxyType(
    {
        # md5 of the gzip files as distributed (the compressed bytes, not the decompressed IDX data)
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
)

MNIST_MIRRORS: tuple[str, ...] = (
    # Tried in order; each is a URL prefix to which the file name is appended. yann.lecun.com is left out:
    # it has served 403s / login pages for years. A local `file:///some/folder/` prefix works too.
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

IMAGE_SHAPE = (28, 28)

# IDX type code (third magic byte) -> big-endian numpy dtype, as in the IDX spec.
_IDX_DTYPES: Mapping[int, np.dtype] = MappingProxyType(
    {
        0x08: np.dtype(">u1"),
        0x09: np.dtype(">i1"),
        0x0B: np.dtype(">i2"),
        0x0C: np.dtype(">i4"),
        0x0D: np.dtype(">f4"),
        0x0E: np.dtype(">f8"),
    }
)
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_BYTES = 1 << 20


class ChecksumError(ValueError):
    """A file's md5 differs from the expected one (corrupt, truncated or a different file)."""


# --------------------------------------------------------------------------------------------- locations


def mnist_root() -> Path:
    """The MNIST folder: `$KAE_ZOO_DATA/mnist` when KAE_ZOO_DATA is set, else `datasets/mnist` (relative).

    Read at call time, never at import, so tests and CI can point it elsewhere with the environment.
    """
    data_dir = os.environ.get(DATA_ENV_VAR, "").strip()
    if data_dir:
        return Path(data_dir).expanduser() / "mnist"
    return Path("datasets", "mnist")


def _split_files(split: str) -> tuple[str, str]:
    """(images, labels) file names of `split`; a clear error for an unknown split."""
    try:
        return MNIST_FILES[split]
    except KeyError:
        raise ValueError(f"unknown MNIST split {split!r}; known splits: {', '.join(SPLITS)}") from None


def available_splits(root: StrPath) -> list[str]:
    """The splits ("train", "test", in that order) whose image and label files are both present in `root`.

    Only checks presence, not md5: `load_mnist_split` verifies the checksums when it reads.
    """
    root = Path(root)
    return [split for split in SPLITS if all((root / name).is_file() for name in MNIST_FILES[split])]


# ---------------------------------------------------------------------------------------------- checksums


def md5sum(path: StrPath) -> str:
    """Hex md5 of the file at `path`, read in chunks (md5 as an integrity check, not for security)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_md5(path: StrPath, expected: str) -> None:
    """Raise ChecksumError (one line: file, got, expected, what to do) unless `path` has md5 `expected`."""
    got = md5sum(path)
    if got != expected.lower():
        raise ChecksumError(
            f"md5 mismatch for {Path(path).absolute()}: got {got}, expected {expected.lower()}; the file is corrupt, "
            f"truncated or not the canonical one: delete it and fetch it again "
            f"(kae_zoo.tasks.mnist_files.download_mnist(root))"
        )


# --------------------------------------------------------------------------------------------- IDX format


def read_idx(path: StrPath) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or plain, detected from its first bytes) into a native-endian array.

    IDX layout: magic = 2 zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64) and the number of dimensions; then one big-endian uint32 per dimension;
    then the data, big-endian, row-major. The header and the payload size are validated, so a truncated
    or foreign file fails here with a ValueError naming the file instead of yielding a silently wrong array.
    """
    path = Path(path)
    with open(path, "rb") as file:
        raw = file.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({error})") from None

    if len(raw) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(raw)} bytes, need at least 4)")
    zero_0, zero_1, type_code, n_dims = raw[0], raw[1], raw[2], raw[3]
    if zero_0 != 0 or zero_1 != 0:
        raise ValueError(f"{path}: bad IDX magic {raw[:4].hex()} (the first two bytes must be zero)")
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{type_code:02X} (known: {known})")
    if n_dims == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")

    header_bytes = 4 + 4 * n_dims
    if len(raw) < header_bytes:
        raise ValueError(f"{path}: IDX header truncated ({len(raw)} bytes, {n_dims} dims need {header_bytes})")
    shape = struct.unpack(f">{n_dims}I", raw[4:header_bytes])
    dtype = _IDX_DTYPES[type_code]
    expected_payload = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on a garbage header
    payload = len(raw) - header_bytes
    if payload != expected_payload:
        problem = "truncated" if payload < expected_payload else "has trailing bytes"
        raise ValueError(
            f"{path}: IDX payload {problem}: {payload} bytes, shape {shape} of {dtype.name} needs {expected_payload}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_bytes).reshape(shape)
    # frombuffer gives a read-only view on big-endian data; hand back an owned, native-endian array.
    return array.astype(dtype.newbyteorder("="), copy=True)


# ---------------------------------------------------------------------------------------------- loading


def missing_files_message(root: StrPath, split: Split) -> str:
    """One line naming the missing image or label files of `split` under `root`, where to put them and how to
    fetch them; "" when both are there."""
    root = Path(root)
    missing = [root / name for name in _split_files(split) if not (root / name).is_file()]
    if not missing:
        return ""
    places = ", ".join(str(path.absolute()) for path in missing)
    return (f"MNIST {split} split: missing {places}; put the file(s) exactly there "
            f"(or set {DATA_ENV_VAR} to a folder whose mnist/ subfolder holds them), or fetch them with "
            f"kae_zoo.tasks.mnist_files.download_mnist(root) with root={str(root.absolute())!r}")


def load_mnist_split(root: StrPath, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (n, 28, 28) and labels int64 (n,) of `split`, read from `root` after md5 checks.

    A missing file fails with a one-line FileNotFoundError that says where to put it and how to fetch it;
    a wrong md5 fails with ChecksumError before anything is parsed.
    """
    root = Path(root)
    images_name, labels_name = _split_files(split)
    message = missing_files_message(root, split)
    if message:
        raise FileNotFoundError(message)
    for name in (images_name, labels_name):
        verify_md5(root / name, MNIST_MD5[name])

    images = read_idx(root / images_name)
    labels = read_idx(root / labels_name)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{root / images_name}: expected uint8 images (n, 28, 28), got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
        raise ValueError(
            f"{root / labels_name}: expected uint8 labels ({images.shape[0]},), got {labels.dtype} {labels.shape}"
        )
    logger.debug("loaded MNIST %s split from %s: %d images", split, root, images.shape[0])
    return images, labels.astype(np.int64)


# --------------------------------------------------------------------------------------------- download


def _fetch_verified(url: str, destination: Path, expected_md5: str, timeout: float) -> str | None:
    """Download `url` to `destination` atomically if its md5 is `expected_md5`; the failure reason, or None.

    The bytes go to a temporary file in the destination folder (same file system, so os.replace is
    atomic); the md5 is computed while streaming; only a verified file is renamed into place. The temporary
    file is removed on every other path (mismatch, network error, interruption).
    """
    request = urllib.request.Request(url, headers={"User-Agent": "kae-zoo"})
    handle, temp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    temp_path = Path(temp_name)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        n_bytes = 0
        with os.fdopen(handle, "wb") as out:
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    headers = getattr(response, "headers", None)
                    length = headers.get("Content-Length") if headers is not None else None
                    total = int(length) if length and str(length).isdigit() else None
                    with progress_bar(
                        total=total, unit="B", unit_scale=True, unit_divisor=1024, description=destination.name,
                        leave=False,
                    ) as progress:
                        for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                            out.write(chunk)
                            digest.update(chunk)
                            n_bytes += len(chunk)
                            progress.update(len(chunk))
            except (OSError, http.client.HTTPException, ValueError) as error:
                return f"{url}: {type(error).__name__}: {error}"
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got != expected_md5:
            return f"{url}: md5 mismatch, got {got}, expected {expected_md5} ({n_bytes} bytes)"
        os.replace(temp_path, destination)
        return None
    finally:
        temp_path.unlink(missing_ok=True)


def download_mnist(
    root: StrPath,
    splits: Split | Iterable[Split] = SPLITS,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    timeout: float = 60.0,
) -> None:
    """Fetch the MNIST files of `splits` into `root`, md5-checked, trying `mirrors` in order.

    Files already present with the right md5 are skipped; a present file with a wrong md5 is replaced.
    Each file is written atomically (temporary file, md5 check, os.replace), so `root` never holds a
    partial or unverified file. Raises RuntimeError naming every mirror's failure when no mirror serves a
    file with the right md5.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(splits, str):  # download_mnist(root, "test") means the one split, not its letters
        splits = (splits,)
    names = [name for split in splits for name in _split_files(split)]
    for name in names:
        destination = root / name
        expected = MNIST_MD5[name]
        if destination.is_file():
            got = md5sum(destination)
            if got == expected:
                logger.info("MNIST %s already present with the right md5, skipping", destination)
                continue
            logger.warning("MNIST %s has md5 %s, expected %s: downloading it again", destination, got, expected)
        failures = []
        for mirror in mirrors:
            url = mirror if mirror.endswith("/") else mirror + "/"
            url += name
            logger.info("downloading %s to %s", url, destination)
            failure = _fetch_verified(url, destination, expected, timeout)
            if failure is None:
                break
            logger.warning("MNIST download failed: %s", failure)
            failures.append(failure)
        else:
            reasons = "; ".join(failures) if failures else "no mirrors given"
            raise RuntimeError(
                f"could not download {name} to {destination.absolute()} from any mirror ({reasons}); "
                f"check the network or place the file there by hand"
            )
