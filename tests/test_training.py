"""The shared trainer: it learns, selects by validation loss, stops early, and refuses to diverge silently."""

import math
import time

import pytest
import torch
from helpers import random_batch, tiny_model

from kae_zoo.core.acceleration import Acceleration
from kae_zoo.core.batching import evaluate_loss, iterate_minibatches
from kae_zoo.core.surrogate import FitSettings
from kae_zoo.experiments.runner import fit_model
from kae_zoo.metrics.training import is_loss_spike, loss_spike_ratio
from kae_zoo.tasks.base import TaskData
from kae_zoo.training import DivergenceError, make_scheduler, train


def learnable_batches(model, seed=0):
    batch = random_batch(model, n_samples=64, seed=seed)
    batch["target"] = 0.5 * batch["source"]  # a linear map the Koopman AE can learn
    return batch


def test_training_reduces_validation_loss():
    model = tiny_model("koopman", n_epochs=30, learning_rate=1e-2, lr_schedule="constant")
    train_batch, val_batch = learnable_batches(model, 0), learnable_batches(model, 1)
    before = evaluate_loss(model, val_batch, 64)
    report = train(model, train_batch, val_batch, FitSettings(seed=0, progress=False))
    assert report.best_val_loss < 0.5 * before
    assert evaluate_loss(model, val_batch, 64) == pytest.approx(report.best_val_loss, rel=1e-5)  # best restored
    assert report.n_steps == 30 * math.ceil(64 / model.config.batch_size)


