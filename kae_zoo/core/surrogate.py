"""The one interface every surrogate family implements: encode -> advance in latent space -> decode.

A surrogate maps a *source* state to a *target* state through a latent space:
`forward(x) = decode(advance(encode(x)))`. What "advance" means is the family's latent dynamics: the Koopman
operator K^t, iterates of an attractor map f = E(D(.)), or the identity for a plain sparse autoencoder.
Training is the runner's job (the shared trainer, with the run's `FitSettings`); a family only says what its loss
is (`loss(batch)`) and, through hooks, what it trains on (`training_examples`). The one exception is a peer
baseline from another library with its own fitting algorithm: it overrides `fit`, and gets the same settings.

What a family offers beyond the interface (a dictionary, a linear latent operator, a latent map to iterate, grid
invariance) it declares in `capabilities` (`kae_zoo.core.capabilities`): scorers ask for capabilities, never for a
family class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

import torch
from torch import Tensor, nn

from .acceleration import FP32, Acceleration
from .config import TrainingConfig, resolve_config
from .types import Batch, DataSpec, DataView

StepCallback = Callable[[int, "Surrogate"], None]
"""Called with (optimiser steps taken so far, model) while training; it must not change the model."""


@dataclass(frozen=True)
class FitSettings:
    """How the runner trains a cell, whoever does the fitting (the shared trainer or a family's own `fit`).

    `on_step` is called at step 0, after every `track_every_steps`-th optimiser (mini-batch) step and after the last
    step; `acceleration` is the run's precision and compile setting, which a fit that trains with torch applies.
    The thread count is the runner's to set around the fit, not a field here."""

    seed: int
    acceleration: Acceleration = FP32
    progress: bool = True
    description: str = "fit"
    on_step: StepCallback | None = None
    track_every_steps: int = 100

    def __post_init__(self) -> None:
        if self.track_every_steps < 1:
            raise ValueError(f"track_every_steps must be >= 1, got {self.track_every_steps}")


@dataclass
class TrainReport:
    """What happened during training: at each validation check (epoch `check_epochs[i]`) the mean training loss of
    that epoch's mini-batches (`train_history`, NaN where the family's own fit has no loss to report) and the
    validation loss (`val_history`); `best_epoch` is the epoch whose weights were kept and scored."""

    n_epochs_run: int
    n_steps: int
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    seconds: float
    val_history: list[float] = field(default_factory=list)
    train_history: list[float] = field(default_factory=list)
    check_epochs: list[int] = field(default_factory=list)
    validation_seconds: float = 0.0  # of `seconds`: the validation checks (loss and keeping the best weights)
    watcher_seconds: float = 0.0  # of `seconds`: the training watchers (`FitSettings.on_step`)


class Surrogate(nn.Module, ABC):
    """Base class of every surrogate family.

    Subclasses set `name`, `config_class`, `presets` (and optionally `task_presets`, `data_view` and
    `capabilities`), take `(config, spec)` in their constructor and implement `encode`, `advance`, `decode` and
    `loss`. The runner trains every neural family with the shared trainer on `training_examples(...)`; only a peer
    baseline from another library (e.g. `sklearn_dict`) overrides `fit` to run its own algorithm.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[TrainingConfig]]
    presets: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {}, "default": {}, "paper": {}}
    # task name -> preset name -> overrides, for hyperparameters a paper sets per data set
    task_presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {}
    # which view of a task the family trains on: a base network's layer-to-layer map, or autoencoding inputs
    data_view: ClassVar[DataView] = "layer_pair"
    # a small data spec the conformance tests build this family with
    example_spec: ClassVar[DataSpec] = DataSpec(state_shape=(6,), n_classes=3)
    # True for a peer baseline that `fit`s with its own algorithm and takes no gradient steps (sklearn_dict)
    fits_itself: ClassVar[bool] = False
    # what the family offers scorers beyond the interface (`kae_zoo.core.capabilities`), e.g. {"dictionary"}
    capabilities: ClassVar[frozenset[str]] = frozenset()
    # the paper family this one is a baseline for (a peer from the field, e.g. "koopman" for dmd): `show`, `compare`
    # and the report list it right after that family; None for a paper model or a family of its own
    baseline_for: ClassVar[str | None] = None
    # methods that run eagerly when the model is compiled (`Acceleration.prepare` wraps them in
    # torch.compiler.disable), e.g. one that caches a tensor across calls
    eager_methods: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: TrainingConfig, spec: DataSpec) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.spec = spec

    @classmethod
    def make_config(
        cls, preset: str = "default", task: str | None = None, overrides: Mapping[str, Any] | None = None
    ) -> TrainingConfig:
        """This family's config for a preset (and task), with optional field overrides; a bad value raises
        ValueError naming the family (the config's own `validate()` messages do not)."""
        try:
            return resolve_config(cls.config_class, cls.presets, cls.task_presets, preset, task, overrides)
        except ValueError as error:
            raise ValueError(f"family {getattr(cls, 'name', cls.__name__)!r}: {error}") from None

    @classmethod
    def check_config_for_data(cls, config: TrainingConfig, n_classes: int) -> None:
        """ValueError when `config` cannot run on data with `n_classes` classes (0: unlabelled). Called before a
        run starts, so the mismatch is a usage error rather than a failed cell; the default accepts everything."""

    def divergence_reason(self) -> str | None:
        """Why the model has diverged although its loss is still finite (e.g. an operator whose norm explodes), or
        None. The trainer asks at every validation check and stops with DivergenceError, recorded as a failed cell;
        the default never objects."""
        return None

    @abstractmethod
    def encode(self, x: Tensor) -> Tensor:
        """States (batch, *state_shape) -> latents (batch, latent_dim)."""

    @abstractmethod
    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        """Move latents forward by time `t` under the family's latent dynamics."""

    @abstractmethod
    def decode(self, z: Tensor) -> Tensor:
        """Latents (batch, latent_dim) -> states (batch, *state_shape)."""

    @abstractmethod
    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """Named scalar loss terms of one mini-batch; "total" is what the trainer minimises."""

    def training_examples(self, train_batch: Batch, seed: int) -> Batch:
        """The examples of the train split this model trains on, and that scorers call its training data (the
        runner applies this hook before fitting). The default is the whole split; a family that trains on a
        seeded subset (attractor's `n_train_samples`) overrides it, drawing from `seed` the same way every time."""
        return train_batch

    def fit(self, train_batch: Batch, val_batch: Batch, settings: FitSettings) -> TrainReport | None:
        """Fit with the family's own algorithm, or return None: "use the shared trainer" (every neural family; only
        a peer baseline from another library, e.g. `sklearn_dict`, overrides it).

        An override gets what the shared trainer gets (the config is `self.config`; `settings` as the runner made
        them), calls `settings.on_step` in the same units (step 0, every `track_every_steps` mini-batch steps, the
        last step) and returns the same report, with the losses of every validation check.
        """
        return None

    def forward(self, x: Tensor) -> Tensor:
        """Predicted target state: decode(advance(encode(x)))."""
        return self.decode(self.advance(self.encode(x)))

    def trajectory_times(self, n_steps: int) -> list[float]:
        """Latent times visited by `trajectory`: n_steps + 1 evenly spaced points of [0, 1] by default."""
        return [step / n_steps for step in range(n_steps + 1)]

    def trajectory(self, x: Tensor, n_steps: int) -> Tensor:
        """Decoded states along the latent path from encode(x): shape (n_steps + 1, batch, *state_shape)."""
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        latent = self.encode(x)
        return torch.stack([self.decode(self.advance(latent, t)) for t in self.trajectory_times(n_steps)])
