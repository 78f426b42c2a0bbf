"""Betti counting on clouds of known topology, its invariances, and the Betti-curve scores against hand values."""

import numpy as np
import pytest

from kae_zoo.metrics.topology import (
    betti_curve_error,
    betti_numbers,
    betti_simplification,
    class_betti_numbers,
    counting_scale,
)
from kae_zoo.tasks.yinyang_data import make_yinyang

SIZES = [300, 1000, 2000]  # 2000 exercises the subsampling to max_points = 1000


def circle(n, rng, radius=1.0, center=(0.0, 0.0), noise=0.05):
    angle = rng.uniform(0, 2 * np.pi, n)
    r = radius + noise * rng.standard_normal(n)
    return np.c_[r * np.cos(angle) + center[0], r * np.sin(angle) + center[1]]


def disc(n, rng, radius=1.0):
    angle = rng.uniform(0, 2 * np.pi, n)
    r = radius * np.sqrt(rng.uniform(0, 1, n))
    return np.c_[r * np.cos(angle), r * np.sin(angle)]


def three_blobs(n, rng):
    centers = np.array([[0.0, 0.0], [12.0, 0.0], [6.0, 10.0]])
    return centers[rng.integers(0, 3, n)] + rng.standard_normal((n, 2))  # Gaussian, tails included


def random_rotation(dim, rng):
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


@pytest.mark.parametrize("n", SIZES)
def test_one_circle(n):
    assert betti_numbers(circle(n, np.random.default_rng(n))).tolist() == [1, 1]


