"""Scorer `dictionary_recovery`: how well a model's learned dictionary recovers the true one, at the end of training
and along it.

A model with the `dictionary` capability exposes its atoms through `dictionary() -> Tensor` (atom_length, n_atoms),
atoms as columns. On a task with a known generative model this scorer watches training (`RecoveryTracker`, passed
to the fit as its `on_step` callback: dictionary recovery every few optimiser steps, with the model's weights at
that step) and scores the `recovery` curve, `steps_to_recovery` / `recovery_reached`, and the final recovery and
worst atom's sine distance (both for the weights training selected).

A learned dictionary with fewer atoms than the true one (PCA with fewer components) cannot be matched atom for
atom: its recovery scores are NaN with the reason, and the tracker records nothing along training.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.batching import to_numpy
from ..core.capabilities import DICTIONARY, GROUND_TRUTH
from ..core.surrogate import Surrogate
from ..core.types import Curve
from ..metrics.sparse import dictionary_recovery, max_sine_distance, steps_to_recovery
from ..tasks.base import TaskData
from ..tasks.sparse_truth import SparseGroundTruth
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


@torch.no_grad()
def learned_dictionary(model: Surrogate) -> np.ndarray:
    """The model's dictionary as a float64 array, (atom_length, n_atoms)."""
    return to_numpy(model.dictionary())


def too_few_atoms_reason(truth: SparseGroundTruth, learned: np.ndarray) -> str:
    """Why recovery is undefined for `learned` (fewer atoms than the true dictionary), or "" when it is not."""
    n_true, n_learned = truth.n_atoms, learned.shape[1]
    if n_learned >= n_true:
        return ""
    return f"the learned dictionary has {n_learned} atoms, fewer than the {n_true} true atoms"


class RecoveryTracker:
    """Trainer `on_step` callback: dictionary recovery of the model against the true dictionary at each call (none
    recorded for a dictionary with fewer atoms than the true one)."""

    def __init__(self, truth: SparseGroundTruth) -> None:
        self.truth = truth
        self.steps: list[int] = []
        self.recovery: list[float] = []

    def __call__(self, step: int, model: Surrogate) -> None:
        learned = learned_dictionary(model)
        if too_few_atoms_reason(self.truth, learned):
            return
        self.steps.append(step)
        self.recovery.append(dictionary_recovery(self.truth.dictionary, learned, self.truth.shift_invariant))


def recovery_tracker(model: Surrogate, data: TaskData) -> RecoveryTracker:
    """The training watcher of this scorer: a tracker against the task's true dictionary."""
    return RecoveryTracker(data.ground_truth)


def dictionary_scores(context: ScoringContext) -> ScorerOutput:
    """dictionary_recovery and max_sine_distance of the trained dictionary; the recovery curve, steps_to_recovery
    (censored at the number of training steps) and recovery_reached when the tracker watched training; all NaN with
    the reason (no curve) for a dictionary with fewer atoms than the true one."""
    truth = context.data.ground_truth
    learned = learned_dictionary(context.model)
    reason = too_few_atoms_reason(truth, learned)
    if reason:
        names = ("dictionary_recovery", "max_sine_distance", "steps_to_recovery", "recovery_reached")
        return dict.fromkeys(names, float("nan")), {}, dict.fromkeys(names, reason)
    scalars = {"dictionary_recovery": dictionary_recovery(truth.dictionary, learned, truth.shift_invariant),
               "max_sine_distance": max_sine_distance(truth.dictionary, learned, truth.shift_invariant)}
    curves: dict[str, Curve] = {}
    tracker = context.watchers.get("dictionary_recovery")
    if isinstance(tracker, RecoveryTracker) and tracker.steps:
        steps, reached = steps_to_recovery(tracker.steps, tracker.recovery, cap=context.report.n_steps)
        scalars["steps_to_recovery"], scalars["recovery_reached"] = steps, float(reached)
        curves["recovery"] = (("train_step",), {"train_step": list(tracker.steps)}, np.asarray(tracker.recovery))
    return scalars, curves


DICTIONARY_RECOVERY = register_scorer(Scorer(
    "dictionary_recovery", dictionary_scores,
    specs("dictionary_recovery", "max_sine_distance", "steps_to_recovery", "recovery_reached", "recovery"),
    task_needs={GROUND_TRUTH}, model_needs={DICTIONARY}, watch_training=recovery_tracker,
    description="recovery of the true dictionary, at the end of training and along it"))
