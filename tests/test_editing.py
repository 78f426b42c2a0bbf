"""Operator editing (class unlearning) of the Koopman AE: the edit, its metrics and its scores."""

import numpy as np
import pytest
import torch
from helpers import random_batch, tiny_model

from kae_zoo.experiments.runner import run_cell
from kae_zoo.families.koopman import KoopmanAE
from kae_zoo.metrics.editing import forgotten_accuracy, retained_accuracy
from kae_zoo.scoring.operator_editing import redirect_edit, unlearn_class

EDITING_SCORES = ("forgotten_accuracy_before", "forgotten_accuracy_after", "retained_accuracy_before",
                  "retained_accuracy_after")


def edited_tiny_model() -> tuple[KoopmanAE, KoopmanAE, dict[str, torch.Tensor]]:
    model = tiny_model("koopman")
    with torch.no_grad():
        model.generator.copy_(0.3 * torch.randn(model.generator.shape, generator=torch.Generator().manual_seed(1)))
    batch = random_batch(model, n_samples=60)
    return model, unlearn_class(model, batch["source"], batch["label"], forgotten_class=2), batch


def test_metrics_by_hand():
    predicted, labels = np.array([0, 1, 2, 2, 1]), np.array([0, 1, 2, 1, 2])
    # class 2 at positions 2 and 4: hits 1, 0 -> 1/2; the others at 0, 1, 3: hits 1, 1, 0 -> 2/3
    assert forgotten_accuracy(predicted, labels, 2) == pytest.approx(0.5)
    assert retained_accuracy(predicted, labels, 2) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="forgotten class 3"):
        forgotten_accuracy(predicted, labels, 3)
    with pytest.raises(ValueError, match="nothing is retained"):
        retained_accuracy(np.array([1, 1]), np.array([1, 1]), 1)
    with pytest.raises(ValueError, match="equal length"):
        forgotten_accuracy(predicted, labels[:3], 2)


def test_redirect_edit_by_hand():
    # K = I; classes 0 and 1 sit at e0 and e1, class 2 at (0, 0.1, 1), whose nearest other class mean is class 1's.
    # The shift is m_1 - m_2 = (0, 0.9, -1); E maps e0 and e1 to 0 and (0, 0.1, 1) to the shift, so E = shift e2^T
    # and K' sends class 2 exactly onto class 1's mean.
    observables = torch.tensor([[1.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0.1, 1], [0, 0.1, 1]])
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    edit = redirect_edit(observables, torch.eye(3), labels, forgotten_class=2)
    expected = torch.zeros(3, 3, dtype=torch.float64)
    expected[:, 2] = torch.tensor([0.0, 0.9, -1.0])
    assert torch.allclose(edit, expected, atol=1e-12)
    edited = observables.double() @ (torch.eye(3, dtype=torch.float64) + edit).T
    assert torch.allclose(edited[4:], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand(2, 3), atol=1e-12)
    assert torch.allclose(edited[:4], observables[:4].double())


def test_every_forgotten_sample_lands_on_the_runner_up_mean():
    # K = I in 4-d; class 0 at e0, class 1 at 0.9 e1 (the nearer mean for both class-2 samples), class 2 at e2 and
    # e3. Targets: E e2 = 0.9 e1 - e2, E e3 = 0.9 e1 - e3, E e0 = E e1 = 0, so E = (0.9 e1 - e2) e2^T + (0.9 e1 - e3)
    # e3^T and K' sends both onto 0.9 e1. (Shifting by m_1 - m_2 instead would leave e2 at 0.9 e1 + (e2 - e3) / 2.)
    eye = torch.eye(4, dtype=torch.float64)
    observables = torch.stack([eye[0], eye[0], 0.9 * eye[1], 0.9 * eye[1], eye[2], eye[3]])
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    edit = redirect_edit(observables, torch.eye(4), labels, forgotten_class=2)
    expected = torch.outer(0.9 * eye[1] - eye[2], eye[2]) + torch.outer(0.9 * eye[1] - eye[3], eye[3])
    assert torch.allclose(edit, expected, atol=1e-12)
    edited = observables @ (eye + edit).T
    assert torch.allclose(edited[4:], (0.9 * eye[1]).expand(2, 4), atol=1e-12)
    assert torch.allclose(edited[:4], observables[:4])


