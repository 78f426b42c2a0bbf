"""The latent-attractor family: attractor search on maps with known fixed points, the merge rule, the scores by
hand, and an end-to-end smoke cell."""

import math

import numpy as np
import pytest
import torch
from helpers import random_batch, tiny_model

from kae_zoo.core.surrogate import FitSettings
from kae_zoo.experiments import runner
from kae_zoo.experiments.runner import run_cell
from kae_zoo.families import create_surrogate, get_family
from kae_zoo.families.attractor import image_side, stratified_subset
from kae_zoo.metrics.attractor import (
    attractor_count,
    convergence_fraction,
    iterations_to_converge,
    jacobian_spectral_norm,
    jacobian_spectral_radius,
    memorization,
    probe_reconstruction,
)
from kae_zoo.scoring import EvaluationConfig, applicable_scorers
from kae_zoo.scoring.attractor_search import (
    cosine_similarities,
    distance_to_set,
    iterate_to_convergence,
    jacobians,
    merge_end_points,
    trajectory_distances,
)
from kae_zoo.scoring.attractors import attractor_scores
from kae_zoo.tasks import get_task
from kae_zoo.training import train

HALF = torch.eye(2, dtype=torch.float64) * 0.5


def halve(z):
    return z @ HALF.T


def two_basins(z):
    """z -> z / 2 + sign(z_1) c / 2, c = (1, 1): fixed points +c and -c, basins z_1 > 0 and z_1 < 0."""
    return 0.5 * z + 0.5 * torch.sign(z[:, :1]) * torch.ones(1, 2, dtype=z.dtype)


# --- the search -------------------------------------------------------------------------------------------------


def test_contractive_linear_map_stops_where_the_rule_says():
    # z_k = 0.5^k z_0; from (1, 0) the step z_k - z_{k-1} has squared norm 0.25^k: 0.25^9 = 3.8e-6 >= 1e-6 and
    # 0.25^10 = 9.5e-7 < 1e-6, so the start stops at k = 10, at 0.5^10. From (2, 0) it is one step later.
    starts = torch.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    result = iterate_to_convergence(halve, starts, tolerance=1e-6, max_steps=3000)
    assert result.n_steps.tolist() == [10, 11]
    assert result.converged.tolist() == [True, True]
    assert torch.allclose(result.end_points, torch.tensor([[0.5**10, 0.0], [0.5**10, 0.0]], dtype=torch.float64))


def test_random_starts_of_a_contraction_converge_to_zero():
    generator = torch.Generator().manual_seed(0)
    matrix = torch.randn(4, 4, generator=generator, dtype=torch.float64)
    matrix = 0.9 * matrix / torch.linalg.matrix_norm(matrix, ord=2)  # spectral norm 0.9 < 1
    starts = 5 * torch.randn(50, 4, generator=generator, dtype=torch.float64)
    result = iterate_to_convergence(lambda z: z @ matrix.T, starts, tolerance=1e-10, max_steps=3000)
    assert result.converged.all()
    assert result.end_points.norm(dim=1).max() < 1e-3
    # Near the origin cosine similarity says nothing (the end points point anywhere): the distance clause merges them.
    assert len(merge_end_points(result.end_points, 0.99, distance_threshold=1e-2)[0]) == 1


def test_the_step_cap_leaves_starts_unconverged():
    result = iterate_to_convergence(halve, torch.tensor([[1.0, 0.0]], dtype=torch.float64), max_steps=5)
    assert result.n_steps.tolist() == [5] and result.converged.tolist() == [False]
    assert result.end_points[0, 0].item() == pytest.approx(0.5**5)


def test_a_start_that_diverges_stops_unconverged_at_its_last_finite_iterate():
    def tripling_until_large(z):
        return torch.where(z.abs() > 10, torch.full_like(z, math.nan), 3 * z)

    # 1 -> 3 -> 9 -> 27 -> NaN: three finite steps.
    result = iterate_to_convergence(tripling_until_large, torch.tensor([[1.0]], dtype=torch.float64))
    assert result.n_steps.tolist() == [3] and result.converged.tolist() == [False]
    assert result.end_points.item() == 27.0


