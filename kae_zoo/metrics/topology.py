"""Betti numbers of point clouds at a scale set from each cloud itself, and the simplification score.

Per Naitzat, Zhitnikov & Lim (2020), Betti numbers are computed per class and summed over classes. Persistent
homology (ripser, up to dimension 1) gives bars; beta_k(eps) counts the dimension-k bars alive at scale eps.

Counting scale (a fixed eps is meaningless across layers): eps = `scale_factor` (6) x the median edge length of
the cloud's minimum spanning tree (= the median H0 death time). The median MST edge is the cloud's typical
sampling gap, so eps follows density, moves with rotation and translation not at all and with uniform scaling
exactly; gaps between components and holes are many times larger, while sampling-noise loops die within a
few gaps. Components holding under `min_component_fraction` (2 %) of the points are not counted: stray tail
samples of a Gaussian blob are not a separate piece. Duplicate points (collapsed by ReLU) are removed first,
so they do not pull the median to zero. Factor 6 was the smallest of 3, 4, 5, 6 that counted one circle,
two circles and the Yin-Yang classes (4, 2) right at 1000 and 5000 points.
"""

from __future__ import annotations

import numpy as np
from ripser import ripser
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import pdist, squareform

DEFAULT_SCALE_FACTOR = 6.0
DEFAULT_MAX_POINTS = 1000
DEFAULT_MIN_COMPONENT_FRACTION = 0.02


def _prepare(points: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    """Flatten to (n, d) float64, drop duplicates, and subsample (seeded) to at most `max_points`."""
    cloud = np.asarray(points, dtype=np.float64).reshape(len(points), -1)
    if len(cloud) == 0 or not np.isfinite(cloud).all():
        raise ValueError(f"a point cloud must be non-empty and finite, got shape {cloud.shape}")
    cloud = np.unique(cloud, axis=0)
    if len(cloud) > max_points:
        cloud = cloud[np.sort(np.random.default_rng(seed).choice(len(cloud), max_points, replace=False))]
    return cloud


def _diagrams(cloud: np.ndarray) -> list[np.ndarray]:
    if len(cloud) == 1:
        return [np.array([[0.0, np.inf]]), np.zeros((0, 2))]
    return ripser(cloud, maxdim=1)["dgms"]


def counting_scale(diagrams: list[np.ndarray], scale_factor: float = DEFAULT_SCALE_FACTOR) -> float:
    """eps = scale_factor x the median finite H0 death time (median minimum-spanning-tree edge)."""
    deaths = diagrams[0][:, 1]
    deaths = deaths[np.isfinite(deaths) & (deaths > 0)]
    return float(scale_factor * np.median(deaths)) if deaths.size else 0.0


def betti_numbers(
    points: np.ndarray,
    *,
    scale_factor: float = DEFAULT_SCALE_FACTOR,
    max_points: int = DEFAULT_MAX_POINTS,
    min_component_fraction: float = DEFAULT_MIN_COMPONENT_FRACTION,
    seed: int = 0,
) -> np.ndarray:
    """(beta_0, beta_1) of one cloud at its own counting scale, as an int array of shape (2,).

    beta_0 counts the connected components at scale eps that hold at least `min_component_fraction` of the
    points (at least one point): a few stray tail samples are not a component of the class.
    """
    cloud = _prepare(points, max_points, seed)
    diagrams = _diagrams(cloud)
    eps = counting_scale(diagrams, scale_factor)
    if len(cloud) == 1:
        return np.array([1, 0])
    _, component = connected_components(squareform(pdist(cloud)) <= eps, directed=False)
    sizes = np.bincount(component)
    beta_0 = int(np.sum(sizes >= max(1.0, min_component_fraction * len(cloud))))
    beta_1 = int(np.sum((diagrams[1][:, 0] <= eps) & (diagrams[1][:, 1] > eps)))
    return np.array([beta_0, beta_1])


def class_betti_numbers(points: np.ndarray, labels: np.ndarray, **kwargs) -> np.ndarray:
    """(beta_0, beta_1) summed over classes, each class's samples its own cloud."""
    labels = np.asarray(labels)
    if len(labels) != len(points):
        raise ValueError(f"{len(points)} points but {len(labels)} labels")
    return np.sum([betti_numbers(points[labels == label], **kwargs) for label in np.unique(labels)], axis=0)


def betti_simplification(trajectory_totals: np.ndarray, base_totals: np.ndarray) -> float:
    """How closely and how monotonically a trajectory's Betti curve follows the base network's, in [0, 1].

    B_traj[s] (s = 0..S) and B_base[l] (l = 0..L) are beta_0 + beta_1 along the surrogate's trajectory and over
    the base network's layers, both put on a progress axis u = s/S and u = l/L. closeness = max(0, 1 - mean_s
    |B_traj[s] - B_base(s/S)| / max(B_base)), B_base linearly interpolated; monotonicity = 1 - (sum of increases
    of B_traj) / (sum of |changes| of B_traj), 1 when B_traj never changes. The score is their product.
    """
    trajectory = np.asarray(trajectory_totals, dtype=np.float64)
    base = np.asarray(base_totals, dtype=np.float64)
    for name, curve in (("trajectory_totals", trajectory), ("base_totals", base)):
        if curve.ndim != 1 or len(curve) < 2 or not np.isfinite(curve).all() or (curve < 0).any():
            raise ValueError(f"{name} must be a 1-D curve of >= 2 finite non-negative values, got {curve.tolist()}")
    if base.max() == 0:
        raise ValueError("base_totals are all zero: closeness is undefined")
    progress = np.linspace(0.0, 1.0, len(trajectory))
    interpolated = np.interp(progress, np.linspace(0.0, 1.0, len(base)), base)
    closeness = max(0.0, 1.0 - np.mean(np.abs(trajectory - interpolated)) / base.max())
    changes = np.diff(trajectory)
    total_change = np.abs(changes).sum()
    monotonicity = 1.0 if total_change == 0 else 1.0 - changes[changes > 0].sum() / total_change
    return float(closeness * monotonicity)
