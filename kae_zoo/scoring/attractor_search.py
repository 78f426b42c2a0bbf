"""Attractors of a latent map f: iterate to convergence, merge end points, Jacobians and trajectory distances.

Pure torch, independent of any model: `latent_map` is any function (batch, d) -> (batch, d), e.g. a trained
autoencoder's f(z) = E(D(z)) (REFERENCE section 3, arXiv 2505.22785).

Stopping rule (the paper's): iterate z_{k+1} = f(z_k) and stop a start at the first k >= 1 with
||z_k - z_{k-1}||^2 < tolerance, i.e. ||f(z_{t+1}) - f(z_t)||^2 < tolerance with z_{t+1} = f(z_t); its end point
is z_k and k is its number of steps. A start that has not stopped after `max_steps` map applications has not
converged (n_steps = max_steps). A start whose iterate becomes NaN or infinite stops at once, not converged, and
keeps its last finite iterate. Each start stops on its own: converged starts are not iterated further.

Merging rule (the paper's): two end points are the same attractor when their cosine similarity exceeds
`cosine_threshold` (0.99); `distance_threshold` > 0 also merges end points that close in Euclidean distance,
which cosine similarity cannot do for fixed points at or near the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import torch
from torch import Tensor

from ..core.logs import progress_bar

LatentMap = Callable[[Tensor], Tensor]
SetDistance = Literal["nearest", "mean"]


@dataclass(frozen=True)
class IterationResult:
    """Where each start of `iterate_to_convergence` ended and how it got there."""

    end_points: Tensor  # (n, d): the last iterate z_T of each start
    n_steps: Tensor  # (n,) int64: T, map applications made (max_steps when the rule never held)
    converged: Tensor  # (n,) bool: the stopping rule held within max_steps
    path_mean: Tensor | None  # (n,) mean of path_function over z_0, ..., z_T; None without a path_function


@torch.no_grad()
def iterate_to_convergence(
    latent_map: LatentMap,
    starts: Tensor,
    *,
    tolerance: float = 1e-6,
    max_steps: int = 3000,
    path_function: Callable[[Tensor], Tensor] | None = None,
    progress: bool = False,
) -> IterationResult:
    """Iterate `latent_map` from every row of `starts` until the stopping rule (module docstring) holds.

    path_function: (m, d) -> (m,), evaluated at every iterate z_0 .. z_T of every start; its per-start mean is
    returned (e.g. the distance to a set of attractors, for the trajectory OOD score).
    """
    if tolerance <= 0 or max_steps < 1:
        raise ValueError(f"tolerance must be > 0 and max_steps >= 1, got {tolerance} and {max_steps}")
    if starts.ndim != 2:
        raise ValueError(f"starts must be (n, d), got shape {tuple(starts.shape)}")
    current = starts.clone()
    n_starts = len(starts)
    n_steps = torch.full((n_starts,), max_steps, dtype=torch.long, device=starts.device)
    converged = torch.zeros(n_starts, dtype=torch.bool, device=starts.device)
    path_sum = path_function(current).double() if path_function is not None else None
    active = torch.arange(n_starts, device=starts.device)
    for step in progress_bar(range(1, max_steps + 1), description="attractor search", enabled=progress,
                             leave=False):
        if len(active) == 0:
            break
        previous = current[active]
        following = latent_map(previous)
        finite = torch.isfinite(following).all(dim=1)
        moved = (following - previous).pow(2).sum(dim=1)
        stopped = finite & (moved < tolerance)
        current[active[finite]] = following[finite]
        if path_sum is not None and finite.any():
            path_sum[active[finite]] += path_function(following[finite]).double()
        n_steps[active[stopped]] = step
        converged[active[stopped]] = True
        n_steps[active[~finite]] = step - 1  # diverged: the last finite iterate was z_{step-1}
        active = active[finite & ~stopped]
    path_mean = None if path_sum is None else path_sum / (n_steps + 1).double()
    return IterationResult(current, n_steps, converged, path_mean)


def cosine_similarities(points: Tensor, references: Tensor) -> Tensor:
    """cos(a, b) for every row a of `points` and b of `references`: (n, m); 0 where either vector is zero."""
    point_norms = points.norm(dim=1, keepdim=True)
    reference_norms = references.norm(dim=1, keepdim=True)
    inner = points @ references.T
    denominator = point_norms * reference_norms.T
    return torch.where(denominator > 0, inner / denominator.clamp_min(torch.finfo(inner.dtype).tiny), 0.0)


def merge_end_points(
    points: Tensor, cosine_threshold: float = 0.99, distance_threshold: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Group end points into attractors by leader clustering; returns (attractors (k, d), labels (n,)).

    Points are visited in order; a point joins the most cosine-similar existing attractor whose similarity is
    > cosine_threshold (or, failing that, the nearest one within distance_threshold); otherwise it founds a new
    attractor and is its representative. Representatives are actual end points, so they are (near) fixed points.
    Deterministic for a given order; the order only matters when a point is within the threshold of two
    attractors that are not within it of each other.
    """
    if not -1 <= cosine_threshold <= 1 or distance_threshold < 0:
        raise ValueError(f"cosine_threshold must be in [-1, 1] and distance_threshold >= 0, got "
                         f"{cosine_threshold} and {distance_threshold}")
    if points.ndim != 2:
        raise ValueError(f"points must be (n, d), got shape {tuple(points.shape)}")
    labels = torch.empty(len(points), dtype=torch.long, device=points.device)
    leaders: list[int] = []
    for index in range(len(points)):
        point = points[index : index + 1]
        if leaders:
            representatives = points[leaders]
            cosines = cosine_similarities(point, representatives)[0]
            best = int(cosines.argmax())
            if cosines[best] > cosine_threshold:
                labels[index] = best
                continue
            distances = torch.cdist(point, representatives)[0]
            nearest = int(distances.argmin())
            if distances[nearest] <= distance_threshold:
                labels[index] = nearest
                continue
        labels[index] = len(leaders)
        leaders.append(index)
    return points[leaders], labels