def test_two_basins_are_both_found_and_merged():
    generator = torch.Generator().manual_seed(1)
    starts = torch.randn(40, 2, generator=generator, dtype=torch.float64)
    starts[:, 0] = starts[:, 0].abs() + 0.1
    starts[20:, 0] *= -1  # 20 starts in each basin
    result = iterate_to_convergence(two_basins, starts)
    assert result.converged.all()
    attractors, labels = merge_end_points(result.end_points)
    assert len(result.end_points) == 40 and len(attractors) == 2
    assert torch.allclose(attractors, torch.tensor([[1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64), atol=1e-3)
    assert labels.tolist() == [0] * 20 + [1] * 20
    assert attractor_count(labels.numpy()) == 2


def test_path_mean_averages_over_the_whole_trajectory_including_the_start():
    # From (1, 0): |z_k| = 0.5^k for k = 0..10 (stops at 10): mean = (2 - 2^-10) / 11.
    start = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    expected = (2 - 2**-10) / 11
    result = iterate_to_convergence(halve, start, path_function=lambda z: z.norm(dim=1))
    assert result.path_mean.item() == pytest.approx(expected)
    origin = torch.zeros(1, 2, dtype=torch.float64)
    assert trajectory_distances(halve, start, origin).item() == pytest.approx(expected)


def test_cosine_merge_rule_by_hand():
    # cos((1, 0), (1, 0.1)) = 1/sqrt(1.01) = 0.995 > 0.99: merged. cos((1, 0), (1, 0.2)) = 1/sqrt(1.04) = 0.981: new.
    # (0, 1): new. (2, 0): cos 1 with (1, 0), scale does not matter. (1, 0.14): cos 0.9903 with (1, 0) and
    # 1.028 / sqrt(1.0196 * 1.04) = 0.9983 with (1, 0.2): it joins the more similar one.
    points = torch.tensor([[1.0, 0.0], [1.0, 0.1], [1.0, 0.2], [0.0, 1.0], [2.0, 0.0], [1.0, 0.14]])
    attractors, labels = merge_end_points(points, cosine_threshold=0.99)
    assert labels.tolist() == [0, 0, 1, 2, 0, 1]
    assert torch.equal(attractors, points[[0, 2, 3]])
    # At 0.999 only (2, 0) joins (1, 0), and (1, 0.14) joins (1, 0.1): 1.014 / sqrt(1.0196 * 1.01) = 0.9992.
    assert merge_end_points(points, cosine_threshold=0.999)[1].tolist() == [0, 1, 2, 3, 0, 1]


def test_zero_vectors_merge_only_by_distance():
    points = torch.tensor([[0.0, 0.0], [1e-4, 0.0]])
    assert cosine_similarities(points[:1], points).tolist() == [[0.0, 0.0]]
    assert len(merge_end_points(points)[0]) == 2
    assert len(merge_end_points(points, distance_threshold=1e-3)[0]) == 1
    with pytest.raises(ValueError, match="distance_threshold"):
        merge_end_points(points, distance_threshold=-1.0)


def test_distance_to_set_nearest_and_mean():
    points = torch.zeros(1, 2)
    references = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    assert distance_to_set(points, references).item() == pytest.approx(1.0)
    assert distance_to_set(points, references, "mean").item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="empty"):
        distance_to_set(points, references[:0])


def test_jacobians_of_known_maps():
    matrix = torch.tensor([[0.5, 0.2], [0.0, 0.3]], dtype=torch.float64)
    points = torch.randn(3, 2, dtype=torch.float64)
    assert torch.allclose(jacobians(lambda z: z @ matrix.T, points), matrix.expand(3, 2, 2))
    # tanh, per coordinate: diag(1 - tanh(z)^2)
    expected = torch.diag_embed(1 - torch.tanh(points) ** 2)
    assert torch.allclose(jacobians(torch.tanh, points, chunk_size=2), expected)


# --- scores by hand ---------------------------------------------------------------------------------------------


def test_convergence_scores_by_hand():
    assert attractor_count(np.array([0, 0, 1, -1, 2])) == 3  # -1: did not converge
    assert convergence_fraction(np.array([True, False, True, True])) == 0.75
    # steps 3, 5, (cap 100), 7 -> sorted 3, 5, 7, 100: median 6
    assert iterations_to_converge(np.array([3, 5, 100, 7]), np.array([True, True, False, True]), 100) == 6.0
    # most starts unconverged: the censored median is the cap
    assert iterations_to_converge(np.array([3, 40, 40]), np.array([True, False, False]), 100) == 100.0


def test_jacobian_spectral_norm_by_hand():
    # diag(3, 4): 4; [[1, 1], [0, 0]]: singular values sqrt(2), 0 -> mean (4 + sqrt 2) / 2
    stack = np.array([[[3.0, 0.0], [0.0, 4.0]], [[1.0, 1.0], [0.0, 0.0]]])
    assert jacobian_spectral_norm(stack) == pytest.approx((4 + math.sqrt(2)) / 2)


def test_jacobian_spectral_radius_by_hand():
    # [[0.5, 4], [0, 0.5]]: eigenvalues 0.5, 0.5 (triangular) but norm > 4: non-normal, attracting all the same.
    # 0.9 x a rotation by 60 degrees: eigenvalues 0.9 e^(+-i pi/3), |.| = 0.9. Mean radius 0.7.
    shear = np.array([[0.5, 4.0], [0.0, 0.5]])
    angle = math.pi / 3
    rotation = 0.9 * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    assert jacobian_spectral_radius(shear[None]) == pytest.approx(0.5)
    assert jacobian_spectral_norm(shear[None]) > 4
    assert jacobian_spectral_radius(np.stack([shear, rotation])) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="jacobians must be"):
        jacobian_spectral_radius(np.zeros((0, 2, 2)))


