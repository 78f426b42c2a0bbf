"""The vector SAE families: shrinkage and ISTA by hand, unit-norm dictionaries, orthogonal lifting = plain SAE,
and the recovery scores of a run."""

import numpy as np
import pytest
import torch
from helpers import random_batch, tiny_model

from kae_zoo.core.surrogate import FitSettings
from kae_zoo.experiments.runner import run_cell
from kae_zoo.families.sparse_coding import (
    ista,
    ista_step_size,
    lasso_loss,
    shrinkage,
    soft_threshold,
    top_k_magnitude,
    unit_columns,
)
from kae_zoo.scoring.dictionary import RecoveryTracker
from kae_zoo.tasks.sparse_truth import SparseGroundTruth
from kae_zoo.training import train


def test_soft_threshold_gradients_by_hand():
    # d/dv = 1 outside [-t, t], 0 inside; d/dt = -sign(v) outside, 0 inside: v = -3, 0.5, 2 with t = 1.
    values = torch.tensor([-3.0, 0.5, 2.0], requires_grad=True)
    threshold = torch.tensor(1.0, requires_grad=True)
    soft_threshold(values, threshold).sum().backward()
    assert values.grad.tolist() == [1.0, 0.0, 1.0] and threshold.grad.item() == 0.0  # +1 (v < -t) - 1 (v > t)
    per_atom = torch.tensor([[0.5, 4.0]])  # a threshold per column broadcasts
    assert torch.equal(soft_threshold(torch.tensor([[2.0, -3.0]]), per_atom), torch.tensor([[1.5, 0.0]]))


def test_soft_threshold_keeps_signs():
    values = torch.tensor([-3.0, -0.5, 0.0, 0.2, 2.0])
    assert torch.equal(soft_threshold(values, 1.0), torch.tensor([-2.0, 0.0, 0.0, 0.0, 1.0]))


def test_top_k_keeps_largest_magnitudes_with_signs():
    values = torch.tensor([[3.0, -5.0, 1.0, 0.5]])
    assert torch.equal(top_k_magnitude(values, 2), torch.tensor([[3.0, -5.0, 0.0, 0.0]]))


def test_two_ista_steps_by_hand():
    # Atoms d1 = (1, 0), d2 = (0.6, 0.8); x = 2 d1; eta 0.5, lambda 0.2, so the threshold is 0.1.
    # Step 1: D^T x = (2, 1.2); shrink(0.5 * (2, 1.2), 0.1) = (0.9, 0.5).
    # Step 2: D z = (1.2, 0.4), residual (0.8, -0.4), D^T r = (0.8, 0.16); shrink((1.3, 0.58), 0.1) = (1.2, 0.48).
    dictionary = torch.tensor([[1.0, 0.6], [0.0, 0.8]])
    x = torch.tensor([[2.0, 0.0]])
    assert torch.allclose(ista(x, dictionary, n_steps=1, sparsity_weight=0.2,
                          step_size=0.5), torch.tensor([[0.9, 0.5]]))
    assert torch.allclose(ista(x, dictionary, n_steps=2, sparsity_weight=0.2,
                          step_size=0.5), torch.tensor([[1.2, 0.48]]))


def test_ista_with_an_orthonormal_dictionary_is_one_shrinkage():
    # D^T D = I and eta = 1: z = shrink(D^T x, lambda) after one step, and it is a fixed point.
    dictionary = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(0))).Q
    code = torch.tensor([[2.0, 0.0, -1.5, 0.0, 0.0]])
    x = code @ dictionary.T
    expected = torch.tensor([[1.5, 0.0, -1.0, 0.0, 0.0]])
    assert torch.allclose(ista(x, dictionary, n_steps=1, sparsity_weight=0.5,
                          step_size=1.0), expected, atol=1e-6)
    assert torch.allclose(ista(x, dictionary, n_steps=10, sparsity_weight=0.5,
                          step_size=1.0), expected, atol=1e-6)


