"""Koopman peer `dmd`: dynamic mode decomposition (Schmid 2010, J. Fluid Mech. 656) of a layer-to-layer map.

DMD fits one linear map between consecutive snapshots in the rank-r principal coordinates of the first ones:
K = U_r^T Y V_r S_r^-1 for X = U S V^T. Here the snapshots are a base network's layer-i states (source) and
layer-j states (target), encoded with the same coordinates (the Koopman AE's shared encoder):

    z(x) = [(x - mu) V_r, 1]        (r PCA coordinates of the source layer, fitted on the training split, and 1)

The constant coordinate makes K affine: its last column moves the mean from the source layer to the target layer
(centring by the source mean alone would force the predicted target mean onto the source mean; the tasks centre
each layer on its training mean, but a layer's test mean, or a user's uncentred data, need not be). Its row of K is
set to (0, ..., 0, 1) exactly (the ridge would shrink it by 1 / (1 + alpha)), so the constant stays 1 along the
whole path K^t and K has the eigenvalue 1 of the affine part.
K is kooplearn's `Ridge` with reduced_rank=False, principal-component regression, which on these uncorrelated
coordinates is the least-squares (DMD) estimator; `ridge` is its small Tikhonov term. decode(z) = z[:r] V_r^T + mu.
Fractional steps and edits: `kae_zoo.families.fitted_koopman`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..core.types import DataSpec
from . import register_family
from .fitted_koopman import FittedKoopman, FittedKoopmanConfig, random_orthogonal


@dataclass(frozen=True)
class DMDConfig(FittedKoopmanConfig):
    """DMD settings: `rank` is r, the number of principal coordinates of the source layer (None = the state
    dimension: plain least squares)."""


@register_family("dmd")
class DMD(FittedKoopman):
    """Principal coordinates of the source layer plus a constant -> affine K -> back to states."""

    config_class = DMDConfig
    presets = {"smoke": {}, "default": {}, "paper": {}}  # closed form: the preset changes nothing but the data

    def __init__(self, config: DMDConfig, spec: DataSpec) -> None:
        rank = spec.state_dim if config.rank is None else config.rank
        if rank > spec.state_dim:
            raise ValueError(f"dmd rank {rank} exceeds the state dimension {spec.state_dim}; valid: 1 to "
                             f"{spec.state_dim} or null")
        super().__init__(config, spec, rank + 1)
        self.mean = nn.Parameter(torch.zeros(spec.state_dim))  # mu, the training source mean
        self.basis = nn.Parameter(random_orthogonal(spec.state_dim)[:, :rank])  # V_r (d, r), orthonormal columns
        with torch.no_grad():  # unfitted: a random rotation of the coordinates, the constant kept
            self.koopman_operator[rank] = 0.0
            self.koopman_operator[:, rank] = 0.0
            self.koopman_operator[rank, rank] = 1.0

    @property
    def rank(self) -> int:
        return self.basis.shape[1]

    @property
    def operator_rank(self) -> None:
        """Every coordinate: the rank r is the PCA's, and the r + 1 coordinates are uncorrelated."""
        return None

    def encode(self, x: Tensor) -> Tensor:
        coordinates = (x.flatten(1) - self.mean) @ self.basis  # (batch, r)
        return torch.cat([coordinates, coordinates.new_ones(len(coordinates), 1)], dim=1)  # (batch, r + 1)

    def decode(self, z: Tensor) -> Tensor:
        return (z[:, :self.rank] @ self.basis.T + self.mean).reshape(z.shape[0], *self.spec.state_shape)

    def fit_observables(self, source: Tensor, target: Tensor, seed: int) -> None:
        """mu and V_r: the mean and top-r right singular vectors of the centred training sources (float64)."""
        source = source.double()
        mean = source.mean(dim=0)
        _, _, right = torch.linalg.svd(source - mean, full_matrices=False)  # right: (min(n, d), d)
        basis = right[:self.rank].T  # (d, r)
        if basis.shape[1] < self.rank:
            raise ValueError(f"dmd rank {self.rank} exceeds the {len(source)} training samples; lower rank")
        self.mean.copy_(mean)
        self.basis.copy_(basis)

    def fit_readout(self, source: Tensor, target: Tensor) -> None:
        """The read-out is V_r^T itself; only the constant's row of K is made exact (module docstring)."""
        self.koopman_operator[self.rank] = 0.0
        self.koopman_operator[self.rank, self.rank] = 1.0
