"""The representation scorers (reconstruction, downstream, sparsity's alive fraction) on hand-made task data and
stand-in models, where every value is worked by hand; a dictionary with too few atoms scored as degenerate; and the
scores of real tiny trained cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor

from kae_zoo.core.capabilities import CODES, DICTIONARY
from kae_zoo.core.config import TrainingConfig
from kae_zoo.core.surrogate import Surrogate, TrainReport
from kae_zoo.core.types import Batch, DataSpec
from kae_zoo.experiments.runner import run_cell
from kae_zoo.scoring import ScoringContext, applicable_scorers, get_scorer, score, training_watchers
from kae_zoo.scoring.base import check_output
from kae_zoo.scoring.dictionary import RecoveryTracker
from kae_zoo.tasks import get_task
from kae_zoo.tasks.base import TaskData

REPORT = TrainReport(n_epochs_run=1, n_steps=1, best_epoch=1, best_val_loss=0.0, stopped_early=False, seconds=0.0)


class Identity(Surrogate):
    """A stand-in surrogate whose prediction is its source state (and whose code is the source itself), so a test
    chooses the predictions by choosing the test split's sources."""

    config_class = TrainingConfig
    capabilities = frozenset({CODES})

    def encode(self, x: Tensor) -> Tensor:
        return x.flatten(1)

    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        return z

    def decode(self, z: Tensor) -> Tensor:
        return z.reshape(len(z), *self.spec.state_shape)

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        return {"total": torch.mean((self(batch["source"]) - batch["target"]) ** 2)}


class FewAtoms(Identity):
    """A stand-in with a fixed dictionary of `n_atoms` atoms of length `atom_length` (like pca with few components)."""

    capabilities = frozenset({CODES, DICTIONARY})
    n_atoms, atom_length = 2, 2

    def dictionary(self) -> Tensor:
        return torch.eye(self.atom_length)[:, : self.n_atoms]


def tensor(rows: list) -> Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def hand_data(test_source: list, test_target: list, test_labels: list | None = None, train_target: list | None = None,
              head=None) -> TaskData:
    """A two-feature task with the given test split (and train targets); the val split repeats the test split."""
    test = {"source": tensor(test_source), "target": tensor(test_target)}
    if test_labels is not None:
        test["label"] = torch.tensor(test_labels)
    train_rows = train_target if train_target is not None else test_target
    train = {"source": tensor(train_rows), "target": tensor(train_rows)}
    spec = DataSpec(state_shape=(len(test_source[0]),), n_classes=2 if test_labels is not None else 0)
    return TaskData("hand", "layer_pair", spec, {"train": train, "val": test, "test": test}, "by hand", head=head)


def context(data: TaskData, model_class: type[Surrogate] = Identity) -> ScoringContext:
    return ScoringContext(model_class(TrainingConfig(), data.spec), data, REPORT, 0)


def run_scorer(name: str, context: ScoringContext) -> tuple[dict, dict, dict]:
    """(scalars, curves, degenerate reasons) of one registered scorer, checked as `score` checks them."""
    scorer = get_scorer(name)
    assert scorer.applies_to(context.model, context.data)
    scalars, curves, *notes = scorer.compute(context)
    degenerate = notes[0] if notes else {}
    check_output(scorer, scalars, curves, degenerate)
    return scalars, curves, degenerate


def test_reconstruction_scores_compare_predictions_with_targets_by_hand():
    # targets x = (2, 0), (0, 2), predictions x / 2 (metric hand values in test_representation_metrics.py):
    # explained variance 0.5 (the mean (1, 1), not zero: 0.75), l2 ratio 0.5, gamma 0.5, cosine 1
    scalars, curves, degenerate = run_scorer("reconstruction", context(hand_data([[1, 0], [0, 1]], [[2, 0], [0, 2]])))
    assert scalars == pytest.approx({"explained_variance": 0.5, "l2_ratio": 0.5, "relative_reconstruction_bias": 0.5,
                                     "reconstruction_cosine": 1.0})
    assert curves == {} and degenerate == {}


