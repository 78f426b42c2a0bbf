"""The base of the field's sparse autoencoders (`sae_topk`, `sae_batchtopk`, `sae_jumprelu`, `sae_gated`,
`sae_matryoshka`; REFERENCE section 7): one linear encoder, an activation rule per family, one linear decoder.

    pre   = (x - b_dec) W_enc + b_enc          (batch, n_atoms), W_enc (state_dim, n_atoms)
    z     = activation(pre)                    the family's rule (TopK, BatchTopK, JumpReLU, gated)
    x_hat = z D^T + b_dec                      D (state_dim, n_atoms) with unit-norm columns

D = W / ||W||_col is parametrised as `SparseCoder` does, so every column has unit norm after every optimiser
step with no projection step, and the code entries are the atoms' coefficients (the `codes` capability). Following
Gao et al. (2024) the encoder starts as the decoder's transpose (column notation W_enc = D^T; in the row notation
above the (state_dim, n_atoms) matrix W_enc starts equal to D), b_enc and b_dec start at zero. b_dec starts at
zero rather than the training mean (Gao et al. use the geometric median) because a model is built before the
runner hands it data; b_dec is a parameter and learns the offset in the first steps.

Loss normalisation, every family: the squared error is summed over the state's dimensions and averaged over the
batch, ||x - x_hat||^2 per sample as the papers write it, so a sparsity coefficient (JumpReLU's L0 weight, Gated's
L1 weight) weighs a per-sample penalty against a per-sample error as in those papers. For the TopK families the
scale only multiplies the gradient, which Adam normalises away; the AuxK weight is relative to the same sum.

Dead latents and AuxK (Gao et al. 2024, section A.2): a buffer counts the optimiser steps since each latent last
fired (non-zero for at least one sample of the batch), updated at every training-mode loss, i.e. once per shared
trainer step. Latents not fired for `dead_after_steps` steps are dead; AuxK reconstructs the residual
e = x - x_hat (detached: it is a target) from the top `n_aux_kept` pre-activations of the dead latents only,
aux = ||e - z_aux D^T||^2 (no bias: e has none), and adds aux_weight * aux to the loss, so dead latents get a
gradient towards what the live ones miss. With no dead latent aux is 0.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..core.config import TrainingConfig
from ..core.types import Batch, DataSpec
from .sparse_coding import SparseCodingAE, unit_columns


@dataclass(frozen=True)
class LinearSAEConfig(TrainingConfig):
    """Fields every field SAE shares; each family's config adds the fields of its activation rule."""

    # dictionary size (latents). 200 = 2p on sparse_vec: its amplitudes have random signs and a ReLU code can only
    # use +d, so an atom needs two latents, +d and -d (sae_topk, 6000 steps, seed 0: recovery 0.42 with 100, 0.87
    # with 200)
    n_atoms: int = 200
    learning_rate: float = 1e-3  # Adam; the SAE papers use 1e-4 to 7e-4 at batch 4096 on LLM activations
    weight_decay: float = 0.0  # plain Adam as in the papers (decay on W would only rescale D = W / ||W||)
    batch_size: int = 512
    n_epochs: int = 150  # 150 epochs of sparse_vec's 20000 samples at batch 512 = sae's 6000 steps

    def validate(self) -> None:
        super().validate()
        if self.n_atoms < 1:
            raise ValueError(f"n_atoms must be >= 1, got {self.n_atoms}")


