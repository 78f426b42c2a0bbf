"""Shared set-up of both benchmark suites: every registered family built the way a run builds it, on a real batch.

The asv suite imports this module as `._harness`; the pytest-benchmark suite imports it as `_harness`
(benches/conftest.py puts this folder on sys.path). It defines no benchmark: asv collects only names that start
with time_, peakmem_, track_ (and the like), and nothing here does.

How a family is benchmarked (`load_case`):
- task: the family's first task in benches/matrix/smoke.toml, loaded with seed 0 through the task's own `load`
  (the view the family trains on), so states have the shape and scale a run sees (sae_cnn / sae_fno get
  functions on the 128-point grid of sparse_fn_smooth, koopman Yin-Yang layer pairs, ...). A family the smoke
  matrix does not run (a plugin added later) falls back to seeded Gaussian states of its `example_spec`
  (`kae_zoo.core.batching.random_states`, as the conformance check draws them), so it still gets every benchmark
  without editing this file.
- preset: "smoke" (what the smoke matrix runs), except families listed in `PRESET_OVERRIDES`, whose smoke model
  is too small for a timing to measure anything but call overhead.
- batch: the first mini-batch the shared trainer draws in a seed-0 run (`iterate_minibatches` with the trainer's
  generator), of the config's `batch_size`; the forward pass runs on the same batch.
- training step (`TrainingStep`): `training.training_step`, the step `training.train` takes (loss, finiteness
  check, zero_grad, backward, optional clipping, AdamW step, scheduler step). A family that fits itself with
  another algorithm (`Surrogate.fits_itself`: `sklearn_dict`) has no gradient step; its
  "training step" is its own `fit` for one epoch of that one mini-batch (for sklearn_dict: building the
  MiniBatchDictionaryLearning estimator, one `partial_fit`, copying the atoms back, and the validation loss on
  `VAL_SAMPLES` samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch

from kae_zoo import training
from kae_zoo.core.batching import batch_size_of, iterate_minibatches, random_states
from kae_zoo.core.determinism import seed_everything
from kae_zoo.core.surrogate import FitSettings, Surrogate
from kae_zoo.core.types import Batch, DataSpec
from kae_zoo.experiments.matrix import load_matrix
from kae_zoo.families import create_surrogate, get_family
from kae_zoo.tasks import get_task

REPO = Path(__file__).resolve().parents[2]
SMOKE_MATRIX = REPO / "benches" / "matrix" / "smoke.toml"
SEED = 0
VAL_SAMPLES = 8  # validation samples an own-fit family's one-epoch fit scores (kept small: not the step itself)

# family -> preset, where "smoke" is too small to time: attractor's smoke model is a 64-16-4 MLP (a few
# microseconds of arithmetic per batch); "default" is REFERENCE's 64-256-16 autoencoder that real runs train.
PRESET_OVERRIDES: dict[str, str] = {"attractor": "default"}


def benchmark_preset(family: str) -> str:
    """The preset `family` is benchmarked at (module docstring)."""
    return PRESET_OVERRIDES.get(family, "smoke")


@lru_cache(maxsize=1)
def smoke_pairs() -> tuple[tuple[str, str], ...]:
    """The (family, task) pairs of benches/matrix/smoke.toml, in the file's order."""
    return tuple(load_matrix(SMOKE_MATRIX, device="cpu").family_task_pairs())


def smoke_task(family: str) -> str | None:
    """The first smoke-matrix task of `family`; None when the smoke matrix does not run it."""
    return next((task for name, task in smoke_pairs() if name == family), None)


def smoke_families() -> list[str]:
    """The families of the smoke matrix, each once, in the file's order."""
    return list(dict.fromkeys(family for family, _ in smoke_pairs()))