def test_same_seed_same_weights():
    weights = []
    for _ in range(2):
        model = tiny_model("koopman", seed=5, n_epochs=3)
        train(model, learnable_batches(model), learnable_batches(model, 1), FitSettings(seed=7, progress=False))
        weights.append(torch.cat([parameter.flatten() for parameter in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_early_stopping_stops_when_validation_does_not_improve():
    model = tiny_model("koopman", n_epochs=200, learning_rate=1e-2, lr_schedule="constant",
                       early_stopping_patience=3)
    train_batch = learnable_batches(model, 0)
    val_batch = dict(train_batch, target=-train_batch["target"])  # learning the training map hurts validation
    report = train(model, train_batch, val_batch, FitSettings(seed=0, progress=False))
    assert report.stopped_early and report.n_epochs_run < 200
    assert report.n_epochs_run == report.best_epoch + 3


def test_nan_loss_raises_divergence_error():
    model = tiny_model("koopman", n_epochs=2)
    batch = random_batch(model)
    batch["source"][0, 0] = float("nan")
    with pytest.raises(DivergenceError, match="became nan at epoch 1"):
        train(model, batch, random_batch(model, seed=1), FitSettings(seed=0, progress=False))


def test_a_model_that_reports_divergence_stops_training_at_the_validation_check():
    model = tiny_model("koopman", n_epochs=4, eval_every_epochs=2)
    checks = []

    def reason():
        checks.append(1)
        return "operator exploded" if len(checks) == 2 else None

    model.divergence_reason = reason
    batch = random_batch(model)
    with pytest.raises(DivergenceError, match="^operator exploded at epoch 4$"):
        train(model, batch, random_batch(model, seed=1), FitSettings(seed=0, progress=False))


def test_minibatches_cover_every_sample_once():
    batch = {"source": torch.arange(10.0)[:, None], "label": torch.arange(10)}
    chunks = iterate_minibatches(batch, 4, torch.Generator().manual_seed(0))
    assert [len(chunk["label"]) for chunk in chunks] == [4, 4, 2]
    assert sorted(torch.cat([chunk["label"] for chunk in chunks]).tolist()) == list(range(10))


def test_triangular_schedule_cycles_between_floor_and_peak():
    model = tiny_model("koopman", learning_rate=0.1, min_lr_fraction=0.01, lr_schedule="triangular",
                       cycle_epochs=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = make_scheduler(optimizer, model.config, steps_per_epoch=5)  # half cycle = 5 steps
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.001) and rates[5] == pytest.approx(0.1)
    assert rates[9] < rates[5]


def test_on_step_is_called_at_start_every_k_steps_and_at_the_end():
    model = tiny_model("koopman", n_epochs=5, batch_size=16)  # 64 samples: 4 steps per epoch, 20 in all
    calls = []
    settings = FitSettings(seed=0, progress=False, on_step=lambda step, watched: calls.append((step, watched is model)),
                           track_every_steps=6)
    report = train(model, learnable_batches(model), learnable_batches(model, 1), settings)
    assert report.n_steps == 20
    assert calls == [(0, True), (6, True), (12, True), (18, True), (20, True)]


def test_the_report_splits_its_seconds_into_steps_validation_and_watchers():
    # a watcher that sleeps 30 ms per call (4 calls) and validation that sleeps 20 ms per check (3 checks): the report
    # puts each sleep in its own phase, both inside `seconds`
    model = tiny_model("koopman", n_epochs=3, batch_size=16)  # 4 steps per epoch, 12 in all
    evaluate = model.loss

    def slow_in_eval(batch):
        if not model.training:
            time.sleep(0.02)
        return evaluate(batch)

    model.loss = slow_in_eval
    settings = FitSettings(seed=0, progress=False, on_step=lambda step, watched: time.sleep(0.03),
                           track_every_steps=5)  # steps 0, 5, 10, 12
    report = train(model, learnable_batches(model), learnable_batches(model, 1), settings)
    assert report.watcher_seconds >= 4 * 0.03 and report.validation_seconds >= 3 * 0.02
    assert report.seconds >= report.watcher_seconds + report.validation_seconds


def test_the_report_records_both_losses_at_every_validation_check():
    model = tiny_model("koopman", n_epochs=6, eval_every_epochs=2, learning_rate=1e-2, lr_schedule="constant")
    train_batch, val_batch = learnable_batches(model, 0), learnable_batches(model, 1)
    report = train(model, train_batch, val_batch, FitSettings(seed=0, progress=False))
    assert report.check_epochs == [2, 4, 6]
    assert len(report.train_history) == len(report.val_history) == 3
    assert report.best_epoch in report.check_epochs
    assert report.best_val_loss == min(report.val_history)
    # the training loss of epoch 6 is the mean over its mini-batches before each step: the last epoch of a model
    # that still learns sits above the validation loss measured after it, and is finite and positive
    assert all(loss > 0 and math.isfinite(loss) for loss in report.train_history)


def test_loss_spike_ratio_by_hand():
    # best 0.0146 at check 1, later up to 1427: ratio 1427 / 0.0146 = 97740 -> flagged (> 10)
    ratio = loss_spike_ratio([0.5, 0.0146, 2.0, 1427.0, 2.97], best_index=1)
    assert ratio == pytest.approx(1427.0 / 0.0146) and is_loss_spike(ratio)
    # falling to the end: the best is the last check, nothing rises after it -> 1, not flagged
    assert loss_spike_ratio([3.0, 2.0, 1.0], best_index=2) == 1.0
    # flat: 1
    assert loss_spike_ratio([1.0, 1.0, 1.0], best_index=0) == 1.0
    # rising by 9x after the best: 9, under the rule's 10 -> not flagged; 10.5x -> flagged
    assert not is_loss_spike(loss_spike_ratio([1.0, 9.0], best_index=0))
    assert is_loss_spike(loss_spike_ratio([1.0, 10.5], best_index=0))
    # a best loss of 0 gives no ratio: NaN, never flagged
    ratio = loss_spike_ratio([0.0, 5.0], best_index=0)
    assert math.isnan(ratio) and not is_loss_spike(ratio)
    with pytest.raises(ValueError, match="outside"):
        loss_spike_ratio([1.0], best_index=1)


def test_bf16_reaches_the_attractor_families_training_loss():
    # The attractor family trains on a subset (a hook the runner applies); --precision bf16 must reach its loss.
    model = tiny_model("attractor", n_epochs=1)
    seen = []
    original = model.loss

    def watched(batch):
        seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return original(batch)

    model.loss = watched
    batch = random_batch(model)
    data = TaskData("random", "autoencode", model.spec, {"train": batch, "val": batch}, "random")
    fit_model(model, data, FitSettings(seed=0, progress=False, acceleration=Acceleration("bf16")))
    assert (True, torch.bfloat16) in seen  # the training steps ran under bf16 autocast
    seen.clear()
    fit_model(model, data, FitSettings(seed=0, progress=False))
    assert all(not enabled for enabled, _ in seen)