def test_reconstruction_scores_are_nan_with_the_reason_where_undefined():
    # constant targets (1, 1) predicted as (-1, -1): no variance, E<x, x_hat> = -2; l2 ratio 1 and cosine -1 hold
    data = hand_data([[-1, -1], [-1, -1]], [[1, 1], [1, 1]])
    scalars, _, degenerate = run_scorer("reconstruction", context(data))  # checked: NaN with a reason
    assert math.isnan(scalars["explained_variance"]) and math.isnan(scalars["relative_reconstruction_bias"])
    assert "have no variance" in degenerate["explained_variance"]
    assert "E<x, x_hat> = -2 <= 0" in degenerate["relative_reconstruction_bias"]
    assert scalars["l2_ratio"] == pytest.approx(1.0) and scalars["reconstruction_cosine"] == pytest.approx(-1)


def head_with_bias(states: Tensor) -> Tensor:
    """Logits = state + (0, 0.1): class 1 wins a tie, so a zero state is class 1."""
    return states.double() + torch.tensor([0.0, 0.1], dtype=torch.float64)


# Test targets (1, 0), (0, 1), (0, 2), (1, 3) with labels 0, 1, 1, 1: the head gets all four right (original 1.0).
TARGETS, LABELS = [[1, 0], [0, 1], [0, 2], [1, 3]], [0, 1, 1, 1]


def test_downstream_recovered_by_hand_ablates_to_the_training_mean():
    # train targets (3, 0), (0, 1): mean (1.5, 0.5) -> logits (1.5, 0.6) -> class 0, right on 1 of 4: ablated 0.25.
    # (the test mean (0.5, 1.5) or zero ablation would give class 1: 0.75.)
    # Predictions (1, 0), (0, 1), (2, 0), (0, 1) -> classes 0, 1, 0, 1: right on 3 of 4, 0.75.
    # recovered = (0.75 - 0.25) / (1 - 0.25) = 2/3
    data = hand_data([[1, 0], [0, 1], [2, 0], [0, 1]], TARGETS, LABELS, [[3, 0], [0, 1]], head_with_bias)
    scalars, curves, degenerate = run_scorer("downstream", context(data))
    assert scalars == pytest.approx({"downstream_recovered": 2 / 3, "mean_ablated_accuracy": 0.25})
    assert curves == {} and degenerate == {}


def test_downstream_recovered_is_degenerate_when_ablation_costs_nothing():
    # train mean (0.5, 2) -> class 1, right on 3 of 4 (0.75); the original targets (1, 0), (0, 1), (2, 0), (1, 3)
    # -> classes 0, 1, 0, 1, also right on 3 of 4: no accuracy to recover
    targets = [[1, 0], [0, 1], [2, 0], [1, 3]]
    data = hand_data(targets, targets, LABELS, [[1, 1], [0, 3]], head_with_bias)
    scalars, _, degenerate = run_scorer("downstream", context(data))
    assert scalars["mean_ablated_accuracy"] == pytest.approx(0.75) and math.isnan(scalars["downstream_recovered"])
    assert "own accuracy 0.75 is not above the mean-ablated accuracy 0.75" in degenerate["downstream_recovered"]


def test_downstream_needs_labels_and_a_head():
    unlabelled = [scorer.name for scorer in applicable_scorers(*_model_and_data(hand_data([[1, 0]], [[1, 0]])))]
    labelled = [scorer.name for scorer in applicable_scorers(
        *_model_and_data(hand_data([[1, 0]], [[1, 0]], [0], head=head_with_bias)))]
    assert "downstream" not in unlabelled and "reconstruction" in unlabelled
    assert "downstream" in labelled


def _model_and_data(data: TaskData) -> tuple[Surrogate, TaskData]:
    return Identity(TrainingConfig(), data.spec), data


def test_alive_fraction_counts_atoms_not_code_entries():
    # codes = the sources: latent 1 fires, latents 0 and 2 never -> 1 of 3 alive; sparsity (L0) 1 per sample
    scalars, _, _ = run_scorer("sparsity", context(hand_data([[0, 1, 0], [0, 2, 0]], [[0, 1, 0], [0, 2, 0]])))
    assert scalars == pytest.approx({"sparsity": 1.0, "alive_fraction": 1 / 3})
    # with a dictionary of 2 atoms, 4 code entries are 2 positions of each atom: entry 3 is atom 1 at position 1,
    # so atom 1 is alive and atom 0 is not -> 1 of 2 (entries one by one would give 1 of 4)
    rows = [[0, 0, 0, 5], [0, 0, 0, 0]]
    scalars, _, _ = run_scorer("sparsity", context(hand_data(rows, rows), FewAtoms))
    assert scalars == pytest.approx({"sparsity": 0.5, "alive_fraction": 0.5})
    with pytest.raises(ValueError, match="3 entries per sample, not a multiple of the dictionary's 2 atoms"):
        run_scorer("sparsity", context(hand_data([[0, 0, 1]], [[0, 0, 1]]), FewAtoms))


