"""What a task gives a family: train / val / test batches, a data spec, and what scoring needs.

Classification tasks (Yin-Yang, digits, MNIST) share one pipeline: raw splits -> a trained (cached) residual
MLP base network -> its layer representations -> per-layer preprocessing -> (source, target) pairs. Metadata
(name, description, classes) lives on the class, so listing tasks never loads data (MTEB's pattern).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np
import torch
from torch import Tensor

from ..core import capabilities
from ..core.types import Batch, DataSpec, DataView
from .base_network import BaseNetworkConfig, ResidualMLP, cached_base_network
from .preprocessing import LayerTransform, fit_layer_transforms
from .sparse_truth import SparseGroundTruth

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
RawSplits = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class TaskData:
    """Everything a cell needs from a task: batches per split and the hooks scoring uses."""

    task: str
    view: DataView
    spec: DataSpec
    splits: dict[str, Batch]  # "train" / "val" / "test" -> {"source", "target", "label"}
    split_description: str  # where each split came from (recorded in the results)
    # Target state (preprocessed) -> class logits through the base network's head; None without a base network.
    head: Callable[[Tensor], Tensor] | None = None
    base_test_logits: Tensor | None = None  # the base network's own logits on the test split
    layer_names: list[str] = field(default_factory=list)
    test_layer_states: list[np.ndarray] = field(default_factory=list)  # preprocessed test states per base layer
    notes: dict[str, str] = field(default_factory=dict)
    # The known generative model (true dictionary, test codes, re-sampling) of sparse tasks; None elsewhere.
    ground_truth: SparseGroundTruth | None = None

    @property
    def capabilities(self) -> frozenset[str]:
        """What this data offers scorers (`kae_zoo.core.capabilities`): labels, a head, layer states, ..."""
        offered = set()
        if "label" in self.splits.get("test", {}):
            offered.add(capabilities.LABELS)
        if self.head is not None:
            offered.add(capabilities.HEAD)
        if self.base_test_logits is not None:
            offered.add(capabilities.BASE_LOGITS)
        if self.test_layer_states:
            offered.add(capabilities.LAYER_STATES)
        if self.ground_truth is not None:
            offered.add(capabilities.GROUND_TRUTH)
            if self.ground_truth.resolutions and len(self.spec.state_shape) == 2:
                offered.add(capabilities.GRIDS)
        return frozenset(offered)


class DataUnavailableError(ValueError):
    """A task's data is not on this machine; the one-line message says what is missing and how to get it."""


def _digest(*parts: object, start: hashlib._Hash | None = None) -> str:
    """A short stable hex digest of JSON-able parts and byte arrays, in order (continuing `start`, a hash that has
    taken earlier parts)."""
    return _hash(*parts, start=start).hexdigest()[:16]


def _hash(*parts: object, start: hashlib._Hash | None = None) -> hashlib._Hash:
    digest = start.copy() if start is not None else hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=repr).encode())
    return digest


class Task(ABC):
    """A data set (and, for classification tasks, a base network) that surrogates are benchmarked on."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    views: ClassVar[tuple[DataView, ...]] = ("layer_pair",)
    # The version of the code that makes the task's data; raise it when a generator or loader changes what it
    # makes, so that stored results of the old data are no longer taken for the new (`fingerprint`).
    data_version: ClassVar[int] = 1

    @abstractmethod
    def load(self, seed: int, preset: str, view: DataView, device: torch.device, *,
             progress: bool = True) -> TaskData:
        """Build the task's data for one cell; everything random is seeded from `seed`."""

    def data_spec(self, preset: str, view: DataView) -> DataSpec:
        """The DataSpec a cell of (`preset`, `view`) gets (`TaskData.spec`), known without making or loading the
        data and without training a base network: what the cost table (`kae_zoo.experiments.bench`) builds models
        on. A task that cannot tell without its data raises NotImplementedError (the default)."""
        raise NotImplementedError(f"task {self.name!r} does not give its data spec without loading its data")

    def check_available(self) -> None:
        """Raise DataUnavailableError when the task's data is not on this machine (checked before a run starts);
        generated tasks always have theirs."""

    def fingerprint(self, seed: int, preset: str, view: DataView) -> str:
        """A short digest that changes whenever the data of the cell (seed, preset, view) would: here the task, its
        data version and generator settings (`config`, if any), seed, preset and view, for tasks that generate
        their data from the seed. Tasks that read data override it with a digest of the arrays themselves."""
        config = getattr(self, "config", None)
        settings = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else repr(config)
        return _digest(self.name, self.data_version, settings, seed, preset, view)

    def check_view(self, view: DataView) -> None:
        if view not in self.views:
            raise ValueError(f"task {self.name!r} has no {view!r} view; it offers: {', '.join(self.views)}")


def stratified_split(labels: np.ndarray, fractions: tuple[float, float, float], seed: int) -> dict[str, np.ndarray]:
    """Indices of a stratified train / val / test split (disjoint, covering every sample)."""
    if not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"split fractions must be positive and sum to 1, got {fractions}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_train = int(round(fractions[0] * len(members)))
        n_val = int(round(fractions[1] * len(members)))
        parts["train"].append(members[:n_train])
        parts["val"].append(members[n_train : n_train + n_val])
        parts["test"].append(members[n_train + n_val :])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


