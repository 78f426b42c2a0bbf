"""Operator editing: make a trained Koopman surrogate unlearn one class by a minimal edit of K in observable space.

A Koopman AE predicts x_j = phi^-1(K phi(x_i)); everything the surrogate "knows" about the layer-to-layer map
that is linear in the observables sits in K. The edit leaves phi, phi^-1 and G untouched and adds a matrix E,
K' = K + E, fitted on the *training* split only:

    E = argmin_E  sum_{i not in c} ||E z_i||^2  +  sum_{i in c} ||E z_i - (m_r(i) - m_c)||^2

with z_i = phi(x_i) the source observables, m_k the mean over class k of the advanced observables K z_i, and
r(i) the class other than c whose mean is nearest to K z_i ("redirect": the runner-up in observable space). The
first term keeps K' = K on the other classes' observables; the second moves each class-c observable by the
offset between its class mean and its runner-up's mean, so it lands in the runner-up's region with its
within-class variation kept, and decodes to a state the base network's head gives to that class. It is a plain
least-squares problem in E^T (rows z_i^T, right-hand sides 0 or the offset), solved in closed form with
`torch.linalg.lstsq` in float64, and it is the minimum-norm E when the rows leave it underdetermined.

Why it works: the right-hand side is a sum over runner-up classes r of (indicator of c's samples with runner-up
r) x (m_r - m_c)^T, so E = sum_r (m_r - m_c) a_r^T has rank at most n_classes - 1, each a_r being the
least-squares linear detector in observable space of "class c, runner-up r" against every other sample. The edit
is therefore "shift by m_r - m_c in proportion to how class-c-like z is": close to the full shift on class c,
close to zero on the others, as far as a linear read-out of the observables separates c from the rest. That is
where the KAE's observables help: the encoder was trained so that the layer map is linear in them, and the
target layer is class-separable (the base network's head is linear in it), so a linear detector of c in
observable space is accurate. The edit's quality is what `forgotten_accuracy_after` and
`retained_accuracy_after` measure on the held-out test split.

Interpolation after an edit: the edit is stored as the additive buffer `operator_edit`, and
K'^(t) = exp(t G) + t E (see `KoopmanAE.operator`): the path still starts at the identity and ends at K', the
edit phased in linearly. This is defined for every edited K', unlike a matrix logarithm of K', which need not be
real, but K'^(s) K'^(t) = K'^(s + t) then holds only approximately.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from .batched import in_chunks
from .families.koopman import KoopmanAE

@torch.no_grad()
def redirect_edit(observables: Tensor, operator: Tensor, labels: Tensor, forgotten_class: int) -> Tensor:
    """The least-squares edit E (module docstring) from source observables (n, p), K (p, p) and labels (n,)."""
    observables, operator = observables.double(), operator.double()
    advanced = observables @ operator.T  # (n, p): K z_i as rows
    classes = [int(label) for label in torch.unique(labels)]
    means = torch.stack([advanced[labels == label].mean(dim=0) for label in classes])  # (n_present, p)
    forgotten = labels == forgotten_class
    others = torch.tensor([label != forgotten_class for label in classes], device=labels.device)
    forgotten_mean = means[classes.index(forgotten_class)]
    distances = torch.cdist(advanced[forgotten], means[others])  # (n_c, n_present - 1)
    runner_up = means[others][distances.argmin(dim=1)]  # (n_c, p): m_r(i)
    shifts = torch.zeros_like(advanced)
    shifts[forgotten] = runner_up - forgotten_mean
    edit_transposed = torch.linalg.lstsq(observables, shifts, driver="gelsd").solution  # (p, p): E^T
    return edit_transposed.T


def unlearn_class(model: KoopmanAE, source: Tensor, labels: Tensor, forgotten_class: int) -> KoopmanAE:
    """A deep copy of `model` whose operator is edited so that `forgotten_class` is no longer predicted.

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
        edited.operator_edit += edit.to(edited.operator_edit)
    return edited
