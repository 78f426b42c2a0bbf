"""GPU throughput and model FLOP utilisation (MFU) of the Koopman AE at MNIST size (p = 800), skipped without CUDA.

Target (issue 6): on an H100, the forward pass at batch >= 32k reaches >= 40 % of the bf16 peak. Each entry
records samples/s, FLOPs per sample (torch's FlopCounterMode), the device's peak at that precision and the MFU in
`extra_info`; `python -m pytest benches/test_gpu_mfu.py --benchmark-columns=mean,ops` prints them side by side.
"""

from __future__ import annotations

import pytest
import torch

from kae_zoo.core.acceleration import Acceleration
from kae_zoo.core.types import DataSpec
from kae_zoo.families import create_surrogate
from kae_zoo.metrics.throughput import device_peak_flops
from kae_zoo.scoring.throughput import speed_scores

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

BATCH = 32768
MFU_TARGET = 0.40  # of the bf16 peak, H100


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("precision", ["fp32", "tf32", "bf16"])
def test_koopman_mnist_forward_cuda(benchmark, precision, compiled):
    device = torch.device("cuda")
    model = create_surrogate("koopman", DataSpec(state_shape=(784,), n_classes=10), preset="default", task="mnist",
                             seed=0)
    with torch.no_grad():
        model.generator.normal_(std=0.01)
    acceleration = Acceleration(precision, compiled)
    model = acceleration.prepare(model.to(device).eval())
    states = torch.randn(BATCH, 784, device=device)

    def forward() -> None:
        with torch.no_grad(), acceleration.autocast(device):
            model(states)
        torch.cuda.synchronize(device)

    with acceleration.matmul_precision():
        scores = speed_scores(model, states, min_seconds=1.0, acceleration=acceleration)
        benchmark(forward)
    benchmark.extra_info.update(device=torch.cuda.get_device_name(device), batch=BATCH, precision=precision,
                                compiled=compiled, peak_flops=device_peak_flops(device, precision), **scores)
    if precision == "bf16":
        benchmark.extra_info["mfu_target"] = MFU_TARGET
