"""The scorer registry: what a scorer needs, what it measures, and `score`, which runs every scorer a cell meets.

A `Scorer` is a function of a `ScoringContext` (the trained model, the task's data, the training report, the
seed) that returns scalars and curves by metric name (and, where a score is degenerate on the task, its reason,
the score itself NaN), plus what it needs: task capabilities (labels, a base
network's head, layer states, a ground-truth dictionary, grids) and model capabilities (a dictionary, a linear
latent operator, a latent map, grid invariance; `kae_zoo.core.capabilities`). `score` runs, in name order, every
scorer whose needs the (model, task) pair meets, and checks that each returns only the metrics it declared, with
their declared curve dims: the metadata the result store writes comes with the number. A scorer that must watch
training (dictionary recovery along the way) declares a `watch_training` factory; the runner passes the watchers
to the fit as its `on_step` callback and the scorer reads its own back from the context.

Built-in scorers are the modules of this package (one file each, registered on import); installed packages add
scorers through the entry-point group `kae_zoo.scorers` (the entry point names a `Scorer`, or a module that
registers its scorers on import).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from ..core import capabilities
from ..core.acceleration import FP32, Acceleration
from ..core.batching import predict
from ..core.registry import Registry
from ..core.surrogate import StepCallback, Surrogate, TrainReport
from ..core.types import Curve, Scores
from ..metrics import METRICS, MetricSpec, get_metric, register_metric
from ..tasks.base import TaskData

ScorerOutput = tuple[dict[str, float], dict[str, Curve]] | tuple[dict[str, float], dict[str, Curve], dict[str, str]]
"""(scalars, curves) by metric name, optionally with a third mapping: metric -> why it is degenerate on this cell
(its value then NaN, or left out)."""


@dataclass(frozen=True)
class EvaluationConfig:
    """How the scores are measured (not a family hyperparameter)."""

    n_betti_steps: int = 10  # the trajectory is decoded at n_betti_steps + 1 evenly spaced latent times
    isometry_max_points: int = 1000  # pairwise distances on at most this many test points (seeded subsample)
    throughput_batch_size: int = 1024
    throughput_min_seconds: float = 0.2
    recovery_every_steps: int = 50  # optimiser steps between calls of the training watchers


@dataclass
class ScoringContext:
    """Everything a scorer may read about one trained cell; scorers must not change the model."""

    model: Surrogate
    data: TaskData
    report: TrainReport
    seed: int
    evaluation: EvaluationConfig = EvaluationConfig()
    acceleration: Acceleration = FP32  # throughput's forward pass runs under it; every other score in float32
    watchers: Mapping[str, StepCallback] = field(default_factory=dict)  # scorer name -> what watched training

    @functools.cached_property
    def test_predictions(self) -> Tensor:
        """The surrogate's predicted target states of the test split (computed once, shared by scorers)."""
        return predict(self.model, self.data.splits["test"]["source"])

    @functools.cached_property
    def predicted_classes(self) -> np.ndarray:
        """The task's head on `test_predictions`: one class per test sample (computed once, shared by the
        classification, downstream and editing scorers). Only for tasks with a head."""
        return head_classes(self.data.head, self.test_predictions)


def head_classes(head: Callable[[Tensor], Tensor], states: Tensor) -> np.ndarray:
    """A task's head (target state -> class logits) on `states`: one class per sample."""
    with torch.no_grad():
        return head(states).argmax(dim=1).cpu().numpy()


@dataclass(frozen=True)
class Scorer:
    """One scorer: `compute(context) -> (scalars, curves)` for the metrics it declares, run on the cells whose task
    and model offer `task_needs` and `model_needs` (capability names)."""

    name: str
    compute: Callable[[ScoringContext], ScorerOutput]
    metrics: tuple[MetricSpec, ...]
    task_needs: frozenset[str] = frozenset()
    model_needs: frozenset[str] = frozenset()
    watch_training: Callable[[Surrogate, TaskData], StepCallback] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "task_needs", frozenset(self.task_needs))
        object.__setattr__(self, "model_needs", frozenset(self.model_needs))
        if not callable(self.compute):
            raise TypeError(f"scorer {self.name!r}: compute must be callable, got {self.compute!r}")
        if not self.metrics or not all(isinstance(spec, MetricSpec) for spec in self.metrics):
            raise TypeError(f"scorer {self.name!r}: metrics must be one or more MetricSpec, got {self.metrics!r}")
        unknown_task = sorted(self.task_needs - set(capabilities.TASK_CAPABILITIES))
        unknown_model = sorted(self.model_needs - set(capabilities.MODEL_CAPABILITIES))
        if unknown_task or unknown_model:
            raise ValueError(f"scorer {self.name!r} needs unknown capabilities {unknown_task + unknown_model}; valid "
                             f"task needs: {', '.join(capabilities.TASK_CAPABILITIES)}; model needs: "
                             f"{', '.join(capabilities.MODEL_CAPABILITIES)}")

    def applies_to(self, model: Surrogate, data: TaskData) -> bool:
        """Whether the cell's task and model offer everything this scorer needs."""
        return self.task_needs <= data.capabilities and self.model_needs <= type(model).capabilities