@dataclass(frozen=True)
class TopKSAEConfig(LinearSAEConfig):
    """The TopK rule's fields (also BatchTopK's and Matryoshka's): k and the AuxK term for dead latents."""

    n_kept: int = 5  # k: latents kept per sample (BatchTopK: k * B per batch); 5 = the true s of sparse_vec
    aux_weight: float = 1 / 32  # alpha of AuxK (Gao et al.); 0 switches AuxK off
    n_aux_kept: int | None = None  # k_aux, dead latents AuxK uses; None = half the state dim (Gao et al.: ~d/2)
    dead_after_steps: int = 50  # a latent not fired for this many optimiser steps is dead (25k samples at 512)

    def validate(self) -> None:
        super().validate()
        if not 1 <= self.n_kept <= self.n_atoms:
            raise ValueError(f"n_kept must be in [1, n_atoms = {self.n_atoms}], got {self.n_kept}")
        if self.aux_weight < 0 or self.dead_after_steps < 1 or (self.n_aux_kept is not None and self.n_aux_kept < 1):
            raise ValueError(f"aux_weight must be >= 0, dead_after_steps >= 1 and n_aux_kept >= 1 (or null), got "
                             f"{self.aux_weight}, {self.dead_after_steps}, {self.n_aux_kept}")


def squared_error(x: Tensor, reconstruction: Tensor) -> Tensor:
    """||x - x_hat||^2 summed over the state's dimensions, averaged over the batch (module docstring)."""
    return (x - reconstruction).flatten(1).pow(2).sum(dim=1).mean()


def top_k_relu(pre: Tensor, n_kept: int) -> Tensor:
    """ReLU(TopK(pre)): the `n_kept` largest pre-activations of each row (by value, not magnitude), ReLU'd; the
    rest zero. Gradients flow to the kept entries only."""
    values, indices = pre.topk(n_kept, dim=1)
    return torch.zeros_like(pre).scatter(1, indices, torch.relu(values))


def batch_top_k_relu(pre: Tensor, n_kept: int) -> Tensor:
    """BatchTopK: the k * B largest ReLU'd pre-activations of the whole batch of B rows kept, the rest zero (a
    row may keep more or fewer than k; the mean is k)."""
    flat = torch.relu(pre).flatten()
    values, indices = flat.topk(min(n_kept * pre.shape[0], flat.numel()))
    return torch.zeros_like(flat).scatter(0, indices, values).reshape(pre.shape)


