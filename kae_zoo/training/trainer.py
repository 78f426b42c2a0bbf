"""The one trainer every family shares, driven only by the family's `loss(batch)`.

AdamW with a constant, cosine or triangular-cyclic learning rate; the validation loss is checked every
`eval_every_epochs` and the best weights are restored at the end (early stopping when patience runs out); a
non-finite loss term, or a model whose `divergence_reason()` objects (e.g. a Koopman operator whose norm explodes),
stops training with `DivergenceError`, which the runner records as a failed cell. Everything about how a cell is
trained comes in one `FitSettings` (seed, precision and compile, progress, the `on_step(step, model)` callback that
watches training without changing it), the object a family's own `fit` gets too.
"""

from __future__ import annotations

import copy
import logging
import math
import time

import torch
from torch import Tensor

from ..core.acceleration import FP32, Acceleration
from ..core.batching import batch_size_of, evaluate_loss, iterate_minibatches
from ..core.config import TrainingConfig
from ..core.logs import Heartbeat, progress_bar
from ..core.surrogate import FitSettings, Surrogate, TrainReport
from ..core.types import Batch

logger = logging.getLogger(__name__)


class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite loss, or the model diverged otherwise; the message says what, where."""


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainingConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule named by `config.lr_schedule` (stepped once per optimiser step)."""
    floor = config.learning_rate * config.min_lr_fraction
    total_steps = config.n_epochs * steps_per_epoch
    if config.lr_schedule == "constant":
        return None
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=floor)
    half_cycle = max(1, config.cycle_epochs * steps_per_epoch // 2)
    return torch.optim.lr_scheduler.CyclicLR(
        optimizer, base_lr=floor, max_lr=config.learning_rate, step_size_up=half_cycle,
        mode="triangular", cycle_momentum=False,
    )


def check_finite(terms: dict[str, Tensor], epoch: int, step: int) -> None:
    """Raise DivergenceError naming the first non-finite loss term."""
    for name, value in terms.items():
        if not torch.isfinite(value).all():
            raise DivergenceError(f"loss term {name!r} became {value.item()} at epoch {epoch}, step {step}")


def training_step(
    model: Surrogate, minibatch: Batch, optimizer: torch.optim.Optimizer, *,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, gradient_clip_norm: float = 0.0,
    acceleration: Acceleration = FP32, epoch: int = 0, step: int = 0,
) -> dict[str, Tensor]:
    """One optimiser step on `minibatch`: the loss (under `acceleration`'s autocast), a finiteness check (epoch and
    step name the place in its error), backward, gradient clipping when `gradient_clip_norm` > 0, the optimiser
    and scheduler steps. Returns the loss terms."""
    with acceleration.autocast(minibatch["source"].device):
        terms = model.loss(minibatch)
    check_finite(terms, epoch, step)
    optimizer.zero_grad(set_to_none=True)
    terms["total"].backward()
    if gradient_clip_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), gradient_clip_norm)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return terms


def train(model: Surrogate, train_batch: Batch, val_batch: Batch, settings: FitSettings) -> TrainReport:
    """Fit `model` (with its own `config`) on `train_batch`, selecting the epoch with the lowest validation loss.

    All randomness (shuffling) comes from `settings.seed`; the model's initial weights are the caller's business.
    `settings.on_step` is called at step 0, after every `track_every_steps`-th optimiser step and after the last
    step (before the best weights are restored). With bf16 `settings.acceleration` the loss is computed under
    autocast (the backward pass and the optimiser step in float32, the validation loss in float32).
    """
    config: TrainingConfig = model.config
    acceleration, on_step, track_every_steps = settings.acceleration, settings.on_step, settings.track_every_steps
    config.validate()
    generator = torch.Generator().manual_seed(settings.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(batch_size_of(train_batch) / config.batch_size)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch)

    best_val, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    checks_without_improvement, step, stopped_early = 0, 0, False
    validation_seconds, watcher_seconds = 0.0, 0.0
    val_history: list[float] = []
    train_history: list[float] = []
    check_epochs: list[int] = []
    start = time.perf_counter()
    bar = progress_bar(range(1, config.n_epochs + 1), description=settings.description, enabled=settings.progress,
                       leave=False)
    heartbeat = Heartbeat()  # without a bar (stderr redirected), a line now and then says a long cell is alive
    epoch = 0
    if on_step is not None:
        watch_start = time.perf_counter()
        on_step(0, model)
        watcher_seconds += time.perf_counter() - watch_start
    for epoch in bar:
        model.train()
        epoch_loss, epoch_samples = torch.zeros(()), 0  # summed on the device: no sync per step
        for minibatch in iterate_minibatches(train_batch, config.batch_size, generator):
            terms = training_step(model, minibatch, optimizer, scheduler=scheduler,
                                  gradient_clip_norm=config.gradient_clip_norm, acceleration=acceleration,
                                  epoch=epoch, step=step)
            n_samples = batch_size_of(minibatch)
            epoch_loss = epoch_loss.to(terms["total"].device) + terms["total"].detach().float() * n_samples
            epoch_samples += n_samples
            step += 1
            if on_step is not None and step % track_every_steps == 0:
                watch_start = time.perf_counter()
                on_step(step, model)
                watcher_seconds += time.perf_counter() - watch_start
        if epoch % config.eval_every_epochs and epoch != config.n_epochs:
            continue
        check_start = time.perf_counter()
        val_loss = evaluate_loss(model, val_batch, config.batch_size)
        if not math.isfinite(val_loss):
            raise DivergenceError(f"validation loss became {val_loss} at epoch {epoch}")
        reason = model.divergence_reason()
        if reason is not None:
            raise DivergenceError(f"{reason} at epoch {epoch}")
        val_history.append(val_loss)
        train_history.append(float(epoch_loss) / max(epoch_samples, 1))
        check_epochs.append(epoch)
        bar.set_postfix(train=f"{train_history[-1]:.4g}", val=f"{val_loss:.4g}")  # what the file records
        logger.log(logging.INFO if bar.disable and heartbeat.due() else logging.DEBUG,
                   "%s: epoch %d/%d, train loss %.4g, val loss %.4g", settings.description, epoch, config.n_epochs,
                   train_history[-1], val_loss)
        improved = val_loss < best_val
        if improved:
            best_val, best_epoch, checks_without_improvement = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        validation_seconds += time.perf_counter() - check_start
        if not improved:
            checks_without_improvement += 1
            if config.early_stopping_patience and checks_without_improvement >= config.early_stopping_patience:
                stopped_early = True
                logger.info("early stop at epoch %d (best %d, val %.4g)", epoch, best_epoch, best_val)
                break
    bar.close()
    if on_step is not None and step % track_every_steps:
        watch_start = time.perf_counter()
        on_step(step, model)
        watcher_seconds += time.perf_counter() - watch_start
    model.load_state_dict(best_state)
    model.eval()
    return TrainReport(
        n_epochs_run=epoch,
        n_steps=step,
        best_epoch=best_epoch,
        best_val_loss=best_val,
        stopped_early=stopped_early,
        seconds=time.perf_counter() - start,
        val_history=val_history,
        train_history=train_history,
        check_epochs=check_epochs,
        validation_seconds=validation_seconds,
        watcher_seconds=watcher_seconds,
    )
