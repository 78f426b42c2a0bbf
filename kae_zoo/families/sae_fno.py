"""SAE neural operator (SAE-FNO, arXiv 2509.03738): a convolutional SAE whose atoms live in Fourier space.

The decoder is neuraloperator's `SpectralConv(n_atoms -> 1)`: its complex weight c_k[m] holds the Fourier
coefficients of atom k, so x_hat(u) = sum_k (h_k (*) z_k)(u) with h_k(u) = sum_m c_k[m] e^{2 pi i m u}. The
encoder is unrolled ISTA tied to it, with the adjoint (cross-correlation: conj(c_k) times the residual's
spectrum) computed from the same weight. Atoms are scaled to unit norm on the training grid.

Because the atoms are functions (Fourier series), the model runs natively on any grid (capability
`grid_invariant`): a code
entry is an event's amplitude at a grid point, and `conv_coding` explains how ISTA's threshold follows the grid.
`modes="truncated"` keeps n_modes // 2 + 1 frequencies (neuraloperator's convention for real signals), which
favours smooth concepts; `modes="all"` keeps every frequency of the training grid (n_grid // 2 + 1) and learns
like the SAE-CNN with a receptive field of the whole domain (REFERENCE section 2).

On a grid too coarse for the kept frequencies (n // 2 + 1 below them), neuraloperator 2.0's SpectralConv uses
only the lowest n // 2 + 1 coefficients (tested in tests/test_sae_conv.py); the adjoint and the step size clamp
the same way, so coarse grids see the atoms low-pass filtered to what the grid can represent.

neuraloperator is imported inside the constructor: importing it changes global state (tensorly backend,
warnings filters), which must not happen just because the registry loaded this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ..core.capabilities import CODES, DICTIONARY, GRID_INVARIANT
from ..core.types import DataSpec
from . import register_family
from .conv_coding import ConvSAEConfig, ConvSparseAE


@dataclass(frozen=True)
class ConvSAEFNOConfig(ConvSAEConfig):
    """Convolutional SAE hyperparameters with Fourier-parameterised atoms."""

    # truncated: n_modes // 2 + 1 lowest frequencies; all: every frequency of the training grid (n_grid // 2 + 1)
    modes: Literal["truncated", "all"] = "truncated"
    # neuraloperator's n_modes (modes="truncated"); 32 keeps frequencies 0..16, where sparse_fn's narrowest
    # Gaussian is down to 1 % of its peak, so every smooth kernel is representable; the boxes are not
    n_modes: int = 32

    def validate(self) -> None:
        super().validate()
        if self.modes not in ("truncated", "all"):
            raise ValueError(f"modes {self.modes!r} is not one of 'truncated', 'all'")
        if self.n_modes < 1:
            raise ValueError(f"n_modes must be >= 1, got {self.n_modes}")


@register_family("sae_fno")
class ConvSAEFNO(ConvSparseAE):
    """SAE-FNO: unrolled-ISTA encoder tied to a SpectralConv decoder whose weights are the atoms' spectra."""

    config_class = ConvSAEFNOConfig
    # runs natively on any grid (module docstring)
    capabilities = frozenset({DICTIONARY, CODES, GRID_INVARIANT})

    def __init__(self, config: ConvSAEFNOConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        from neuralop.layers.spectral_convolution import SpectralConv  # lazy: the import changes global state

        n_modes = self.n_grid if config.modes == "all" else config.n_modes
        if n_modes // 2 + 1 > self.n_grid // 2 + 1:
            raise ValueError(f"n_modes {n_modes} keeps more frequencies than the training grid of {self.n_grid} "
                             f"points has; use at most {self.n_grid} (or modes='all')")
        self.spectral = SpectralConv(config.n_atoms, 1, n_modes=(n_modes,), bias=False)

    def coefficients(self, n_points: int | None = None) -> Tensor:
        """The atoms' Fourier coefficients c_k[m] (n_atoms, n_kept), clamped to what an n-point grid holds."""
        weight = self.spectral.weight.to_tensor()[:, 0]  # (n_atoms, frequencies)
        return weight if n_points is None else weight[:, : n_points // 2 + 1]

    def atom_norms(self) -> Tensor:
        """L2 norms of the raw atoms on the training grid: (n_atoms,)."""
        return self.raw_atoms(self.n_grid).norm(dim=0)

    def raw_atoms(self, n_points: int) -> Tensor:
        """The atoms before normalisation, point-sampled on an n-point grid: (n_points, n_atoms)."""
        return torch.fft.irfft(self.coefficients(n_points), n=n_points, norm="forward").T

    def dictionary(self) -> Tensor:
        """The atoms on the training grid, (n_grid, n_atoms), unit-norm columns, centred at u = 0."""
        atoms = self.raw_atoms(self.n_grid)
        return atoms / atoms.norm(dim=0)

    def synthesize(self, codes: Tensor) -> Tensor:
        # SpectralConv (fft_norm="forward") divides the codes' DFT by n; times n it is the circular convolution
        # of each code map with its atom point-sampled on this grid, summed over atoms
        return codes.shape[-1] * self.spectral(codes / self.atom_norms()[:, None])

    def atom_spectra(self, n_points: int) -> Tensor:
        return (n_points * self.coefficients(n_points) / self.atom_norms()[:, None]).T
