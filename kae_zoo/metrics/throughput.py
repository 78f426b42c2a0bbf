"""Speed scores: forward throughput (CUDA-synchronised), FLOPs of the forward pass, model FLOP utilisation (MFU)
and training time."""

from __future__ import annotations

import math
import time
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

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
    *,
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


@metric("forward_flops", "floating-point operations of one forward pass per sample, as counted by torch's "
        "FlopCounterMode (matmuls and convolutions; FFTs and elementwise operations are not counted)", "FLOP",
        higher_is_better=False, split="")
def forward_flops(forward: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor) -> float:
    """FLOPs per sample of `forward(batch)` (no gradients), counted by torch's dispatcher-level FLOP counter.

    Counted: matrix products and convolutions (2 FLOPs per multiply-add); not counted: FFTs (the spectral layers'
    transforms) and elementwise operations, so for FFT-based families the count is a lower bound. NaN when nothing
    is countable (a forward made only of FFTs and elementwise operations, e.g. sae_cnn's circular convolutions).
    """
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        forward(batch)
    total = counter.get_total_flops()
    return total / len(batch) if total > 0 else math.nan


@metric("mfu", "model FLOP utilisation of the timed forward pass: forward_flops x throughput over the device's peak "
        "FLOP/s at the run's precision (NaN when the peak is not known, e.g. on CPU)", "1", higher_is_better=True,
        split="")
def model_flop_utilisation(flops_per_sample: float, samples_per_second: float, peak_flops_per_second: float) -> float:
    """Achieved FLOP/s (flops_per_sample x samples_per_second) as a fraction of `peak_flops_per_second`."""
    if not flops_per_sample >= 0 or samples_per_second < 0 or not peak_flops_per_second > 0:
        raise ValueError(f"need non-negative FLOPs and throughput and a positive peak, got {flops_per_sample}, "
                         f"{samples_per_second}, {peak_flops_per_second}")
    return flops_per_sample * samples_per_second / peak_flops_per_second


# Dense peak FLOP/s by precision of the GPUs the suite is run on (NVIDIA datasheets, without sparsity), matched in
# order against torch.cuda.get_device_name: the PCIe H100 before the SXM one, whose name is just "H100 ...".
PEAK_FLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"fp32": 51.2e12, "tf32": 378e12, "bf16": 756e12}),
    ("H100", {"fp32": 66.9e12, "tf32": 494.7e12, "bf16": 989.4e12}),
    ("H200", {"fp32": 66.9e12, "tf32": 494.7e12, "bf16": 989.4e12}),
    ("A100", {"fp32": 19.5e12, "tf32": 156e12, "bf16": 312e12}),
)


def peak_flops(device_name: str, precision: str) -> float:
    """The peak FLOP/s of the GPU called `device_name` at `precision` (fp32, tf32, bf16); NaN when not in the table
    (every CPU, and GPUs not listed)."""
    for key, peaks in PEAK_FLOPS:
        if key in device_name:
            return peaks.get(precision, math.nan)
    return math.nan


def device_peak_flops(device: torch.device, precision: str) -> float:
    """peak_flops of `device` (NaN on CPU)."""
    return peak_flops(torch.cuda.get_device_name(device), precision) if device.type == "cuda" else math.nan


register_metric(MetricSpec("train_seconds", "wall-clock training time", "s", higher_is_better=False, split="train"))
register_metric(MetricSpec("phase_seconds", "wall-clock time of each phase of the cell: data (when the cell loads "
                           "it), steps (training minus the next two), validation (checks), watchers (training "
                           "watchers), score/NAME (each scorer; work shared between scorers, such as the test "
                           "split's predictions, counts in the first that uses it)", "s", higher_is_better=False,
                           dims=("phase",), split=""))
register_metric(MetricSpec("cell_seconds", "wall-clock time of the whole cell: model, training, scores, and the "
                           "task's data when the cell loads it (a run loads each task and seed once per process)",
                           "s", higher_is_better=False, split=""))
