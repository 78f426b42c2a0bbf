"""Task `file:PATH.npz`: the user's own labelled arrays, checked before anything runs.

The .npz file (`numpy.savez`) holds
- `features`: (n_samples, n_features), real numbers (integer or float), every value finite;
- `labels`: (n_samples,), integers 0..K-1 with every class present, K >= 2;
- optionally `split`: (n_samples,), 0 = train, 1 = val, 2 = test, each split non-empty. Without it the samples are
  split stratified 60/20/20 % with split seed 0 (the same split for every cell seed), which needs at least
  5 samples per class.
Features are standardised with the training split's per-feature mean and standard deviation. Like the built-in
classification tasks, a residual MLP base network (width 64, 4 blocks) is trained on the training split and
cached; the layer_pair view gives its layer-to-layer map, the autoencode view the features themselves.

Every problem with the file (not an .npz, missing or unknown arrays, wrong shape or dtype, NaN/Inf, empty,
labels that do not match the features, a test sample that is an exact copy of a training sample) is a
`DataFileError`: one line naming the file, the problem and what would be valid. The CLI turns it into exit code 2.
"""

from __future__ import annotations

import functools
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from .base import SPLITS, ClassificationTask, RawSplits, stratified_split
from .base_network import BaseNetworkConfig

FILE_PREFIX = "file:"
REQUIRED_ARRAYS = ("features", "labels")
OPTIONAL_ARRAYS = ("split",)
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
SPLIT_SEED = 0
MIN_PER_CLASS = 5  # the stratified 60/20/20 split gives every class at least one val and one test sample
_BASE = BaseNetworkConfig(width=64, n_blocks=4, n_epochs=100, batch_size=64)
BASE_NETWORKS = {"smoke": BaseNetworkConfig(width=64, n_blocks=4, n_epochs=10, batch_size=64),
                 "default": _BASE, "paper": _BASE}


class DataFileError(ValueError):
    """A user data file that cannot be used; the message names the file, the problem and what is valid."""


@dataclass(frozen=True)
class ArrayData:
    """A checked data file: float32 features, int64 labels, and the user's split (None: split stratified)."""

    features: np.ndarray
    labels: np.ndarray
    split: np.ndarray | None
    n_classes: int


