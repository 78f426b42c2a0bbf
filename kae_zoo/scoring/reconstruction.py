"""Scorer `reconstruction`: explained variance, l2 ratio, relative reconstruction bias and cosine of the test split's
predicted target states against the true ones (every cell).

For an autoencoder these are reconstruction scores of its input (SAEBench's core metrics); for a layer-pair model
they score its prediction of the target layer. A score undefined on the cell (targets without variance,
E<x, x_hat> <= 0) is NaN with its reason.
"""

from __future__ import annotations

from ..core.batching import to_numpy
from ..metrics.representation import (
    DegenerateScoreError,
    explained_variance,
    l2_ratio,
    reconstruction_cosine,
    relative_reconstruction_bias,
)
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs

FUNCTIONS = {"explained_variance": explained_variance, "l2_ratio": l2_ratio,
           "relative_reconstruction_bias": relative_reconstruction_bias,
           "reconstruction_cosine": reconstruction_cosine}


def reconstruction_scores(context: ScoringContext) -> ScorerOutput:
    target = to_numpy(context.data.splits["test"]["target"])
    predicted = to_numpy(context.test_predictions)
    scalars: dict[str, float] = {}
    degenerate: dict[str, str] = {}
    for name, function in FUNCTIONS.items():
        try:
            scalars[name] = function(target, predicted)
        except DegenerateScoreError as error:
            scalars[name], degenerate[name] = float("nan"), str(error)
    return scalars, {}, degenerate


RECONSTRUCTION = register_scorer(Scorer(
    "reconstruction", reconstruction_scores, specs(*FUNCTIONS),
    description="explained variance, l2 ratio, bias and cosine of the predicted target states"))
