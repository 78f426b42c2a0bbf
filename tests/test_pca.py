"""The `pca` baseline: closed form on the training split only, its principal axis by hand, its bad input."""

import numpy as np
import pytest
import torch
from helpers import random_batch, tiny_model

from kae_zoo.core.surrogate import FitSettings
from kae_zoo.core.types import DataSpec
from kae_zoo.families import create_surrogate
from kae_zoo.metrics.sparse import sparsity


def fit(model, train, val=None, **settings):
    return model.fit(train, train if val is None else val, FitSettings(seed=0, progress=False, **settings))


def test_all_components_explain_all_variance():
    model = tiny_model("pca", n_components=12)  # example spec: 12-dim states
    train = random_batch(model, 200)
    fit(model, train)
    x = random_batch(model, 100, seed=3)["source"]
    x = x * torch.linspace(0.1, 3.0, 12)  # unequal variances
    with torch.no_grad():
        residual = (x - model(x)).pow(2).sum()
    explained_variance = 1 - residual / (x - x.mean(dim=0)).pow(2).sum()
    assert float(explained_variance) == pytest.approx(1.0, abs=1e-6)


def test_recovers_the_principal_axis_of_a_hand_made_data_set():
    # Points t (1, 1) + s (1, -1), t = +-2, s = +-0.1: mean 0, variance 4 along (1, 1) / sqrt 2 (times 2) and
    # 0.01 along (1, -1): the first principal axis is (1, 1) / sqrt 2 and the code of (2.1, 1.9) is 2 sqrt 2.
    points = torch.tensor([[t + s, t - s] for t in (-2.0, 2.0) for s in (-0.1, 0.1)])
    model = create_surrogate("pca", DataSpec((2,), n_classes=0), preset="default", seed=0, n_components=1)
    fit(model, {"source": points, "target": points})
    axis = model.dictionary()[:, 0] * torch.sign(model.dictionary()[0, 0])
    assert torch.allclose(axis, torch.tensor([1.0, 1.0]) / 2**0.5, atol=1e-6)
    assert torch.allclose(model.mean, torch.zeros(2), atol=1e-6)
    code = model.encode(torch.tensor([[2.1, 1.9]])) * torch.sign(model.dictionary()[0, 0])
    assert code.item() == pytest.approx(2 * 2**0.5, abs=1e-5)
    # one component loses the (1, -1) part: x_hat of (2.1, 1.9) is (2, 2), error 0.02
    assert model.loss({"source": torch.tensor([[2.1, 1.9]])})["total"].item() == pytest.approx(0.02, abs=1e-5)


def test_fitted_on_the_training_split_only():
    first, second = tiny_model("pca", n_components=5), tiny_model("pca", n_components=5)
    train = random_batch(first, 100)
    fit(first, train, random_batch(first, 50, seed=1))
    other_test = random_batch(first, 50, seed=2)
    fit(second, train, {"source": other_test["source"] * 10, "target": other_test["target"] * 10})
    assert torch.equal(first.components, second.components) and torch.equal(first.mean, second.mean)
    other = tiny_model("pca", n_components=5)
    fit(other, random_batch(first, 100, seed=4))
    assert not torch.allclose(other.components.abs(), first.components.abs(), atol=1e-3)


def test_fit_reports_one_step_and_the_validation_loss():
    model = tiny_model("pca", n_components=5)
    steps = []
    report = fit(model, random_batch(model, 100), random_batch(model, 50, seed=1),
                 on_step=lambda step, watched: steps.append(step))
    assert steps == [0, 1] and report.n_steps == 1 and report.val_history == [report.best_val_loss]
    with torch.no_grad():
        expected = float(model.loss(random_batch(model, 50, seed=1))["total"])
    assert report.best_val_loss == pytest.approx(expected)


def test_codes_are_dense_and_orthonormal_atoms():
    model = tiny_model("pca", n_components=6)
    fit(model, random_batch(model, 100))
    atoms = model.dictionary().detach()
    assert torch.allclose(atoms.T @ atoms, torch.eye(6), atol=1e-5)
    codes = model.encode(random_batch(model, 20, seed=5)["source"]).detach().numpy()
    assert sparsity(codes) == 6.0 and type(model).baseline_for == "sae"


def test_fewer_training_samples_than_components_is_one_line_error():
    model = tiny_model("pca", n_components=8)
    with pytest.raises(ValueError, match=r"^pca n_components = 8 needs at least as many training samples, got 5$"):
        fit(model, random_batch(model, 5))


def test_more_components_than_the_state_dim_is_one_line_error():
    with pytest.raises(ValueError, match=r"^pca n_components = 5 must be <= the state dim 4$"):
        create_surrogate("pca", DataSpec((4,), n_classes=0), preset="default", n_components=5)


def test_explained_variance_rises_with_components():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(300, 40, generator=generator) * torch.linspace(3.0, 0.1, 40)
    errors = []
    for n_components in (5, 20, 40):
        model = create_surrogate("pca", DataSpec((40,), n_classes=0), seed=0, n_components=n_components)
        fit(model, {"source": x, "target": x})
        errors.append(model.loss({"source": x})["total"].item())
    assert errors[0] > errors[1] > errors[2] and np.isclose(errors[2], 0.0, atol=1e-6)
