"""Speed scores: forward throughput (CUDA-synchronised) and training time."""

from __future__ import annotations

import time
from typing import Callable

import torch

from . import MetricSpec, metric, register_metric


@metric("throughput", "forward samples per second at a fixed batch size", "samples/s", higher_is_better=True,
        split="")
def throughput(n_samples: int, seconds: float) -> float:
    """Samples per second; `seconds` must be positive."""
    if seconds <= 0 or n_samples < 0:
        raise ValueError(f"need n_samples >= 0 and seconds > 0, got {n_samples}, {seconds}")
    return n_samples / seconds


def time_forward(
    forward: Callable[[torch.Tensor], torch.Tensor],
    batch: torch.Tensor,
    min_seconds: float = 0.2,
    n_warmup: int = 2,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[int, float]:
    """Run `forward(batch)` repeatedly for at least `min_seconds`; returns (samples processed, seconds).

    Synchronises CUDA before reading the clock, so asynchronous kernel launches are not mistaken for work done.
    """

    def synchronise() -> None:
        if batch.is_cuda:
            torch.cuda.synchronize(batch.device)

    with torch.no_grad():
        for _ in range(n_warmup):
            forward(batch)
        synchronise()
        n_samples, start = 0, clock()
        while True:
            forward(batch)
            synchronise()
            n_samples += len(batch)
            elapsed = clock() - start
            if elapsed >= min_seconds:
                return n_samples, elapsed


register_metric(MetricSpec("train_seconds", "wall-clock training time", "s", higher_is_better=False, split="train"))
