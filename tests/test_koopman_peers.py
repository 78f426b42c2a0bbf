"""The Koopman peers dmd, edmd (closed-form K through kooplearn) and mlp_map (a direct MLP, no latent path)."""

import math

import numpy as np
import pytest
import torch

import kae_zoo.experiments.runner
from kae_zoo.core.capabilities import LATENT_PATH, LINEAR_OPERATOR
from kae_zoo.core.surrogate import FitSettings
from kae_zoo.core.types import DataSpec
from kae_zoo.families import create_surrogate, get_family
from kae_zoo.testing import check_family

# y = A x + b with A upper triangular: eigenvalues 0.9, 0.5, -0.3 on the diagonal
A = torch.tensor([[0.9, 0.2, -0.4], [0.0, 0.5, 0.3], [0.0, 0.0, -0.3]], dtype=torch.float64)
SHIFT = torch.tensor([0.5, -1.0, 0.25], dtype=torch.float64)


def pairs(mapping, n_samples: int, seed: int, dim: int = 3) -> dict[str, torch.Tensor]:
    """Sources x ~ N(1, I) (not centred) and their targets mapping(x), float32 as the tasks give them."""
    source = 1.0 + torch.randn(n_samples, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return {"source": source.float(), "target": mapping(source).float(), "label": torch.zeros(n_samples).long()}


def linear(x):
    return x @ A.T + SHIFT


def quadratic(x):
    # y1 = x1, y2 = x2 + x1^2: a polynomial map no affine map fits
    return torch.stack([x[:, 0], x[:, 1] + x[:, 0] ** 2], dim=1)


def fitted(name: str, mapping, dim: int = 3, **overrides):
    model = create_surrogate(name, DataSpec((dim,), n_classes=2), preset="smoke", seed=0, **overrides)
    model.fit(pairs(mapping, 400, 0, dim), pairs(mapping, 100, 1, dim), FitSettings(seed=0, progress=False))
    return model


def held_out_mse(model, mapping, dim: int = 3) -> float:
    """The model's MSE on 300 fresh pairs of `mapping`."""
    batch = pairs(mapping, 300, 2, dim)
    with torch.no_grad():
        return float(torch.nn.functional.mse_loss(model(batch["source"]), batch["target"]))


def test_dmd_recovers_a_linear_map_exactly():
    model = fitted("dmd", linear)
    eigenvalues = np.sort(np.linalg.eigvals(model.operator(1.0).detach().double().numpy()).real)
    # A's eigenvalues, and 1 of the constant coordinate (the affine part b)
    assert np.allclose(eigenvalues, [-0.3, 0.5, 0.9, 1.0], atol=1e-4)
    assert held_out_mse(model, linear) < 1e-8
    assert model.operator(1.0)[-1].tolist() == [0.0, 0.0, 0.0, 1.0]  # the constant stays 1


def test_dmd_rank_truncates_to_the_principal_coordinates():
    # Sources and targets on the plane x3 = 0, y12 = A12 x12 + b12 (A's top-left block): rank 2 loses nothing,
    # rank 1 does. (The coordinates are the source layer's: a target off the sources' span would be lost.)
    def planar(x):
        return torch.cat([x[:, :2] @ A[:2, :2].T + SHIFT[:2], torch.zeros_like(x[:, 2:])], dim=1)

    def on_plane(batch):
        return {**batch, "source": torch.cat([batch["source"][:, :2], torch.zeros(len(batch["source"]), 1)], 1)}

    errors = {}
    for rank in (1, 2):
        model = create_surrogate("dmd", DataSpec((3,), n_classes=2), preset="smoke", seed=0, rank=rank)
        model.fit(on_plane(pairs(planar, 400, 0)), on_plane(pairs(planar, 100, 1)), FitSettings(seed=0, progress=False))
        test = on_plane(pairs(planar, 300, 2))
        with torch.no_grad():
            errors[rank] = float(torch.nn.functional.mse_loss(model(test["source"]), test["target"]))
        assert model.operator(1.0).shape == (rank + 1, rank + 1)
    assert errors[2] < 1e-8 < 1e-2 < errors[1]


def square_root_model(operator: torch.Tensor):
    model = create_surrogate("dmd", DataSpec((len(operator) - 1,), n_classes=2), preset="smoke", seed=0)
    model.set_operator(operator.double().numpy())
    return model


def test_half_steps_compose_to_the_operator_when_its_eigenvalues_are_positive():
    basis = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]], dtype=torch.float64)
    operator = basis @ torch.diag(torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)) @ torch.linalg.inv(basis)
    model = square_root_model(operator)
    with torch.no_grad():
        half = model.operator(0.5)
        assert torch.allclose(half @ half, model.operator(1.0), atol=1e-5)
        assert torch.allclose(model.operator(0.0), torch.eye(3))
        # the latent path: advance(z, t) moves z by K^t, and two half steps are one step
        z = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(model.advance(model.advance(z, 0.5), 0.5), model.advance(z), atol=1e-4)


def test_a_negative_eigenvalue_keeps_the_real_part_of_the_principal_power():
    # K = diag(-4, 1): the principal power of -4 is 4^t e^(i pi t); kept: 4^t cos(pi t).
    model = square_root_model(torch.tensor([[-4.0, 0.0], [0.0, 1.0]]))
    with torch.no_grad():
        assert torch.allclose(model.operator(0.25), torch.eye(2), atol=1e-6)  # sqrt(2) cos(pi / 4) = 1
        assert torch.allclose(model.operator(0.5), torch.diag(torch.tensor([0.0, 1.0])), atol=1e-6)  # 2 cos(pi/2)
        assert torch.allclose(model.operator(1.0), torch.diag(torch.tensor([-4.0, 1.0])))  # exact at t = 1
        half = model.operator(0.5)
        assert not torch.allclose(half @ half, model.operator(1.0), atol=1e-2)  # no semigroup for that mode
        assert model.operator(0.75)[0, 0].item() == pytest.approx(4**0.75 * math.cos(0.75 * math.pi), abs=1e-5)


