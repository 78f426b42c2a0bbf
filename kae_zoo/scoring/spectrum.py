"""Scorer `spectrum`: the eigenvalues of a model's linear latent operator K = K^(1) (curves eigenvalue_real /
eigenvalue_imag over `eigen`, by decreasing modulus) and its spectral radius (`kae_zoo.metrics.spectrum`);
data-independent. Runs on every model with the `linear_operator` capability (the Koopman AE)."""

from __future__ import annotations

import torch

from ..core.batching import to_numpy
from ..core.capabilities import LINEAR_OPERATOR
from ..metrics.spectrum import operator_eigenvalues, spectral_radius
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


@torch.no_grad()
def spectrum_scores(context: ScoringContext) -> ScorerOutput:
    """spectral_radius and the eigenvalues of K (real and imaginary parts over the dim `eigen`)."""
    operator = to_numpy(context.model.operator(1.0))
    eigenvalues = operator_eigenvalues(operator)
    coords = {"eigen": list(range(len(eigenvalues)))}
    return {"spectral_radius": spectral_radius(operator)}, {
        "eigenvalue_real": (("eigen",), coords, eigenvalues.real.copy()),
        "eigenvalue_imag": (("eigen",), coords, eigenvalues.imag.copy()),
    }


SPECTRUM = register_scorer(Scorer("spectrum", spectrum_scores,
                                  specs("spectral_radius", "eigenvalue_real", "eigenvalue_imag"),
                                  model_needs={LINEAR_OPERATOR}, description="eigenvalues of the latent operator"))