def test_memorization_by_hand():
    # (1, 0) is a training example's direction: 1. (1, 1): cos with (2, 0) and (0, 1) = 0.707, with (1, 2) =
    # 3 / sqrt(10) = 0.949: max 0.949. Mean (1 + 3 / sqrt 10) / 2.
    decoded = np.array([[1.0, 0.0], [1.0, 1.0]])
    train_examples = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 2.0]])
    assert memorization(decoded, train_examples) == pytest.approx((1 + 3 / math.sqrt(10)) / 2)


def test_probe_reconstruction_by_hand():
    # Data rows (1, 2, 2) and (0, 0, 3), ||X||^2 = 18. Span{e1, e2} leaves (0, 0, 2), (0, 0, 3): sqrt(13 / 18).
    data = np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 3.0]])
    assert probe_reconstruction(data, np.array([[1.0, 0, 0], [0, 1.0, 0]])) == pytest.approx(math.sqrt(13 / 18))
    # a non-orthogonal basis of the same span gives the same projection
    assert probe_reconstruction(data, np.array([[1.0, 1, 0], [0, 1.0, 0]])) == pytest.approx(math.sqrt(13 / 18))
    # a rank-deficient basis spanning e1 only leaves (0, 2, 2), (0, 0, 3): sqrt(17 / 18)
    assert probe_reconstruction(data, np.array([[1.0, 0, 0], [2.0, 0, 0]])) == pytest.approx(math.sqrt(17 / 18))


# --- the family ---------------------------------------------------------------------------------------------------


def test_advance_iterates_the_latent_map_in_whole_steps():
    model = tiny_model("attractor")
    latents = model.encode(random_batch(model)["source"])
    assert torch.equal(model.advance(latents, 0), latents)
    assert torch.allclose(model.advance(latents, 2.0), model.latent_map(model.latent_map(latents)))
    assert torch.allclose(model.latent_map(latents), model.encode(model.decode(latents)))
    for bad in (0.5, -1):
        with pytest.raises(ValueError, match="whole steps"):
            model.advance(latents, bad)
    assert model.trajectory_times(3) == [0.0, 2.0, 4.0, 6.0]  # smoke stride 2


def test_conv_architecture_shapes_and_gradients():
    model = tiny_model("attractor", architecture="conv")  # 16 features = 4 x 4 images
    batch = random_batch(model)
    assert model.encode(batch["source"]).shape == (16, 4)
    assert model(batch["source"]).shape == batch["source"].shape
    model.loss(batch)["total"].backward()
    assert all(parameter.grad is not None and parameter.grad.abs().sum() > 0 for parameter in model.parameters())
    assert image_side(784, 2) == 28 and image_side(64, 2) == 8
    with pytest.raises(ValueError, match="square images"):
        image_side(10, 1)
    with pytest.raises(ValueError, match="square images"):
        image_side(36, 2)  # 6 does not halve twice


