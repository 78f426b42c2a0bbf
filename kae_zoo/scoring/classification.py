"""Scorer `classification`: the base network's head on the surrogate's predicted states, against the labels; with
the base network's own logits, its accuracy and the surrogate's agreement with it."""

from __future__ import annotations

from ..core.capabilities import BASE_LOGITS, HEAD, LABELS
from ..metrics.classification import accuracy, agreement, macro_accuracy
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs


def classification_scores(context: ScoringContext) -> ScorerOutput:
    data = context.data
    labels = data.splits["test"]["label"].cpu().numpy()
    surrogate_classes = context.predicted_classes
    scalars = {"accuracy": accuracy(surrogate_classes, labels),
               "macro_accuracy": macro_accuracy(surrogate_classes, labels)}
    if BASE_LOGITS in data.capabilities:
        base_classes = data.base_test_logits.argmax(dim=1).cpu().numpy()
        scalars["base_accuracy"] = accuracy(base_classes, labels)
        scalars["agreement"] = agreement(surrogate_classes, base_classes)
    return scalars, {}


CLASSIFICATION = register_scorer(Scorer(
    "classification", classification_scores, specs("accuracy", "macro_accuracy", "base_accuracy", "agreement"),
    task_needs={LABELS, HEAD}, description="accuracy of the base network's head on the surrogate's predictions"))
