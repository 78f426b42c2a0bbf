"""Scores of class unlearning by operator editing (`kae_zoo.scoring.operator_editing`): accuracy on the forgotten
class and on the rest, each measured before and after the edit.

The result variables are four scalars, `forgotten_accuracy_before`, `forgotten_accuracy_after`,
`retained_accuracy_before` and `retained_accuracy_after`, rather than one curve with an `edit` dim, so that
`kae-zoo show` and sweep files (which keep scalars only) carry them; `unlearned_class` records which class.
"""

from __future__ import annotations

import numpy as np

from . import MetricSpec, register_metric


def _split_by_class(predicted: np.ndarray, labels: np.ndarray, forgotten_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean hits (predicted == label) and the mask of the forgotten class's samples."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if predicted.shape != labels.shape or predicted.ndim != 1 or predicted.size == 0:
        raise ValueError(f"predicted and labels must be non-empty 1-D arrays of equal length, got {predicted.shape} "
                         f"and {labels.shape}")
    return predicted == labels, labels == forgotten_class


def forgotten_accuracy(predicted: np.ndarray, labels: np.ndarray, forgotten_class: int) -> float:
    """Accuracy on the samples labelled `forgotten_class` (0 after a perfect unlearning)."""
    hits, forgotten = _split_by_class(predicted, labels, forgotten_class)
    if not forgotten.any():
        raise ValueError(f"no sample is labelled with the forgotten class {forgotten_class}")
    return float(hits[forgotten].mean())


def retained_accuracy(predicted: np.ndarray, labels: np.ndarray, forgotten_class: int) -> float:
    """Accuracy on the samples of every other class (unchanged by a perfectly targeted unlearning)."""
    hits, forgotten = _split_by_class(predicted, labels, forgotten_class)
    if forgotten.all():
        raise ValueError(f"every sample is labelled with the forgotten class {forgotten_class}: nothing is retained")
    return float(hits[~forgotten].mean())


for _stage in ("before", "after"):
    register_metric(MetricSpec(f"forgotten_accuracy_{_stage}", f"surrogate accuracy on the test samples of the "
                               f"unlearned class, {_stage} the operator edit", "1",
                               higher_is_better=_stage == "before"))
    register_metric(MetricSpec(f"retained_accuracy_{_stage}", f"surrogate accuracy on the test samples of the other "
                               f"classes, {_stage} the operator edit", "1", higher_is_better=True))
register_metric(MetricSpec("unlearned_class", "the class the operator edit unlearns (edited on the training split)",
                           "1", higher_is_better=None, split="", role="setting"))