@pytest.mark.parametrize("n", SIZES)
def test_two_separated_circles(n):
    rng = np.random.default_rng(n + 1)
    points = np.r_[circle(n // 2, rng), circle(n - n // 2, rng, radius=0.7, center=(3.5, 0.5))]
    assert betti_numbers(points).tolist() == [2, 2]


@pytest.mark.parametrize("n", SIZES)
def test_three_gaussian_blobs(n):
    assert betti_numbers(three_blobs(n, np.random.default_rng(n + 2))).tolist() == [3, 0]


@pytest.mark.parametrize("n", SIZES)
def test_filled_disc(n):
    assert betti_numbers(disc(n, np.random.default_rng(n + 3))).tolist() == [1, 0]


@pytest.mark.parametrize("n", [80, 100, 150, 200])
def test_perturbed_sparse_circle(n):
    # An elongated, wobbly, noisy circle with few points is still one loop.
    rng = np.random.default_rng(n + 4)
    angle = rng.uniform(0, 2 * np.pi, n)
    r = 1 + 0.15 * np.sin(3 * angle) + 0.08 * rng.standard_normal(n)
    assert betti_numbers(np.c_[1.6 * r * np.cos(angle), r * np.sin(angle)]).tolist() == [1, 1]


@pytest.mark.parametrize("n_samples, seed", [(1000, 40), (5000, 42)])  # the test and the train split
@pytest.mark.parametrize("columns", [slice(0, 2), slice(0, 4)])  # (x, y) or all four (an affine embedding)
def test_yinyang_classes(n_samples, seed, columns):
    # Yin and yang are each connected with one hole (a dot); the dot class is two discs: 1+1+2 and 1+1+0.
    features, labels = make_yinyang(n_samples, seed)
    points = features[:, columns]
    assert class_betti_numbers(points, labels).tolist() == [4, 2]
    per_class = {label: betti_numbers(points[labels == label]).tolist() for label in (0, 1, 2)}
    assert per_class == {0: [1, 1], 1: [1, 1], 2: [2, 0]}


def test_invariant_to_rotation_translation_and_scaling():
    rng = np.random.default_rng(5)
    flat = np.c_[circle(500, rng), np.zeros((500, 8))]  # a circle embedded in 10-d
    moved = 7.5 * flat @ random_rotation(10, rng) + rng.normal(0, 100, 10)
    assert betti_numbers(flat).tolist() == betti_numbers(moved).tolist() == [1, 1]
    assert counting_scale(moved) == pytest.approx(7.5 * counting_scale(flat), rel=1e-9)


def test_invariant_when_subsampled():
    # Over max_points the subsample depends only on the point order and the seed, not on the coordinates.
    rng = np.random.default_rng(6)
    points = np.r_[three_blobs(1500, rng), circle(1500, rng, radius=3, center=(30, 0))]
    moved = 0.01 * points @ random_rotation(2, rng) - 4
    assert betti_numbers(points).tolist() == betti_numbers(moved).tolist() == [4, 1]
    assert counting_scale(moved) == pytest.approx(0.01 * counting_scale(points), rel=1e-9)


def test_duplicates_are_ignored():
    rng = np.random.default_rng(7)
    ring = circle(300, rng)
    assert betti_numbers(np.repeat(ring, 3, axis=0)).tolist() == [1, 1]
    assert counting_scale(np.repeat(ring, 3, axis=0)) == counting_scale(ring)
    collapsed = np.r_[disc(300, rng), np.zeros((700, 2))]  # a ReLU layer sending most points to one point
    assert betti_numbers(collapsed).tolist() == [1, 0]
    assert betti_numbers(np.ones((50, 3))).tolist() == [1, 0]
    assert betti_numbers(np.ones((1, 3))).tolist() == [1, 0]


def test_class_sums_and_types():
    rng = np.random.default_rng(8)
    points = np.r_[circle(300, rng), three_blobs(300, rng)]
    labels = np.repeat([5, 2], 300)
    result = class_betti_numbers(points, labels)
    assert result.tolist() == [1 + 3, 1 + 0]
    assert result.shape == (2,) and np.issubdtype(result.dtype, np.integer)
    assert betti_numbers(points[:300]).dtype.kind == "i"


def test_deterministic_and_parameters_are_keywords():
    points = disc(1500, np.random.default_rng(9))
    assert betti_numbers(points).tolist() == betti_numbers(points, seed=0).tolist()
    assert betti_numbers(points, max_points=2000, k=12, delta=1.9).tolist() == [1, 0]
    with pytest.raises(TypeError):
        betti_numbers(points, 500)  # noqa


@pytest.mark.parametrize("bad", [np.array([[0.0, np.nan], [1.0, 1.0]]), np.zeros(5), np.zeros((0, 2))])
def test_bad_points_raise(bad):
    with pytest.raises(ValueError):
        betti_numbers(bad)


def test_bad_labels_raise():
    with pytest.raises(ValueError, match="labels"):
        class_betti_numbers(np.zeros((4, 2)), np.zeros(3))


def test_simplification_flat_curve_is_zero():
    # Moons: 2 everywhere. Nothing simplified -> 0 (the old product of closeness and monotonicity gave 1.0 here,
    # the same as a perfect simplification).
    assert betti_simplification([2, 2, 2, 2]) == 0.0


def test_simplification_falling_curve():
    # 10 -> 3: (10 - 3) / 10 = 0.7; the path between the ends does not enter.
    assert betti_simplification(np.array([10, 6, 4, 3])) == pytest.approx(0.7)
    assert betti_simplification([10, 2, 9, 3]) == pytest.approx(0.7)
    # to nothing: 1
    assert betti_simplification([4, 0]) == 1.0


def test_simplification_rising_curve_is_negative():
    # Circles: the base network's last layer ends at 3 from 2: (2 - 3) / 2 = -0.5.
    assert betti_simplification([2, 2, 3]) == pytest.approx(-0.5)


def test_curve_error_identical_curves_is_zero():
    assert betti_curve_error([10, 6, 4, 3], [10, 6, 4, 3]) == 0.0
    assert betti_curve_error([2, 2, 2], [2, 2]) == 0.0  # flat on flat: follows exactly


def test_curve_error_interpolates_different_lengths():
    # Base [10, 4, 2] at u = 0, .5, 1 interpolated at u = 0, .25, .5, .75, 1 -> 10, 7, 4, 3, 2. Trajectory
    # 10, 8, 6, 4, 2 is off by 0, 1, 2, 1, 0: mean 0.8, / max 10 -> 0.08.
    assert betti_curve_error([10, 8, 6, 4, 2], [10, 4, 2]) == pytest.approx(0.08)


def test_curve_error_flat_trajectory_on_falling_base():
    # Base [6, 2] at u = 0, .5, 1 -> 6, 4, 2; trajectory 3, 3, 3 is off by 3, 1, 1: mean 5/3, / 6 -> 5/18.
    assert betti_curve_error([3, 3, 3], [6, 2]) == pytest.approx(5 / 18)
    # and a trajectory that rises where the base falls: 4, 2, 3, 2 on base 4, 10/3, 8/3, 2 (u = 0, 1/3, 2/3, 1)
    # is off by 0, 4/3, 1/3, 0: mean 5/12, / 4 -> 5/48.
    assert betti_curve_error([4, 2, 3, 2], [4, 2]) == pytest.approx(5 / 48)


def test_curve_error_is_not_capped():
    # Off by 99 on both entries, base max 1: 99 (a curve far from the base is not floored to a score of 0).
    assert betti_curve_error([100, 100], [1, 1]) == pytest.approx(99.0)


@pytest.mark.parametrize("totals", [[3], [3, np.nan], [3, -1], [[3, 2]], [0, 2]])
def test_simplification_bad_input_raises(totals):
    with pytest.raises(ValueError):
        betti_simplification(totals)


@pytest.mark.parametrize(
    "trajectory, base",
    [([3], [3, 2]), ([3, 2], [3]), ([3, np.nan], [3, 2]), ([3, 2], [np.inf, 2]), ([3, -1], [3, 2]),
     ([3, 2], [0, 0]), ([[3, 2]], [3, 2])],
)
def test_curve_error_bad_input_raises(trajectory, base):
    with pytest.raises(ValueError):
        betti_curve_error(trajectory, base)
