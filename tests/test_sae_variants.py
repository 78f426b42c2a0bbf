"""The field's SAEs (sae_topk, sae_batchtopk, sae_jumprelu, sae_gated, sae_matryoshka): each activation rule, the
straight-through gradients, the auxiliary terms and the Matryoshka loss against values worked by hand."""

import math

import numpy as np
import pytest
import torch
from helpers import random_batch, tiny_model

from kae_zoo.experiments.runner import run_cell
from kae_zoo.families.linear_sae import batch_top_k_relu, squared_error, top_k_relu
from kae_zoo.families.sae_jumprelu import HeavisideStep, JumpReLU

SAES = ["sae_topk", "sae_batchtopk", "sae_jumprelu", "sae_gated", "sae_matryoshka"]


def identity_model(family: str, **overrides):
    """`family` with 8 atoms on 8-dim states, W_enc = D = I and zero biases: pre = x, x_hat = z."""
    model = tiny_model(family, n_atoms=8, **overrides)
    with torch.no_grad():
        model.weight.copy_(torch.eye(8))
        model.encoder_weight.copy_(torch.eye(8))
    return model


def test_top_k_keeps_exactly_k_per_sample_and_relus():
    pre = torch.tensor([[3.0, -1.0, 2.0, 0.5], [-2.0, -1.0, -3.0, 0.1]])
    # row 0: 3 and 2 kept; row 1: the two largest are 0.1 and -1, ReLU zeroes -1
    assert torch.equal(top_k_relu(pre, 2), torch.tensor([[3.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.1]]))
    positive = torch.rand(16, 30, generator=torch.Generator().manual_seed(0)) + 0.1
    assert ((top_k_relu(positive, 4) != 0).sum(dim=1) == 4).all()


def test_top_k_model_codes_have_at_most_k_non_zeros():
    model = tiny_model("sae_topk", n_kept=3)
    codes = model.encode(random_batch(model, 64)["source"])
    assert ((codes != 0).sum(dim=1) <= 3).all() and (codes >= 0).all() and (codes != 0).sum() > 64


def test_batch_top_k_keeps_k_times_b_over_the_batch_then_uses_the_threshold():
    model = tiny_model("sae_batchtopk", n_atoms=3, n_kept=1, threshold_momentum=0.5)
    pre = torch.tensor([[3.0, 2.5, 0.5], [1.0, -1.0, 0.2]])
    # k * B = 2 entries over the batch: 3 and 2.5, both of row 0; row 1 keeps none (per-sample L0 2 and 0, mean 1)
    assert torch.equal(model.activate(pre), torch.tensor([[3.0, 2.5, 0.0], [0.0, 0.0, 0.0]]))
    assert float(model.threshold) == 2.5  # the first batch sets theta to its smallest kept activation
    model.activate(torch.tensor([[1.5, 0.2, 0.1], [0.3, 4.0, 0.0]]))  # keeps 4 and 1.5
    assert float(model.threshold) == pytest.approx(2.0)  # 2.5 + 0.5 * (1.5 - 2.5)
    model.eval()  # inference: ReLU(pre) * (pre > theta), no batch rule, theta frozen
    assert torch.equal(model.activate(torch.tensor([[2.1, 1.9, -3.0], [5.0, 4.0, 2.5]])),
                       torch.tensor([[2.1, 0.0, 0.0], [5.0, 4.0, 2.5]]))
    assert float(model.threshold) == pytest.approx(2.0)


def test_batch_top_k_counts_ties_in_the_flattened_batch():
    codes = batch_top_k_relu(torch.tensor([[1.0, 4.0], [3.0, 2.0], [0.5, -1.0]]), 1)  # 3 kept: 4, 3, 2
    assert torch.equal(codes, torch.tensor([[0.0, 4.0], [3.0, 2.0], [0.0, 0.0]]))


def test_jump_relu_and_step_pseudo_derivatives_by_hand():
    # theta = 0.5, epsilon = 0.01; (pre - theta) / epsilon = -30, 0.3, 100: only 0.503 is inside the kernel.
    pre = torch.tensor([[0.2, 0.503, 1.5]], requires_grad=True)
    threshold = torch.tensor(0.5, requires_grad=True)
    output = JumpReLU.apply(pre, threshold, 0.01)
    assert torch.allclose(output, torch.tensor([[0.0, 0.503, 1.5]]))
    output.sum().backward()
    assert pre.grad.tolist() == [[0.0, 1.0, 1.0]]  # H(pre - theta)
    assert float(threshold.grad) == pytest.approx(-50.0)  # -(theta / epsilon) * K(0.3) = -(0.5 / 0.01)
    pre.grad, threshold.grad = None, None
    step = HeavisideStep.apply(pre, threshold, 0.01)
    assert step.tolist() == [[0.0, 1.0, 1.0]]
    step.sum().backward()
    assert pre.grad.tolist() == [[0.0, 0.0, 0.0]]  # the L0 term moves no pre-activation
    assert float(threshold.grad) == pytest.approx(-100.0)  # -(1 / epsilon) * K(0.3)


