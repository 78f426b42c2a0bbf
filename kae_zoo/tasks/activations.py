"""Representation tasks: the hidden states of a classification task's base network at one layer, to autoencode.

`digits_acts` is what a sparse autoencoder of a network's activations sees: the states of the cached `digits` base
network (the very network, and cache entry, of `digits`' layer_pair view at the same preset and seed: trained on the
train split only) at one layer, for the parent's own train / val / test splits. The layer is the task's option,
`digits_acts@block_1` (names: `ResidualMLP.layer_names`, input_layer, block_1 .. block_n); plain `digits_acts` takes
the middle block, block_{ceil(n_blocks / 2)}.

The states are scaled by one scalar s, fitted on the training split so that the mean squared norm there is the state
dimension (mean_i ||s x_i||^2 = d; SAELens's activation normalisation), so that one set of family hyperparameters
(sparsity weights, learning rates) fits every layer and network. The downstream (`TaskData.head`) is the rest of
the base network: scaled state -> divide by s -> the remaining blocks -> the linear head -> logits, so the
classification scores measure how much of the network's behaviour a reconstruction keeps.
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Callable, ClassVar

import numpy as np
import torch
from torch import Tensor

from ..core.types import DataSpec, DataView
from .base import SPLITS, ClassificationTask, Task, TaskData, _digest
from .base_network import ResidualMLP, layer_names

LAYER_SEPARATOR = "@"  # TASK@LAYER


class ActivationTask(Task):
    """A base network's hidden states at one layer (`layer`, "" = the middle block) as an autoencode task."""

    parent: ClassVar[type[ClassificationTask]]  # the classification task whose base network and splits it uses
    layer: ClassVar[str] = ""  # the layer; "" = default_layer(); bound by `with_layer` (`get_task("NAME@LAYER")`)
    n_classes: ClassVar[int]  # the parent's (set for every subclass that names a parent)
    views = ("autoencode",)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "parent" in cls.__dict__:
            cls.n_classes = cls.parent.n_classes  # the runner checks configs against it before a run

    @classmethod
    def layer_names(cls) -> list[str]:
        """The layers a task option may name: those of the parent's base network at every preset."""
        return layer_names(min(config.n_blocks for config in cls.parent.base_network.values()))

    @classmethod
    def default_layer(cls) -> str:
        """The middle block, block_{ceil(n_blocks / 2)}."""
        return f"block_{math.ceil((len(cls.layer_names()) - 1) / 2)}"

    @classmethod
    def layer_name(cls) -> str:
        """The layer this task's states come from."""
        return cls.layer or cls.default_layer()

    @classmethod
    def with_layer(cls, layer: str) -> type[ActivationTask]:
        """This task at `layer`: a subclass named `NAME@LAYER` (so results and fingerprints tell layers apart); a
        layer the base network lacks raises ValueError naming the valid ones."""
        return _bound_task(cls, layer)

    def check_available(self) -> None:
        self._parent_task.check_available()

    def data_spec(self, preset: str, view: DataView) -> DataSpec:
        """The base network's width at `preset` (every layer of it has that width)."""
        self.check_view(view)
        return DataSpec((self.parent.base_network[preset].width,), self.n_classes)

    def fingerprint(self, seed: int, preset: str, view: DataView) -> str:
        """The parent's layer_pair fingerprint (its split arrays, base network settings, seed and preset: everything
        that makes the base network) with the layer and this task's data version."""
        parent = self._parent_task.fingerprint(seed, preset, "layer_pair")
        return _digest(self.parent.name, "acts", self.layer_name(), self.data_version, view, parent)

    @functools.cached_property
    def _parent_task(self) -> ClassificationTask:
        return self.parent()  # one object, so its split arrays are hashed once

    def load(self, seed: int, preset: str, view: DataView, device: torch.device, *,
             progress: bool = True) -> TaskData:
        self.check_view(view)
        parent = self._parent_task
        raw, description = parent.raw_splits()
        network, cache_key = parent.trained_base_network(raw, seed, preset, progress=progress)
        layer = self.layer_name()
        if layer not in network.layer_names:  # layer_names() keeps to layers every preset has; this cannot happen
            raise ValueError(f"task {self.name!r}: the {preset} base network has no layer {layer!r}")
        index = network.layer_names.index(layer)
        states = {name: hidden_states(network, raw[name][0], index) for name in SPLITS}
        scale = activation_scale(states["train"], f"task {self.name!r}, layer {layer}")
        splits = {}
        for name in SPLITS:
            scaled = torch.from_numpy((states[name] * scale).astype(np.float32)).to(device)
            splits[name] = {"source": scaled, "target": scaled, "label": torch.from_numpy(raw[name][1]).to(device)}
        with torch.no_grad():
            base_logits = network(torch.from_numpy(raw["test"][0]))
        return TaskData(
            task=self.name,
            view=view,
            spec=DataSpec(state_shape=(states["train"].shape[1],), n_classes=self.n_classes),
            splits=splits,
            split_description=(f"{description}; hidden states of the {parent.name} base network at {layer}, scaled "
                               f"by {scale:.6g} (mean squared norm {states['train'].shape[1]} on train)"),
            head=downstream_head(network, index, scale),
            base_test_logits=base_logits.to(device),
            notes={"base_network_cache_key": cache_key, "layer": layer, "activation_scale": repr(scale)},
        )


@functools.lru_cache(maxsize=None)
def _bound_task(task: type[ActivationTask], layer: str) -> type[ActivationTask]:
    """One class per (task, layer), so `get_task` gives the same class each time."""
    valid = task.layer_names()
    if layer not in valid:
        raise ValueError(f"task {task.name!r} has no layer {layer!r}; valid layers: {', '.join(valid)} "
                         f"(write {task.name}{LAYER_SEPARATOR}LAYER; default {task.default_layer()})")
    attributes = {"name": f"{task.name}{LAYER_SEPARATOR}{layer}", "layer": layer, "__module__": task.__module__}
    return type(task.__name__, (task,), attributes)


@torch.no_grad()
def hidden_states(network: ResidualMLP, features: np.ndarray, layer_index: int) -> np.ndarray:
    """The network's float64 states at representation `layer_index` for float32 `features` (n, d)."""
    return network.representations(torch.from_numpy(features))[layer_index].double().numpy()


def activation_scale(train_states: np.ndarray, what: str) -> float:
    """The scalar s with mean_i ||s x_i||^2 = d over the training states (n, d): s = sqrt(d / mean_i ||x_i||^2).
    States that are all zero (a dead layer) have no such s: ValueError naming `what`."""
    mean_squared_norm = float(np.mean(np.sum(train_states**2, axis=1)))
    if not mean_squared_norm > 0:
        raise ValueError(f"{what}: every training state is zero, so it cannot be normalised; pick another layer")
    return math.sqrt(train_states.shape[1] / mean_squared_norm)


def downstream_head(network: ResidualMLP, layer_index: int, scale: float) -> Callable[[Tensor], Tensor]:
    """Scaled state at `layer_index` -> logits: divide by `scale`, then the rest of the base network (float64, eval
    mode, no gradients), so the true test states give the base network's own predictions."""
    rest = copy.deepcopy(network).double().eval()

    @torch.no_grad()
    def logits(states: Tensor) -> Tensor:
        unscaled = states.detach().double().cpu() / scale
        return rest.forward_from(layer_index, unscaled).to(states.device)

    return logits
