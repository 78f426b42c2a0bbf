"""Convolutional sparse coding shared by the function-space SAEs (`sae_cnn`, `sae_fno`).

A state is a periodic signal x (1 channel, n grid points); its code is a map z (n_atoms channels, n points) and
the decoder is circular convolution with unit-norm atoms: x_hat = D z = sum_k h_k (*) z_k. The encoder is the
unrolled ISTA of `sparse_coding`, with D and its adjoint D^T (circular cross-correlation) as products per
frequency in the Fourier domain instead of a matrix, so encoder and decoder share the atoms. Families fill in how D
and the atoms' spectra on a grid are computed (a 1-D convolution for the CNN, Fourier-parameterised atoms for the
FNO).

Grids: the lasso objective trained on is 1/2 ||x - D z||^2 + lambda ||z||_1 at the training grid n0. On
another grid n, a code entry is the mass of an event (its amplitude), so the same function needs the squared
error weighted by n0 / n (a Riemann sum of the same integral): ISTA then runs with eta = 1 / ||D_n||^2 and the
threshold eta * lambda * n / n0, which makes its iterates discretisations of one grid-independent iteration
(identical to training at n = n0).

Solver and gradient. Convolutional lasso problems are badly conditioned: wide smooth atoms overlap at low
frequencies, so 1 / eta = ||D||^2 is ~70 for sparse_fn's Gaussians on 128 points while narrow atoms barely move per
step. Five ISTA steps leave the codes dense (L0 ~160 where the converged code has ~7) and the reconstruction far
from the lasso optimum, so the default presets solve the codes with FISTA (Beck & Teboulle 2009), which
converges at O(1/k^2) instead of O(1/k), for 50 iterations. Backpropagating through 50 iterations costs ~13x the
forward pass on CPU; with `code_gradient="detached"` the codes are computed without a graph and the dictionary
gets the gradient of the lasso objective at those codes, which at the lasso optimum is the exact gradient of
min_z F(z; D) (the envelope theorem; the estimator analysed in Tolooshams & Ba 2022, "Stable and interpretable
unrolled dictionary learning"), and is the update D <- D + eta (x - D z) z^T of REFERENCE section 2.
`code_gradient="unrolled"` backpropagates through every iteration as the vector SAEs do.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from ..core.types import DataSpec
from .sparse_coding import SparseAEConfig, SparseCodingAE


@dataclass(frozen=True)
class ConvSAEConfig(SparseAEConfig):
    """SAE hyperparameters for code maps on a grid (the encoder is always unrolled ISTA)."""

    n_atoms: int = 12  # code channels; twice sparse_fn's 6 kernels (overcomplete eases convolutional learning)
    # lambda; sparse_vec's 0.3 scaled by the code amplitudes: unit-norm atoms on a 128-point grid carry events
    # of amplitude |a| * sqrt(128) ~ 11 |a|, so 3.0 keeps sparse_vec's ratio of threshold to amplitude
    sparsity_weight: float = 3.0
    solver: Literal["ista", "fista"] = "ista"  # the iteration run n_ista_steps times (module docstring)
    code_gradient: Literal["unrolled", "detached"] = "unrolled"  # backprop through the solver, or codes as constants

    def validate(self) -> None:
        super().validate()
        if self.encoder != "ista":
            raise ValueError(f"convolutional SAEs have only the unrolled ISTA encoder; got encoder={self.encoder!r}")
        if self.solver not in ("ista", "fista"):
            raise ValueError(f"solver {self.solver!r} is not one of 'ista', 'fista'")
        if self.code_gradient not in ("unrolled", "detached"):
            raise ValueError(f"code_gradient {self.code_gradient!r} is not one of 'unrolled', 'detached'")


def circular_step_size(spectra: Tensor) -> Tensor:
    """1 / ||D||_2^2 for circular convolution with atoms whose DFTs are the columns of `spectra` (bins, n_atoms).

    D D^T is a circular convolution whose eigenvalues are sum_k |DFT(h_k)|^2 per frequency; no gradient.
    """
    return 1.0 / spectra.detach().abs().pow(2).sum(dim=1).max()


def circular_synthesis(codes: Tensor, spectra: Tensor) -> Tensor:
    """sum_k h_k (*) z_k by FFT: code maps (batch, n_atoms, n), atom DFTs (kept, n_atoms) -> (batch, 1, n).

    `kept` <= n // 2 + 1 frequencies; the rest are zero. Same as a circular conv1d, much faster for wide atoms.
    """
    n_points, kept = codes.shape[-1], spectra.shape[0]
    spectrum = (torch.fft.rfft(codes, dim=-1)[..., :kept] * spectra.T).sum(dim=1, keepdim=True)
    return torch.fft.irfft(spectrum, n=n_points)


def real_edge_bins(spectra: Tensor, n_points: int) -> Tensor:
    """Atom spectra (kept, n_atoms) with the imaginary parts that irfft discards dropped: the DC bin and, on an even
    grid that keeps every bin, the Nyquist bin. The convolution they define is unchanged (a code map's DFT is real
    there), and D z's spectrum is then that of a real signal, so the solver needs no projection per iteration."""
    edges = torch.zeros(spectra.shape[0], 1, dtype=torch.bool, device=spectra.device)
    edges[0] = True
    if n_points % 2 == 0 and spectra.shape[0] == n_points // 2 + 1:
        edges[-1] = True
    return torch.where(edges, spectra.real.to(spectra.dtype), spectra)


