"""Score a trained surrogate on a task's held-out test split: the common scores of every family.

Scores that need something a task does not have (a base network's head, class labels) are left out, and the
results store writes them as NaN. Tasks with a known sparse generative model add the scores of `evaluate_sparse`
(and function-space families those of `evaluate_resolution`). The latent-attractor family adds the scores of
`evaluate_attractor`: its attractors and their memorization (on its training examples), a data-free probe, and OOD
detection with the test split as in-distribution. The Koopman AE adds those of `evaluate_koopman`: test accuracy on
an unlearned class and on the others, before and after editing its operator (`kae_zoo.editing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .acceleration import FP32, Acceleration
from .batched import predict, to_numpy
from .evaluate_attractor import attractor_scores
from .evaluate_koopman import koopman_scores
from .evaluate_resolution import resolution_scores
from .evaluate_sparse import RecoveryTracker, sparse_scores
from .families.base import Surrogate
from .metrics.classification import accuracy, agreement, macro_accuracy
from .metrics.geometry import isometry_error, state_error
from .metrics.throughput import device_peak_flops, forward_flops, model_flop_utilisation, throughput, time_forward
from .metrics.topology import betti_curve_error, betti_simplification, class_betti_numbers
from .metrics.training import is_loss_spike, loss_spike_ratio
from .results import Curve
from .tasks.base import TaskData
from .training import TrainReport


@dataclass(frozen=True)
class EvaluationConfig:
    """How the common scores are measured (not a family hyperparameter)."""

    n_betti_steps: int = 10  # the trajectory is decoded at n_betti_steps + 1 evenly spaced latent times
    isometry_max_points: int = 1000  # pairwise distances on at most this many test points (seeded subsample)
    throughput_batch_size: int = 1024
    throughput_min_seconds: float = 0.2
    recovery_every_steps: int = 50  # optimiser steps between points of the dictionary-recovery curve


@dataclass
class Scores:
    """Scalar scores and curves (name -> (dim names, coordinates, values)) of one cell."""

    scalars: dict[str, float]
    curves: dict[str, Curve]


def speed_scores(model: Surrogate, batch: torch.Tensor, min_seconds: float, acceleration: Acceleration = FP32,
                 ) -> dict[str, float]:
    """throughput, forward_flops and mfu of `model`'s forward pass on `batch`, under `acceleration`'s autocast.

    FLOPs are counted on the uncompiled forward (the counter does not see inside compiled graphs; compiling does
    not change the arithmetic). mfu is NaN where the device's peak is not known (every CPU) or nothing is
    countable."""

    def autocast(function: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
        def run(states: torch.Tensor) -> torch.Tensor:
            with acceleration.autocast(states.device):
                return function(states)
        return run

    samples_per_second = throughput(*time_forward(autocast(model), batch, min_seconds))
    flops = forward_flops(autocast(model.forward), batch)  # model.forward: the uncompiled pass
    peak = device_peak_flops(batch.device, acceleration.precision)
    countable = np.isfinite(peak) and np.isfinite(flops)
    utilisation = model_flop_utilisation(flops, samples_per_second, peak) if countable else float("nan")
    return {"throughput": samples_per_second, "forward_flops": flops, "mfu": utilisation}


def training_record(report: TrainReport) -> tuple[dict[str, float], dict[str, Curve]]:
    """The loss curves over the validation checks, the scored epoch, the epochs run and the spike flag
    (`kae_zoo.metrics.training`) of a training report."""
    scalars = {"scored_epoch": float(report.best_epoch), "epochs_run": float(report.n_epochs_run)}
    curves: dict[str, Curve] = {}
    if report.check_epochs:
        coords = {"epoch": list(report.check_epochs)}
        curves["train_loss"] = (("epoch",), coords, np.asarray(report.train_history, dtype=np.float64))
        curves["val_loss"] = (("epoch",), coords, np.asarray(report.val_history, dtype=np.float64))
        if report.best_epoch in report.check_epochs:
            ratio = loss_spike_ratio(report.val_history, report.check_epochs.index(report.best_epoch))
            scalars["loss_spike_ratio"] = ratio
            scalars["loss_spike"] = float(is_loss_spike(ratio))
    return scalars, curves


def score(
    model: Surrogate, data: TaskData, report: TrainReport, seed: int, config: EvaluationConfig = EvaluationConfig(),
    recovery: RecoveryTracker | None = None, acceleration: Acceleration = FP32,
) -> Scores:
    """Every common score of `model` on `data`'s test split (`recovery`: what tracked training, if anything).

    The forward pass behind throughput and mfu runs with `acceleration`'s autocast; every other score in float32.
    """
    test = data.splits["test"]
    source, target = test["source"], test["target"]
    labels = test["label"].cpu().numpy() if "label" in test else None
    predicted = predict(model, source)
    scalars: dict[str, float] = {
        "state_error": state_error(to_numpy(predicted), to_numpy(target)),
        "train_seconds": report.seconds,
    }
    training_scalars, curves = training_record(report)
    scalars.update(training_scalars)
    if data.head is not None and labels is not None:
        surrogate_classes = data.head(predicted).argmax(dim=1).cpu().numpy()
        scalars["accuracy"] = accuracy(surrogate_classes, labels)
        scalars["macro_accuracy"] = macro_accuracy(surrogate_classes, labels)
        if data.base_test_logits is not None:
            base_classes = data.base_test_logits.argmax(dim=1).cpu().numpy()
            scalars["base_accuracy"] = accuracy(base_classes, labels)
            scalars["agreement"] = agreement(surrogate_classes, base_classes)

    generator = np.random.default_rng(seed)
    subset = np.sort(generator.permutation(len(source))[: config.isometry_max_points])
    with torch.no_grad():
        latents = model.encode(source[subset])
    scalars["isometry_error"] = isometry_error(to_numpy(source[subset]), to_numpy(latents))

    repeats = -(-config.throughput_batch_size // len(source))
    timing_batch = source.repeat(repeats, *[1] * (source.dim() - 1))[: config.throughput_batch_size]
    scalars.update(speed_scores(model, timing_batch, config.throughput_min_seconds, acceleration))

    if labels is not None:
        times = model.trajectory_times(config.n_betti_steps)
        with torch.no_grad():
            path = model.trajectory(source, config.n_betti_steps)
        betti = np.stack([class_betti_numbers(to_numpy(state).reshape(len(labels), -1), labels) for state in path])
        curves["betti"] = (("step", "homology_dim"), {"step": list(range(len(times))), "homology_dim": [0, 1]},
                           betti.astype(np.float64))
        curves["betti_time"] = (("step",), {"step": list(range(len(times)))}, np.asarray(times, dtype=np.float64))
        if betti.sum(axis=1)[0] > 0:
            scalars["betti_simplification"] = betti_simplification(betti.sum(axis=1))
        if data.test_layer_states:
            base_betti = np.stack([class_betti_numbers(states, labels) for states in data.test_layer_states])
            curves["base_betti"] = (("layer", "homology_dim"), {"layer": data.layer_names, "homology_dim": [0, 1]},
                                    base_betti.astype(np.float64))
            scalars["base_betti_simplification"] = betti_simplification(base_betti.sum(axis=1))
            scalars["betti_curve_error"] = betti_curve_error(betti.sum(axis=1), base_betti.sum(axis=1))
    sparse_scalars, sparse_curves = sparse_scores(model, data, report, recovery)
    scalars.update(sparse_scalars)
    curves.update(sparse_curves)
    resolution_scalars, resolution_curves = resolution_scores(model, data)
    scalars.update(resolution_scalars)
    curves.update(resolution_curves)
    attractor_scalars, attractor_curves = attractor_scores(model, data, seed)
    scalars.update(attractor_scalars)
    curves.update(attractor_curves)
    koopman_scalars, koopman_curves = koopman_scores(model, data, seed)
    scalars.update(koopman_scalars)
    curves.update(koopman_curves)
    return Scores(scalars, curves)
