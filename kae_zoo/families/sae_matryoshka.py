"""Field baseline `sae_matryoshka`: the Matryoshka sparse autoencoder of Bussmann et al. (2025), "Learning
Multi-Level Features with Matryoshka Sparse Autoencoders", arXiv 2503.17547 (also Nabeshima 2024).

The dictionary's latents are ordered and nested prefixes m_1 < m_2 < ... < m_n = n_atoms each have to reconstruct
x on their own:

    loss = sum_i ||x - (z[:, :m_i] D[:, :m_i]^T + b_dec)||^2 + aux_weight * AuxK

with z from the BatchTopK rule (as in the paper; the threshold at inference as in `sae_batchtopk`), so the early
latents learn the general features and later ones refine them. AuxK is kept, as the paper's code keeps it, on the
full reconstruction's residual. The prefixes are given as fractions of n_atoms (each rounded to a whole number of
latents, at least one). Loss normalisation: each prefix's squared error summed over dimensions and averaged over
the batch, the terms summed with equal weights (`linear_sae`).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..core.types import DataSpec
from . import register_family
from .linear_sae import TOP_K_TASK_PRESETS, squared_error
from .sae_batchtopk import BatchTopKActivation, BatchTopKSAEConfig
from .sae_topk import TOP_K_PRESETS


@dataclass(frozen=True)
class MatryoshkaSAEConfig(BatchTopKSAEConfig):
    """BatchTopK's fields plus the nested prefixes."""

    # m_i / n_atoms, strictly increasing, the last 1 (the whole dictionary); the paper's nesting doubles each level
    prefix_fractions: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix_fractions", tuple(float(fraction) for fraction in self.prefix_fractions))

    def validate(self) -> None:
        super().validate()
        fractions = self.prefix_fractions
        if (not fractions or fractions[-1] != 1.0 or fractions[0] <= 0
                or any(later <= earlier for earlier, later in zip(fractions, fractions[1:]))):
            raise ValueError(f"prefix_fractions must increase strictly from > 0 to 1.0, got {list(fractions)}")
        sizes = prefix_sizes(self.n_atoms, fractions)
        if len(set(sizes)) < len(sizes):
            raise ValueError(f"prefix_fractions {list(fractions)} give repeated prefix sizes {sizes} of n_atoms = "
                             f"{self.n_atoms}; use fewer prefixes or more atoms")


def prefix_sizes(n_atoms: int, fractions: tuple[float, ...]) -> tuple[int, ...]:
    """m_i = round(fraction_i * n_atoms), at least 1."""
    return tuple(max(1, round(fraction * n_atoms)) for fraction in fractions)


@register_family("sae_matryoshka")
class MatryoshkaSAE(BatchTopKActivation):
    """Matryoshka SAE (Bussmann et al. 2025): BatchTopK codes, every nested prefix of the dictionary reconstructs."""

    config_class = MatryoshkaSAEConfig
    presets = TOP_K_PRESETS
    task_presets = TOP_K_TASK_PRESETS

    def __init__(self, config: MatryoshkaSAEConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        self.prefix_sizes = prefix_sizes(config.n_atoms, config.prefix_fractions)

    def reconstruction_error(self, x: Tensor, codes: Tensor, reconstruction: Tensor) -> Tensor:
        """sum_i ||x - (z[:, :m_i] D[:, :m_i]^T + b_dec)||^2 over the prefixes (the last is `reconstruction`).

        Each prefix multiplies only its own m_i columns of D (formed once), and the whole dictionary's term reuses
        `reconstruction`: the same sum as decoding z with the latents past m_i zeroed, with 175 of 800 columns'
        products left on sparse_vec (prefixes 25, 50, 100, 200)."""
        dictionary = self.dictionary()
        errors = [squared_error(x, (codes[:, :size] @ dictionary[:, :size].T + self.decoder_bias).reshape(x.shape))
                  for size in self.prefix_sizes[:-1]]
        return sum(errors) + squared_error(x, reconstruction)