def test_jump_relu_loss_gradients_to_the_threshold_by_hand():
    model = identity_model("sae_jumprelu", bandwidth=0.01, sparsity_weight=2.0)
    with torch.no_grad():
        model.log_threshold.fill_(math.log(0.5))  # theta = 0.5 on every latent
    x = torch.zeros(2, 8)
    x[0, :3] = torch.tensor([0.503, 0.2, 1.5])
    x[1, :2] = torch.tensor([0.498, 0.6])
    terms = model.loss({"source": x, "target": x})
    # row 0 keeps 0.503 and 1.5, row 1 keeps 0.6: L0 (2 + 1) / 2; the error is row 0's 0.2^2 and row 1's 0.498^2
    assert terms["l0"].item() == pytest.approx(1.5)
    assert terms["recon"].item() == pytest.approx((0.2**2 + 0.498**2) / 2)
    # Latent 0: both 0.503 and 0.498 are within epsilon / 2 of theta. L0: d/dtheta = -(1 / epsilon) * 2 / B = -100,
    # so d/dlog_theta = theta * -100 = -50; latents 1 and 2 (0.2, 0.6, 1.5) are outside: 0.
    terms["l0"].backward(retain_graph=True)
    expected = torch.zeros(8)
    expected[0] = -50.0
    assert torch.allclose(model.log_threshold.grad, expected)
    # Reconstruction: dL/dz = -2 (x - z) / B; only row 1 (z = 0, x = 0.498) has an error at latent 0, so
    # d/dtheta = -(theta / epsilon) * (-2 * 0.498 / 2) = 24.9 and d/dlog_theta = 0.5 * 24.9 = 12.45.
    model.log_threshold.grad = None
    terms["recon"].backward(retain_graph=True)
    expected[0] = 12.45
    assert torch.allclose(model.log_threshold.grad, expected, atol=1e-4)
    model.log_threshold.grad = None
    terms["total"].backward()
    expected[0] = 12.45 + 2.0 * -50.0
    assert torch.allclose(model.log_threshold.grad, expected, atol=1e-4)


def test_gated_auxiliary_term_sends_no_gradient_to_the_decoder():
    model = tiny_model("sae_gated")
    terms = model.loss(random_batch(model, 32))
    terms["aux"].backward(retain_graph=True)
    assert model.weight.grad is None  # the frozen copy of D
    assert model.encoder_weight.grad.abs().sum() > 0 and model.encoder_bias.grad.abs().sum() > 0  # the gate learns
    assert model.magnitude_log_scale.grad is None and model.magnitude_bias.grad is None  # ReLU(pi) has no magnitude
    model.zero_grad(set_to_none=True)
    terms["recon"].backward()
    assert model.weight.grad.abs().sum() > 0  # the real decoder learns from the reconstruction


def test_gated_code_is_gate_times_magnitude():
    model = identity_model("sae_gated")
    with torch.no_grad():
        model.magnitude_log_scale.fill_(math.log(2.0))  # W_mag = 2 W_gate
        model.magnitude_bias.fill_(-1.0)
    x = torch.tensor([[1.0, 0.3, -0.5, 2.0, 0, 0, 0, 0]])
    # gate pi = x: open for 1, 0.3 and 2; magnitudes ReLU(2x - 1) = 1, 0, 0, 3
    assert torch.allclose(model.encode(x), torch.tensor([[1.0, 0.0, 0.0, 3.0, 0, 0, 0, 0]]))


def test_matryoshka_loss_is_the_sum_of_prefix_losses_by_hand():
    model = identity_model("sae_matryoshka", n_kept=8, prefix_fractions=[0.25, 0.5, 1.0])  # prefixes 2, 4, 8
    x = torch.tensor([[3.0, 2.0, 1.0, 0.5, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 2.0]])
    # every positive entry kept (k * B = 16), z = x. Row 0: prefix 2 misses 1 and 0.5 (1.25), prefixes 4 and 8
    # reconstruct it; row 1: prefixes 2 and 4 miss the 2 (4 each), prefix 8 has it. Batch mean (1.25 + 8) / 2.
    terms = model.loss({"source": x, "target": x})
    assert terms["recon"].item() == pytest.approx(4.625) and terms["aux"].item() == 0.0
    assert terms["total"].item() == pytest.approx(4.625)


