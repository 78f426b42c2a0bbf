"""Scorer `sparsity`: the mean L0 of the codes of the test split, for models whose latents are codes (the `codes`
capability: sparse families, PCA); the L0 of a Koopman observable or an attractor latent would mean nothing."""

from __future__ import annotations

import numpy as np
import torch

from ..core.batching import in_chunks, to_numpy
from ..core.capabilities import CODES
from ..core.surrogate import Surrogate
from ..metrics.sparse import sparsity
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


def encode_all(model: Surrogate, source: torch.Tensor) -> np.ndarray:
    """encode() of `source` in chunks, in eval mode: (n_samples, latent_dim)."""
    model.eval()
    return to_numpy(in_chunks(model.encode, source))


def sparsity_scores(context: ScoringContext) -> ScorerOutput:
    return {"sparsity": sparsity(encode_all(context.model, context.data.splits["test"]["source"]))}, {}


SPARSITY = register_scorer(Scorer("sparsity", sparsity_scores, specs("sparsity"), model_needs={CODES},
                                  description="mean L0 of the test codes"))
