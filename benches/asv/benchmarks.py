"""asv benchmarks: time and peak memory of the hot paths (the quality tracks are in `quality.py`).

Every benchmark runs on CPU with one torch thread and one BLAS thread (the runner's default), so timings compare
across commits on one machine; the device is part of each benchmark's name. Base networks come from kae-zoo's
cache folder (`kae-zoo cache list`: $KAE_ZOO_CACHE, else the user's cache folder, shared with `kae-zoo run`), so only
the first run trains them.
"""

from __future__ import annotations

import tempfile

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from kae_zoo.core.types import DataSpec
from kae_zoo.families import create_surrogate, list_families
from kae_zoo.metrics.topology import class_betti_numbers
from kae_zoo.store.results import CellResult, read_results, write_results
from kae_zoo.tasks.yinyang_data import make_yinyang

from ._harness import FamilyCase, Forward, TrainingStep, load_cases

torch.set_num_threads(1)
threadpool_limits(limits=1)


class FamilyCPU:
    """Forward pass and one training step of every registered family, on a real mini-batch of its smoke task.

    Parameters are the family registry (`list_families()`), so a family registered later is benchmarked without
    editing this file. Each family is built as `run_cell` builds it, at the "smoke" preset on its first task in
    benches/matrix/smoke.toml, except attractor at "default" (its smoke model is a 64-16-4 MLP, too small to time
    anything but overhead); a family outside the smoke matrix gets Gaussian states of its `example_spec`. The
    batch is the first mini-batch the shared trainer draws in a seed-0 run, of the config's batch size:
    attractor 128 x 64 (digits), koopman 1024 x 10 (Yin-Yang layer pairs), sae / lifted_sae / sklearn_dict
    512 x 50 (sparse_vec), sae_cnn / sae_fno 512 x 1 x 128 (sparse_fn_smooth functions on a 128-point grid).
    Details: benches/asv/_harness.py. Task data is loaded once, in setup_cache, so peak memory is the model's,
    not the data pipeline's.
    """

    params = list_families()
    param_names = ["family"]
    timeout = 180

    def setup_cache(self) -> dict:
        return load_cases(list_families())

    setup_cache.timeout = 900  # first run: trains the Yin-Yang base network (seconds) if it is not cached

    def setup(self, cases: dict, family: str) -> None:
        case = FamilyCase(**cases[family])
        self.forward = Forward(case)
        self.step = TrainingStep(case)

    def time_forward(self, cases: dict, family: str) -> None:
        """decode(advance(encode(x))) in eval mode without autograd (for sae_cnn / sae_fno: FISTA encoder)."""
        self.forward()

    def time_training_step(self, cases: dict, family: str) -> None:
        """One optimiser step as the shared trainer takes it (loss, finiteness check, backward, AdamW, schedule).

        sklearn_dict has no gradient step (scikit-learn's MiniBatchDictionaryLearning fits it): its step is its
        own `fit` for one epoch of the one mini-batch: the estimator built, one partial_fit, the atoms copied
        back, and the validation loss on 8 samples.
        """
        self.step()

    def peakmem_setup(self, cases: dict, family: str) -> None:
        """Peak resident memory of the process once set up (imports, this family's batch, its models built, no
        pass run): the baseline to subtract from peakmem_forward and peakmem_training_step; imports dominate."""

    def peakmem_forward(self, cases: dict, family: str) -> None:
        """Peak resident memory of the process after one forward pass (imports and the model included)."""
        self.forward()

    def peakmem_training_step(self, cases: dict, family: str) -> None:
        """Peak resident memory of the process after one training step (as time_training_step)."""
        self.step()


def _koopman(task: str = "yinyang") -> tuple[torch.nn.Module, torch.Tensor]:
    """The default-preset Koopman AE for `task`'s state size and a batch of 1024 random states."""
    state_dim = {"yinyang": 10, "mnist": 784}[task]
    model = create_surrogate("koopman", DataSpec(state_shape=(state_dim,), n_classes=3), preset="default", task=task,
                             seed=0)
    return model, torch.randn(1024, state_dim, generator=torch.Generator().manual_seed(0))


class KoopmanCPU:
    """Forward pass and one training step of the default-preset Koopman AE at batch 1024, Yin-Yang and MNIST sizes.

    MNIST-sized (784 states, 800 observables, hidden 1000) is the largest model any preset trains; random states
    are enough here, the Koopman AE takes any vector. FamilyCPU covers the smoke-preset Koopman on real data.
    """

    params = ["yinyang", "mnist"]
    param_names = ["task"]

    def setup(self, task: str) -> None:
        self.model, self.states = _koopman(task)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-3)
        self.batch = {"source": self.states, "target": self.states.roll(1, dims=1)}

    def time_forward(self, task: str) -> None:
        """Inference: K is built in the first call and reused while G is unchanged (KoopmanAE.operator)."""
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
        """All points as one class: the 2,000-point cloud is the <= 1 s target."""
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
