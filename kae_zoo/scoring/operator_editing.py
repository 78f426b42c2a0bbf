"""Operator editing: make a trained Koopman surrogate unlearn one class by a minimal edit of K in observable space;
scorer `operator_editing`, the surrogate's test accuracy on that class and on the others before and after the edit.

A Koopman AE predicts x_j = phi^-1(K phi(x_i)); everything the surrogate "knows" about the layer-to-layer map
that is linear in the observables sits in K. The edit leaves phi, phi^-1 and G untouched and adds a matrix E,
K' = K + E, fitted on the *training* split only:

    E = argmin_E  sum_{i not in c} ||E z_i||^2  +  sum_{i in c} ||(K + E) z_i - m_r(i)||^2

with z_i = phi(x_i) the source observables, m_k the mean over class k of the advanced observables K z_i, and
r(i) the class other than c whose mean is nearest to K z_i ("redirect": the runner-up in observable space). The
first term keeps K' = K on the other classes' observables; the second sends each class-c observable onto its
runner-up's mean, which the decoder maps to a state the base network's head gives to that class. It is a plain
least-squares problem in E^T (rows z_i^T, right-hand sides 0 or m_r(i) - K z_i), solved in closed form with
`torch.linalg.lstsq` in float64, and it is the minimum-norm E when the rows leave it underdetermined.

Why it works: the observables are the coordinates in which the layer map is linear (the encoder is trained for
it), and the target layer is class-separable (the base network's head is linear in it), so a linear map of the
observables can tell class c from the rest; E is that map composed with "go to the runner-up's mean", close to
zero on the other classes. Why the whole class is sent onto the runner-up's mean rather than shifted by the
difference of the means (m_r - m_c, which keeps each sample's offset from its class mean): with the shift, the
class-c samples on the far side of their class cloud stay in class c's region. On MNIST (default preset, 200
epochs; chosen on the training and validation splits) the shift left 2.6 % of class-4 training samples and
1.0 % of validation samples (seed 1) predicted as 4; sending them onto the mean left none on either split. The
edit's quality is what `forgotten_accuracy_after` and `retained_accuracy_after` measure on the held-out test
split.

Interpolation after an edit: the Koopman AE stores the edit as the additive buffer `operator_edit`, and
K'^(t) = exp(t G) + t E (see `KoopmanAE.operator`): the path still starts at the identity and ends at K', the
edit phased in linearly. This is defined for every edited K', unlike a matrix logarithm of K', which need not be
real, but K'^(s) K'^(t) = K'^(s + t) then holds only approximately.

The scorer runs on every model with the `linear_operator` capability (`operator(t)`, `add_operator_edit(E)`) on a
task with labels and a base network's head. The class to unlearn is the config's `unlearn_class` when it has one
(`KoopmanConfig.unlearn_class`): by default 4, the paper's MNIST class, on tasks with more than 4 classes, else the
last class, the dot on Yin-Yang; -1 skips. The trained model itself is never modified: the edit goes into a copy,
so every other score is of the unedited surrogate.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from ..core.batching import in_chunks, predict
from ..core.capabilities import HEAD, LABELS, LINEAR_OPERATOR
from ..core.surrogate import Surrogate
from ..metrics.editing import forgotten_accuracy, retained_accuracy
from .base import Scorer, ScorerOutput, ScoringContext, head_classes, register_scorer, specs


@torch.no_grad()
def redirect_edit(observables: Tensor, operator: Tensor, labels: Tensor, forgotten_class: int) -> Tensor:
    """The least-squares edit E (module docstring) from source observables (n, p), K (p, p) and labels (n,)."""
    observables, operator = observables.double(), operator.double()
    advanced = observables @ operator.T  # (n, p): K z_i as rows
    classes = [int(label) for label in torch.unique(labels)]
    means = torch.stack([advanced[labels == label].mean(dim=0) for label in classes])  # (n_present, p)
    forgotten = labels == forgotten_class
    others = torch.tensor([label != forgotten_class for label in classes], device=labels.device)
    distances = torch.cdist(advanced[forgotten], means[others])  # (n_c, n_present - 1)
    runner_up = means[others][distances.argmin(dim=1)]  # (n_c, p): m_r(i)
    shifts = torch.zeros_like(advanced)
    shifts[forgotten] = runner_up - advanced[forgotten]  # K' z_i = m_r(i) on class c
    edit_transposed = torch.linalg.lstsq(observables, shifts, driver="gelsd").solution  # (p, p): E^T
    return edit_transposed.T


def unlearn_class(model: Surrogate, source: Tensor, labels: Tensor, forgotten_class: int) -> Surrogate:
    """A deep copy of `model` (with the `linear_operator` capability) whose operator is edited so that
    `forgotten_class` is no longer predicted.

    `source` and `labels` are the training split's source states and labels (never the test split). The edit
    adds to any previous one, so classes can be unlearned one after another. `model` is left untouched.
    """
    n_classes = model.spec.n_classes
    is_index = isinstance(forgotten_class, int) and not isinstance(forgotten_class, bool)
    if not is_index or not 0 <= forgotten_class < n_classes:
        raise ValueError(f"forgotten_class {forgotten_class!r} is not a class of this model; valid: 0 to "
                         f"{n_classes - 1}")
    if len(source) != len(labels):
        raise ValueError(f"source and labels differ in length: {len(source)} and {len(labels)}")
    present = set(int(label) for label in torch.unique(labels))
    if forgotten_class not in present or len(present) < 2:
        raise ValueError(f"the labels must contain class {forgotten_class} and at least one other class, got "
                         f"{sorted(present)}")
    model.eval()
    edited = copy.deepcopy(model)
    with torch.no_grad():
        observables = in_chunks(model.encode, source).double()
        edit = redirect_edit(observables, model.operator(1.0), labels, forgotten_class)
        edited.add_operator_edit(edit)
    return edited


def default_unlearn_class(n_classes: int) -> int:
    """4 (the paper's MNIST class) when there are more than 4 classes, else the last class."""
    return 4 if n_classes > 4 else n_classes - 1


def editing_scores(context: ScoringContext) -> ScorerOutput:
    """forgotten / retained accuracy before and after unlearning the configured class; nothing when skipped."""
    model, data = context.model, context.data
    forgotten_class = getattr(model.config, "unlearn_class", None)
    if forgotten_class is None:
        forgotten_class = default_unlearn_class(data.spec.n_classes)
    if forgotten_class == -1:
        return {}, {}
    train, test = data.splits["train"], data.splits["test"]
    edited = unlearn_class(model, train["source"], train["label"], forgotten_class)
    labels = test["label"].cpu().numpy()
    scalars = {"unlearned_class": float(forgotten_class)}
    # before: the unedited surrogate's test predictions, which the context computed once for every scorer
    for stage, classes in (("before", context.predicted_classes),
                           ("after", head_classes(data.head, predict(edited, test["source"])))):
        scalars[f"forgotten_accuracy_{stage}"] = forgotten_accuracy(classes, labels, forgotten_class)
        scalars[f"retained_accuracy_{stage}"] = retained_accuracy(classes, labels, forgotten_class)
    return scalars, {}


OPERATOR_EDITING = register_scorer(Scorer(
    "operator_editing", editing_scores,
    specs("unlearned_class", *(f"{kind}_accuracy_{stage}" for kind in ("forgotten", "retained")
                               for stage in ("before", "after"))),
    task_needs={LABELS, HEAD}, model_needs={LINEAR_OPERATOR},
    description="class unlearning by a least-squares edit of the latent operator"))
