"""Scorer `throughput`: forward samples per second at a fixed batch size, FLOPs per sample and model FLOP
utilisation, the timed pass under the run's acceleration (bf16 autocast, compiled model)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..core.acceleration import FP32, Acceleration
from ..core.surrogate import Surrogate
from ..metrics.throughput import device_peak_flops, forward_flops, model_flop_utilisation, throughput, time_forward
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


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


def throughput_scores(context: ScoringContext) -> ScorerOutput:
    source, evaluation = context.data.splits["test"]["source"], context.evaluation
    repeats = -(-evaluation.throughput_batch_size // len(source))
    timing_batch = source.repeat(repeats, *[1] * (source.dim() - 1))[: evaluation.throughput_batch_size]
    return speed_scores(context.model, timing_batch, evaluation.throughput_min_seconds, context.acceleration), {}


THROUGHPUT = register_scorer(Scorer("throughput", throughput_scores, specs("throughput", "forward_flops", "mfu"),
                                    description="forward speed, FLOPs per sample and model FLOP utilisation"))
