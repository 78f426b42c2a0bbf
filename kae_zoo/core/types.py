"""The data types every layer shares: mini-batches, what a family knows of a task's data, and curves of scores.

They sit at the bottom of the package so that tasks (which make batches), families (which consume them), scorers
(which return curves) and the result store (which writes them) agree on them without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
from torch import Tensor

Batch = dict[str, Tensor]
"""A mini-batch: "source" (start states), "target" (states to predict; equal to source for autoencoders),
optionally "label" (class indices)."""

DataView = Literal["layer_pair", "autoencode"]
"""Which view of a task a family trains on: a base network's layer-to-layer map, or autoencoding the inputs."""

Curve = tuple[tuple[str, ...], dict[str, list], np.ndarray]
"""A score over extra dims: (dim names, coordinates per dim, values), e.g. (("step",), {"step": [0, 1]}, values)."""


@dataclass(frozen=True)
class DataSpec:
    """What a family needs to know about a task's data to build itself."""

    state_shape: tuple[int, ...]  # shape of one source/target state, e.g. (10,) or (1, 128) for a 1-D grid
    n_classes: int = 0  # 0 when the task has no labels

    @property
    def state_dim(self) -> int:
        """Number of scalars in one state."""
        size = 1
        for extent in self.state_shape:
            size *= extent
        return size


@dataclass
class Scores:
    """Scalar scores and curves of one cell, by metric name, and why a score is NaN where it is degenerate on the
    task (meaningless by its definition, e.g. a probe whose k reaches the data's dimension), by metric name."""

    scalars: dict[str, float]
    curves: dict[str, Curve]
    degenerate: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall-clock time of each scorer, by scorer name


def missing_view(family_view: DataView, task_views: Sequence[DataView]) -> DataView | None:
    """The data view a family trains on when the task does not offer it, else None (the family can run on the
    task): the one rule of the runner's pair check and of `kae-zoo list`'s family x task grid."""
    return None if family_view in task_views else family_view
