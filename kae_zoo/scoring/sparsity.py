"""Scorer `sparsity`: the mean L0 of the codes of the test split and the fraction of latents alive on it, for models
whose latents are codes (the `codes` capability: sparse families, PCA); the L0 of a Koopman observable or an
attractor latent would mean nothing.

A latent of `alive_fraction` is an atom: a convolutional family's code maps, flattened to (n_samples, n_atoms *
n_points), are split per atom of its dictionary first, so an atom is alive if it fires anywhere on any sample."""

from __future__ import annotations

import numpy as np
import torch

from ..core.batching import in_chunks, to_numpy
from ..core.capabilities import CODES, DICTIONARY
from ..core.surrogate import Surrogate
from ..metrics.representation import alive_fraction
from ..metrics.sparse import sparsity
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


def encode_all(model: Surrogate, source: torch.Tensor) -> np.ndarray:
    """encode() of `source` in chunks, in eval mode: (n_samples, latent_dim)."""
    model.eval()
    return to_numpy(in_chunks(model.encode, source))


@torch.no_grad()
def codes_by_atom(model: Surrogate, codes: np.ndarray) -> np.ndarray:
    """Codes (n_samples, latent_dim) as (n_samples, n_atoms, positions) for a model with a dictionary (positions 1
    for a linear code, n_points for a convolutional one); unchanged without a dictionary (each entry a latent)."""
    if DICTIONARY not in type(model).capabilities:
        return codes
    n_atoms = model.dictionary().shape[1]
    if codes.shape[1] % n_atoms:
        raise ValueError(f"the codes have {codes.shape[1]} entries per sample, not a multiple of the dictionary's "
                         f"{n_atoms} atoms; a `codes` model's latents must be coefficients of its atoms")
    return codes.reshape(len(codes), n_atoms, -1)


def sparsity_scores(context: ScoringContext) -> ScorerOutput:
    codes = encode_all(context.model, context.data.splits["test"]["source"])
    return {"sparsity": sparsity(codes), "alive_fraction": alive_fraction(codes_by_atom(context.model, codes))}, {}


SPARSITY = register_scorer(Scorer("sparsity", sparsity_scores, specs("sparsity", "alive_fraction"),
                                  model_needs={CODES}, description="mean L0 of the test codes, latents alive on them"))