def test_an_edit_is_phased_in_linearly():
    model = square_root_model(torch.eye(3))
    edit = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    model.add_operator_edit(edit)
    with torch.no_grad():
        assert torch.allclose(model.operator(0.5), torch.eye(3) + 0.5 * edit)
        assert torch.allclose(model.operator(1.0), torch.eye(3) + edit)


@pytest.mark.parametrize("features", ["rff", "rbf"])
def test_edmd_with_the_state_matches_dmd_on_a_linear_map(features):
    dmd_error = held_out_mse(fitted("dmd", linear), linear)
    edmd_error = held_out_mse(fitted("edmd", linear, features=features, n_features=30), linear)
    assert dmd_error < 1e-8 and edmd_error < 1e-6  # both exact up to the ridge term


@pytest.mark.parametrize("features", ["rff", "rbf"])
def test_edmd_beats_dmd_on_a_nonlinear_map(features):
    dmd_error = held_out_mse(fitted("dmd", quadratic, dim=2), quadratic, dim=2)
    edmd_error = held_out_mse(fitted("edmd", quadratic, dim=2, features=features, n_features=100), quadratic, dim=2)
    # the affine fit misses the x1^2 term: its variance, about 2 for x1 ~ N(1, 1), over two outputs
    assert dmd_error > 0.5
    assert edmd_error < 0.05 * dmd_error


def test_edmd_reduced_rank_sets_the_rank_of_k():
    model = fitted("edmd", quadratic, dim=2, n_features=20, rank=3)
    singular_values = torch.linalg.svdvals(model.operator(1.0).detach().double())
    assert singular_values[2] > 0.01 * singular_values[0] and singular_values[3] < 1e-6 * singular_values[0]


def test_fit_reports_one_step():
    model = create_surrogate("dmd", DataSpec((3,), n_classes=2), preset="smoke", seed=0)
    calls = []
    settings = FitSettings(seed=0, progress=False, on_step=lambda step, watched: calls.append(step))
    report = model.fit(pairs(linear, 50, 0), pairs(linear, 20, 1), settings)
    assert calls == [0, 1] and report.n_steps == report.n_epochs_run == report.best_epoch == 1
    assert report.val_history == [report.best_val_loss] and report.best_val_loss < 1e-8


def test_a_rank_beyond_the_state_dimension_is_named():
    with pytest.raises(ValueError, match="dmd rank 7 exceeds the state dimension 6; valid: 1 to 6 or null"):
        create_surrogate("dmd", DataSpec((6,), n_classes=2), preset="smoke", rank=7)
    with pytest.raises(ValueError, match="rank 99 exceeds the 57 observables of edmd"):
        create_surrogate("edmd", DataSpec((6,), n_classes=2), preset="smoke", rank=99)


def test_capabilities_and_what_they_are_baselines_for():
    for name in ("dmd", "edmd"):
        assert get_family(name).capabilities == {LINEAR_OPERATOR, LATENT_PATH}
    assert get_family("mlp_map").capabilities == frozenset()
    assert {get_family(name).baseline_for for name in ("dmd", "edmd", "mlp_map")} == {"koopman"}


@pytest.mark.parametrize("overrides", [{"features": "rbf"}, {"include_state": False, "rank": 5},
                                       {"bandwidth": 0.5, "n_features": 0}])
def test_edmd_variants_pass_the_conformance_check(overrides):
    check_family(get_family("edmd"), overrides)


def test_mlp_map_has_the_koopman_widths_and_no_path():
    config = get_family("mlp_map").make_config("default", "digits")
    assert config.hidden_dims == (256, 128, 256) and config.learning_rate == 5e-3
    model = create_surrogate("mlp_map", DataSpec((4,), n_classes=2), preset="smoke", seed=0)
    z = model.encode(torch.randn(5, 4))
    assert z.shape == (5, 30) and torch.equal(model.advance(z, 0.3), z)


def test_cells_score_the_operator_of_dmd_and_no_path_of_mlp_map(monkeypatch):
    def no_shared_trainer(*args, **kwargs):
        raise AssertionError("the shared trainer must not run for dmd")

    with monkeypatch.context() as patched:
        patched.setattr(kae_zoo.experiments.runner, "train", no_shared_trainer)
        dmd = kae_zoo.run_cell("dmd", "yinyang", 0, preset="smoke", device="cpu", progress=False)
    assert dmd.status == "ok", dmd.error
    for name in ("spectral_radius", "forgotten_accuracy_after", "betti_curve_error", "accuracy", "state_error"):
        assert np.isfinite(dmd.scalars[name]), name
    assert "betti" in dmd.curves and dmd.scalars["accuracy"] > 0.7
    direct = kae_zoo.run_cell("mlp_map", "yinyang", 0, preset="smoke", device="cpu", progress=False,
                              overrides={"n_epochs": 2})
    assert direct.status == "ok", direct.error
    assert np.isfinite(direct.scalars["state_error"])
    assert "betti" not in direct.curves and "betti_curve_error" not in direct.scalars
    assert "spectral_radius" not in direct.scalars