class LinearSAE(SparseCodingAE):
    """One linear encoder, a unit-norm linear decoder with bias (module docstring); a family's `encode` applies its
    activation rule to `pre_activations`, and its `loss` says how it trains."""

    baseline_for = "sae"

    def __init__(self, config: LinearSAEConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        state_dim = spec.state_dim
        self.weight = nn.Parameter(torch.randn(state_dim, config.n_atoms))  # D = W / ||W||_col, as sae draws it
        self.encoder_weight = nn.Parameter(unit_columns(self.weight.detach()).clone())  # D^T in column notation
        self.encoder_bias = nn.Parameter(torch.zeros(config.n_atoms))  # b_enc
        self.decoder_bias = nn.Parameter(torch.zeros(state_dim))  # b_dec (module docstring: zero, not the mean)

    def dictionary(self) -> Tensor:
        """D, (state_dim, n_atoms) with unit-norm columns."""
        return unit_columns(self.weight)

    def pre_activations(self, x: Tensor) -> Tensor:
        """(x - b_dec) W_enc + b_enc: (batch, n_atoms)."""
        return (x.flatten(1) - self.decoder_bias) @ self.encoder_weight + self.encoder_bias

    def decode(self, z: Tensor) -> Tensor:
        return (z @ self.dictionary().T + self.decoder_bias).reshape(z.shape[0], *self.spec.state_shape)


class TopKFamilySAE(LinearSAE):
    """The TopK families (TopK, BatchTopK, Matryoshka): an `activate` rule that keeps k per sample on average, the
    dead-latent buffer and the AuxK loss. Training-time state lives in buffers, so it is saved with the weights and
    restored with the best epoch's."""

    def __init__(self, config: TopKSAEConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        # optimiser steps since each latent last fired (long: never saturates)
        self.register_buffer("steps_since_fired", torch.zeros(config.n_atoms, dtype=torch.long))

    @abstractmethod
    def activate(self, pre: Tensor) -> Tensor:
        """The family's activation rule: codes (batch, n_atoms) from pre-activations."""

    def encode(self, x: Tensor) -> Tensor:
        return self.activate(self.pre_activations(x))

    @torch.no_grad()
    def record_firing(self, codes: Tensor) -> None:
        """In training mode, one step more for every latent, zero for those non-zero on some sample of `codes`."""
        if self.training:
            self.steps_since_fired += 1
            self.steps_since_fired[(codes != 0).any(dim=0)] = 0

    def dead_latents(self) -> Tensor:
        """Boolean mask (n_atoms,) of the latents not fired for `dead_after_steps` steps."""
        return self.steps_since_fired >= self.config.dead_after_steps

    def aux_loss(self, x: Tensor, reconstruction: Tensor, pre: Tensor) -> Tensor:
        """AuxK (module docstring): ||e - z_aux D^T||^2 with e = x - x_hat detached and z_aux the top k_aux ReLU'd
        pre-activations among the dead latents; 0 when none is dead."""
        dead = self.dead_latents()
        n_dead = int(dead.sum())
        if n_dead == 0:
            return pre.new_zeros(())
        n_aux_kept = self.config.n_aux_kept or max(1, math.ceil(self.spec.state_dim / 2))
        residual = (x - reconstruction).flatten(1).detach()
        dead_pre = pre.masked_fill(~dead, -math.inf)  # live latents can never be among the top
        values, indices = dead_pre.topk(min(n_aux_kept, n_dead), dim=1)
        aux_codes = torch.zeros_like(pre).scatter(1, indices, torch.relu(values))
        return squared_error(residual, aux_codes @ self.dictionary().T)

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """"recon" ||x - x_hat||^2 (Matryoshka: its sum over prefixes, `reconstruction_error`), "aux" AuxK and
        "total" = recon + aux_weight * aux."""
        x = batch["source"]
        pre = self.pre_activations(x)
        codes = self.activate(pre)
        self.record_firing(codes)
        reconstruction = self.decode(codes)
        terms = {"recon": self.reconstruction_error(x, codes, reconstruction),
                 "aux": self.aux_loss(x, reconstruction, pre)}
        terms["total"] = terms["recon"] + self.config.aux_weight * terms["aux"]
        return terms

    def reconstruction_error(self, x: Tensor, codes: Tensor, reconstruction: Tensor) -> Tensor:
        """The loss's reconstruction term: ||x - x_hat||^2."""
        return squared_error(x, reconstruction)


def representation_presets(**fields_by_task: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Task presets of the representation tasks: `REPRESENTATION_SIZES` with a family's own fields per task, the
    same at default and paper (no paper sets them), with few epochs at smoke."""
    presets = {}
    for task, sizes in REPRESENTATION_SIZES.items():
        overrides = {**sizes, **fields_by_task.get(task, {})}
        presets[task] = {"smoke": {**overrides, "n_epochs": 3}, "default": overrides, "paper": overrides}
    return presets


# The representation tasks (hidden states of a base network, mean ||x||^2 = width, post-ReLU): 4 latents per
# dimension (mnist_acts: 2, to keep a cell under a minute). Chosen, not tuned: the lead measures the time per cell
# (the target is well under a minute at default on the 2-core VM).
REPRESENTATION_SIZES: dict[str, dict[str, Any]] = {
    "yinyang_acts": {"n_atoms": 40, "n_epochs": 40},  # width 10, ~5000 samples: 10 steps per epoch
    "digits_acts": {"n_atoms": 256, "n_epochs": 100, "batch_size": 256},  # width 64, ~1078 samples: 5 per epoch
    "mnist_acts": {"n_atoms": 1568, "n_epochs": 20},  # width 784, ~7000 samples: 14 steps per epoch
}
# k of the TopK families on them: about a tenth of the width (a dense PCA with k components is the L0 match)
REPRESENTATION_KEPT = {"yinyang_acts": 3, "digits_acts": 8, "mnist_acts": 32}
TOP_K_TASK_PRESETS = representation_presets(**{task: {"n_kept": kept} for task, kept in REPRESENTATION_KEPT.items()})
