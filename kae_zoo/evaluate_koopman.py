"""Scores specific to the Koopman AE family: the spectrum of K, and editing on the held-out test split.

Spectrum: the eigenvalues of the trained K = K^(1) (curves eigenvalue_real / eigenvalue_imag over `eigen`, by
decreasing modulus) and its spectral radius (`kae_zoo.metrics.spectrum`); data-independent.

Editing (class unlearning, `kae_zoo.editing`): the operator is edited on the training split to unlearn one class
(`KoopmanConfig.unlearn_class`: by default 4, the paper's MNIST class, on tasks with more than 4 classes, else the
last class, the dot on Yin-Yang; -1 skips), and the surrogate's test accuracy on that class and on the others is
scored before and after the edit (`kae_zoo.metrics.editing`). The trained model itself is never modified: the
edit goes into a copy, so every other score is of the unedited surrogate. Needs class labels and the base
network's head.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .batched import predict, to_numpy
from .editing import unlearn_class
from .families.base import Surrogate
from .families.koopman import KoopmanAE
from .metrics.editing import forgotten_accuracy, retained_accuracy
from .metrics.spectrum import operator_eigenvalues, spectral_radius
from .results import Curve
from .tasks.base import TaskData

def default_unlearn_class(n_classes: int) -> int:
    """4 (the paper's MNIST class) when there are more than 4 classes, else the last class."""
    return 4 if n_classes > 4 else n_classes - 1


def predicted_classes(model: Surrogate, head: Callable[[torch.Tensor], torch.Tensor],
                      source: torch.Tensor) -> np.ndarray:
    """The base network's head on the surrogate's predicted target states: one class per sample."""
    with torch.no_grad():
        return head(predict(model, source)).argmax(dim=1).cpu().numpy()


def editing_scores(model: KoopmanAE, data: TaskData, head: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
    """forgotten / retained accuracy before and after unlearning the configured class; {} when skipped."""
    forgotten_class = model.config.unlearn_class
    if forgotten_class is None:
        forgotten_class = default_unlearn_class(data.spec.n_classes)
    if forgotten_class == -1:
        return {}
    train, test = data.splits["train"], data.splits["test"]
    edited = unlearn_class(model, train["source"], train["label"], forgotten_class)
    labels = test["label"].cpu().numpy()
    scalars = {"unlearned_class": float(forgotten_class)}
    for stage, surrogate in (("before", model), ("after", edited)):
        classes = predicted_classes(surrogate, head, test["source"])
        scalars[f"forgotten_accuracy_{stage}"] = forgotten_accuracy(classes, labels, forgotten_class)
        scalars[f"retained_accuracy_{stage}"] = retained_accuracy(classes, labels, forgotten_class)
    return scalars


@torch.no_grad()
def spectrum_scores(model: KoopmanAE) -> tuple[dict[str, float], dict[str, Curve]]:
    """spectral_radius and the eigenvalues of K (real and imaginary parts over the dim `eigen`)."""
    operator = to_numpy(model.operator(1.0))
    eigenvalues = operator_eigenvalues(operator)
    coords = {"eigen": list(range(len(eigenvalues)))}
    return {"spectral_radius": spectral_radius(operator)}, {
        "eigenvalue_real": (("eigen",), coords, eigenvalues.real.copy()),
        "eigenvalue_imag": (("eigen",), coords, eigenvalues.imag.copy()),
    }


def koopman_scores(model: Surrogate, data: TaskData, seed: int) -> tuple[dict[str, float], dict[str, Curve]]:
    """Koopman-specific scores (module docstring): the spectrum for every Koopman model, the editing scores on
    tasks with labels and a head; nothing for other families.

    `seed` is unused (the spectrum is exact and the edit a deterministic least-squares fit); it is taken so that
    seeded Koopman scores can join without changing the call.
    """
    if not isinstance(model, KoopmanAE):
        return {}, {}
    scalars, curves = spectrum_scores(model)
    if data.head is not None and "label" in data.splits["test"]:
        scalars.update(editing_scores(model, data, data.head))
    return scalars, curves
