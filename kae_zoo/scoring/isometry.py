"""Scorer `isometry`: how far the encoder is from preserving the test split's pairwise distances (on a seeded
subsample of at most `EvaluationConfig.isometry_max_points` points)."""

from __future__ import annotations

import numpy as np
import torch

from ..core.batching import to_numpy
from ..metrics.geometry import isometry_error
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


def isometry_scores(context: ScoringContext) -> ScorerOutput:
    source = context.data.splits["test"]["source"]
    generator = np.random.default_rng(context.seed)
    subset = np.sort(generator.permutation(len(source))[: context.evaluation.isometry_max_points])
    context.model.eval()
    with torch.no_grad():
        latents = context.model.encode(source[subset])
    return {"isometry_error": isometry_error(to_numpy(source[subset]), to_numpy(latents))}, {}


ISOMETRY = register_scorer(Scorer("isometry", isometry_scores, specs("isometry_error"),
                                  description="distortion of pairwise distances by the encoder"))
