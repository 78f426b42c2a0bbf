"""Scorer `training_record`: the training time, the loss curves over the validation checks, the scored epoch, the
epochs run and the spike flag (`kae_zoo.metrics.training`) of the training report."""

from __future__ import annotations

import numpy as np

from ..core.surrogate import TrainReport
from ..core.types import Curve
from ..metrics.training import is_loss_spike, loss_spike_ratio
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


def training_record(report: TrainReport) -> ScorerOutput:
    """The record of a training report (module docstring)."""
    scalars = {"train_seconds": report.seconds, "scored_epoch": float(report.best_epoch),
               "epochs_run": float(report.n_epochs_run)}
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


def training_record_scores(context: ScoringContext) -> ScorerOutput:
    return training_record(context.report)


TRAINING_RECORD = register_scorer(Scorer(
    "training_record", training_record_scores,
    specs("train_seconds", "scored_epoch", "epochs_run", "loss_spike_ratio", "loss_spike", "train_loss", "val_loss"),
    description="training time, loss curves, scored epoch and loss-spike flag"))
