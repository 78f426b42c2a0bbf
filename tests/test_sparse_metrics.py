"""Sparse-coding scores against values computed by hand."""

import numpy as np
import pytest

from kae_zoo.metrics import get_metric
from kae_zoo.metrics.sparse import (
    atom_cosines,
    dictionary_recovery,
    match_atoms,
    max_sine_distance,
    resolution_error,
    resolution_robustness,
    sine_distances,
    sparsity,
    steps_to_recovery,
)
from kae_zoo.tasks.sparse_data import KERNELS, kernel_dictionary

IDENTITY = np.eye(3)[:, :2]  # true atoms e1, e2 in R^3 (columns)


def test_sine_distances_by_hand_with_distinct_matching():
    # Learned atoms u = (1, 1, 0), v = (1, 0, 2), w = (0, 1, 1.2).
    # |cos| with e1: u 1/sqrt2 = .707, v 1/sqrt5 = .447, w 0; with e2: u .707, v 0, w 1/sqrt(2.44) = .640.
    # Both true atoms prefer u; the best distinct assignment is e1 -> u, e2 -> w (.707 + .640 > .447 + .707).
    # Sines: e1 sqrt(1 - 1/2) = 1/sqrt2; e2 sqrt(1 - 1/2.44) = 1.2/sqrt(2.44).
    learned = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 1.0, 1.2]]).T
    indices, cosines = match_atoms(IDENTITY, learned)
    assert list(indices) == [0, 2]
    assert cosines == pytest.approx([1 / np.sqrt(2), 1 / np.sqrt(2.44)])
    expected = np.array([1 / np.sqrt(2), 1.2 / np.sqrt(2.44)])
    assert sine_distances(IDENTITY, learned) == pytest.approx(expected)
    assert dictionary_recovery(IDENTITY, learned) == pytest.approx(1 - expected.mean())  # 1 - 0.7377 = 0.2623
    assert max_sine_distance(IDENTITY, learned) == pytest.approx(1.2 / np.sqrt(2.44))


def test_matching_minimises_the_reported_sine_distance():
    # The counter-example, |cos| [[1, .6], [.6, 0]] (true x learned). True atoms t1 = (1, 0, 0) and
    # t2 = (.6, .8, 0) (cos .6); learned a = t1 and b = (.6, -.45, sqrt(.4375)), unit, orthogonal to t2.
    true = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0]]).T
    learned = np.array([[1.0, 0.0, 0.0], [0.6, -0.45, np.sqrt(0.4375)]]).T
    assert atom_cosines(true, learned) == pytest.approx(np.array([[1.0, 0.6], [0.6, 0.0]]), abs=1e-12)
    # Sines [[0, .8], [.8, 1]]. Diagonal: 0 + 1 -> recovery 1 - 0.5 = 0.5. Across: .8 + .8 -> 1 - 0.8 = 0.2. The
    # largest summed |cos| (1.2, across) reported 0.2 before definition version 2; the smallest summed sine picks
    # the diagonal, and the recovery it reports is the best any matching gives.
    assert list(match_atoms(true, learned)[0]) == [0, 1]
    assert dictionary_recovery(true, learned) == pytest.approx(0.5)
    assert max_sine_distance(true, learned) == pytest.approx(1.0)
    assert get_metric("dictionary_recovery").version == 2


def test_recovery_ignores_scale_sign_order_and_extra_atoms():
    rng = np.random.default_rng(0)
    true = rng.normal(size=(10, 4))
    dead = np.zeros((10, 1))  # a dead learned atom matches nothing and is no error
    learned = np.hstack([rng.normal(size=(10, 2)), -3.0 * true[:, ::-1], dead])
    assert dictionary_recovery(true, learned) == pytest.approx(1.0)
    assert max_sine_distance(true, learned) == pytest.approx(0.0, abs=1e-6)
    assert list(match_atoms(true, learned)[0]) == [5, 4, 3, 2]


def test_shift_invariant_cosine_by_hand():
    # true t = (1, 2, 0, 0); learned l = (0, 1) zero-padded to (0, 1, 0, 0): its circular shifts give inner
    # products with t of 2, 0, 0, 1 -> max 2, |t| |l| = sqrt5 * 1 -> cos 2/sqrt5.
    true = np.array([[1.0, 2.0, 0.0, 0.0]]).T
    assert atom_cosines(true, np.array([[0.0, 1.0]]).T, shift_invariant=True) == pytest.approx(2 / np.sqrt(5))
    assert atom_cosines(true, np.array([[0.0, -1.0]]).T, shift_invariant=True) == pytest.approx(2 / np.sqrt(5))
    # t rolled by one, (0, 1, 2, 0): plain cos = (0 + 2 + 0 + 0) / 5 = 0.4; over shifts it is t itself: 1.
    rolled = np.roll(true, 1, axis=0)
    assert atom_cosines(true, rolled) == pytest.approx(0.4)
    assert atom_cosines(true, rolled, shift_invariant=True) == pytest.approx(1.0)
    # a learned atom longer than the true one: the true atom is the one padded
    assert atom_cosines(np.array([[1.0, 2.0]]).T, rolled, shift_invariant=True) == pytest.approx(1.0)


