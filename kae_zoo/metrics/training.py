"""The training record of a cell: loss curves, the epoch whose weights were scored, and late loss spikes.

The shared trainer checks the validation loss every `eval_every_epochs` and restores the weights of the best
check, so a run whose loss spikes after its best epoch (default Koopman training on Yin-Yang: best validation loss
0.0146, then about 1427 near epoch 695) still scores the best weights; the record says which epoch that was and
whether such a spike happened, so that a reader can tell a clean run from a rescued one.

Spike rule: after the best check, the validation loss rose above `SPIKE_RATIO` x its best value
(`loss_spike_ratio` > 10). A loss that wanders within a factor of ten of its best is ordinary noise of a small
model; a tenfold rise is a divergence the best-weights restore hid.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import MetricSpec, register_metric

SPIKE_RATIO = 10.0


def loss_spike_ratio(val_losses: Sequence[float], best_index: int) -> float:
    """max(validation loss at or after the best check) / the best validation loss: 1 when the loss never rose
    after its best (or the best check is the last); NaN when the best loss is not positive (a ratio means
    nothing there)."""
    losses = np.asarray(val_losses, dtype=np.float64)
    if losses.ndim != 1 or len(losses) == 0:
        raise ValueError(f"val_losses must be a non-empty 1-D sequence, got shape {losses.shape}")
    if not 0 <= best_index < len(losses):
        raise ValueError(f"best_index {best_index} is outside the {len(losses)} checks")
    best = losses[best_index]
    if not best > 0:
        return float("nan")
    return float(np.max(losses[best_index:]) / best)


def is_loss_spike(ratio: float, threshold: float = SPIKE_RATIO) -> bool:
    """Whether `loss_spike_ratio` flags the run (module docstring); NaN is not flagged."""
    return bool(ratio > threshold)


register_metric(MetricSpec("train_loss", "mean training loss (the family's total loss) over the mini-batches of the "
                           "epoch of each validation check", "1", higher_is_better=None, dims=("epoch",),
                           split="train"))
register_metric(MetricSpec("val_loss", "validation loss (the family's total loss) at each validation check", "1",
                           higher_is_better=None, dims=("epoch",), split="val"))
register_metric(MetricSpec("scored_epoch", "the epoch whose weights were restored and scored (lowest validation "
                           "loss; the last epoch for families without model selection)", "epochs",
                           higher_is_better=None, split="val"))
register_metric(MetricSpec("epochs_run", "epochs trained (fewer than n_epochs after an early stop)", "epochs",
                           higher_is_better=None, split=""))
register_metric(MetricSpec("loss_spike_ratio", "highest validation loss at or after the scored epoch over the lowest "
                           "(1: it never rose again)", "1", higher_is_better=None, split="val"))
register_metric(MetricSpec("loss_spike", f"1 when the validation loss rose above {SPIKE_RATIO:g} x its best after "
                           "the scored epoch, else 0", "1", higher_is_better=None, split="val"))