def distance_to_set(points: Tensor, references: Tensor, reduction: SetDistance = "nearest") -> Tensor:
    """Euclidean distance of each point to the set `references`: to its nearest member, or the mean over members."""
    if len(references) == 0:
        raise ValueError("the reference set is empty: the distance to it is undefined")
    distances = torch.cdist(points, references)
    if reduction == "nearest":
        return distances.min(dim=1).values
    if reduction == "mean":
        return distances.mean(dim=1)
    raise ValueError(f"reduction {reduction!r} is not one of 'nearest', 'mean'")


def trajectory_distances(
    latent_map: LatentMap,
    starts: Tensor,
    attractors: Tensor,
    *,
    tolerance: float = 1e-6,
    max_steps: int = 3000,
    reduction: SetDistance = "nearest",
) -> Tensor:
    """The trajectory OOD score of each start: mean over z_0, ..., z_T of its distance to the attractor set."""
    if len(attractors) == 0:
        raise ValueError("no attractors: the trajectory score needs at least one")
    result = iterate_to_convergence(latent_map, starts, tolerance=tolerance, max_steps=max_steps,
                                    path_function=lambda z: distance_to_set(z, attractors, reduction))
    return result.path_mean


def jacobians(latent_map: LatentMap, points: Tensor, chunk_size: int | None = None) -> Tensor:
    """Jacobian of `latent_map` at each row of `points`: (k, d, d), entry [i, a, b] = d f_a / d z_b at point i.

    chunk_size: points per vectorised chunk (None: all at once), to bound memory for large models.
    """

    def single(z: Tensor) -> Tensor:
        return latent_map(z.unsqueeze(0)).squeeze(0)

    return torch.func.vmap(torch.func.jacrev(single), chunk_size=chunk_size)(points)