def test_loss_adds_the_coupled_l2_penalty():
    model = tiny_model("attractor", l2_penalty=0.1)
    batch = random_batch(model)
    with torch.no_grad():
        terms = model.loss(batch)
        squares = sum(float(parameter.pow(2).sum()) for parameter in model.parameters())
        reconstruction = float(((model.decode(model.encode(batch["source"])) - batch["source"]) ** 2).mean())
    assert float(terms["recon"]) == pytest.approx(reconstruction, rel=1e-5)
    assert float(terms["total"]) == pytest.approx(reconstruction + 0.05 * squares, rel=1e-5)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("architecture", "transformer", "architecture = 'transformer' .* it takes one of 'mlp', 'conv'"),
    ("noise_space", "uniform", "noise_space = 'uniform' .* it takes one of 'input', 'latent'"),
    ("max_steps", 0, "max_steps must be >= 1"),
    ("convergence_tolerance", 0.0, "convergence_tolerance must be > 0"),
    ("merge_cosine", 1.5, "merge_cosine must be in"),
])
def test_bad_config_values_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        get_family("attractor").make_config("smoke", overrides={field: value})


def test_presets_follow_the_paper_and_the_planning_check():
    family = get_family("attractor")
    default, paper = family.make_config("default", "digits"), family.make_config("paper", "digits")
    assert (default.architecture, default.hidden_dims, default.latent_dim, default.n_epochs) == ("mlp", (256,), 16, 300)
    assert (paper.architecture, paper.n_epochs, paper.learning_rate, paper.l2_penalty) == ("conv", 500, 5e-4, 1e-4)
    assert paper.weight_decay == 0.0  # the paper's decay is the coupled l2_penalty, not AdamW's
    assert family.make_config("default", "mnist").architecture == "conv"
    # the Betti trajectory spans 10 x 50 = 500 map applications, past the ~360 median convergence on digits
    assert default.trajectory_stride * EvaluationConfig().n_betti_steps == 500
    assert default.n_train_samples == 0  # the whole train split


# --- the training subset ------------------------------------------------------------------------------------------


def test_stratified_subset_keeps_class_shares_by_hand():
    # 10 examples: 5 of class 0, 3 of class 1, 2 of class 2. 5 of them: shares 2.5, 1.5, 1.0 -> floors 2, 1, 1 and
    # the one left over goes to the largest fraction, a tie of 0.5 between classes 0 and 1 -> the lower label, 0.
    labels = np.array([0, 1, 0, 2, 0, 1, 0, 2, 1, 0])
    indices = stratified_subset(5, labels, 10, seed=0)
    assert np.bincount(labels[indices], minlength=3).tolist() == [3, 1, 1]
    assert indices.tolist() == sorted(set(indices.tolist()))  # sorted, distinct
    # 6 of 10: shares 3, 1.8, 1.2 -> 3, 1, 1 plus one to class 1 (fraction 0.8)
    assert np.bincount(labels[stratified_subset(6, labels, 10, seed=0)], minlength=3).tolist() == [3, 2, 1]


def test_stratified_subset_is_seeded():
    labels = np.repeat(np.arange(10), 50)
    first = stratified_subset(100, labels, 500, seed=3)
    assert np.array_equal(first, stratified_subset(100, labels, 500, seed=3))
    assert not np.array_equal(first, stratified_subset(100, labels, 500, seed=4))
    assert np.bincount(labels[first]).tolist() == [10] * 10
    unlabelled = stratified_subset(100, None, 500, seed=3)
    assert len(np.unique(unlabelled)) == 100 and np.array_equal(unlabelled, stratified_subset(100, None, 500, 3))


def test_stratified_subset_whole_split_and_too_many():
    labels = np.array([0, 1, 0, 1])
    assert stratified_subset(0, labels, 4, seed=0).tolist() == [0, 1, 2, 3]
    assert stratified_subset(4, labels, 4, seed=0).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"n_train_samples 5 is larger than the train split \(4 samples\)"):
        stratified_subset(5, labels, 4, seed=0)
    with pytest.raises(ValueError, match="n_train_samples must be >= 0"):
        get_family("attractor").make_config("smoke", overrides={"n_train_samples": -1})