@pytest.fixture(scope="module")
def sparse_vec():
    return get_task("sparse_vec")().load(0, "smoke", "autoencode", torch.device("cpu"), progress=False)


class TenAtoms(FewAtoms):
    """Ten atoms of the true dictionary's length: fewer than sparse_vec's true atoms."""

    n_atoms = 10

    def dictionary(self) -> Tensor:
        return torch.eye(self.spec.state_dim)[:, : self.n_atoms]


def test_a_dictionary_with_fewer_atoms_than_the_truth_is_degenerate_not_a_failure(sparse_vec):
    n_true = sparse_vec.ground_truth.n_atoms
    assert n_true > 10
    model = TenAtoms(TrainingConfig(), sparse_vec.spec)
    watchers = training_watchers(model, sparse_vec)
    tracker = watchers["dictionary_recovery"]
    assert isinstance(tracker, RecoveryTracker)
    tracker(0, model)  # the training watcher records nothing rather than raising
    assert tracker.steps == [] and tracker.recovery == []
    cell = score(ScoringContext(model, sparse_vec, REPORT, 0, watchers=watchers))
    reason = f"the learned dictionary has 10 atoms, fewer than the {n_true} true atoms"
    for name in ("dictionary_recovery", "max_sine_distance", "steps_to_recovery", "recovery_reached"):
        assert math.isnan(cell.scalars[name]) and cell.degenerate[name] == reason
    assert "recovery" not in cell.curves


def test_a_dictionary_with_as_many_atoms_as_the_truth_is_still_scored(sparse_vec):
    truth = sparse_vec.ground_truth.dictionary  # (50, 100): more atoms than the state dimension

    class TrueAtoms(Identity):
        capabilities = frozenset({CODES, DICTIONARY})

        def dictionary(self) -> Tensor:
            return torch.from_numpy(truth)

    model = TrueAtoms(TrainingConfig(), sparse_vec.spec)
    scalars, _, degenerate = run_scorer("dictionary_recovery", ScoringContext(model, sparse_vec, REPORT, 0))
    assert degenerate == {} and scalars["dictionary_recovery"] == pytest.approx(1.0)  # every atom matched exactly


def test_a_trained_sparse_cell_has_every_representation_score():
    cell = run_cell("sae", "sparse_vec", 0, preset="smoke", device="cpu", overrides={"n_epochs": 2}, progress=False)
    assert cell.status == "ok", cell.error
    scalars = cell.scalars
    assert 0.0 < scalars["explained_variance"] <= 1.0
    assert 0.0 < scalars["l2_ratio"] and 0.0 < scalars["relative_reconstruction_bias"]
    assert 0.0 < scalars["reconstruction_cosine"] <= 1.0
    assert 0.0 < scalars["alive_fraction"] <= 1.0
    assert "downstream_recovered" not in scalars  # sparse_vec has no labels and no head
    assert cell.degenerate == {}


def test_a_trained_layer_pair_cell_has_downstream_scores():
    cell = run_cell("koopman", "yinyang", 0, preset="smoke", device="cpu", overrides={"n_epochs": 2}, progress=False)
    assert cell.status == "ok", cell.error
    # mean ablation predicts one class for every sample: at most the largest class's share of yinyang's 3 classes
    assert 0.0 < cell.scalars["mean_ablated_accuracy"] < 0.5
    # the reconstructed accuracy is classification's `accuracy` (the same head on the same predictions), and the
    # layer's own accuracy is above the floor, so the recovered share has the sign of accuracy - floor
    assert "downstream_recovered" not in cell.degenerate
    recovered, floor = cell.scalars["downstream_recovered"], cell.scalars["mean_ablated_accuracy"]
    assert np.sign(recovered) == np.sign(round(cell.scalars["accuracy"] - floor, 12))
    assert "alive_fraction" not in cell.scalars  # koopman's latents are observables, not codes
