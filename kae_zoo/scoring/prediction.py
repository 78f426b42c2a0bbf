"""Scorer `prediction`: how far the surrogate's predicted target states are from the true ones on the test split."""

from __future__ import annotations

from ..core.batching import to_numpy
from ..metrics.geometry import state_error
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


def prediction_scores(context: ScoringContext) -> ScorerOutput:
    target = context.data.splits["test"]["target"]
    return {"state_error": state_error(to_numpy(context.test_predictions), to_numpy(target))}, {}


PREDICTION = register_scorer(Scorer("prediction", prediction_scores, specs("state_error"),
                                    description="state error of the predicted target states"))