def test_training_and_scoring_see_the_same_subset(smoke_digits, monkeypatch):
    _, data = smoke_digits
    model = create_surrogate("attractor", data.spec, preset="smoke", task="digits", seed=0, n_train_samples=100)
    subset = model.training_examples(data.splits["train"], seed=2)
    assert len(subset["source"]) == 100 and np.bincount(subset["label"].numpy()).min() >= 9  # every digit, ~10 each
    seen = {}

    def spy(model, train_batch, *args, **kwargs):
        seen["batch"] = train_batch
        return real_train(model, train_batch, *args, **kwargs)

    real_train = runner.train
    monkeypatch.setattr(runner, "train", spy)  # the runner applies the hook and calls the shared trainer
    report = runner.fit_model(model, data, FitSettings(seed=2, progress=False))
    assert report.n_steps == model.config.n_epochs  # 100 examples at batch 128: one step per epoch
    for key in ("source", "label"):
        assert torch.equal(seen["batch"][key], subset[key])
    scalars, _, _ = attractor_scores(model, data, seed=2)
    assert scalars["n_train_used"] == 100
    # memorization_reference is memorization of the test examples against the training examples: the subset's
    test = data.splits["test"]["source"].numpy()
    assert scalars["memorization_reference"] == pytest.approx(memorization(test, subset["source"].numpy()))
    whole_split = data.splits["train"]["source"].numpy()
    assert scalars["memorization_reference"] != pytest.approx(memorization(test, whole_split))


def test_the_default_trains_on_the_whole_split(smoke_digits):
    model, data = smoke_digits
    assert model.training_examples(data.splits["train"], seed=0) is data.splits["train"]
    assert attractor_scores(model, data, seed=0)[0]["n_train_used"] == len(data.splits["train"]["source"])


# --- scores of a trained model ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke_digits():
    """A smoke-preset attractor model trained on digits, and the task data."""
    data = get_task("digits")().load(0, "smoke", "autoencode", torch.device("cpu"), progress=False)
    model = create_surrogate("attractor", data.spec, preset="smoke", task="digits", seed=0)
    train(model, data.splits["train"], data.splits["val"], FitSettings(seed=0, progress=False))
    return model, data


def test_attractor_scores_are_seeded(smoke_digits):
    model, data = smoke_digits
    first_scalars, first_curves, _ = attractor_scores(model, data, seed=0)
    second_scalars, second_curves, _ = attractor_scores(model, data, seed=0)
    assert first_scalars == second_scalars
    for name, (dims, coords, values) in first_curves.items():
        np.testing.assert_array_equal(values, second_curves[name][2])
    # another seed draws other noise starts and other OOD sets
    _, other_curves, _ = attractor_scores(model, data, seed=1)
    assert not np.array_equal(other_curves["ood_auroc"][2], first_curves["ood_auroc"][2], equal_nan=True)


def test_attractor_scores_run_on_models_with_a_latent_map_only(smoke_digits):
    model, data = smoke_digits
    assert "attractors" in [scorer.name for scorer in applicable_scorers(model, data)]
    assert "attractors" not in [scorer.name for scorer in applicable_scorers(tiny_model("sae"), data)]


def test_smoke_cell_end_to_end():
    result = run_cell("attractor", "digits", 0, preset="smoke", device="cpu", progress=False)
    assert result.status == "ok", result.error
    for name in ("attractor_count", "convergence_fraction", "iterations_to_converge", "noise_attractor_count",
                 "noise_convergence_fraction"):
        assert np.isfinite(result.scalars[name]), name
    assert 0 <= result.scalars["convergence_fraction"] <= 1
    for name in ("ood_auroc", "ood_fpr95"):
        dims, coords, values = result.curves[name]
        assert dims == ("ood_method", "ood_set")
        assert coords["ood_method"] == ["trajectory", "knn", "mahalanobis", "reconstruction"]
        assert {"noise", "corrupted"} <= set(coords["ood_set"])
        assert values.shape == (4, len(coords["ood_set"]))
        assert np.all((values[np.isfinite(values)] >= 0) & (values[np.isfinite(values)] <= 1))
    dims, coords, roc = result.curves["ood_roc_tpr"]
    assert dims == ("ood_method", "ood_set", "fpr") and roc.shape == (4, len(coords["ood_set"]), len(coords["fpr"]))
    knn_roc = roc[1]
    assert np.all(np.diff(knn_roc, axis=-1) >= 0) and np.allclose(knn_roc[:, -1], 1.0)  # rises to (1, 1)
    areas = np.sum((knn_roc[:, 1:] + knn_roc[:, :-1]) / 2 * np.diff(coords["fpr"]), axis=-1)
    assert np.allclose(areas, result.curves["ood_auroc"][2][1], atol=0.02)  # the 51-point grid's trapezoid error
    dims, coords, values = result.curves["probe_reconstruction"]
    assert dims == ("probe_basis",) and coords["probe_basis"] == ["attractors", "random_orthogonal", "pca"]
    assert result.curves["betti_time"][2].tolist() == [2.0 * step for step in range(11)]  # iterations of f