def is_file_task(name: str) -> bool:
    return name.startswith(FILE_PREFIX)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if path.suffix != ".npz":
        raise DataFileError(f"data file {str(path)!r} must be a .npz file (numpy.savez), got suffix "
                            f"{path.suffix or '(none)'!r}")
    if not path.is_file():
        raise DataFileError(f"data file {str(path)!r} does not exist or is not a file")
    if not zipfile.is_zipfile(path):  # np.load would fall back to unpickling it
        raise DataFileError(f"data file {str(path)!r} is not a readable .npz file (not a zip archive); write it "
                            "with numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError:  # an object array, which only pickle could load
        raise DataFileError(f"data file {str(path)!r} holds an object array, which cannot be loaded without pickle; "
                            "save numeric arrays only") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise DataFileError(f"data file {str(path)!r} is not a readable .npz file ({type(error).__name__})") from None


def _check_names(path: Path, arrays: dict[str, np.ndarray]) -> None:
    missing = [name for name in REQUIRED_ARRAYS if name not in arrays]
    if missing:
        raise DataFileError(f"data file {str(path)!r} has no array {missing[0]!r}; it needs features "
                            "(n_samples, n_features) and labels (n_samples,), optionally split (n_samples,)")
    unknown = sorted(set(arrays) - set(REQUIRED_ARRAYS) - set(OPTIONAL_ARRAYS))
    if unknown:
        raise DataFileError(f"data file {str(path)!r} has an unknown array {unknown[0]!r}; valid arrays: "
                            f"{', '.join(REQUIRED_ARRAYS + OPTIONAL_ARRAYS)}")


def _check_features(path: Path, features: np.ndarray) -> np.ndarray:
    where = f"data file {str(path)!r}: features"
    if features.ndim != 2:
        raise DataFileError(f"{where} must be 2-D (n_samples, n_features), got shape {features.shape}"
                            + ("; flatten images with x.reshape(len(x), -1)" if features.ndim > 2 else ""))
    if features.dtype.kind not in "iuf":
        raise DataFileError(f"{where} must be real numbers (integer or float), got dtype {features.dtype}")
    if features.shape[0] == 0 or features.shape[1] == 0:
        raise DataFileError(f"{where} is empty (shape {features.shape}); it needs at least one sample and feature")
    finite = np.isfinite(features)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise DataFileError(f"{where} has {int((~finite).sum())} non-finite values (NaN or Inf), the first "
                            f"{features[row, column]} at sample {row}, feature {column}; every value must be finite")
    with np.errstate(over="ignore"):
        converted = features.astype(np.float32)
    if not np.isfinite(converted).all():
        raise DataFileError(f"{where} overflow float32 (largest magnitude {np.abs(features).max():.3g}); "
                            "valid values are below 3.4e38")
    return converted


def _check_labels(path: Path, labels: np.ndarray, n_samples: int) -> tuple[np.ndarray, int]:
    where = f"data file {str(path)!r}: labels"
    if labels.ndim != 1:
        raise DataFileError(f"{where} must be 1-D (n_samples,), got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise DataFileError(f"{where} must be integers 0..K-1, got dtype {labels.dtype} (convert with "
                            "labels.astype(int) if the values are whole numbers)")
    if len(labels) != n_samples:
        raise DataFileError(f"{where} has {len(labels)} entries but features has {n_samples} samples; they must "
                            "match one to one")
    if labels.min() < 0:
        raise DataFileError(f"{where} has the negative label {labels.min()}; valid labels are 0..K-1")
    counts = np.bincount(labels)
    n_classes = len(counts)
    if n_classes < 2:
        raise DataFileError(f"{where} hold a single class; a classification task needs at least 2 (labels 0..K-1)")
    absent = np.flatnonzero(counts == 0)
    if len(absent):
        raise DataFileError(f"{where} have no sample of class {absent[0]}, though the largest label {n_classes - 1} "
                            f"makes the classes 0..{n_classes - 1}; renumber the labels consecutively from 0")
    return labels.astype(np.int64), n_classes


def _check_split(path: Path, split: np.ndarray | None, labels: np.ndarray, n_classes: int) -> np.ndarray | None:
    where = f"data file {str(path)!r}: split"
    if split is None:
        counts = np.bincount(labels, minlength=n_classes)
        if counts.min() < MIN_PER_CLASS:
            raise DataFileError(f"data file {str(path)!r}: class {counts.argmin()} has {counts.min()} samples; the "
                                f"stratified 60/20/20 split needs at least {MIN_PER_CLASS} per class (or give a "
                                "split array)")
        return None
    if split.ndim != 1 or len(split) != len(labels):
        raise DataFileError(f"{where} must have shape ({len(labels)},), one entry per sample, got {split.shape}")
    if split.dtype.kind not in "iu" or not np.isin(split, (0, 1, 2)).all():
        bad = split[~np.isin(split, (0, 1, 2))] if split.dtype.kind in "iuf" else split
        raise DataFileError(f"{where} must hold only the integers 0 (train), 1 (val), 2 (test), got "
                            f"{bad[0] if len(bad) else split.dtype}")
    for code, name in enumerate(SPLITS):
        if not (split == code).any():
            raise DataFileError(f"{where} has no {name} sample ({code}); every split needs at least one")
    return split.astype(np.int64)


def _check_no_overlap(path: Path, train: np.ndarray, test: np.ndarray) -> None:
    """Refuse a test sample that is an exact copy of a training sample (test data must never be seen)."""
    seen = {row.tobytes(): index for index, row in enumerate(np.ascontiguousarray(train))}
    for index, row in enumerate(np.ascontiguousarray(test)):
        if row.tobytes() in seen:
            raise DataFileError(f"data file {str(path)!r}: test sample {index} is an exact copy of training sample "
                                f"{seen[row.tobytes()]}; remove duplicate rows (np.unique(features, axis=0)) so the "
                                "test split is unseen")


def read_array_file(path: str | Path) -> ArrayData:
    """Load and check a user data file; every problem raises one DataFileError."""
    path = Path(path)
    arrays = _load_npz(path)
    _check_names(path, arrays)
    features = _check_features(path, arrays["features"])
    labels, n_classes = _check_labels(path, arrays["labels"], len(features))
    split = _check_split(path, arrays.get("split"), labels, n_classes)
    return ArrayData(features, labels, split, n_classes)


def split_indices(path: str | Path, data: ArrayData) -> dict[str, np.ndarray]:
    """Sample indices per split (the file's own split, else stratified 60/20/20 with SPLIT_SEED), checked: enough
    training samples for the base network's layer PCA, and no test sample copied from the training split."""
    if data.split is None:
        indices = stratified_split(data.labels, SPLIT_FRACTIONS, SPLIT_SEED)
    else:
        indices = {name: np.flatnonzero(data.split == code) for code, name in enumerate(SPLITS)}
    needed = BASE_NETWORKS["default"].width
    if len(indices["train"]) < needed:
        raise DataFileError(f"data file {str(path)!r}: the training split has {len(indices['train'])} samples; the "
                            f"base network's {needed}-wide layers need at least {needed} for their PCA")
    _check_no_overlap(Path(path), data.features[indices["train"]], data.features[indices["test"]])
    return indices


class ArrayFileTask(ClassificationTask):
    """A classification task on a user's .npz file; `file_task(name)` makes one class per file."""

    path: ClassVar[Path]
    n_components = BASE_NETWORKS["default"].width
    base_network = BASE_NETWORKS

    def raw_splits(self) -> tuple[RawSplits, str]:
        data = read_array_file(self.path)
        indices = split_indices(self.path, data)
        train = data.features[indices["train"]]
        mean, std = train.mean(axis=0), train.std(axis=0)
        std[std == 0] = 1.0  # a feature constant in training stays constant
        features = ((data.features - mean) / std).astype(np.float32)
        splits = {name: (features[index], data.labels[index]) for name, index in indices.items()}
        sizes = "/".join(str(len(index)) for index in indices.values())
        how = ("the file's split" if data.split is not None
               else f"stratified 60/20/20 %, split seed {SPLIT_SEED}")
        return splits, (f"{self.path}: train/val/test {sizes} ({how}); features standardised with the training "
                        "split's mean and std")


def file_task(name: str) -> type[ArrayFileTask]:
    """The task class of `file:PATH.npz`, after checking the file (DataFileError on any problem)."""
    path = Path(name[len(FILE_PREFIX):])
    if not name[len(FILE_PREFIX):]:
        raise DataFileError(f"task {name!r} names no file; write file:PATH.npz")
    try:
        stat = path.stat()
        stamp = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = (str(path), 0, 0)
    return _checked_file_task(name, stamp)


@functools.lru_cache(maxsize=32)
def _checked_file_task(name: str, stamp: tuple[str, int, int]) -> type[ArrayFileTask]:
    """One checked class per (task name, file, modification time, size): a changed file is checked again."""
    path = Path(name[len(FILE_PREFIX):])
    data = read_array_file(path)
    split_indices(path, data)
    description = (f"user data {path.name}: {len(data.labels)} samples, {data.features.shape[1]} features, "
                   f"{data.n_classes} classes")
    attributes = {"name": name, "path": path, "n_classes": data.n_classes, "description": description,
                  "__module__": __name__}
    return type("ArrayFileTask", (ArrayFileTask,), attributes)