def test_ista_recovers_a_sparse_code_of_an_incoherent_dictionary():
    generator = torch.Generator().manual_seed(0)
    dictionary = unit_columns(torch.randn(40, 60, generator=generator, dtype=torch.float64))
    code = torch.zeros(1, 60, dtype=torch.float64)
    code[0, [3, 17, 42]] = torch.tensor([1.5, -2.0, 1.2], dtype=torch.float64)
    estimate = ista(code @ dictionary.T, dictionary, n_steps=2000, sparsity_weight=1e-3,
                          step_size=ista_step_size(dictionary))
    assert torch.equal(estimate.abs() > 0.05, code.abs() > 0)  # the right support
    assert torch.allclose(estimate, code, atol=1e-2)  # lasso bias of order lambda


def ista_as_written(x, dictionary, *, n_steps, sparsity_weight, step_size):
    """The ISTA loop as the module docstring writes it (residual form, `soft_threshold`): what `ista` must equal."""
    codes = x.new_zeros(x.shape[0], dictionary.shape[1])
    for _ in range(n_steps):
        residual = x - codes @ dictionary.T
        codes = soft_threshold(codes + step_size * residual @ dictionary, step_size * sparsity_weight)
    return codes


def test_fused_shrinkage_equals_soft_threshold_bit_for_bit():
    # softshrink(v, t) = v - clamp(v, -t, t): the same floats forward and backward, boundary |v| = t included
    values = torch.tensor([-3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 2.0, 7.5], requires_grad=True)
    fused_values = values.detach().clone().requires_grad_()
    threshold, shrink = shrinkage(torch.tensor(1.0))
    assert threshold == 1.0 and shrink is not soft_threshold
    fused = shrink(fused_values, threshold)
    plain = soft_threshold(values, 1.0)
    assert torch.equal(fused, plain)
    (fused * torch.arange(8.0)).sum().backward()
    (plain * torch.arange(8.0)).sum().backward()
    assert torch.equal(fused_values.grad, values.grad)  # 0 at |v| <= 1: -1, 0, 0.5, 1 in positions 1 to 5
    assert fused_values.grad.tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 6.0, 7.0]
    # a threshold that needs its gradient, or one per atom, keeps the unfused form
    assert shrinkage(torch.tensor(1.0, requires_grad=True))[1] is soft_threshold
    assert shrinkage(torch.ones(3))[1] is soft_threshold


@pytest.mark.parametrize("n_steps", [1, 2, 15])
def test_gram_form_ista_equals_the_loop_as_written(n_steps):
    # same iterates and dictionary gradients up to float rounding: in float64 to 1e-12, in float32 to 1e-5 relative
    generator = torch.Generator().manual_seed(0)
    for dtype, tolerance in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        weight = torch.randn(50, 100, generator=generator, dtype=dtype).requires_grad_()
        x = torch.randn(64, 50, generator=generator, dtype=dtype)
        results = []
        for encoder in (ista, ista_as_written):
            dictionary = unit_columns(weight)
            codes = encoder(x, dictionary, n_steps=n_steps, sparsity_weight=0.3, step_size=ista_step_size(dictionary))
            weight.grad = None
            lasso_loss(x, codes @ dictionary.T, codes, 0.3)["total"].backward()
            results.append((codes.detach(), weight.grad.clone()))
        (codes, gradient), (expected_codes, expected_gradient) = results
        assert torch.allclose(codes, expected_codes, rtol=tolerance, atol=tolerance * expected_codes.abs().max())
        assert torch.allclose(gradient, expected_gradient, rtol=tolerance,
                              atol=tolerance * expected_gradient.abs().max())
        assert (codes != 0).any() and (codes == 0).any()  # some entries shrunk to 0, some kept


def test_step_size_is_reciprocal_squared_spectral_norm():
    assert float(ista_step_size(torch.tensor([[2.0, 0.0], [0.0, 1.0]]))) == pytest.approx(0.25)


def test_lasso_loss_by_hand():
    terms = lasso_loss(torch.tensor([[1.0, 2.0]]), torch.zeros(1, 2), torch.tensor([[1.0, -2.0]]), 0.5)
    assert float(terms["recon"]) == pytest.approx(2.5) and float(terms["l1"]) == pytest.approx(3.0)
    assert float(terms["total"]) == pytest.approx(4.0)


VARIANTS = [
    ("sae", {"encoder": "relu"}),
    ("sae", {"encoder": "topk", "n_kept": 3}),
    ("lifted_sae", {"lifting": "orthogonal"}),
    ("lifted_sae", {"lifting": "learned", "lifted_dim": 12}),
]


