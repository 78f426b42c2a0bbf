"""asv quality tracks: the smoke matrix's scores, each expressed so that lower is better.

`setup_cache` runs benches/matrix/smoke.toml once (every family on one small task, seed 0, smoke preset; CPU,
one thread; about a minute) and keeps each cell's scores; every track_ below reads one number from it. asv
treats a rise as a regression, so a score where higher is better is tracked as an error: 1 - accuracy,
1 - dictionary recovery, 1 - AUROC.

Each track is parametrised over the smoke-matrix families it applies to (its `params`, worked out from the family
and task classes when this module is imported, so a family added to smoke.toml is picked up). A family whose cell
lacks the score after all is skipped (NotImplementedError in setup, asv's "n/a"); a cell that failed fails its
tracks. With several seeds or tasks per family the tracks would use the family's first task and the mean over
seeds; smoke.toml has one of each.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from kae_zoo.core.capabilities import DICTIONARY, LATENT_MAP, LINEAR_OPERATOR
from kae_zoo.experiments.matrix import load_matrix
from kae_zoo.experiments.runner import run_matrix
from kae_zoo.families import get_family
from kae_zoo.tasks import get_task
from kae_zoo.tasks.base import ClassificationTask

from ._harness import SMOKE_MATRIX, smoke_families, smoke_task

torch.set_num_threads(1)
threadpool_limits(limits=1)

Scores = dict[str, dict[str, Any]]  # family -> {"task", "status", "error", "scalars", "ood_auroc_trajectory"}


def setup_cache() -> Scores:
    """Run the smoke matrix once; per family (first task), its status, error and scalar scores (mean over seeds),
    and the attractor family's AUROC of the trajectory OOD score per OOD set."""
    spec = load_matrix(SMOKE_MATRIX, device="cpu", threads=1)
    cells = run_matrix(spec, progress=False)
    scores: Scores = {}
    for family in smoke_families():
        mine = [cell for cell in cells if cell.family == family and cell.task == smoke_task(family)]
        failed = [cell for cell in mine if cell.status != "ok"]
        names = set.intersection(*(set(cell.scalars) for cell in mine)) if not failed else set()
        entry: dict[str, Any] = {
            "task": smoke_task(family),
            "status": "failed" if failed else "ok",
            "error": "; ".join(f"seed {cell.seed}: {cell.error}" for cell in failed),
            "scalars": {name: float(np.mean([cell.scalars[name] for cell in mine])) for name in names},
        }
        curves = [cell.curves["ood_auroc"] for cell in mine if "ood_auroc" in cell.curves]
        if curves and not failed:
            # (dims ("ood_method", "ood_set"), coords, values): the paper's "trajectory" score per OOD set
            rows = [values[coords["ood_method"].index("trajectory")] for _, coords, values in curves]
            entry["ood_auroc_trajectory"] = np.mean(rows, axis=0).tolist()
        scores[family] = entry
    return scores


setup_cache.timeout = 1800  # about 60 s on the 2-core VM; generous for slower machines and a cold base-network cache


def _applies(predicate: Callable[[type, type], bool]) -> list[str]:
    """The smoke-matrix families (family class, task class) for which `predicate` holds."""
    return [family for family in smoke_families() if predicate(get_family(family), get_task(smoke_task(family)))]


def _entry(scores: Scores, family: str, needs: str) -> dict[str, Any]:
    """The family's scores; RuntimeError (a failed benchmark) when its cell failed, NotImplementedError (asv skips
    it) when the cell has no `needs` score."""
    entry = scores[family]
    if entry["status"] != "ok":
        raise RuntimeError(f"smoke cell {family}/{entry['task']} failed: {entry['error']}")
    if needs not in entry["scalars"] and needs not in entry:
        raise NotImplementedError(f"{family}/{entry['task']} records no {needs}")
    return entry


