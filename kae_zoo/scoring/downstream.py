"""Scorer `downstream`: how much of the base network's accuracy survives replacing the target layer by the
surrogate's prediction (SAEBench's loss recovered, with accuracy and mean-ablation).

With `head` the task's map from a target state to class logits (the rest of the base network for a representation
task, the base network's head for a layer-pair task), on the test split: original = accuracy of head(true
targets), reconstructed = accuracy of head(predictions), ablated = accuracy of head(the training split's mean
target, for every sample). downstream_recovered = (reconstructed - ablated) / (original - ablated), NaN with its
reason when original <= ablated; mean_ablated_accuracy records the floor beside it.
"""

from __future__ import annotations

from ..core.capabilities import HEAD, LABELS
from ..metrics.classification import accuracy
from ..metrics.representation import DegenerateScoreError, downstream_recovered
from .base import Scorer, ScorerOutput, ScoringContext, head_classes, register_scorer, specs


def downstream_scores(context: ScoringContext) -> ScorerOutput:
    data = context.data
    labels = data.splits["test"]["label"].cpu().numpy()
    target = data.splits["test"]["target"]

    train_mean = data.splits["train"]["target"].double().mean(dim=0).to(target.dtype)
    original = accuracy(head_classes(data.head, target), labels)
    ablated = accuracy(head_classes(data.head, train_mean.expand_as(target).contiguous()), labels)
    reconstructed = accuracy(context.predicted_classes, labels)  # the classification scorer's accuracy
    scalars = {"mean_ablated_accuracy": ablated}
    try:
        scalars["downstream_recovered"] = downstream_recovered(reconstructed, ablated, original)
        return scalars, {}
    except DegenerateScoreError as error:
        scalars["downstream_recovered"] = float("nan")
        return scalars, {}, {"downstream_recovered": str(error)}


DOWNSTREAM = register_scorer(Scorer(
    "downstream", downstream_scores, specs("downstream_recovered", "mean_ablated_accuracy"),
    task_needs={LABELS, HEAD}, description="accuracy recovered with the target layer replaced by the prediction"))
