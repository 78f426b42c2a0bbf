"""Betti counting on clouds whose Betti numbers are known, and the simplification score by hand."""

import numpy as np
import pytest

from kae_zoo.metrics.topology import betti_numbers, betti_simplification, class_betti_numbers
from kae_zoo.tasks.yinyang_data import make_yinyang


def circle(n, rng, centre=(0.0, 0.0), radius=1.0):
    angles = rng.uniform(0, 2 * np.pi, n)
    points = np.c_[np.cos(angles), np.sin(angles)] * radius + centre
    return points + rng.normal(scale=0.02 * radius, size=(n, 2))


def disc(n, rng, centre=(0.0, 0.0), radius=1.0):
    angles, radii = rng.uniform(0, 2 * np.pi, n), radius * np.sqrt(rng.uniform(0, 1, n))
    return np.c_[np.cos(angles), np.sin(angles)] * radii[:, None] + centre


def test_one_circle():
    assert betti_numbers(circle(1000, np.random.default_rng(0))).tolist() == [1, 1]


def test_two_circles():
    rng = np.random.default_rng(1)
    cloud = np.r_[circle(500, rng), circle(500, rng, centre=(3.0, 0.0))]
    assert betti_numbers(cloud).tolist() == [2, 2]


def test_three_blobs_and_a_disc():
    rng = np.random.default_rng(2)
    blobs = np.r_[disc(300, rng, radius=0.3), disc(300, rng, (3.0, 0.0), 0.3), disc(300, rng, (0.0, 3.0), 0.3)]
    assert betti_numbers(blobs).tolist() == [3, 0]
    assert betti_numbers(disc(1000, rng)).tolist() == [1, 0]


@pytest.mark.parametrize(("n_samples", "seed"), [(1000, 40), (5000, 42)])
def test_raw_yinyang_summed_over_classes(n_samples, seed):
    # Yin and yang are each connected with one hole (the dot inside); the dot class has two components.
    features, labels = make_yinyang(n_samples, seed)
    assert class_betti_numbers(features, labels).tolist() == [4, 2]
    assert class_betti_numbers(features[:, :2], labels).tolist() == [4, 2]


def test_invariant_to_rotation_translation_scale_and_duplicates():
    rng = np.random.default_rng(3)
    cloud = np.c_[circle(1000, rng), np.zeros((1000, 8))]  # a circle embedded in 10-d
    rotation, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    moved = 7.5 * cloud @ rotation + 3.0
    assert betti_numbers(moved).tolist() == betti_numbers(cloud).tolist() == [1, 1]
    assert betti_numbers(np.r_[cloud, cloud[:200]]).tolist() == [1, 1]


def test_labels_must_match_points():
    with pytest.raises(ValueError, match="labels"):
        class_betti_numbers(np.zeros((3, 2)), np.zeros(2))


def test_betti_simplification_by_hand():
    # Identical monotone curves: closeness 1, monotonicity 1.
    assert betti_simplification([6, 5, 4, 3], [6, 5, 4, 3]) == pytest.approx(1.0)
    # Trajectory 6, 3, 3 against base 6, 3 (u = 0, 0.5, 1 -> base interpolated 6, 4.5, 3):
    # |diff| = 0, 1.5, 0 -> mean 0.5 -> closeness 1 - 0.5 / 6 = 11/12; never increases -> monotonicity 1.
    assert betti_simplification([6, 3, 3], [6, 3]) == pytest.approx(11 / 12)
    # Trajectory 6, 4, 5, 3 on base 6, 5, 4, 3: |diff| = 0, 1, 1, 0 -> closeness 1 - 0.5 / 6 = 11/12;
    # changes -2, +1, -2 -> increases 1 of 5 -> monotonicity 4/5; product 11/15.
    assert betti_simplification([6, 4, 5, 3], [6, 5, 4, 3]) == pytest.approx(11 / 15)
    # A constant trajectory: monotonicity 1; closeness 1 - mean(|4-6|, |4-4|, |4-2|) / 6 = 1 - (4/3)/6 = 7/9.
    assert betti_simplification([4, 4, 4], [6, 4, 2]) == pytest.approx(7 / 9)


@pytest.mark.parametrize("bad", [[1.0], [1.0, np.nan], [1.0, -1.0]])
def test_betti_simplification_rejects_bad_curves(bad):
    with pytest.raises(ValueError, match="trajectory_totals"):
        betti_simplification(bad, [3.0, 2.0])
