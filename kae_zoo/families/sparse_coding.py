"""Sparse coding shared by the sparse families: shrinkage, unrolled ISTA, a unit-norm dictionary, the lasso loss,
and `SparseCodingAE`, the base class that gives every sparse family the same latent dynamics (none) and loss.

Convention: states are rows, atoms are columns. A dictionary D is (input_dim, n_atoms); a code batch z is
(batch, n_atoms) and its reconstruction is z D^T. The training objective is the lasso objective that ISTA
minimises, per sample and averaged over the batch:

    F(z; D) = 1/2 ||x - D z||^2 + lambda ||z||_1

so lambda means the same thing in the encoder's threshold (eta * lambda) and in the loss.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from torch import Tensor, nn
from torch.nn import functional

from ..core.capabilities import CODES, DICTIONARY
from ..core.config import TrainingConfig
from ..core.surrogate import Surrogate
from ..core.types import Batch, DataSpec

Encoder = Literal["ista", "relu", "topk"]


@dataclass(frozen=True)
class SparseAEConfig(TrainingConfig):
    """Sparse autoencoder hyperparameters; the defaults are REFERENCE section 2's planning measurement.

    That measurement (m = 50, p = 100, s = 5, 20k samples, batch 512, Adam lr 5e-3, lambda 0.3) recovered the
    dictionary to 0.89 with 5 unrolled ISTA steps and 0.98 with 15 after 6000 steps; 150 epochs of 20000
    samples at batch 512 are 6000 steps.
    """

    n_atoms: int = 100  # p, dictionary size (the true p of sparse_vec)
    encoder: Encoder = "ista"  # ista: unrolled ISTA tied to the dictionary; relu / topk: one untied linear layer
    n_ista_steps: int = 5  # unrolled ISTA iterations (encoder="ista")
    sparsity_weight: float = 0.3  # lambda: L1 weight in the loss and, times eta, the ISTA threshold
    # eta of ISTA; None = 1 / ||D||_2^2 of the current dictionary (detached), the largest step with guaranteed descent
    step_size: float | None = None
    n_kept: int = 5  # encoder="topk": code entries kept per sample (the true s of sparse_vec)
    learning_rate: float = 5e-3
    weight_decay: float = 0.0  # plain Adam, as measured; decay on W (D = W / ||W||) would only rescale the steps
    batch_size: int = 512
    n_epochs: int = 150

    def validate(self) -> None:
        super().validate()
        if self.n_atoms < 1 or self.n_ista_steps < 1 or self.n_kept < 1:
            raise ValueError(f"n_atoms, n_ista_steps and n_kept must be >= 1, got {self.n_atoms}, "
                             f"{self.n_ista_steps}, {self.n_kept}")
        if self.n_kept > self.n_atoms:
            raise ValueError(f"n_kept must be <= n_atoms = {self.n_atoms}, got {self.n_kept}")
        if self.sparsity_weight < 0 or (self.step_size is not None and self.step_size <= 0):
            raise ValueError(f"sparsity_weight must be >= 0 and step_size > 0 (or None), got "
                             f"{self.sparsity_weight}, {self.step_size}")
        if self.encoder not in ("ista", "relu", "topk"):
            raise ValueError(f"encoder {self.encoder!r} is not one of 'ista', 'relu', 'topk'")


def soft_threshold(values: Tensor, threshold: float | Tensor) -> Tensor:
    """sign(v) * max(|v| - threshold, 0): keeps signs, so codes with random-sign amplitudes are representable.

    Computed as v - clamp(v, -threshold, threshold): the same values and gradients in two elementwise passes instead
    of four (the convolutional SAEs' FISTA encoders run 50 of these per forward pass: 10-16 % of its time)."""
    return values - torch.clamp(values, -threshold, threshold)


def top_k_magnitude(values: Tensor, n_kept: int) -> Tensor:
    """Keep the `n_kept` entries of largest |value| in each row (signs kept), zero the rest."""
    kept = values.abs().topk(n_kept, dim=1).indices
    return values * torch.zeros_like(values).scatter_(1, kept, 1.0)


def unit_columns(weight: Tensor) -> Tensor:
    """Columns scaled to unit L2 norm."""
    return weight / weight.norm(dim=0, keepdim=True)


def ista_step_size(dictionary: Tensor) -> Tensor:
    """1 / ||D||_2^2, the reciprocal Lipschitz constant of the gradient of 1/2 ||x - D z||^2 (no gradient)."""
    return 1.0 / torch.linalg.matrix_norm(dictionary.detach(), ord=2) ** 2


def shrinkage(threshold: float | Tensor) -> tuple[float | Tensor, Callable[[Tensor, float | Tensor], Tensor]]:
    """The threshold and the soft-thresholding function to apply it with: torch's fused `softshrink` (one pass forward
    and backward, the same values and gradients bit for bit) when the threshold is a number or a scalar tensor that
    needs no gradient (ISTA's eta * lambda: eta is detached), else `soft_threshold`."""
    if isinstance(threshold, Tensor):
        if threshold.requires_grad or threshold.numel() != 1:
            return threshold, soft_threshold
        threshold = float(threshold)
    return threshold, functional.softshrink


def ista(x: Tensor, dictionary: Tensor, *, n_steps: int, sparsity_weight: float, step_size: float | Tensor) -> Tensor:
    """`n_steps` ISTA iterations from z = 0: z <- shrink(z + eta D^T (x - D z), eta * lambda).

    x (batch, input_dim), dictionary (input_dim, n_atoms) -> codes (batch, n_atoms). Differentiable in D: this
    is the unrolled encoder whose weights are the decoder's dictionary.

    Computed in the Gram form z <- shrink(z (I - eta D^T D) + eta x D) (row vectors; the same iterate up to float
    rounding): eta x D and I - eta D^T D are formed once per call, so each step is one fused multiply-add of
    (batch, n_atoms) by (n_atoms, n_atoms) instead of two products through the input space, and the first step
    (from z = 0) is a shrinkage of eta x D alone. With n_atoms <= 2 input_dim (sparse_vec: 100 atoms of 50 or,
    lifted, 100 dims) that is at most the residual form's work per step, in half the operations forward and back.
    """
    threshold, shrink = shrinkage(step_size * sparsity_weight)
    drive = step_size * (x @ dictionary)  # eta x D, (batch, n_atoms)
    codes = shrink(drive, threshold)  # step 1 from z = 0
    if n_steps > 1:
        identity = torch.eye(dictionary.shape[1], dtype=dictionary.dtype, device=dictionary.device)
        propagator = identity - step_size * (dictionary.T @ dictionary)  # I - eta D^T D, (n_atoms, n_atoms)
        for _ in range(n_steps - 1):
            codes = shrink(torch.addmm(drive, codes, propagator), threshold)
    return codes


def lasso_loss(x: Tensor, reconstruction: Tensor, codes: Tensor, sparsity_weight: float) -> dict[str, Tensor]:
    """Batch means of 1/2 ||x - x_hat||^2 ("recon") and ||z||_1 ("l1"); "total" = recon + lambda * l1."""
    terms = {
        "recon": 0.5 * (x - reconstruction).flatten(1).pow(2).sum(dim=1).mean(),
        "l1": codes.abs().sum(dim=1).mean(),
    }
    terms["total"] = terms["recon"] + sparsity_weight * terms["l1"]
    return terms


class SparseCoder(nn.Module):
    """A unit-norm dictionary D = W / ||W||_col and the encoder that maps inputs to its sparse codes.

    Parametrising D through W keeps every column at unit norm after every optimiser step (no projection step),
    which fixes the scale ambiguity D z = (c D)(z / c) that would otherwise let the L1 term shrink codes for free.
    """

    def __init__(self, config: SparseAEConfig, input_dim: int, initial_weight: Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        if initial_weight is None:
            initial_weight = torch.randn(input_dim, config.n_atoms)
        if initial_weight.shape != (input_dim, config.n_atoms):
            raise ValueError(f"initial_weight must have shape {(input_dim, config.n_atoms)}, got "
                             f"{tuple(initial_weight.shape)}")
        self.weight = nn.Parameter(initial_weight.clone())
        # The one-layer comparison encoders (a classic SAE): z = f(E x + b), E untied from D.
        self.encoder = nn.Linear(input_dim, config.n_atoms) if config.encoder != "ista" else None

    def dictionary(self) -> Tensor:
        """D, (input_dim, n_atoms) with unit-norm columns."""
        return unit_columns(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        """Codes of inputs x (batch, input_dim): (batch, n_atoms)."""
        config = self.config
        if self.encoder is None:
            dictionary = self.dictionary()
            step_size = config.step_size if config.step_size is not None else ista_step_size(dictionary)
            return ista(x, dictionary, n_steps=config.n_ista_steps, sparsity_weight=config.sparsity_weight,
                        step_size=step_size)
        activations = self.encoder(x)
        if config.encoder == "relu":
            return torch.relu(activations)
        return top_k_magnitude(activations, config.n_kept)


# Presets of the vector SAEs (sae, lifted_sae): 15 unrolled ISTA steps (REFERENCE.md's planning run: 5 steps stall
# near recovery 0.89 because the codes are not yet converged; 15 reach 0.98). `--set NAME.n_ista_steps=5` gives the
# cheaper, less converged encoder.
VECTOR_SAE_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"n_epochs": 60},  # 240 steps on the smoke split (2000 samples, batch 512)
    "default": {"n_ista_steps": 15},
    "paper": {"n_ista_steps": 15},
}


class SparseCodingAE(Surrogate):
    """Base of the sparse families: they autoencode, have no latent dynamics (advance is the identity), train on
    `lasso_loss` with the config's `sparsity_weight`, and expose their learned atoms through `dictionary()`.

    `decode` defaults to z D^T with D = dictionary(); families whose decoder is not that matrix override it.
    """

    data_view = "autoencode"
    example_spec = DataSpec(state_shape=(8,), n_classes=0)
    capabilities = frozenset({DICTIONARY, CODES})

    @abstractmethod
    def dictionary(self) -> Tensor:
        """The learned atoms as unit-norm columns: (atom_length, n_atoms)."""

    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        return z  # a sparse code has no latent dynamics

    def decode(self, z: Tensor) -> Tensor:
        return (z @ self.dictionary().T).reshape(z.shape[0], *self.spec.state_shape)

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        source = batch["source"]
        codes = self.encode(source)
        return lasso_loss(source, self.decode(codes), codes, self.config.sparsity_weight)
