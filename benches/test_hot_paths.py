"""pytest-benchmark suite of the hot paths (outside the default test run: `python -m pytest benches/`).

CPU, one torch thread; compare entries as ratios within one run (`--benchmark-compare` across runs on one machine).
`--benchmark-disable` runs every benchmarked call once: a quick smoke check of the suite.

- every registered family (parametrised over the registry, so a family registered later is included): the forward
  pass and one training step, built as the asv suite builds them (benches/asv/_harness.py: the smoke preset,
  attractor at default, on the first mini-batch of the family's smoke-matrix task);
- the convolutional SAEs' decoder D (synthesize) and FISTA encoder (encode) at their training shapes;
- the Koopman operator K^t (built from G, as a training step builds it) and forward (which reuses K) at the
  default preset, Yin-Yang and MNIST sizes;
- Betti numbers of Yin-Yang clouds of 1,000 and 2,000 points (target: 2,000 points <= 1 s).
The SAE-FNO / bare FNO throughput pair is in test_fno_throughput.py.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import torch
from _harness import FamilyCase, Forward, TrainingStep, load_case

from kae_zoo.core.types import DataSpec
from kae_zoo.families import create_surrogate, get_family, list_families
from kae_zoo.metrics.topology import betti_numbers, class_betti_numbers
from kae_zoo.tasks.yinyang_data import make_yinyang

FAMILIES = list_families()
# families whose decoder is a circular convolution D on 1-D grids (the convolutional SAEs)
SPECTRAL_FAMILIES = [name for name in FAMILIES if all(callable(getattr(get_family(name), method, None))
                                                      for method in ("synthesize", "atom_spectra"))]


@lru_cache(maxsize=None)
def cached_case(family: str) -> FamilyCase:
    """One case per family per session (task data is loaded once)."""
    return load_case(family)


def describe(benchmark, case: FamilyCase) -> None:
    benchmark.extra_info.update(task=case.task or "example_spec", preset=case.preset,
                                batch=list(case.batch["source"].shape), own_fit=case.own_fit)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_forward_cpu(benchmark, family):
    case = cached_case(family)
    forward = Forward(case)
    benchmark.group = "family forward"
    describe(benchmark, case)
    predicted = benchmark(forward)
    assert predicted.shape == case.batch["target"].shape and torch.isfinite(predicted).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_family_training_step_cpu(benchmark, family):
    """One trainer step (sklearn_dict: its own fit of one epoch of the mini-batch; see _harness)."""
    case = cached_case(family)
    step = TrainingStep(case)
    benchmark.group = "family training step"
    describe(benchmark, case)
    benchmark(step)
    assert all(torch.isfinite(parameter).all() for parameter in step.model.parameters())


@pytest.mark.parametrize("operator", ["synthesize", "encode"])
@pytest.mark.parametrize("family", SPECTRAL_FAMILIES)
def test_spectral_operator_cpu(benchmark, family, operator):
    """D z (code maps -> signals) or the FISTA encoder (signals -> code maps, one rfft and one irfft of the code
    maps per iteration) on the training batch."""
    case = cached_case(family)
    model = case.model().eval()
    signals = case.batch["source"]
    with torch.no_grad():
        codes = model.encode(signals).reshape(len(signals), model.config.n_atoms, -1)
        argument = codes if operator == "synthesize" else signals
        benchmark.group = "spectral operators"
        benchmark.extra_info.update(input=list(argument.shape), n_atoms=model.config.n_atoms)
        output = benchmark(getattr(model, operator), argument)
    expected = signals.shape if operator == "synthesize" else codes.flatten(1).shape
    assert output.shape == expected


@pytest.fixture(params=["yinyang", "mnist"])
def koopman(request):
    state_dim = {"yinyang": 10, "mnist": 784}[request.param]
    spec = DataSpec(state_shape=(state_dim,), n_classes=3)
    model = create_surrogate("koopman", spec, preset="default", task=request.param,
                             seed=0)
    with torch.no_grad():
        model.generator.normal_(std=0.1)
    return model.eval(), torch.randn(1024, state_dim, generator=torch.Generator().manual_seed(0))


def test_koopman_forward_cpu(benchmark, koopman):
    model, states = koopman
    with torch.no_grad():
        benchmark(model, states)


@pytest.mark.parametrize("t", [1.0, 0.37], ids=["substep_power", "matrix_exp"])
def test_koopman_operator_cpu(benchmark, koopman, t):
    """K^t built from G, as every training step builds it (with autograd on: without it, inference reuses the
    last K until G changes, and the call would time a cache hit)."""
    model, _ = koopman
    with torch.enable_grad():
        operator = benchmark(model.operator, t)
    assert operator.requires_grad


@pytest.mark.parametrize("n_points", [1000, 2000])
def test_betti_numbers_cpu(benchmark, n_points):
    points, labels = make_yinyang(n_points, seed=0)
    benchmark.group = "betti numbers"
    result = benchmark(class_betti_numbers, points, labels)
    assert result.shape == (2,) and np.all(result >= 0)


@pytest.mark.parametrize("n_points", [1000, 2000])
def test_betti_numbers_one_cloud_cpu(benchmark, n_points):
    """All points as one cloud, none subsampled: the 2,000-point cloud is the <= 1 s target (recorded, not
    asserted: timings are not tests)."""
    points, _ = make_yinyang(n_points, seed=0)
    benchmark.group = "betti numbers"
    result = benchmark(betti_numbers, points, max_points=n_points)
    benchmark.extra_info["target_seconds"] = 1.0
    assert result.shape == (2,) and np.all(result >= 0)
