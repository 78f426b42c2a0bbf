"""Speed settings: precision checks, bf16 autocast, TF32 flags, compile; FLOP counts and MFU by hand."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from kae_zoo.cli import main
from kae_zoo.core.acceleration import Acceleration
from kae_zoo.experiments.runner import RunSpec, run_cell
from kae_zoo.families import get_family
from kae_zoo.metrics.throughput import forward_flops, model_flop_utilisation, peak_flops
from kae_zoo.scoring.throughput import speed_scores
from kae_zoo.testing import smoke_model

CPU = torch.device("cpu")


def test_precision_checks():
    with pytest.raises(ValueError, match="precision 'fp16' is not one of fp32, tf32, bf16"):
        Acceleration("fp16").validate(CPU)
    with pytest.raises(ValueError, match="'tf32' needs a CUDA device"):
        Acceleration("tf32").validate(CPU)
    with pytest.raises(ValueError, match="'tf32' needs a CUDA device"):
        RunSpec(("koopman",), ("yinyang",), (0,), preset="smoke", device="cpu", precision="tf32").validate()
    Acceleration("bf16", compile=True).validate(CPU)


def test_bf16_autocasts_matmuls_and_fp32_does_not():
    layer = nn.Linear(4, 3)
    states = torch.ones(2, 4)
    with Acceleration("bf16").autocast(CPU):
        assert layer(states).dtype == torch.bfloat16
    with Acceleration("fp32").autocast(CPU):
        assert layer(states).dtype == torch.float32


def test_tf32_flags_are_set_inside_and_restored_after():
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    with Acceleration("tf32").matmul_precision():
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
    with Acceleration("fp32").matmul_precision():
        assert not torch.backends.cuda.matmul.allow_tf32


def test_compile_is_applied_in_place_only_when_asked():
    model = nn.Linear(2, 2)
    assert Acceleration().prepare(model) is model and model._compiled_call_impl is None
    assert Acceleration(compile=True).prepare(model) is model and model._compiled_call_impl is not None


def test_compile_runs_a_familys_eager_methods_eagerly():
    model = smoke_model(get_family("koopman"))
    assert model.eager_methods == ("operator",)
    model.eval()
    states = torch.randn(5, *model.spec.state_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        eager = model(states)
        Acceleration(compile=True).prepare(model)
        # the instance's operator is now torch.compiler.disable's wrapper around the bound method, not the method
        assert "operator" in vars(model) and getattr(model.operator, "__wrapped__", None) is not None
        compiled = model(states)
        assert model._operator_cache is not None  # operator ran eagerly and cached K for the next call
    torch.testing.assert_close(compiled, eager)


def test_forward_flops_of_two_linear_layers_by_hand():
    # Linear(10 -> 20) then Linear(20 -> 5): 2 x (10 x 20 + 20 x 5) = 600 FLOPs per sample (multiply-adds x 2;
    # bias additions and the activation are elementwise and not counted).
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    assert forward_flops(model, torch.zeros(7, 10)) == 600.0
    assert math.isnan(forward_flops(lambda states: torch.fft.rfft(states).abs(), torch.zeros(7, 10)))  # uncounted


def test_mfu_and_peaks_by_hand():
    # 600 FLOP per sample at 1e6 samples/s = 6e8 FLOP/s; over a 1.2e9 FLOP/s peak: 0.5.
    assert model_flop_utilisation(600.0, 1e6, 1.2e9) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive peak"):
        model_flop_utilisation(600.0, 1e6, math.nan)
    assert peak_flops("NVIDIA H100 80GB HBM3", "bf16") == 989.4e12
    assert peak_flops("NVIDIA H100 PCIe", "bf16") == 756e12
    assert peak_flops("NVIDIA A100-SXM4-80GB", "tf32") == 156e12
    assert math.isnan(peak_flops("Intel(R) Xeon(R) CPU", "fp32"))


def test_speed_scores_on_cpu_leave_mfu_unknown():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    scores = speed_scores(model, torch.zeros(64, 10), min_seconds=0.01, acceleration=Acceleration("bf16"))
    assert scores["forward_flops"] == 600.0 and scores["throughput"] > 0 and math.isnan(scores["mfu"])


def test_a_bf16_cell_trains_and_scores_on_cpu():
    result = run_cell("koopman", "yinyang", 0, preset="smoke", device="cpu", overrides={"n_epochs": 3}, progress=False,
                      acceleration=Acceleration("bf16"))
    assert result.status == "ok", result.error
    assert np.isfinite(result.scalars["accuracy"]) and result.scalars["forward_flops"] > 0


def test_cli_refuses_tf32_on_cpu(tmp_path, capsys):
    code = main(["run", "--family", "koopman", "--task", "yinyang", "--device", "cpu", "--precision", "tf32",
                 "--out", str(tmp_path / "r.nc")])
    assert code == 2 and "needs a CUDA device" in capsys.readouterr().err and not (tmp_path / "r.nc").exists()
