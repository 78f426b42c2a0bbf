"""Field baseline `sae_topk`: the TopK sparse autoencoder of Gao et al. (2024), "Scaling and evaluating sparse
autoencoders", arXiv 2406.04093.

z = ReLU(TopK(pre)) keeps the k largest pre-activations of each sample (REFERENCE section 7), so L0 <= k by
construction and no sparsity penalty is needed; loss = ||x - x_hat||^2 + aux_weight * AuxK (alpha = 1/32 in the
paper), AuxK reviving dead latents (`linear_sae`: the shared encoder, decoder, dead-latent buffer and AuxK, and
the loss normalisation, summed over dimensions and averaged over the batch).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from . import register_family
from .linear_sae import TOP_K_TASK_PRESETS, TopKFamilySAE, TopKSAEConfig, top_k_relu

# smoke: 240 steps on sparse_vec's smoke split (2000 samples, batch 512); default = paper: the config's defaults
# (sparse_vec: n_atoms 200, k 5, 6000 steps); the representation tasks have their own sizes (TOP_K_TASK_PRESETS)
TOP_K_PRESETS: dict[str, dict[str, Any]] = {"smoke": {"n_epochs": 60}, "default": {}, "paper": {}}


@register_family("sae_topk")
class TopKSAE(TopKFamilySAE):
    """TopK SAE (Gao et al. 2024): the k largest pre-activations per sample, ReLU'd; AuxK for dead latents."""

    config_class = TopKSAEConfig
    presets = TOP_K_PRESETS
    task_presets = TOP_K_TASK_PRESETS

    def activate(self, pre: Tensor) -> Tensor:
        return top_k_relu(pre, self.config.n_kept)