def test_shift_invariant_recovery_of_the_sparse_fn_kernels():
    true = kernel_dictionary(KERNELS, 128)
    # each atom moved circularly by its own shift
    learned = np.stack([np.roll(true[:, j], shift) for j, shift in enumerate((5, -30, 17, 2, 64, -1))], axis=1)
    assert dictionary_recovery(true, learned, shift_invariant=True) == pytest.approx(1.0)
    assert dictionary_recovery(true, learned) < 0.9
    # a 32-tap learned filter holding the centred spike still matches the 128-point spike exactly
    spike = true[48:80, 5:6]
    assert atom_cosines(true[:, 5:6], spike, shift_invariant=True) == pytest.approx(1.0)


def test_dictionary_scores_reject_bad_input():
    with pytest.raises(ValueError, match="atom lengths differ \\(3 true, 4 learned\\)"):
        dictionary_recovery(IDENTITY, np.eye(4))
    with pytest.raises(ValueError, match="has 1 atoms; it needs at least the true 2"):
        dictionary_recovery(IDENTITY, np.ones((3, 1)))
    with pytest.raises(ValueError, match="true atom 1 is all zeros"):
        dictionary_recovery(np.array([[1.0, 0.0], [0.0, 0.0]]), np.eye(2))
    with pytest.raises(ValueError, match="learned dictionary must be a non-empty finite"):
        dictionary_recovery(IDENTITY, np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match="true dictionary must be .* got shape \\(3,\\)"):
        dictionary_recovery(np.ones(3), IDENTITY)


def test_steps_to_recovery_by_hand():
    steps, recovery = [0, 100, 200, 300], [0.2, 0.85, 0.9, 0.95]
    assert steps_to_recovery(steps, recovery) == (200.0, True)  # 0.9 >= 0.9 at step 200
    assert steps_to_recovery(steps, recovery, threshold=0.86) == (200.0, True)
    assert steps_to_recovery(steps, recovery, threshold=0.96) == (300.0, False)  # capped at the last step
    assert steps_to_recovery(steps, recovery, threshold=0.96, cap=1000) == (1000.0, False)


def test_steps_to_recovery_rejects_bad_input():
    with pytest.raises(ValueError, match="increase strictly"):
        steps_to_recovery([0, 100, 100], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="must be finite"):
        steps_to_recovery([0, 100], [0.1, np.nan])
    with pytest.raises(ValueError, match="equal length, got \\(2,\\) and \\(3,\\)"):
        steps_to_recovery([0, 100], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="threshold must be in \\(0, 1\\], got 1.5"):
        steps_to_recovery([0, 100], [0.1, 0.2], threshold=1.5)
    with pytest.raises(ValueError, match="cap must be >= the last step 100, got 50"):
        steps_to_recovery([0, 100], [0.1, 0.2], cap=50)


def test_sparsity_by_hand():
    # row 0: |0|, |1e-7|, |0.5| -> one entry above 1e-6; row 1: 2 and -3 -> two. Mean (1 + 2) / 2 = 1.5.
    codes = np.array([[0.0, 1e-7, 0.5], [2.0, -3.0, 0.0]])
    assert sparsity(codes) == pytest.approx(1.5)
    assert sparsity(codes, tolerance=0.0) == pytest.approx(2.0)  # now 1e-7 counts too: (2 + 2) / 2
    # convolutional codes (n, atoms, positions): 3 non-zeros in sample 0, 1 in sample 1 -> 2
    conv = np.zeros((2, 2, 4))
    conv[0, 0, 1], conv[0, 1, 3], conv[0, 1, 0], conv[1, 0, 2] = 1.0, -1.0, 2.0, 0.3
    assert sparsity(conv) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="tolerance must be >= 0, got -1"):
        sparsity(codes, tolerance=-1)
    with pytest.raises(ValueError, match="non-empty finite"):
        sparsity(np.zeros((0, 3)))


def test_resolution_error_by_hand():
    # 2 points: ||(1, 0) - (1, 1)|| / ||(1, 1)|| = 1 / sqrt2; 4 points: ||(2,0,0,0) - (1,0,0,0)|| / 1 = 1.
    predicted = [np.array([[1.0, 0.0]]), np.array([[2.0, 0.0, 0.0, 0.0]])]
    target = [np.array([[1.0, 1.0]]), np.array([[1.0, 0.0, 0.0, 0.0]])]
    assert resolution_error(predicted, target) == pytest.approx([1 / np.sqrt(2), 1.0])
    with pytest.raises(ValueError, match="one prediction per resolution, got 1 predictions and 2 targets"):
        resolution_error(predicted[:1], target)
    with pytest.raises(ValueError, match="all zeros"):
        resolution_error([np.ones(2)], [np.zeros(2)])


def test_resolution_robustness_by_hand():
    assert resolution_robustness(np.array([0.1, 0.4, 0.2])) == pytest.approx(4.0)  # 0.4 / 0.1
    assert resolution_robustness(np.array([0.3])) == 1.0
    assert resolution_robustness(np.array([0.0, 0.0])) == 1.0  # exact at every resolution
    assert resolution_robustness(np.array([0.0, 0.1])) == np.inf  # exact at one resolution only
    with pytest.raises(ValueError, match="finite values >= 0"):
        resolution_robustness(np.array([0.1, -0.2]))
    with pytest.raises(ValueError, match="non-empty"):
        resolution_robustness(np.array([]))


def test_sparse_metric_specs():
    assert get_metric("dictionary_recovery").higher_is_better and get_metric("dictionary_recovery").split == ""
    assert not get_metric("max_sine_distance").higher_is_better
    assert get_metric("steps_to_recovery").units == "steps" and get_metric("recovery_reached").higher_is_better
    assert get_metric("resolution_error").dims == ("resolution",)
    assert not get_metric("resolution_robustness").higher_is_better and not get_metric("sparsity").higher_is_better
