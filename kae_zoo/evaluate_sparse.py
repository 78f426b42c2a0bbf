"""Scores of a surrogate on a sparse task with a known generative model: dictionary recovery and code sparsity.

A model exposes its learned dictionary through `dictionary() -> Tensor` (atom_length, n_atoms), atoms as
columns. For such a model the runner passes a `RecoveryTracker` to the trainer as its `on_step` callback, which
records the `recovery` curve (dictionary recovery every few optimiser steps, the model's weights at that step);
`sparse_scores` turns it into `steps_to_recovery` / `recovery_reached` and adds the final recovery, the worst
atom's sine distance (both for the weights training selected) and the mean L0 of the test codes.
"""

from __future__ import annotations

import numpy as np
import torch

from .batched import in_chunks, to_numpy
from .families.base import Surrogate
from .metrics.sparse import dictionary_recovery, max_sine_distance, sparsity, steps_to_recovery
from .results import Curve
from .tasks.base import TaskData
from .tasks.sparse_truth import SparseGroundTruth
from .training import TrainReport


def has_dictionary(model: Surrogate) -> bool:
    """Whether `model` exposes a learned dictionary to score against the true one."""
    return callable(getattr(model, "dictionary", None))


@torch.no_grad()
def learned_dictionary(model: Surrogate) -> np.ndarray:
    """The model's dictionary as a float64 array, (atom_length, n_atoms)."""
    return to_numpy(model.dictionary())


class RecoveryTracker:
    """Trainer `on_step` callback: dictionary recovery of the model against the true dictionary at each call."""

    def __init__(self, truth: SparseGroundTruth) -> None:
        self.truth = truth
        self.steps: list[int] = []
        self.recovery: list[float] = []

    def __call__(self, step: int, model: Surrogate) -> None:
        learned = learned_dictionary(model)
        self.steps.append(step)
        self.recovery.append(dictionary_recovery(self.truth.dictionary, learned, self.truth.shift_invariant))


def recovery_tracker(model: Surrogate, data: TaskData) -> RecoveryTracker | None:
    """A tracker when the task knows its dictionary and the model has one to compare; else None."""
    if data.ground_truth is None or not has_dictionary(model):
        return None
    return RecoveryTracker(data.ground_truth)


def encode_all(model: Surrogate, source: torch.Tensor) -> np.ndarray:
    """encode() of `source` in chunks, in eval mode: (n_samples, latent_dim)."""
    model.eval()
    return to_numpy(in_chunks(model.encode, source))


def sparse_scores(
    model: Surrogate, data: TaskData, report: TrainReport, tracker: RecoveryTracker | None = None
) -> tuple[dict[str, float], dict[str, Curve]]:
    """Scalars and curves of a sparse task; nothing when the task has no ground truth.

    sparsity for every model; dictionary_recovery and max_sine_distance for models with `dictionary()`;
    the recovery curve, steps_to_recovery (censored at the number of training steps) and recovery_reached
    when a tracker watched training.
    """
    truth = data.ground_truth
    if truth is None:
        return {}, {}
    scalars = {"sparsity": sparsity(encode_all(model, data.splits["test"]["source"]))}
    curves: dict[str, Curve] = {}
    if has_dictionary(model):
        learned = learned_dictionary(model)
        scalars["dictionary_recovery"] = dictionary_recovery(truth.dictionary, learned, truth.shift_invariant)
        scalars["max_sine_distance"] = max_sine_distance(truth.dictionary, learned, truth.shift_invariant)
    if tracker is not None and tracker.steps:
        steps, reached = steps_to_recovery(tracker.steps, tracker.recovery, cap=report.n_steps)
        scalars["steps_to_recovery"], scalars["recovery_reached"] = steps, float(reached)
        curves["recovery"] = (("train_step",), {"train_step": list(tracker.steps)}, np.asarray(tracker.recovery))
    return scalars, curves