@pytest.mark.parametrize("family, overrides", VARIANTS)
def test_variants_train_every_parameter(family, overrides):
    model = tiny_model(family, **overrides)
    model.loss(random_batch(model))["total"].backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_orthogonal_lifting_is_a_buffer_and_learned_lifting_is_trained():
    orthogonal = tiny_model("lifted_sae", lifting="orthogonal")
    assert "lifting" in dict(orthogonal.named_buffers()) and "lifting" not in dict(orthogonal.named_parameters())
    lifting = orthogonal.lifting
    assert torch.allclose(lifting.T @ lifting, torch.eye(lifting.shape[1]), atol=1e-5)
    assert {"lifting", "projection"} <= set(dict(tiny_model("lifted_sae", lifting="learned").named_parameters()))


@pytest.mark.parametrize("family, overrides", [("sae", {}), *VARIANTS])
def test_dictionary_shape_and_unit_columns_after_training(family, overrides):
    model = tiny_model(family, n_epochs=5, learning_rate=0.05, **overrides)
    before = model.dictionary().detach().clone()
    assert before.shape == (model.spec.state_dim, model.config.n_atoms)
    train(model, random_batch(model, 64), random_batch(model, 32, seed=1), FitSettings(seed=0, progress=False))
    after = model.dictionary().detach()
    assert not torch.allclose(before, after)
    assert torch.allclose(after.norm(dim=0), torch.ones(model.config.n_atoms), atol=1e-5)


def test_lifted_dim_below_state_dim_is_refused():
    with pytest.raises(ValueError, match="lifted_dim 4 must be >= the state dim 8"):
        tiny_model("lifted_sae", lifted_dim=4)


def test_orthogonal_lifting_reproduces_plain_sae_under_gradient_descent():
    # Same seed, same initial dictionary; L^T L = I makes every code and every SGD step the plain SAE's.
    # (Adam rescales coordinates, so it is not rotation-equivariant and the two would differ under it.)
    plain = tiny_model("sae", seed=7)
    lifted = tiny_model("lifted_sae", seed=7, lifting="orthogonal", lifted_dim=20)
    batch = random_batch(plain, 32)
    optimizers = [torch.optim.SGD(model.parameters(), lr=0.05) for model in (plain, lifted)]
    for step in range(5):
        assert torch.allclose(plain.dictionary(), lifted.dictionary(), atol=1e-5), step
        assert torch.allclose(plain.encode(batch["source"]), lifted.encode(batch["source"]), atol=1e-5), step
        for model, optimizer in zip((plain, lifted), optimizers):
            optimizer.zero_grad()
            model.loss(batch)["total"].backward()
            optimizer.step()
    assert not torch.allclose(plain.dictionary(), tiny_model("sae", seed=7).dictionary(), atol=1e-3)  # it learned


def test_tracker_scores_the_model_dictionary():
    model = tiny_model("sae")
    own = model.dictionary().detach().double().numpy()
    truth = SparseGroundTruth(dictionary=own[:, :10], test_atoms=np.zeros((1, 1), dtype=np.int64),
                              test_amplitudes=np.ones((1, 1)), test_shifts=None, shift_invariant=False,
                              atom_names=tuple(f"atom_{index}" for index in range(10)), atom_smooth=None)
    tracker = RecoveryTracker(truth)
    tracker(0, model)
    assert tracker.steps == [0] and tracker.recovery[0] == pytest.approx(1.0)


@pytest.mark.parametrize("family", ["sae", "lifted_sae"])
def test_smoke_run_records_the_recovery_curve(family):
    result = run_cell(family, "sparse_vec", 0, preset="smoke", device="cpu", overrides={"n_epochs": 30}, progress=False)
    assert result.status == "ok", result.error
    dims, coords, values = result.curves["recovery"]
    assert dims == ("train_step",) and coords["train_step"][0] == 0 and coords["train_step"][-1] == 120
    assert coords["train_step"][:3] == [0, 50, 100] and len(values) == 4 and np.all((values >= 0) & (values <= 1))
    assert values[-1] > values[0]  # it learns
    for name in ("dictionary_recovery", "max_sine_distance", "steps_to_recovery", "recovery_reached", "sparsity"):
        assert np.isfinite(result.scalars[name]), name
    assert result.scalars["steps_to_recovery"] <= 120
