"""The Koopman AE's operator K = exp(G/k)^k, its interpolation, and its loss terms."""

import pytest
import torch
from helpers import random_batch, tiny_model

from kae_zoo.families.koopman import KoopmanAE, pairwise_distance_mismatch


def model_with_random_generator(n_substeps: int = 10) -> KoopmanAE:
    model = tiny_model("koopman", n_substeps=n_substeps)
    with torch.no_grad():
        model.generator.copy_(0.3 * torch.randn(model.generator.shape, generator=torch.Generator().manual_seed(1)))
    return model


def test_operator_starts_at_identity():
    model = tiny_model("koopman")
    identity = torch.eye(model.config.observable_dim)
    assert torch.allclose(model.operator(1.0), identity)
    batch = random_batch(model)
    latents = model.encode(batch["source"])
    assert torch.allclose(model.advance(latents), latents)


def test_divergence_reason_names_an_operator_norm_beyond_the_limit():
    model = tiny_model("koopman", max_operator_norm=10.0)
    assert model.divergence_reason() is None  # K = I: norm 1
    with torch.no_grad():
        model.generator.copy_(torch.diag(torch.full((model.config.observable_dim,), 3.0)))  # K = e^3 I
    assert model.divergence_reason() == "operator norm ||K||_2 = 20.09 exceeds max_operator_norm 10"
    with torch.no_grad():
        model.generator.fill_(float("inf"))
    assert model.divergence_reason() == "operator norm ||K||_2 = inf exceeds max_operator_norm 10"


def test_substep_power_equals_matrix_exponential():
    model = model_with_random_generator(n_substeps=10)
    generator = model.generator.detach()
    assert torch.allclose(model.operator(1.0), torch.linalg.matrix_exp(generator), atol=1e-5)
    assert torch.allclose(model.operator(0.3), torch.linalg.matrix_exp(0.3 * generator), atol=1e-5)  # 3 substeps
    assert torch.allclose(model.operator(0.0), torch.eye(len(generator)))


def test_operator_is_reused_without_gradients_until_it_changes():
    model = model_with_random_generator()
    with torch.no_grad():
        first = model.operator(1.0)
        assert model.operator(1.0) is first  # reused
        assert not torch.equal(model.operator(0.5), first)  # another time: built again
        model.generator.add_(0.1)  # an optimiser step changes G in place
        stepped = model.operator(1.0)
        assert torch.allclose(stepped, torch.linalg.matrix_exp(model.generator), atol=1e-5)
        model.operator_edit.add_(1.0)  # an edit changes E in place
        assert torch.allclose(model.operator(1.0), stepped + 1.0)
        model.double()  # new storage and dtype
        assert model.operator(1.0).dtype == torch.float64
    with_gradients = model.operator(1.0)
    assert with_gradients.requires_grad and model.operator(1.0) is not with_gradients  # training: never reused


def test_interpolation_is_a_semigroup():
    model = model_with_random_generator()
    # K^(0.37) is not a whole number of substeps: computed as exp(0.37 G).
    assert torch.allclose(model.operator(0.37) @ model.operator(0.63), model.operator(1.0), atol=1e-5)
    assert torch.allclose(model.operator(0.5) @ model.operator(0.5), model.operator(1.0), atol=1e-5)


def test_pairwise_distance_mismatch_by_hand():
    # State distances 3, 4, 5; observable distances 3, 0, 3 -> squared gaps 0, 16, 4 -> mean 20 / 3.
    states = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    observables = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 0.0]])
    assert pairwise_distance_mismatch(states, observables).item() == pytest.approx(20 / 3)
    assert pairwise_distance_mismatch(states[:1], observables[:1]).item() == 0.0


def test_loss_terms_and_weights():
    model = model_with_random_generator()
    batch = random_batch(model)
    terms = model.loss(batch)
    source, target = batch["source"], batch["target"]
    phi_source, phi_target = model.encode(source), model.encode(target)
    advanced = phi_source @ model.operator(1.0).T
    mse = torch.nn.functional.mse_loss
    assert terms["linear"].item() == pytest.approx(mse(advanced, phi_target).item(), rel=1e-5)
    assert terms["state"].item() == pytest.approx(mse(model.decode(advanced), target).item(), rel=1e-5)
    weighted = tiny_model("koopman", recon_weight=0.0, linear_weight=2.0, state_weight=0.0, isometry_weight=0.5)
    weighted.load_state_dict(model.state_dict())
    weighted_terms = weighted.loss(batch)
    expected = 2.0 * weighted_terms["linear"] + 0.5 * weighted_terms["isometry"]
    assert weighted_terms["total"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_negative_weight_is_rejected():
    with pytest.raises(ValueError, match="loss weights"):
        KoopmanAE.make_config("smoke", overrides={"state_weight": -1.0})


def test_task_presets_follow_the_paper_on_mnist():
    config = KoopmanAE.make_config("paper", task="mnist")
    assert (config.observable_dim, config.hidden_dims, config.n_substeps) == (800, (1000,), 10)
    assert (config.isometry_weight, config.learning_rate, config.n_epochs, config.batch_size) == (1e-3, 5e-3, 100, 512)
    yinyang = KoopmanAE.make_config("paper", task="yinyang")
    assert (yinyang.observable_dim, yinyang.hidden_dims, yinyang.n_substeps) == (20, (30,), 100)
    assert (yinyang.learning_rate, yinyang.n_epochs, yinyang.batch_size, yinyang.lr_schedule) == (
        0.1, 1000, 1024, "triangular")
