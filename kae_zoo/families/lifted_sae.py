"""Lifted sparse autoencoder (L-SAE, arXiv 2509.03738): the SAE learned in a lifted space, projected back.

y = L x lifts a state (m) into q >= m dimensions; an SAE with a unit-norm lifted dictionary A (q, p) codes it,
z = ISTA_T(y; A); P (m, q) projects the lifted reconstruction back: x_hat = D_eff z with the effective
dictionary D_eff = P A, columns renormalised. Trained on 1/2 ||x - x_hat||^2 + lambda ||z||_1 in data space.

The gradient step on A is A <- A + eta P^T (x - P A z) z^T (REFERENCE section 2): P^T acts as a preconditioner
of the data-space update, D_eff <- D_eff + eta P P^T (x - D_eff z) z^T.
- lifting="orthogonal": L is a fixed buffer with orthonormal columns (L^T L = I) and P = L^T, so P P^T = I. The
  lifted dictionary starts at A = L D_0 (D_0 drawn exactly as `sae` draws its dictionary), and plain gradient
  steps keep A in the range of L, where A^T A = D^T D and P A = D: the codes and dictionary updates are the plain
  SAE's. Adam (the shared trainer's optimiser) scales coordinates separately and is not rotation-equivariant, so
  under Adam the two differ.
- lifting="learned": L and P are parameters, starting at the orthogonal pair; nothing keeps them orthogonal.
Renormalising D_eff stops the scale exchange a free P would allow (P -> c P, codes -> codes / c lowers the L1 term).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from ..core.types import DataSpec
from . import register_family
from .sparse_coding import VECTOR_SAE_PRESETS, SparseAEConfig, SparseCoder, SparseCodingAE, unit_columns


@dataclass(frozen=True)
class LiftedSAEConfig(SparseAEConfig):
    """SAE hyperparameters plus the lifting."""

    lifted_dim: int = 100  # q >= state dim; 100 = p on sparse_vec, room for p mutually orthogonal lifted atoms
    lifting: Literal["orthogonal", "learned"] = "learned"  # orthogonal: fixed L, P = L^T; learned: L, P trained

    def validate(self) -> None:
        super().validate()
        if self.lifted_dim < 1:
            raise ValueError(f"lifted_dim must be >= 1, got {self.lifted_dim}")
        if self.lifting not in ("orthogonal", "learned"):
            raise ValueError(f"lifting {self.lifting!r} is not one of 'orthogonal', 'learned'")


def orthonormal_columns(n_rows: int, n_columns: int) -> Tensor:
    """A random (n_rows, n_columns) matrix L with L^T L = I (QR of a Gaussian matrix), n_rows >= n_columns."""
    return torch.linalg.qr(torch.randn(n_rows, n_columns)).Q


@register_family("lifted_sae")
class LiftedSparseAE(SparseCodingAE):
    """Lifted SAE: lift with L, unrolled-ISTA SAE in the lifted space, project back with P."""

    config_class = LiftedSAEConfig
    presets = VECTOR_SAE_PRESETS

    def __init__(self, config: LiftedSAEConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        if config.lifted_dim < spec.state_dim:
            raise ValueError(f"lifted_dim {config.lifted_dim} must be >= the state dim {spec.state_dim}")
        initial_dictionary = torch.randn(spec.state_dim, config.n_atoms)  # drawn first, as `sae` draws its own
        lifting = orthonormal_columns(config.lifted_dim, spec.state_dim)  # (q, m)
        if config.lifting == "orthogonal":
            self.register_buffer("lifting", lifting)
            self.projection = None  # P = L^T
        else:
            self.lifting = nn.Parameter(lifting)
            self.projection = nn.Parameter(lifting.T.clone())  # (m, q)
        self.coder = SparseCoder(config, config.lifted_dim, initial_weight=lifting @ initial_dictionary)

    def project(self) -> Tensor:
        """P, (state_dim, lifted_dim)."""
        return self.lifting.T if self.projection is None else self.projection

    def dictionary(self) -> Tensor:
        """The effective data-space dictionary P A with unit-norm columns: (state_dim, n_atoms)."""
        return unit_columns(self.project() @ self.coder.dictionary())

    def encode(self, x: Tensor) -> Tensor:
        return self.coder(x.flatten(1) @ self.lifting.T)  # codes of y = L x
