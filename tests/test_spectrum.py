"""The spectrum of K: eigenvalues and spectral radius against matrices whose spectra are known by hand, and in a run."""

import numpy as np
import pytest
import torch
from helpers import tiny_model

from kae_zoo.experiments.runner import run_cell
from kae_zoo.metrics.spectrum import operator_eigenvalues, spectral_radius
from kae_zoo.scoring import ScoringContext
from kae_zoo.scoring.spectrum import spectrum_scores


def test_rotation_and_scaling_by_hand():
    # 0.5 * rotation by 90 degrees has eigenvalues +-0.5i; a diagonal 0.9 mode and a 1.2 growing mode beside it
    operator = np.zeros((4, 4))
    operator[:2, :2] = [[0.0, -0.5], [0.5, 0.0]]
    operator[2, 2], operator[3, 3] = 0.9, 1.2
    eigenvalues = operator_eigenvalues(operator)
    np.testing.assert_allclose(eigenvalues, [1.2, 0.9, -0.5j, 0.5j], atol=1e-12)  # by modulus, then angle
    assert spectral_radius(operator) == pytest.approx(1.2)


def test_non_normal_matrix_radius_is_not_the_norm():
    operator = np.array([[0.5, 10.0], [0.0, 0.5]])  # norm ~10, both eigenvalues 0.5
    assert spectral_radius(operator) == pytest.approx(0.5)
    np.testing.assert_allclose(operator_eigenvalues(operator), [0.5, 0.5])


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.ones(3), np.array([[np.nan]])])
def test_bad_operators_are_refused(bad):
    with pytest.raises(ValueError, match="operator"):
        spectral_radius(bad)


def test_a_koopman_run_stores_the_spectrum_of_its_operator():
    model = tiny_model("koopman")
    with torch.no_grad():  # K = exp(G) with G = diag(log 0.5, 0, ...) has the eigenvalues 0.5 and 1 (the rest)
        model.generator.zero_()
        model.generator[0, 0] = float(np.log(0.5))
    scalars, curves = spectrum_scores(ScoringContext(model, data=None, report=None, seed=0))
    dims, coords, real = curves["eigenvalue_real"]
    assert dims == ("eigen",) and coords["eigen"] == list(range(model.config.observable_dim))
    np.testing.assert_allclose(real, [1.0] * (len(real) - 1) + [0.5], atol=1e-6)
    np.testing.assert_allclose(curves["eigenvalue_imag"][2], 0.0, atol=1e-9)
    assert scalars["spectral_radius"] == pytest.approx(1.0, abs=1e-6)

    result = run_cell("koopman", "yinyang", 0, preset="smoke", device="cpu", progress=False)
    assert result.status == "ok", result.error
    assert result.curves["eigenvalue_real"][2].shape == (result.family_config["observable_dim"],)
    assert result.scalars["spectral_radius"] > 0