@dataclass
class FamilyCase:
    """What a benchmark of one family needs; plain data, so asv's setup_cache can pickle it."""

    family: str
    task: str | None  # None: not in the smoke matrix, Gaussian states of the family's example_spec
    preset: str
    spec: DataSpec
    batch: Batch  # one training mini-batch (the trainer's first in a seed-0 run)
    val: Batch  # VAL_SAMPLES validation samples
    n_train: int  # samples in the train split (the scheduler's steps per epoch come from it)

    def config(self, **overrides: Any) -> Any:
        """The family's config at this case's preset and task, with optional field overrides."""
        return get_family(self.family).make_config(self.preset, self.task, overrides or None)

    @property
    def own_fit(self) -> bool:
        """Fitted by the family's own algorithm, not by the shared trainer."""
        return get_family(self.family).fits_itself

    def model(self, **overrides: Any) -> Surrogate:
        """The family's model as `run_cell` builds it (seeded), on the CPU."""
        return create_surrogate(self.family, self.spec, preset=self.preset, task=self.task, seed=SEED, **overrides)

    def describe(self) -> str:
        shape = "x".join(str(extent) for extent in self.batch["source"].shape)
        return f"{self.family} on {self.task or 'example_spec'} ({self.preset}), batch {shape}"


def load_case(family: str, device: str = "cpu") -> FamilyCase:
    """The benchmark case of `family` (module docstring): its smoke task's data, its preset, one mini-batch."""
    family_class = get_family(family)
    task, preset = smoke_task(family), benchmark_preset(family)
    config = family_class.make_config(preset, task)
    if task is None:
        spec = family_class.example_spec
        train = random_states(spec, family_class.data_view, config.batch_size, SEED)
        val = random_states(spec, family_class.data_view, VAL_SAMPLES, SEED + 1)
    else:
        seed_everything(SEED)
        data = get_task(task)().load(SEED, preset, family_class.data_view, torch.device(device), progress=False)
        spec, train, val = data.spec, data.splits["train"], data.splits["val"]
    n_train = batch_size_of(train)
    first = iterate_minibatches(train, config.batch_size, torch.Generator().manual_seed(SEED))[0]
    return FamilyCase(family, task, preset, spec, {key: value.clone() for key, value in first.items()},
                      {key: value[:VAL_SAMPLES].clone() for key, value in val.items()}, n_train)


def load_cases(families: list[str]) -> dict[str, dict[str, Any]]:
    """`load_case` of each family as a plain dict (what asv's setup_cache returns; `FamilyCase(**d)` rebuilds)."""
    return {family: vars(load_case(family)) for family in families}


class Forward:
    """The forward pass decode(advance(encode(x))) of a model in eval mode without autograd, on the case's batch."""

    def __init__(self, case: FamilyCase) -> None:
        self.model = case.model().eval()
        self.source = case.batch["source"]

    @torch.no_grad()
    def __call__(self) -> torch.Tensor:
        return self.model(self.source)


class TrainingStep:
    """One training step of the case's family on its mini-batch (module docstring); call it to take a step."""

    def __init__(self, case: FamilyCase) -> None:
        self.case = case
        if case.own_fit:
            self.model = case.model(n_epochs=1)
            self.step: Callable[[], Any] = self._own_fit
            return
        self.model = case.model()
        config = self.model.config  # validated when make_config built it
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate,
                                           weight_decay=config.weight_decay)
        steps_per_epoch = math.ceil(case.n_train / config.batch_size)
        self.scheduler = training.make_scheduler(self.optimizer, config, steps_per_epoch)
        self.clip = config.gradient_clip_norm
        self.step = self._gradient_step

    def _own_fit(self) -> Any:
        return self.model.fit(self.case.batch, self.case.val, FitSettings(seed=SEED, progress=False))

    def _gradient_step(self) -> dict[str, torch.Tensor]:
        self.model.train()
        return training.training_step(self.model, self.case.batch, self.optimizer, scheduler=self.scheduler,
                                      gradient_clip_norm=self.clip)

    def __call__(self) -> Any:
        return self.step()
