"""Every metric formula against a value computed by hand (peer suites shipped wrong ones)."""

import itertools

import numpy as np
import pytest
import torch

from kae_zoo.metrics import get_metric, list_metrics
from kae_zoo.metrics.classification import accuracy, agreement, macro_accuracy
from kae_zoo.metrics.geometry import isometry_error, state_error
from kae_zoo.metrics.throughput import throughput, time_forward


def test_accuracy_by_hand():
    # 3 of 4 predictions match the labels.
    assert accuracy(np.array([0, 1, 2, 1]), np.array([0, 1, 1, 1])) == pytest.approx(0.75)


def test_macro_accuracy_by_hand():
    # class 0: 1/1 right; class 1: 2/3 right -> (1 + 2/3) / 2 = 0.8333; plain accuracy would be 3/4.
    assert macro_accuracy(np.array([0, 1, 2, 1]), np.array([0, 1, 1, 1])) == pytest.approx(5 / 6)


def test_agreement_by_hand():
    assert agreement(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])) == pytest.approx(0.75)


@pytest.mark.parametrize("function", [accuracy, macro_accuracy, agreement])
def test_classification_rejects_mismatched_lengths(function):
    with pytest.raises(ValueError, match="equal length"):
        function(np.array([0, 1]), np.array([0, 1, 2]))


def test_state_error_by_hand():
    # ||diff||_F = ||[[0,0],[0,-1]]|| = 1; ||target||_F = sqrt(1 + 4) -> 1 / sqrt(5).
    predicted = np.array([[1.0, 0.0], [0.0, 1.0]])
    target = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert state_error(predicted, target) == pytest.approx(1 / np.sqrt(5))
    assert state_error(target, target) == 0.0


def test_state_error_rejects_zero_target():
    with pytest.raises(ValueError, match="undefined"):
        state_error(np.ones((2, 2)), np.zeros((2, 2)))


def test_isometry_error_by_hand():
    # State distances (3-4-5 triangle): d01 = 3, d02 = 4, d12 = 5.
    # Latent points (0,0), (3,0), (0,0): d01 = 3, d02 = 0, d12 = 3 -> differences 0, -4, -2.
    # sqrt((0 + 16 + 4) / (9 + 16 + 25)) = sqrt(0.4).
    states = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    latents = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 0.0]])
    assert isometry_error(states, latents) == pytest.approx(np.sqrt(0.4))


def test_isometry_error_of_orthogonal_map_is_zero_and_of_collapse_is_one():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(50, 6))
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    padded = np.concatenate([states @ rotation + 3.0, np.zeros((50, 2))], axis=1)  # rotate, shift, embed
    assert isometry_error(states, padded) == pytest.approx(0.0, abs=1e-12)
    assert isometry_error(states, np.zeros((50, 3))) == pytest.approx(1.0)


def test_throughput_by_hand():
    assert throughput(1000, 0.5) == pytest.approx(2000.0)
    with pytest.raises(ValueError):
        throughput(10, 0.0)


def test_time_forward_counts_samples_until_min_seconds():
    ticks = itertools.count()
    calls = []

    def forward(batch):
        calls.append(len(batch))
        return batch

    # The fake clock advances 0.1 s per reading: start 0.0, then 0.1, 0.2, 0.3 -> stops after 3 timed calls.
    n_samples, seconds = time_forward(forward, torch.zeros(8, 2), min_seconds=0.25, n_warmup=2,
                                      clock=lambda: next(ticks) / 10)
    assert (n_samples, seconds) == (24, pytest.approx(0.3))
    assert len(calls) == 2 + 3


def test_every_registered_metric_has_metadata():
    for name in list_metrics():
        spec = get_metric(name)
        assert spec.long_name and spec.units and spec.direction in ("higher", "lower", "none")
        assert spec.higher_is_better is None or isinstance(spec.higher_is_better, bool)
        assert isinstance(spec.version, int) and spec.version >= 1
