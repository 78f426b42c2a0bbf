"""Representation scores (kae_zoo.metrics.representation) against values worked by hand, with their failing cases."""

import numpy as np
import pytest

from kae_zoo.metrics import get_metric
from kae_zoo.metrics.representation import (
    DegenerateScoreError,
    alive_fraction,
    downstream_recovered,
    explained_variance,
    l2_ratio,
    reconstruction_cosine,
    relative_reconstruction_bias,
)

X = np.array([[2.0, 0.0], [0.0, 2.0]])  # mean (1, 1): not zero, so the two explained-variance versions differ
HALF = X / 2


def test_explained_variance_by_hand_uses_the_mean_not_zero():
    # sum ||x - mean||^2 = ||(1, -1)||^2 + ||(-1, 1)||^2 = 2 + 2 = 4; sum ||x - x_hat||^2 = 1 + 1 = 2 -> 1 - 2/4 = 0.5.
    # The zero-mean version (SAELens's old one) would divide by sum ||x||^2 = 8: 1 - 2/8 = 0.75.
    assert explained_variance(X, HALF) == pytest.approx(0.5)
    assert explained_variance(X, X) == 1.0
    assert explained_variance(X, np.ones_like(X)) == pytest.approx(0.0)  # predicting the mean explains nothing
    # x_hat = -x: sum ||2 x||^2 = 16 + 16 = 32 -> 1 - 32/4 = -7 (worse than the mean)
    assert explained_variance(X, -X) == pytest.approx(-7.0)
    # (n, ...) samples are flattened: the same two samples as (2, 1, 2) arrays give the same value
    assert explained_variance(X[:, None, :], HALF[:, None, :]) == pytest.approx(0.5)


def test_explained_variance_of_states_without_variance_is_degenerate():
    with pytest.raises(DegenerateScoreError, match="the 2 target states have no variance"):
        explained_variance(np.ones((2, 2)), np.zeros((2, 2)))
    # 0.1 three times: the float mean may differ from 0.1 by round-off, which must not count as variance
    with pytest.raises(DegenerateScoreError, match="no variance"):
        explained_variance(np.full((3, 4), 0.1), np.zeros((3, 4)))
    assert issubclass(DegenerateScoreError, ValueError)  # still a ValueError for callers of the pure function


@pytest.mark.parametrize("function", [explained_variance, l2_ratio, relative_reconstruction_bias,
                                      reconstruction_cosine])
def test_reconstruction_scores_refuse_bad_input_in_one_line(function):
    with pytest.raises(ValueError, match=r"one shape, got \(2, 2\) and \(2, 3\)"):
        function(X, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-empty"):
        function(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="must be finite; found NaN or inf"):
        function(X, np.array([[np.nan, 0.0], [0.0, 1.0]]))


def test_l2_ratio_by_hand_is_the_mean_of_per_sample_ratios():
    x = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 0.0]])
    x_hat = np.array([[0.6, 0.8], [2.0, 0.0], [5.0, 5.0]])
    # ||x||: 5, 1, 0 (the last sample is left out); ||x_hat||: 1, 2 -> ratios 0.2, 2 -> mean 1.1.
    # The ratio of the mean norms would be (1 + 2) / (5 + 1) = 0.5.
    assert l2_ratio(x, x_hat) == pytest.approx(1.1)
    assert l2_ratio(X, HALF) == pytest.approx(0.5)
    with pytest.raises(DegenerateScoreError, match="all 2 target states are zero"):
        l2_ratio(np.zeros((2, 2)), X)


def test_relative_reconstruction_bias_by_hand():
    # x_hat = x / 2: E||x_hat||^2 = 1, E<x, x_hat> = 2 -> gamma = 0.5 (shrinkage)
    assert relative_reconstruction_bias(X, HALF) == pytest.approx(0.5)
    # x = (2, 0), (0, 1); x_hat = (1, 1), (0, 2): ||x_hat||^2 2, 4 -> E 3; <x, x_hat> 2, 2 -> E 2; gamma = 1.5
    # (the inverse ratio, E<x, x_hat> / E||x_hat||^2, would be 0.667)
    x, x_hat = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0], [0.0, 2.0]])
    assert relative_reconstruction_bias(x, x_hat) == pytest.approx(1.5)
    with pytest.raises(DegenerateScoreError, match=r"E<x, x_hat> = -4 <= 0"):
        relative_reconstruction_bias(X, -X)  # <x, -x> = -4 for both samples
    with pytest.raises(DegenerateScoreError, match=r"E<x, x_hat> = 0 <= 0"):
        relative_reconstruction_bias(X, X[::-1])  # orthogonal: (2, 0) against (0, 2)


