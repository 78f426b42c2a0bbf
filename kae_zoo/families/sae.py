"""Sparse autoencoder (SAE) with a model-based encoder: unrolled ISTA tied to the decoder's dictionary.

x -> z = ISTA_T(x; D) -> x_hat = D z, with D (m, p) unit-norm columns (REFERENCE section 2). The encoder runs
T iterations z <- shrink(z + eta D^T (x - D z), eta * lambda) from z = 0, so encoder and decoder share D and the
whole network is trained on the lasso objective 1/2 ||x - D z||^2 + lambda ||z||_1. Backpropagating through the
unrolled iterations is what performs dictionary learning. `encoder="relu"` / `"topk"` swap in the classic
one-layer encoder z = f(E x + b) for comparison (REFERENCE: a one-layer encoder stays near recovery 0.06).
"""

from __future__ import annotations

from torch import Tensor

from ..core.types import DataSpec
from . import register_family
from .sparse_coding import VECTOR_SAE_PRESETS, SparseAEConfig, SparseCoder, SparseCodingAE


@register_family("sae")
class SparseAE(SparseCodingAE):
    """Sparse autoencoder: unrolled-ISTA encoder tied to a unit-norm dictionary (advance = identity)."""

    config_class = SparseAEConfig
    presets = VECTOR_SAE_PRESETS

    def __init__(self, config: SparseAEConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        self.coder = SparseCoder(config, spec.state_dim)

    def dictionary(self) -> Tensor:
        """The learned dictionary D: (state_dim, n_atoms), unit-norm columns (atoms)."""
        return self.coder.dictionary()

    def encode(self, x: Tensor) -> Tensor:
        return self.coder(x.flatten(1))
