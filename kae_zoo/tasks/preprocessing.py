"""Per-layer preprocessing of base-network representations (KAE paper) and its exact inverse.

For each layer: mean-centre, project on the top `n_components` principal axes, scale so that the training
cloud has Frobenius norm `frobenius_norm`, and rotate (orthogonal Procrustes) onto the last layer's
coordinates so that every layer lives in one frame. All statistics are fitted on the training split only.
The inverse maps a surrogate's prediction back to the layer's raw coordinates for the base network's head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerTransform:
    """Affine map raw layer state -> preprocessed state: ((h - mean) @ components.T) * scale @ rotation."""

    mean: np.ndarray  # (width,)
    components: np.ndarray  # (n_components, width), orthonormal rows
    scale: float
    rotation: np.ndarray  # (n_components, n_components), orthogonal

    def apply(self, states: np.ndarray) -> np.ndarray:
        return (((states - self.mean) @ self.components.T) * self.scale) @ self.rotation

    def inverse(self, states: np.ndarray) -> np.ndarray:
        """Back to raw coordinates; exact when n_components equals the layer width."""
        return ((states @ self.rotation.T) / self.scale) @ self.components + self.mean


def fit_pca(states: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top principal axes (rows) of `states`, with a deterministic sign per axis."""
    if not 1 <= n_components <= states.shape[1]:
        raise ValueError(f"n_components must be in [1, {states.shape[1]}], got {n_components}")
    mean = states.mean(axis=0)
    _, _, right = np.linalg.svd(states - mean, full_matrices=False)
    components = right[:n_components]
    # SVD signs are arbitrary: make the largest-magnitude entry of each axis positive, for reproducibility.
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    return mean, components * signs[:, None]


def fit_layer_transforms(
    train_layers: list[np.ndarray], n_components: int, frobenius_norm: float = 100.0
) -> list[LayerTransform]:
    """One LayerTransform per layer, fitted on training states and Procrustes-aligned to the last layer."""
    if frobenius_norm <= 0:
        raise ValueError(f"frobenius_norm must be > 0, got {frobenius_norm}")
    unrotated = []
    for states in train_layers:
        states = states.astype(np.float64)
        mean, components = fit_pca(states, min(n_components, states.shape[1]))
        projected = (states - mean) @ components.T
        norm = np.linalg.norm(projected)
        scale = frobenius_norm / norm if norm > 0 else 1.0
        unrotated.append((mean, components, scale, projected * scale))
    reference = unrotated[-1][3]
    transforms = []
    for index, (mean, components, scale, scaled) in enumerate(unrotated):
        if index == len(unrotated) - 1 or scaled.shape[1] != reference.shape[1]:
            rotation = np.eye(scaled.shape[1])
        else:
            from scipy.linalg import orthogonal_procrustes  # on use: keeps CLI start-up fast
            rotation, _ = orthogonal_procrustes(scaled, reference)
        transforms.append(LayerTransform(mean, components, float(scale), rotation))
    return transforms
