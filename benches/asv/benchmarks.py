"""asv benchmarks: time and peak memory of the hot paths, and quality tracked so that lower is better.

Every benchmark runs on CPU with one torch thread (the suite's default), so timings compare across commits on
one machine; the device is part of each benchmark's name. Quality is tracked as an error (1 - accuracy, ...)
because asv treats a rise as a regression.
"""

from __future__ import annotations

import tempfile

import numpy as np
import torch

from kae_zoo.families import get_family
from kae_zoo.families.base import DataSpec
from kae_zoo.metrics.topology import class_betti_numbers
from kae_zoo.results import CellResult, read_results, write_results
from kae_zoo.runner import run_cell
from kae_zoo.tasks.yinyang_data import make_yinyang

torch.set_num_threads(1)


def _koopman(task: str = "yinyang") -> tuple[torch.nn.Module, torch.Tensor]:
    """The default-preset Koopman AE for `task`'s state size and a batch of 1024 random states."""
    state_dim = {"yinyang": 10, "mnist": 784}[task]
    family = get_family("koopman")
    torch.manual_seed(0)
    model = family(family.make_config("default", task), DataSpec(state_shape=(state_dim,), n_classes=3))
    return model, torch.randn(1024, state_dim, generator=torch.Generator().manual_seed(0))


class KoopmanCPU:
    """Forward pass and one training step of the Koopman AE at batch 1024 (default preset)."""

    params = ["yinyang", "mnist"]
    param_names = ["task"]

    def setup(self, task: str) -> None:
        self.model, self.states = _koopman(task)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-3)
        self.batch = {"source": self.states, "target": self.states.roll(1, dims=1)}

    def time_forward(self, task: str) -> None:
        with torch.no_grad():
            self.model(self.states)

    def time_training_step(self, task: str) -> None:
        loss = self.model.loss(self.batch)["total"]
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def peakmem_training_step(self, task: str) -> None:
        self.time_training_step(task)


class BettiCPU:
    """Betti numbers of Yin-Yang point clouds (3 classes) of 1k and 2k points."""

    params = [1000, 2000]
    param_names = ["n_points"]

    def setup(self, n_points: int) -> None:
        self.points, self.labels = make_yinyang(n_points, seed=0)

    def time_class_betti_numbers(self, n_points: int) -> None:
        class_betti_numbers(self.points, self.labels)

    def time_one_cloud(self, n_points: int) -> None:
        class_betti_numbers(self.points, np.zeros(n_points, dtype=np.int64), max_points=n_points)


class ResultsIO:
    """Write and read a result file of 3 families x 3 tasks x 5 seeds with curves."""

    def setup(self) -> None:
        curve = (("step", "homology_dim"), {"step": list(range(11)), "homology_dim": [0, 1]}, np.ones((11, 2)))
        self.cells = [CellResult(family, task, seed, scalars={"accuracy": 0.9, "state_error": 0.1},
                                 curves={"betti": curve})
                      for family in ("a", "b", "c") for task in ("yinyang", "digits", "mnist") for seed in range(5)]

    def time_write_read(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            write_results(f"{folder}/r.nc", self.cells, {}, device="cpu")
            read_results(f"{folder}/r.nc").load()


def track_koopman_yinyang_smoke_error() -> float:
    """1 - accuracy of the smoke-preset Koopman AE on Yin-Yang (test split); lower is better."""
    result = run_cell("koopman", "yinyang", 0, "smoke", "cpu", progress=False)
    return 1.0 - result.scalars["accuracy"] if result.status == "ok" else float("nan")


track_koopman_yinyang_smoke_error.unit = "1 - accuracy"
track_koopman_yinyang_smoke_error.timeout = 600
