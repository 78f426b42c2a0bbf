"""Per-layer preprocessing: PCA, Frobenius scaling, Procrustes alignment, and the exact inverse."""

import numpy as np
import pytest

from kae_zoo.tasks.preprocessing import fit_layer_transforms, fit_pca


def layers(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    first = rng.normal(size=(200, 5)) * np.array([5, 3, 2, 1, 0.5]) + 7.0
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    last = first @ rotation + rng.normal(scale=0.01, size=(200, 5)) - 2.0
    return [first, last]


def test_inverse_is_exact_at_full_rank():
    train = layers()
    for transform, states in zip(fit_layer_transforms(train, n_components=5), train):
        assert np.allclose(transform.inverse(transform.apply(states)), states)


def test_training_cloud_is_centred_with_the_requested_frobenius_norm():
    for transform, states in zip(fit_layer_transforms(layers(), 5, frobenius_norm=100.0), layers()):
        preprocessed = transform.apply(states)
        assert np.allclose(preprocessed.mean(axis=0), 0.0, atol=1e-9)
        assert np.linalg.norm(preprocessed) == pytest.approx(100.0)


def test_procrustes_aligns_a_rotated_layer_onto_the_last():
    train = layers()
    first, last = fit_layer_transforms(train, 5)
    aligned, reference = first.apply(train[0]), last.apply(train[1])
    # The first layer is the last one rotated (plus tiny noise), so after alignment they nearly coincide.
    assert np.linalg.norm(aligned - reference) / np.linalg.norm(reference) < 0.01
    assert np.allclose(first.rotation @ first.rotation.T, np.eye(5))
    assert np.array_equal(last.rotation, np.eye(5))


def test_pca_axes_are_orthonormal_and_sorted():
    states = layers()[0]
    mean, components = fit_pca(states, 3)
    assert np.allclose(components @ components.T, np.eye(3))
    variances = ((states - mean) @ components.T).var(axis=0)
    assert np.all(np.diff(variances) < 0)
    with pytest.raises(ValueError, match="n_components"):
        fit_pca(states, 6)