def test_reconstruction_cosine_is_per_sample_then_the_mean():
    # cos((1, 0), (1, 1)) = 1/sqrt2; cos((1, 1), (-1, -1)) = -1; x = 0 is left out -> (0.7071 - 1) / 2 = -0.1464
    x = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    x_hat = np.array([[1.0, 1.0], [-1.0, -1.0], [3.0, 3.0]])
    assert reconstruction_cosine(x, x_hat) == pytest.approx((1 / np.sqrt(2) - 1) / 2)
    # a zero reconstruction counts as cosine 0: (0 + 1) / 2 = 0.5; the cosine of the flattened arrays would be
    # <x, x_hat> / (|x| |x_hat|) = 2 / (sqrt2 * 2) = 0.707
    assert reconstruction_cosine(np.eye(2), np.array([[0.0, 0.0], [0.0, 2.0]])) == pytest.approx(0.5)
    assert reconstruction_cosine(X, 3 * X) == pytest.approx(1.0)  # scale does not matter
    with pytest.raises(DegenerateScoreError, match="all 1 target states are zero"):
        reconstruction_cosine(np.zeros((1, 2)), np.ones((1, 2)))


def test_alive_fraction_by_hand_with_the_sparsity_tolerance():
    # 3 samples x 4 latents: latent 1 fires (1, -3); latent 2 only at 2e-7, below the tolerance 1e-6 -> 1 of 4 alive
    codes = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2e-7, 0.0], [0.0, -3.0, 0.0, 0.0]])
    assert alive_fraction(codes) == pytest.approx(0.25)
    assert alive_fraction(codes, tolerance=1e-7) == pytest.approx(0.5)  # latent 2 counts at a lower tolerance
    # a convolutional code (2 samples, 3 latents, 2 positions): latent 0 fires at position 1 of sample 0, latent 2 at
    # position 0 of sample 1 -> 2 of 3 alive (entries counted one by one would give 2 of 6)
    conv = np.zeros((2, 3, 2))
    conv[0, 0, 1], conv[1, 2, 0] = 1.0, 0.5
    assert alive_fraction(conv) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"\(n_samples, n_latents, \.\.\.\) array, got shape \(3,\)"):
        alive_fraction(np.ones(3))
    with pytest.raises(ValueError, match="non-empty finite"):
        alive_fraction(np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="tolerance must be >= 0, got -1"):
        alive_fraction(codes, tolerance=-1)


def test_downstream_recovered_by_hand():
    assert downstream_recovered(0.8, 0.5, 0.9) == pytest.approx(0.75)  # (0.8 - 0.5) / (0.9 - 0.5)
    assert downstream_recovered(0.9, 0.5, 0.9) == pytest.approx(1.0)
    assert downstream_recovered(0.4, 0.5, 0.9) == pytest.approx(-0.25)  # worse than the mean: (-0.1) / 0.4
    with pytest.raises(DegenerateScoreError, match="own accuracy 0.5 is not above the mean-ablated accuracy 0.5"):
        downstream_recovered(0.8, 0.5, 0.5)
    with pytest.raises(DegenerateScoreError, match="needs original > ablated"):
        downstream_recovered(0.8, 0.6, 0.5)
    with pytest.raises(ValueError, match="accuracies must be finite numbers in \\[0, 1\\], got reconstructed 1.2"):
        downstream_recovered(1.2, 0.5, 0.9)
    with pytest.raises(ValueError, match="accuracies must be finite"):
        downstream_recovered(0.8, float("nan"), 0.9)


def test_metadata_states_the_formula_and_the_better_side():
    directions = {"explained_variance": "higher", "l2_ratio": "none", "relative_reconstruction_bias": "none",
                  "reconstruction_cosine": "higher", "alive_fraction": "higher", "downstream_recovered": "higher",
                  "mean_ablated_accuracy": "none"}
    assert {name: get_metric(name).direction for name in directions} == directions
    assert "mean(x)" in get_metric("explained_variance").long_name
    assert "SAELens" in get_metric("explained_variance").long_name
    assert "mean-ablated" in get_metric("downstream_recovered").long_name
    assert "training-split mean" in get_metric("downstream_recovered").long_name
    assert "per test sample, then the mean" in get_metric("reconstruction_cosine").long_name
