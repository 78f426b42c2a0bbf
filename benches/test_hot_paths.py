"""pytest-benchmark suite of the hot paths (outside the default test run: `python -m pytest benches/`).

CPU, one torch thread; compare entries as ratios within one run (`--benchmark-compare` across runs on one machine).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kae_zoo.families import get_family
from kae_zoo.families.base import DataSpec
from kae_zoo.metrics.topology import class_betti_numbers
from kae_zoo.tasks.yinyang_data import make_yinyang


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(params=["yinyang", "mnist"])
def koopman(request):
    state_dim = {"yinyang": 10, "mnist": 784}[request.param]
    family = get_family("koopman")
    torch.manual_seed(0)
    model = family(family.make_config("default", request.param), DataSpec(state_shape=(state_dim,), n_classes=3))
    with torch.no_grad():
        model.generator.normal_(std=0.1)
    return model.eval(), torch.randn(1024, state_dim, generator=torch.Generator().manual_seed(0))


def test_koopman_forward_cpu(benchmark, koopman):
    model, states = koopman
    with torch.no_grad():
        benchmark(model, states)


@pytest.mark.parametrize("t", [1.0, 0.37], ids=["substep_power", "matrix_exp"])
def test_koopman_operator_cpu(benchmark, koopman, t):
    model, _ = koopman
    with torch.no_grad():
        benchmark(model.operator, t)


@pytest.mark.parametrize("n_points", [1000, 2000])
def test_betti_numbers_cpu(benchmark, n_points):
    points, labels = make_yinyang(n_points, seed=0)
    result = benchmark(class_betti_numbers, points, labels)
    assert result.shape == (2,) and np.all(result >= 0)