def _track(needs: str, predicate: Callable[[type, type], bool], unit: str) -> Callable[[Callable], Callable]:
    """Decorator: give a track function its params, unit, and a setup that checks the score it needs."""

    def wrap(function: Callable) -> Callable:
        def setup(scores: Scores, family: str) -> None:
            _entry(scores, family, needs)

        function.params = [_applies(predicate)]
        function.param_names = ["family"]
        function.unit = unit
        function.setup = setup
        return function

    return wrap


def _has_head(family: type, task: type) -> bool:
    """Scores through the base network's head exist for layer-pair surrogates of classification tasks."""
    return family.data_view == "layer_pair" and issubclass(task, ClassificationTask)


def _has_dictionary(family: type, task: type) -> bool:
    """Dictionary recovery exists for families with atoms on the sparse tasks (known true dictionary)."""
    return DICTIONARY in family.capabilities and not issubclass(task, ClassificationTask)


def _on_grid(family: type, task: type) -> bool:
    """Resolution scores exist for families whose states are 1-D grids (1, n), on the sparse function tasks."""
    return len(family.example_spec.state_shape) == 2 and not issubclass(task, ClassificationTask)


@_track("state_error", lambda family, task: True, "relative L2 error")
def track_state_error(scores: Scores, family: str) -> float:
    """state_error on the test split: ||forward(source) - target||_F / ||target||_F (every family)."""
    return scores[family]["scalars"]["state_error"]


@_track("accuracy", _has_head, "1 - accuracy")
def track_classification_error(scores: Scores, family: str) -> float:
    """1 - accuracy on the test split: the surrogate's predicted target state through the base network's head
    against the labels (layer-pair surrogates of classification tasks: koopman on Yin-Yang)."""
    return 1.0 - scores[family]["scalars"]["accuracy"]


def _can_edit(family: type, task: type) -> bool:
    """Operator editing needs a linear latent operator and the base network's head."""
    return LINEAR_OPERATOR in family.capabilities and _has_head(family, task)


@_track("forgotten_accuracy_after", _can_edit,
        "accuracy")
def track_unlearning_leak(scores: Scores, family: str) -> float:
    """forgotten_accuracy_after on the test split: accuracy on the unlearned class after the Koopman operator
    edit (the edit is fitted on the training split; 0 = the class is forgotten)."""
    return scores[family]["scalars"]["forgotten_accuracy_after"]


@_track("retained_accuracy_after", _can_edit,
        "1 - accuracy")
def track_unlearning_collateral(scores: Scores, family: str) -> float:
    """1 - retained_accuracy_after on the test split: error on the other classes after the operator edit."""
    return 1.0 - scores[family]["scalars"]["retained_accuracy_after"]


@_track("dictionary_recovery", _has_dictionary, "1 - recovery")
def track_recovery_error(scores: Scores, family: str) -> float:
    """1 - dictionary_recovery = mean sine distance between the true atoms and their matched learned atoms
    (shift-invariant on sparse_fn). Not computed on a data split: it compares the learned dictionary of the
    weights training selected (on the validation split) with the task's true dictionary."""
    return 1.0 - scores[family]["scalars"]["dictionary_recovery"]


@_track("resolution_robustness", _on_grid, "worst / best error")
def track_resolution_robustness(scores: Scores, family: str) -> float:
    """resolution_robustness on the test split re-sampled at 0.5x..4x the training grid: worst over best relative
    reconstruction error (>= 1; 1 = resolution-invariant); a grid-bound family (sae_cnn) is run through periodic
    interpolation onto its training grid and back, a grid-invariant one (sae_fno) natively."""
    return scores[family]["scalars"]["resolution_robustness"]


@_track("ood_auroc_trajectory", lambda family, task: LATENT_MAP in family.capabilities, "1 - AUROC")
def track_ood_error(scores: Scores, family: str) -> float:
    """1 - AUROC of the paper's trajectory OOD score (mean distance of z_0..z_T to the training attractors),
    ID = the test split against each OOD set of the task (built from the train and test splits), averaged over
    the OOD sets."""
    return 1.0 - float(np.mean(scores[family]["ood_auroc_trajectory"]))
