"""Classification scores of surrogate predictions read out through the base network's head."""

from __future__ import annotations

import numpy as np

from . import MetricSpec, metric, register_metric


def _check_pair(first: np.ndarray, second: np.ndarray, names: str) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise ValueError(f"{names} must be non-empty 1-D arrays of equal length, got {first.shape} and {second.shape}")
    return first, second


@metric("accuracy", "surrogate accuracy through the base network's head", "1", higher_is_better=True)
def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose predicted class equals the label."""
    predicted, labels = _check_pair(predicted, labels, "predicted and labels")
    return float(np.mean(predicted == labels))


@metric("macro_accuracy", "surrogate accuracy averaged over classes (the KAE code's report)", "1",
        higher_is_better=True)
def macro_accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in `labels` of the per-class accuracy (balanced accuracy)."""
    predicted, labels = _check_pair(predicted, labels, "predicted and labels")
    return float(np.mean([np.mean(predicted[labels == label] == label) for label in np.unique(labels)]))


@metric("agreement", "fraction of samples where surrogate and base network predict the same class", "1",
        higher_is_better=True)
def agreement(predicted: np.ndarray, reference: np.ndarray) -> float:
    """Fraction of samples on which two predictors choose the same class."""
    predicted, reference = _check_pair(predicted, reference, "the two prediction arrays")
    return float(np.mean(predicted == reference))


register_metric(MetricSpec("base_accuracy", "the base network's own accuracy", "1", higher_is_better=True))