def test_matryoshka_prefix_slices_equal_masked_decodes():
    # the loss's prefix products z[:, :m] D[:, :m]^T against decoding z with the latents past m zeroed (the formula
    # in the module docstring), values and gradients, on a random model and batch
    model = tiny_model("sae_matryoshka", n_kept=3)
    batch = random_batch(model)
    x = batch["source"]
    codes = model.encode(x)
    positions = torch.arange(codes.shape[1])
    masked = sum(squared_error(x, model.decode(codes * (positions < size))) for size in model.prefix_sizes)
    sliced = model.reconstruction_error(x, codes, model.decode(codes))
    assert len(model.prefix_sizes) > 1 and (codes != 0).any()
    assert torch.allclose(sliced, masked, rtol=1e-6)
    gradients = [torch.autograd.grad(loss, list(model.parameters()), allow_unused=True, retain_graph=True)
                 for loss in (sliced, masked)]
    for fast, plain in zip(*gradients):
        assert (fast is None) == (plain is None)
        assert fast is None or torch.allclose(fast, plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fractions, message", [([0.5, 0.9], "to 1.0"), ([0.5, 0.25, 1.0], "increase strictly"),
                                                ([0.001, 0.002, 1.0], "repeated prefix sizes")])
def test_matryoshka_bad_prefixes_are_named(fractions, message):
    with pytest.raises(ValueError, match=message):
        tiny_model("sae_matryoshka", prefix_fractions=fractions)


def test_dead_latent_buffer_and_aux_k_by_hand():
    model = identity_model("sae_topk", n_kept=1, dead_after_steps=2, n_aux_kept=1, aux_weight=0.5)
    with torch.no_grad():
        model.steps_since_fired.copy_(torch.tensor([0, 0, 5, 5, 0, 0, 0, 0]))  # latents 2 and 3 dead
        model.encoder_bias[2] = -0.5
    x = torch.tensor([[3.0, 0.0, 2.0, 1.0, 0, 0, 0, 0]])
    terms = model.loss({"source": x, "target": x})
    # TopK keeps latent 0 (pre 3): residual e = (0, 0, 2, 1, 0...), ||e||^2 = 5. The dead latents' pre-activations
    # are 2 - 0.5 = 1.5 and 1; k_aux = 1 keeps latent 2, e_hat = (0, 0, 1.5, 0...), AuxK = 0.5^2 + 1^2 = 1.25.
    assert float(terms["recon"]) == pytest.approx(5.0) and float(terms["aux"]) == pytest.approx(1.25)
    assert float(terms["total"]) == pytest.approx(5.0 + 0.5 * 1.25)
    assert model.steps_since_fired.tolist() == [0, 1, 6, 6, 1, 1, 1, 1]  # one step more, latent 0 fired
    assert model.dead_latents().tolist() == [False, False, True, True, False, False, False, False]
    terms["aux"].backward()  # d aux / d z_2 = -2 (2 - 1.5): the dead latent 2 learns, latent 3 (not kept) does not
    assert model.encoder_weight.grad[:, 2].abs().sum() > 0 and model.encoder_weight.grad[:, 3].abs().sum() == 0
    model.eval()
    model.loss({"source": x, "target": x})
    assert model.steps_since_fired.tolist() == [0, 1, 6, 6, 1, 1, 1, 1]  # validation does not count as a step
    model.train()
    with torch.no_grad():
        model.steps_since_fired.zero_()
    assert float(model.loss({"source": x, "target": x})["aux"]) == 0.0  # nothing dead, no AuxK


@pytest.mark.parametrize("family", SAES)
def test_decoder_columns_stay_unit_norm_and_declare_the_baseline(family):
    model = tiny_model(family)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        optimizer.zero_grad()
        model.loss(random_batch(model, 32))["total"].backward()
        optimizer.step()
    assert torch.allclose(model.dictionary().norm(dim=0), torch.ones(model.config.n_atoms), atol=1e-5)
    assert type(model).baseline_for == "sae" and {"dictionary", "codes"} <= type(model).capabilities


@pytest.mark.parametrize("family", SAES)
def test_smoke_cell_on_sparse_vec(family):
    result = run_cell(family, "sparse_vec", 0, preset="smoke", device="cpu", overrides={"n_epochs": 10},
                      progress=False)
    assert result.status == "ok", result.error
    assert 0 < result.scalars["dictionary_recovery"] <= 1 and np.isfinite(result.scalars["sparsity"])
    dims, coords, values = result.curves["recovery"]
    assert coords["train_step"][-1] == 40  # 10 epochs of 2000 samples at batch 512


@pytest.mark.parametrize("family", [*SAES, "pca"])
def test_smoke_cell_on_digits_acts_has_the_representation_scores(family):
    result = run_cell(family, "digits_acts", 0, preset="smoke", device="cpu", progress=False)
    assert result.status == "ok", result.error
    scores = result.scalars
    for name in ("explained_variance", "sparsity", "alive_fraction", "downstream_recovered"):
        assert np.isfinite(scores[name]), name
    assert "betti_simplification" not in scores  # an autoencoder's identity advance has no path to score
    if family == "pca":  # a dense code: every one of its components is non-zero on (almost) every sample
        assert scores["sparsity"] == result.family_config["n_components"] and scores["alive_fraction"] == 1.0
    if family == "sae_topk":  # exactly k per sample
        assert scores["sparsity"] == result.family_config["n_kept"]
