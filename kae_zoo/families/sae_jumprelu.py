"""Field baseline `sae_jumprelu`: the JumpReLU sparse autoencoder of Rajamanoharan et al. (2024), "Jumping Ahead:
Improving Reconstruction Fidelity with JumpReLU Sparse Autoencoders", arXiv 2407.14435.

z = pre * H(pre - theta), with a learned threshold theta = exp(log_theta) > 0 per latent; loss =
||x - x_hat||^2 + lambda * L0(z), L0 the number of non-zero entries per sample, averaged over the batch. H has zero
gradient almost everywhere, so the gradients that reach theta (from both terms) are straight-through estimators
with the rectangle-kernel pseudo-derivative of bandwidth epsilon (the paper's appendix J, written as the two
autograd Functions below):

    d/dtheta JumpReLU(pre) ~ -(theta / epsilon) K((pre - theta) / epsilon),  d/dpre JumpReLU(pre) = H(pre - theta)
    d/dtheta H(pre - theta) ~ -(1 / epsilon) K((pre - theta) / epsilon),     d/dpre H(pre - theta) = 0

K(u) = 1 on [-1/2, 1/2] (the paper's open interval; the boundary has measure zero), else 0. So only samples whose
pre-activation is within epsilon / 2 of theta move theta: epsilon = 1e-3 is the paper's for inputs of unit scale
per dimension, as sparse_vec (amplitudes U[1, 2] on unit atoms) and the representation tasks (mean ||x||^2 = width)
are. theta starts at 0.5, not the paper's 1e-3, which a run of a few thousand steps cannot move (config
comment). Loss normalisation: the squared error summed over dimensions and averaged over the batch, so lambda
prices one active latent against the per-sample squared error as in the paper (`linear_sae`). The paper's lambda
warm-up is left out, and its decoder-norm-weighted L0 is the plain L0 here: the decoder's columns have unit norm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..core.types import Batch, DataSpec
from . import register_family
from .linear_sae import LinearSAE, LinearSAEConfig, representation_presets, squared_error


@dataclass(frozen=True)
class JumpReLUSAEConfig(LinearSAEConfig):
    """The shared SAE fields plus the L0 weight and the straight-through kernel."""

    sparsity_weight: float = 1.0  # lambda, the L0 weight: one active latent costs as much as this squared error
    bandwidth: float = 1e-3  # epsilon of the rectangle kernel (the paper's, for inputs of unit scale)
    # theta at the start. The paper's 1e-3 barely moves in a few thousand steps (theta learns only from samples
    # within epsilon / 2 of it): on sparse_vec at 1560 steps 1e-3 left L0 at 46, 0.5 gave L0 4.6 (true 5)
    initial_threshold: float = 0.5

    def validate(self) -> None:
        super().validate()
        if self.sparsity_weight < 0 or self.bandwidth <= 0 or self.initial_threshold <= 0:
            raise ValueError(f"sparsity_weight must be >= 0, bandwidth and initial_threshold > 0, got "
                             f"{self.sparsity_weight}, {self.bandwidth}, {self.initial_threshold}")


def rectangle(values: Tensor) -> Tensor:
    """K(u) = 1 for -1/2 < u < 1/2, else 0."""
    return ((values > -0.5) & (values < 0.5)).to(values.dtype)


def threshold_gradient(gradient: Tensor, threshold: Tensor) -> Tensor:
    """A per-element gradient summed over the leading (batch) dimensions to threshold's shape."""
    return gradient.reshape(-1, *threshold.shape).sum(dim=0)


class JumpReLU(torch.autograd.Function):
    """pre * H(pre - theta); gradient H to pre, -(theta / epsilon) K((pre - theta) / epsilon) to theta."""

    @staticmethod
    def forward(ctx: Any, pre: Tensor, threshold: Tensor, bandwidth: float) -> Tensor:
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return pre * (pre > threshold)

    @staticmethod
    def backward(ctx: Any, output_gradient: Tensor) -> tuple[Tensor, Tensor, None]:
        pre, threshold = ctx.saved_tensors
        bandwidth = ctx.bandwidth
        pre_gradient = (pre > threshold) * output_gradient
        kernel = rectangle((pre - threshold) / bandwidth)
        return pre_gradient, threshold_gradient(-(threshold / bandwidth) * kernel * output_gradient, threshold), None


class HeavisideStep(torch.autograd.Function):
    """H(pre - theta); no gradient to pre, -(1 / epsilon) K((pre - theta) / epsilon) to theta."""

    @staticmethod
    def forward(ctx: Any, pre: Tensor, threshold: Tensor, bandwidth: float) -> Tensor:
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return (pre > threshold).to(pre.dtype)

    @staticmethod
    def backward(ctx: Any, output_gradient: Tensor) -> tuple[Tensor, Tensor, None]:
        pre, threshold = ctx.saved_tensors
        bandwidth = ctx.bandwidth
        kernel = rectangle((pre - threshold) / bandwidth)
        return torch.zeros_like(pre), threshold_gradient(-(1 / bandwidth) * kernel * output_gradient, threshold), None


@register_family("sae_jumprelu")
class JumpReLUSAE(LinearSAE):
    """JumpReLU SAE (Rajamanoharan et al. 2024): learned per-latent thresholds, an L0 penalty, STE gradients."""

    config_class = JumpReLUSAEConfig
    # smoke: 240 steps on sparse_vec's smoke split, with a 100x wider kernel so that theta gets a gradient from the
    # few samples a short run (and the 16-sample conformance batch) has near it; default = paper: the paper's 1e-3
    presets = {"smoke": {"n_epochs": 60, "bandwidth": 0.1}, "default": {}, "paper": {}}
    # sparse_vec: lambda chosen on seed 0 at the default preset so that L0 matches the true s = 5 (the TopK families'
    # k; the matched-L0 protocol of SAEBench): lambda 0.3, 0.5, 1 gave L0 6.2, 4.6, 3.4 (VM B, 6000 steps). On
    # digits_acts (500 steps) L0 stays at 21.6 to 21.9 for lambda 1 to 8: the thresholds move little in so few steps
    task_presets = {**representation_presets(),
                    "sparse_vec": {"default": {"sparsity_weight": 0.5}, "paper": {"sparsity_weight": 0.5}}}

    def __init__(self, config: JumpReLUSAEConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        self.log_threshold = nn.Parameter(torch.full((config.n_atoms,), math.log(config.initial_threshold)))

    def threshold(self) -> Tensor:
        """theta = exp(log_theta), (n_atoms,)."""
        return self.log_threshold.exp()

    def encode(self, x: Tensor) -> Tensor:
        return JumpReLU.apply(self.pre_activations(x), self.threshold(), self.config.bandwidth)

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """"recon" ||x - x_hat||^2, "l0" the mean number of active latents (STE to theta), "total" = recon +
        lambda * l0."""
        x = batch["source"]
        pre = self.pre_activations(x)
        codes = JumpReLU.apply(pre, self.threshold(), self.config.bandwidth)
        terms = {"recon": squared_error(x, self.decode(codes)),
                 "l0": HeavisideStep.apply(pre, self.threshold(), self.config.bandwidth).sum(dim=1).mean()}
        terms["total"] = terms["recon"] + self.config.sparsity_weight * terms["l0"]
        return terms