def test_original_model_is_unchanged_and_the_copy_is_edited():
    model = tiny_model("koopman")
    with torch.no_grad():
        model.generator.copy_(0.3 * torch.randn(model.generator.shape, generator=torch.Generator().manual_seed(1)))
    before = {name: value.clone() for name, value in model.state_dict().items()}
    batch = random_batch(model, n_samples=60)
    edited = unlearn_class(model, batch["source"], batch["label"], forgotten_class=2)
    assert all(torch.equal(value, before[name]) for name, value in model.state_dict().items())
    assert torch.count_nonzero(model.operator_edit) == 0
    assert torch.count_nonzero(edited.operator_edit) > 0
    assert torch.equal(edited.generator, model.generator) and edited.encoder is not model.encoder


def test_edit_is_deterministic():
    _, first, _ = edited_tiny_model()
    _, second, _ = edited_tiny_model()
    assert torch.equal(first.operator_edit, second.operator_edit)


def test_interpolation_after_an_edit_phases_the_edit_in_linearly():
    model, edited, _ = edited_tiny_model()
    edit = edited.operator_edit
    identity = torch.eye(model.config.observable_dim)
    assert torch.allclose(edited.operator(0.0), identity)
    assert torch.allclose(edited.operator(1.0), model.operator(1.0) + edit)
    assert torch.allclose(edited.operator(0.3), model.operator(0.3) + 0.3 * edit)  # a whole number of substeps
    assert torch.allclose(edited.operator(0.37), model.operator(0.37) + 0.37 * edit)


@pytest.mark.parametrize("bad", [3, -1, True, 1.0])
def test_bad_class_is_rejected_with_the_valid_range(bad):
    model = tiny_model("koopman")
    batch = random_batch(model)
    with pytest.raises(ValueError, match=rf"forgotten_class {bad!r} .*valid: 0 to 2"):
        unlearn_class(model, batch["source"], batch["label"], bad)


def test_labels_without_the_class_are_rejected():
    model = tiny_model("koopman")
    batch = random_batch(model)
    with pytest.raises(ValueError, match="must contain class 2"):
        unlearn_class(model, batch["source"], torch.zeros_like(batch["label"]), 2)


def test_unlearn_class_config_is_checked_before_training():
    with pytest.raises(ValueError, match="unlearn_class must be .*got -2"):
        KoopmanAE.make_config("smoke", overrides={"unlearn_class": -2})
    with pytest.raises(ValueError, match="unlearn_class 3 is not a class of this task; valid: -1 .* 0 to 2"):
        tiny_model("koopman", unlearn_class=3)


@pytest.fixture(scope="module")
def digits_cell():
    return run_cell("koopman", "digits", 0, preset="smoke", device="cpu", progress=False)


def test_end_to_end_digits_forgets_class_4_and_keeps_the_others(digits_cell):
    assert digits_cell.status == "ok", digits_cell.error
    scalars = digits_cell.scalars
    assert scalars["unlearned_class"] == 4
    assert all(name in scalars for name in EDITING_SCORES)
    # A 10-epoch smoke model (state_error about 0.5): the edit must remove most of class 4's correct predictions
    # and cost the others at most 2 points; the strict criterion (<= 0.01, <= 1 point) is for trained models.
    assert scalars["forgotten_accuracy_before"] > 0.5
    assert scalars["forgotten_accuracy_after"] <= 0.1
    assert scalars["retained_accuracy_after"] >= scalars["retained_accuracy_before"] - 0.02


def test_editing_scores_can_be_skipped():
    cell = run_cell("koopman", "digits", 0, preset="smoke", device="cpu", progress=False,
                    overrides={"unlearn_class": -1, "n_epochs": 1})
    assert cell.status == "ok", cell.error
    assert not any(name in cell.scalars for name in (*EDITING_SCORES, "unlearned_class"))