class ClassificationTask(Task):
    """A labelled data set whose base residual MLP's layer-to-layer map is what surrogates model."""

    n_classes: ClassVar[int]
    n_components: ClassVar[int]  # PCA dimension of every preprocessed layer
    frobenius_norm: ClassVar[float] = 100.0  # the paper's ||X||_F after preprocessing
    base_network: ClassVar[dict[str, BaseNetworkConfig]]  # per preset
    # input features per sample, when known without reading the data (None: `data_spec` reads the raw splits)
    n_features: ClassVar[int | None] = None
    views = ("layer_pair", "autoencode")

    def data_spec(self, preset: str, view: DataView) -> DataSpec:
        """Layer pairs: the base network's width at `preset`, or `n_components` when smaller (the PCA dimension of
        every preprocessed layer); autoencode: the input features (`n_features`, else read from the raw splits:
        the data is read, but no base network is trained)."""
        self.check_view(view)
        if view == "layer_pair":
            return DataSpec((min(self.n_components, self.base_network[preset].width),), self.n_classes)
        n_features = self.n_features or self.raw_splits()[0]["train"][0].shape[1]
        return DataSpec((int(n_features),), self.n_classes)

    @abstractmethod
    def raw_splits(self) -> tuple[RawSplits, str]:
        """Float32 features and int64 labels per split, and a one-line description of how they were split."""

    def fingerprint(self, seed: int, preset: str, view: DataView) -> str:
        """A digest of the split arrays themselves (so an edited data file changes it), their description, the
        data version, and for the layer-pair view the base network's settings at `preset` and the seed. The splits
        are read and hashed once per task object, whatever the seeds and views asked for."""
        network = dataclasses.asdict(self.base_network[preset]) if view == "layer_pair" else None
        return _digest(network, self.n_components, seed, preset, view, start=self._splits_hash)

    @functools.cached_property
    def _splits_hash(self) -> hashlib._Hash:
        raw, description = self.raw_splits()
        return _hash(self.name, self.data_version, description, *(array for name in SPLITS for array in raw[name]))

    def load(self, seed: int, preset: str, view: DataView, device: torch.device, *,
             progress: bool = True) -> TaskData:
        self.check_view(view)
        raw, description = self.raw_splits()
        if view == "autoencode":
            return self._autoencode_data(raw, description, device)
        network, cache_key = self.trained_base_network(raw, seed, preset, progress=progress)
        layers = {name: self._representations(network, raw[name][0]) for name in SPLITS}
        transforms = fit_layer_transforms(layers["train"], self.n_components, self.frobenius_norm)
        splits = {}
        for name in SPLITS:
            source = transforms[0].apply(layers[name][0])
            target = transforms[-1].apply(layers[name][-1])
            splits[name] = {
                "source": torch.from_numpy(source.astype(np.float32)).to(device),
                "target": torch.from_numpy(target.astype(np.float32)).to(device),
                "label": torch.from_numpy(raw[name][1]).to(device),
            }
        with torch.no_grad():
            base_logits = network(torch.from_numpy(raw["test"][0]))
        return TaskData(
            task=self.name,
            view=view,
            spec=DataSpec(state_shape=(splits["train"]["source"].shape[1],), n_classes=self.n_classes),
            splits=splits,
            split_description=description,
            head=make_head(network, transforms[-1]),
            base_test_logits=base_logits.to(device),
            layer_names=network.layer_names,
            test_layer_states=[transform.apply(states) for transform, states in zip(transforms, layers["test"])],
            notes={"base_network_cache_key": cache_key},
        )

    def trained_base_network(self, raw: RawSplits, seed: int, preset: str, *,
                             progress: bool = True) -> tuple[ResidualMLP, str]:
        """The base network of (`preset`, `seed`), trained on the train split of `raw` (or loaded from the cache),
        and its cache key. The layer_pair view and the representation tasks (`kae_zoo.tasks.activations`) both get
        it here, so one cache entry serves both."""
        return cached_base_network(self.name, *raw["train"], self.n_classes, self.base_network[preset], seed,
                                   progress=progress, preset=preset)

    @staticmethod
    @torch.no_grad()
    def _representations(network: ResidualMLP, features: np.ndarray) -> list[np.ndarray]:
        states = network.representations(torch.from_numpy(features))
        return [state.double().numpy() for state in states]

    def _autoencode_data(self, raw: RawSplits, description: str, device: torch.device) -> TaskData:
        """Raw features as both source and target, for families that autoencode the data itself."""
        splits = {}
        for name in SPLITS:
            features = torch.from_numpy(raw[name][0]).to(device)
            splits[name] = {"source": features, "target": features, "label": torch.from_numpy(raw[name][1]).to(device)}
        spec = DataSpec(state_shape=(raw["train"][0].shape[1],), n_classes=self.n_classes)
        return TaskData(task=self.name, view="autoencode", spec=spec, splits=splits, split_description=description)


def make_head(network: ResidualMLP, target_transform: LayerTransform) -> Callable[[Tensor], Tensor]:
    """Preprocessed target state -> logits: undo the preprocessing, then the base network's linear head."""
    head = copy.deepcopy(network.head).double()

    @torch.no_grad()
    def logits(states: Tensor) -> Tensor:
        raw = target_transform.inverse(states.detach().double().cpu().numpy())
        return head(torch.from_numpy(raw)).to(states.device)

    return logits
