"""Task `sparse_fn`: periodic 1-D signals that are sparse sums of shifted concepts from known kernels.

x(u) = sum_k amplitude_k * kernel_{atom_k}(u - shift_k) on [0, 1), with `n_active` events per signal (kernel
uniform with replacement, shift U[0, 1), amplitude U[1, 2] with random sign). The kernels are defined
continuously (`sparse_data.KERNELS`: three Gaussians, two boxes, a spike), so the same signals can be sampled
on any grid of at least 32 points: training uses `n_grid` points, and the resolution scores re-sample the test
split through `data.ground_truth.sample(split, n_points)`.

Sampling is by point values at u_i = i / n: a grid of 2n points contains the grid of n points, so
sample(2n)[..., ::2] equals sample(n) exactly for every kernel. Boxes are exact indicators (no cell
averaging), which keeps that identity; the spike is a triangle wide enough never to vanish between points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..core.types import DataSpec, DataView
from . import register_task
from .base import Task, TaskData
from .sparse_data import (
    MIN_GRID,
    describe_splits,
    function_events,
    function_signals,
    kernel_dictionary,
    select_kernels,
    split_sizes,
    stream_rng,
)
from .sparse_truth import SparseGroundTruth


@dataclass(frozen=True)
class SparseFnConfig:
    """Which concepts, how many per signal, and the grids."""

    kernels: Literal["all", "smooth", "nonsmooth"] = "all"  # smooth: Gaussians; nonsmooth: boxes and the spike
    n_grid: int = 128  # training grid: points u_i = i / n_grid
    n_active: int = 3  # events per signal
    resolutions: tuple[int, ...] = (32, 64, 128, 256, 512)  # grids the resolution scores use

    def __post_init__(self) -> None:
        select_kernels(self.kernels)
        if not isinstance(self.n_active, int) or self.n_active < 1:
            raise ValueError(f"n_active must be a positive int, got {self.n_active!r}")
        for n_points in (self.n_grid, *self.resolutions):
            if not isinstance(n_points, int) or n_points < MIN_GRID:
                raise ValueError(f"grid sizes (n_grid, resolutions) must be ints >= {MIN_GRID}, got {n_points!r}")


@register_task("sparse_fn")
class SparseFnTask(Task):
    description = ("periodic 1-D signals, 3 shifted concepts each (Gaussians, boxes, spike), amplitudes U[1,2] +-; "
                   "128-point grid, re-sampled at 32-512")
    views = ("autoencode",)

    def __init__(self, config: SparseFnConfig = SparseFnConfig()) -> None:
        self.config = config

    def data_spec(self, preset: str, view: DataView) -> DataSpec:
        self.check_view(view)
        return DataSpec(state_shape=(1, self.config.n_grid), n_classes=0)

    def load(self, seed: int, preset: str, view: DataView, device: torch.device, *,
             progress: bool = True) -> TaskData:
        self.check_view(view)
        config, sizes = self.config, split_sizes(preset)
        kernels = select_kernels(config.kernels)
        events = {name: function_events(n, len(kernels), config.n_active, stream_rng(seed, name))
                  for name, n in sizes.items()}

        def sample(split: str, n_points: int) -> torch.Tensor:
            if split not in events:
                raise ValueError(f"unknown split {split!r}; valid splits: {', '.join(events)}")
            signals = function_signals(kernels, *events[split], n_points)
            return torch.from_numpy(signals.astype(np.float32)[:, None, :]).to(device)  # (n, 1 channel, n_points)

        splits = {}
        for name in sizes:
            signals = sample(name, config.n_grid)
            splits[name] = {"source": signals, "target": signals}
        atoms, shifts, amplitudes = events["test"]
        truth = SparseGroundTruth(
            dictionary=kernel_dictionary(kernels, config.n_grid),
            test_atoms=atoms,
            test_amplitudes=amplitudes,
            test_shifts=shifts,
            shift_invariant=True,
            atom_names=tuple(kernel.name for kernel in kernels),
            atom_smooth=tuple(kernel.smooth for kernel in kernels),
            resolutions=config.resolutions,
            sampler=sample,
        )
        return TaskData(
            task=self.name,
            view=view,
            spec=DataSpec(state_shape=(1, config.n_grid), n_classes=0),
            splits=splits,
            split_description=describe_splits(sizes),
            ground_truth=truth,
            notes={"generative_model": f"kernels={config.kernels} ({', '.join(truth.atom_names)}), "
                                       f"s={config.n_active}, grid={config.n_grid}"},
        )


@register_task("sparse_fn_smooth")
class SmoothSparseFnTask(SparseFnTask):
    """`sparse_fn` with the smooth concepts only, a task of its own so result files name the subset."""

    description = "sparse_fn with the smooth concepts only (three Gaussian bumps)"

    def __init__(self, config: SparseFnConfig = SparseFnConfig(kernels="smooth")) -> None:
        super().__init__(config)


@register_task("sparse_fn_nonsmooth")
class NonsmoothSparseFnTask(SparseFnTask):
    """`sparse_fn` with the non-smooth concepts only (boxes and the spike)."""

    description = "sparse_fn with the non-smooth concepts only (two boxes and a triangle spike)"

    def __init__(self, config: SparseFnConfig = SparseFnConfig(kernels="nonsmooth")) -> None:
        super().__init__(config)