def spectral_ista(
    x: Tensor, spectra: Tensor, *, n_steps: int, step_size: float, threshold: float, accelerated: bool = False,
) -> Tensor:
    """`n_steps` ISTA iterations z <- shrink(z + eta D^T (x - D z), t) for the circular dictionary whose atoms have
    the DFTs `spectra` (kept, n_atoms), from z = 0: x (batch, 1, n) -> codes (batch, n_atoms, n).

    The gradient step is taken in the Fourier domain, where D and D^T are products per frequency; only the
    shrinkage needs the signal domain. Each iteration costs one rfft and one irfft of the code maps, with x's
    spectrum computed once (the same iterates as applying D and D^T by FFT each time, up to rounding). accelerated=True
    runs FISTA: the step is taken from y = z_k + (t_k - 1) / t_{k+1} (z_k - z_{k-1}), t_{k+1} = (1 + sqrt(1 +
    4 t_k^2)) / 2, t_1 = 1 (Beck & Teboulle 2009). Differentiable (code_gradient="unrolled" backpropagates it).
    """
    n_points, kept, n_atoms = x.shape[-1], spectra.shape[0], spectra.shape[1]
    atoms = real_edge_bins(spectra, n_points).T  # (n_atoms, kept)
    adjoint = step_size * atoms.conj()  # eta D^T per frequency
    signal_spectrum = torch.fft.rfft(x, dim=-1)[..., :kept]  # (batch, 1, kept)
    codes = x.new_zeros(x.shape[0], n_atoms, n_points)
    point, momentum = codes, 1.0
    for _ in range(n_steps):
        previous = codes
        spectrum = torch.fft.rfft(point, dim=-1)  # (batch, n_atoms, bins)
        low = spectrum[..., :kept]  # the frequencies the atoms have; the step leaves the others alone
        residual = signal_spectrum - (low * atoms).sum(dim=1, keepdim=True)  # x - D y, (batch, 1, kept)
        if torch.is_grad_enabled():  # unrolled: autograd keeps `low`, so the step goes into a new spectrum
            spectrum = torch.cat([low + adjoint * residual, spectrum[..., kept:]], dim=-1)
        else:
            low.addcmul_(adjoint, residual)  # y + eta D^T (x - D y), in place in the spectrum
        codes = torch.nn.functional.softshrink(torch.fft.irfft(spectrum, n=n_points), threshold)
        if accelerated:
            next_momentum = (1.0 + math.sqrt(1.0 + 4.0 * momentum**2)) / 2.0
            point = torch.lerp(previous, codes, 1.0 + (momentum - 1.0) / next_momentum)  # one fused pass
            momentum = next_momentum
        else:
            point = codes
    return codes


class ConvSparseAE(SparseCodingAE):
    """A sparse autoencoder whose codes are maps on the grid and whose decoder is a circular convolution.

    Latents are the code maps flattened: (batch, n_atoms * n_points). Subclasses implement `synthesize` (D, the
    decoder), `atom_spectra` (the encoder's D and D^T, and its step size) and `dictionary`.
    """

    config_class = ConvSAEConfig
    example_spec = DataSpec(state_shape=(1, 32), n_classes=0)
    # FISTA with detached codes (module docstring). 25 epochs = 1000 steps on the 20k-sample split: measured on
    # sparse_fn_smooth seed 0 (2000 steps), recovery stopped rising after ~600 (sae_cnn) and ~1000 (sae_fno) steps
    presets = {
        "smoke": {"n_epochs": 60, "solver": "fista", "n_ista_steps": 15, "code_gradient": "detached"},
        "default": {"n_epochs": 25, "solver": "fista", "n_ista_steps": 50, "code_gradient": "detached"},
        "paper": {"n_epochs": 25, "solver": "fista", "n_ista_steps": 50, "code_gradient": "detached"},
    }

    def __init__(self, config: ConvSAEConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        if len(spec.state_shape) != 2 or spec.state_shape[0] != 1:
            raise ValueError(f"{type(self).__name__} needs one-channel 1-D states (1, n_grid), got {spec.state_shape}")

    @property
    def n_grid(self) -> int:
        """The training grid's number of points."""
        return self.spec.state_shape[-1]

    @abstractmethod
    def synthesize(self, codes: Tensor) -> Tensor:
        """D z: code maps (batch, n_atoms, n) -> signals (batch, 1, n), atoms at unit norm on the training grid."""

    @abstractmethod
    def atom_spectra(self, n_points: int) -> Tensor:
        """Unnormalised DFTs of the unit-norm atoms placed on an n-point grid: (n_points // 2 + 1, n_atoms)."""

    def encode(self, x: Tensor) -> Tensor:
        config, n_points = self.config, x.shape[-1]
        scale = n_points / self.n_grid  # Riemann weight of the squared error on this grid (module docstring)
        spectra = self.atom_spectra(n_points)
        if config.step_size is None:
            step_size = float(circular_step_size(spectra))
        else:
            step_size = config.step_size / scale**2  # ||D_n||^2 grows like n^2 for a fixed function
        with torch.set_grad_enabled(torch.is_grad_enabled() and config.code_gradient == "unrolled"):
            codes = spectral_ista(x, spectra, n_steps=config.n_ista_steps, step_size=step_size,
                                  threshold=step_size * config.sparsity_weight * scale,
                                  accelerated=config.solver == "fista")
        return codes.flatten(1)  # (batch, n_atoms * n_points)

    def decode(self, z: Tensor) -> Tensor:
        return self.synthesize(z.reshape(z.shape[0], self.config.n_atoms, -1))  # (batch, n_atoms, n) -> (batch, 1, n)


__all__ = ["ConvSAEConfig", "ConvSparseAE", "circular_step_size", "circular_synthesis", "real_edge_bins",
           "spectral_ista"]
