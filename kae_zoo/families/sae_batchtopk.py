"""Field baseline `sae_batchtopk`: the BatchTopK sparse autoencoder of Bussmann, Leask and Nanda (2024),
"BatchTopK Sparse Autoencoders", arXiv 2412.06410.

In training (train mode) the k * B largest ReLU'd pre-activations of the whole batch of B samples are kept, so
the L0 of a sample varies (mean k) and the batch spends its budget on the samples that need it. That rule makes a
sample's code depend on the rest of its batch, so at inference (eval mode) one threshold replaces it,
z = ReLU(pre) * (pre > theta), with theta estimated in training from the smallest kept activation of each batch:
the first training batch sets theta, every later one moves it by an exponential moving average,
theta <- theta + threshold_momentum * (min kept - theta), as the paper's code does (momentum 0.01 there), so theta
follows the pre-activations as they change and forgets the first steps' values. Loss as `sae_topk`'s:
||x - x_hat||^2 + aux_weight * AuxK (the paper keeps AuxK; `linear_sae` has the shared parts and the loss
normalisation, summed over dimensions and averaged over the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..core.types import DataSpec
from . import register_family
from .linear_sae import TOP_K_TASK_PRESETS, TopKFamilySAE, TopKSAEConfig, batch_top_k_relu
from .sae_topk import TOP_K_PRESETS


@dataclass(frozen=True)
class BatchTopKSAEConfig(TopKSAEConfig):
    """TopK's fields plus how fast the inference threshold follows the training batches."""

    threshold_momentum: float = 0.01  # EMA weight of each batch's smallest kept activation in theta (paper's code)

    def validate(self) -> None:
        super().validate()
        if not 0 < self.threshold_momentum <= 1:
            raise ValueError(f"threshold_momentum must be in (0, 1], got {self.threshold_momentum}")


class BatchTopKActivation(TopKFamilySAE):
    """BatchTopK in train mode, the learned threshold theta in eval mode (shared with `sae_matryoshka`)."""

    def __init__(self, config: BatchTopKSAEConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        self.register_buffer("threshold", torch.zeros(()))  # theta; 0 until the first training batch
        self.register_buffer("n_threshold_batches", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update_threshold(self, codes: Tensor) -> None:
        """Move theta towards the smallest non-zero entry of this training batch's codes (module docstring)."""
        kept = codes[codes > 0]
        if kept.numel() == 0:
            return
        smallest = kept.min()
        if int(self.n_threshold_batches) == 0:
            self.threshold.copy_(smallest)
        else:
            self.threshold += self.config.threshold_momentum * (smallest - self.threshold)
        self.n_threshold_batches += 1

    def activate(self, pre: Tensor) -> Tensor:
        if self.training:
            codes = batch_top_k_relu(pre, self.config.n_kept)
            self.update_threshold(codes)
            return codes
        return torch.relu(pre) * (pre > self.threshold)


@register_family("sae_batchtopk")
class BatchTopKSAE(BatchTopKActivation):
    """BatchTopK SAE (Bussmann et al. 2024): top k * B over the batch in training, a threshold at inference."""

    config_class = BatchTopKSAEConfig
    presets = TOP_K_PRESETS
    task_presets = TOP_K_TASK_PRESETS