def register_scorer(scorer: Scorer, *, replace: bool = False) -> Scorer:
    """Register `scorer` and the metadata of its metrics; a metric another scorer already measures is refused."""
    if not isinstance(scorer, Scorer):
        raise TypeError(f"register_scorer takes a Scorer, got {scorer!r}")
    for spec in scorer.metrics:
        for other in SCORERS.registered():
            if other.name != scorer.name and spec.name in {s.name for s in other.metrics}:
                raise ValueError(f"scorer {scorer.name!r}: metric {spec.name!r} is already measured by scorer "
                                 f"{other.name!r}")
        if spec.name not in METRICS or get_metric(spec.name) != spec:
            register_metric(spec)
    return SCORERS.register(scorer.name, scorer, replace=replace)


SCORERS: Registry[Scorer] = Registry("scorer", entry_point_group="kae_zoo.scorers",
                                     adopt=lambda name, scorer: register_scorer(scorer))


def list_scorers() -> list[str]:
    """Names of every registered scorer, built-in and plugin."""
    return SCORERS.names()


def get_scorer(name: str) -> Scorer:
    return SCORERS.get(name)


def specs(*names: str) -> tuple[MetricSpec, ...]:
    """The registered metadata of metrics `names` (built-in scorers declare the metrics of `kae_zoo.metrics`)."""
    return tuple(get_metric(name) for name in names)


def applicable_scorers(model: Surrogate, data: TaskData) -> list[Scorer]:
    """The scorers whose needs the (model, task) pair meets, in name order."""
    return [scorer for scorer in map(get_scorer, list_scorers()) if scorer.applies_to(model, data)]


def training_watchers(model: Surrogate, data: TaskData) -> dict[str, StepCallback]:
    """The training watchers of the applicable scorers that declare one, by scorer name."""
    return {scorer.name: scorer.watch_training(model, data) for scorer in applicable_scorers(model, data)
            if scorer.watch_training is not None}


def combined_watcher(watchers: Mapping[str, StepCallback]) -> StepCallback | None:
    """One `on_step` callback that calls every watcher in turn; None when there is none."""
    if not watchers:
        return None

    def on_step(step: int, model: Surrogate) -> None:
        for watcher in watchers.values():
            watcher(step, model)

    return on_step


class ScorerError(RuntimeError):
    """A scorer failed or returned something it did not declare; the message names the scorer."""


def check_output(scorer: Scorer, scalars: Mapping[str, float], curves: Mapping[str, Curve],
                 degenerate: Mapping[str, str] | None = None) -> None:
    """ScorerError unless every scalar is a declared metric without dims, every curve one with its dims, and every
    degenerate metric a declared one with a reason and no finite value."""
    declared = {spec.name: spec for spec in scorer.metrics}
    for name, reason in (degenerate or {}).items():
        values = scalars.get(name, curves[name][2] if name in curves else np.nan)
        if name not in declared or not reason or np.isfinite(np.asarray(values, dtype=float)).any():
            raise ScorerError(f"scorer {scorer.name!r} calls {name!r} degenerate, which needs a declared metric, a "
                              f"reason and NaN values; got reason {reason!r}, values {values!r}")
    for name in scalars:
        if name not in declared or declared[name].dims:
            raise ScorerError(f"scorer {scorer.name!r} returned scalar {name!r}, which it does not declare as a "
                              f"scalar metric; declared: {', '.join(declared)}")
    for name, (dims, _, _) in curves.items():
        if name not in declared or tuple(declared[name].dims) != tuple(dims):
            raise ScorerError(f"scorer {scorer.name!r} returned curve {name!r} over {tuple(dims)}, which it does not "
                              f"declare with these dims; declared: {', '.join(declared)}")


def score(context: ScoringContext) -> Scores:
    """Run every applicable scorer (module docstring) on the cell of `context`; their scalars and curves by name, and
    the seconds each scorer took.

    A scorer that raises fails the cell (the runner records the reason, which names the scorer)."""
    scalars: dict[str, float] = {}
    curves: dict[str, Curve] = {}
    degenerate: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for scorer in applicable_scorers(context.model, context.data):
        start = time.perf_counter()
        try:
            new_scalars, new_curves, *notes = scorer.compute(context)
        except ScorerError:
            raise
        except Exception as error:
            raise ScorerError(f"scorer {scorer.name!r}: {type(error).__name__}: {error}") from error
        new_degenerate = dict(notes[0]) if notes else {}
        check_output(scorer, new_scalars, new_curves, new_degenerate)
        scalars.update(new_scalars)
        curves.update(new_curves)
        degenerate.update(new_degenerate)
        seconds[scorer.name] = time.perf_counter() - start  # shared work (test_predictions) counts where first used
    return Scores(scalars, curves, degenerate, seconds)
