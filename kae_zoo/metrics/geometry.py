"""Geometric scores: prediction error in state space and how well the latent space preserves distances."""

from __future__ import annotations

import numpy as np

from . import metric


@metric("state_error", "relative L2 error of the predicted target state", "1", higher_is_better=False)
def state_error(predicted: np.ndarray, target: np.ndarray) -> float:
    """||predicted - target||_F / ||target||_F over all samples, the states as the task gives them (mean-centred on
    the layer-pair tasks, not on the sparse and representation tasks: `explained_variance` is the centred score)."""
    predicted, target = np.asarray(predicted, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if predicted.shape != target.shape or predicted.size == 0:
        raise ValueError(f"predicted and target must be non-empty and of one shape, got {predicted.shape}, "
                         f"{target.shape}")
    norm = np.linalg.norm(target)
    if norm == 0:
        raise ValueError("target is all zeros: the relative error is undefined")
    return float(np.linalg.norm(predicted - target) / norm)


@metric("isometry_error", "normalised pairwise-distance distortion between state and latent space", "1",
        higher_is_better=False)
def isometry_error(states: np.ndarray, latents: np.ndarray) -> float:
    """sqrt( sum_{a<b} (|z_a - z_b| - |x_a - x_b|)^2 / sum_{a<b} |x_a - x_b|^2 ).

    Zero exactly when the encoder preserves every pairwise distance (an isometry); 1 when it maps every
    point to one place. Not scale-invariant on purpose: the KAE's isometry loss asks for equal distances.
    """
    states = np.asarray(states, dtype=np.float64).reshape(len(states), -1)
    latents = np.asarray(latents, dtype=np.float64).reshape(len(latents), -1)
    if len(states) != len(latents) or len(states) < 2:
        raise ValueError(f"need at least 2 paired points, got {len(states)} states and {len(latents)} latents")
    from scipy.spatial.distance import pdist  # on use: keeps CLI start-up fast
    state_distances, latent_distances = pdist(states), pdist(latents)
    denominator = np.sum(state_distances**2)
    if denominator == 0:
        raise ValueError("all states are identical: the distortion is undefined")
    return float(np.sqrt(np.sum((latent_distances - state_distances) ** 2) / denominator))
