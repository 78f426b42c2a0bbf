"""Task `sparse_vec`: vectors x = D z from a known random dictionary D and s-sparse codes z (model recovery).

The synthetic setting of REFERENCE section 2: D = randn(m, p) / sqrt(m) with unit-norm columns (m = 50,
p = 100), s = 5 active atoms per code with amplitudes U[1, 2] and random signs. The dictionary and every
split are drawn from the cell seed, so each seed is a different recovery problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.types import DataSpec, DataView
from . import register_task
from .base import Task, TaskData
from .sparse_data import describe_splits, random_dictionary, split_sizes, stream_rng, vector_events, vector_signals
from .sparse_truth import SparseGroundTruth


@dataclass(frozen=True)
class SparseVecConfig:
    """Shape of the generative model."""

    n_features: int = 50  # m: length of each vector
    n_atoms: int = 100  # p: dictionary size
    n_active: int = 5  # s: non-zeros per code

    def __post_init__(self) -> None:
        for name in ("n_features", "n_atoms", "n_active"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if self.n_active > self.n_atoms:
            raise ValueError(f"n_active must be <= n_atoms = {self.n_atoms}, got {self.n_active}")


@register_task("sparse_vec")
class SparseVecTask(Task):
    description = "x = D z, random unit-norm D (50 x 100), 5-sparse codes, amplitudes U[1,2] +-; dictionary recovery"
    views = ("autoencode",)

    def __init__(self, config: SparseVecConfig = SparseVecConfig()) -> None:
        self.config = config

    def data_spec(self, preset: str, view: DataView) -> DataSpec:
        self.check_view(view)
        return DataSpec(state_shape=(self.config.n_features,), n_classes=0)

    def load(self, seed: int, preset: str, view: DataView, device: torch.device, *,
             progress: bool = True) -> TaskData:
        self.check_view(view)
        config, sizes = self.config, split_sizes(preset)
        dictionary = random_dictionary(config.n_features, config.n_atoms, stream_rng(seed, "dictionary"))
        events = {name: vector_events(n, config.n_atoms, config.n_active, stream_rng(seed, name))
                  for name, n in sizes.items()}
        splits = {}
        for name, (atoms, amplitudes) in events.items():
            signals = torch.from_numpy(vector_signals(dictionary, atoms, amplitudes).astype(np.float32)).to(device)
            splits[name] = {"source": signals, "target": signals}
        truth = SparseGroundTruth(
            dictionary=dictionary,
            test_atoms=events["test"][0],
            test_amplitudes=events["test"][1],
            test_shifts=None,
            shift_invariant=False,
            atom_names=tuple(f"atom_{index}" for index in range(config.n_atoms)),
            atom_smooth=None,
        )
        return TaskData(
            task=self.name,
            view=view,
            spec=DataSpec(state_shape=(config.n_features,), n_classes=0),
            splits=splits,
            split_description=describe_splits(sizes),
            ground_truth=truth,
            notes={"generative_model": f"m={config.n_features} p={config.n_atoms} s={config.n_active}, "
                                       "dictionary from stream (seed, 0)"},
        )
