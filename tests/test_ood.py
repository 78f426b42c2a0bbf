"""OOD detection: AUROC and FPR95 on hand lists, the baseline scores by hand, the OOD sets, and the show table."""

import logging
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from kae_zoo.metrics.ood import (
    knn_distance,
    mahalanobis_distance,
    ood_auroc,
    ood_fpr95,
    ood_roc_tpr,
    reconstruction_error,
)
from kae_zoo.reporting.summary import format_results
from kae_zoo.store.results import CellResult, read_results, write_results
from kae_zoo.tasks import mnist
from kae_zoo.tasks.ood_sets import (
    OODSetConfig,
    area_resample,
    area_weights,
    build_ood_sets,
    corrupted_set,
    digits_as_mnist,
    gaussian_noise_set,
    mnist_as_digits,
)

# --- AUROC and FPR95 --------------------------------------------------------------------------------------------


def test_auroc_by_hand_with_a_tie():
    # ID 1, 2, 3; OOD 2, 4. Pairs (OOD > ID): 2 beats 1, ties 2 (one half), loses to 3 -> 1.5; 4 beats all -> 3.
    # 4.5 of 6 pairs = 0.75.
    id_scores, ood_scores = [1.0, 2.0, 3.0], [2.0, 4.0]
    assert ood_auroc(id_scores, ood_scores) == pytest.approx(0.75)
    labels = [0, 0, 0, 1, 1]
    assert roc_auc_score(labels, id_scores + ood_scores) == pytest.approx(0.75)


@pytest.mark.parametrize(("id_scores", "ood_scores", "expected"), [
    ([1.0, 2.0], [3.0, 4.0], 1.0),  # perfectly separated, OOD higher
    ([3.0, 4.0], [1.0, 2.0], 0.0),  # reversed
    ([1.0, 1.0], [1.0, 1.0, 1.0], 0.5),  # all tied
    ([0.0, 1.0, 1.0, 5.0], [1.0, math.inf], (1 + 0.5 + 0.5 + 0 + 4) / 8),  # an infinite score is just the largest
])
def test_auroc_edge_cases(id_scores, ood_scores, expected):
    assert ood_auroc(id_scores, ood_scores) == pytest.approx(expected)


def test_auroc_agrees_with_sklearn_on_random_tied_scores():
    rng = np.random.default_rng(0)
    id_scores, ood_scores = rng.integers(0, 5, 40).astype(float), rng.integers(1, 7, 30).astype(float)
    labels = np.r_[np.zeros(40), np.ones(30)]
    assert ood_auroc(id_scores, ood_scores) == pytest.approx(roc_auc_score(labels, np.r_[id_scores, ood_scores]))


def test_roc_curve_by_hand_with_a_tie():
    # ID 1, 2, 3; OOD 2, 4. Thresholds from the top: >= 4 flags (0 of 3 ID, 1 of 2 OOD); >= 3 (1/3, 1/2);
    # >= 2 (2/3, 1) - the ID/OOD tie at 2 is the diagonal from (1/3, 1/2); >= 1 (1, 1). Vertices (0, 0), (0, .5),
    # (1/3, .5), (2/3, 1), (1, 1): at FPR 0 the best rule already flags half the OOD (the vertical segment's top);
    # FPR 1/2 lies halfway along the diagonal: .75.
    tpr = ood_roc_tpr([1.0, 2.0, 3.0], [2.0, 4.0], np.array([0.0, 1 / 6, 1 / 3, 0.5, 2 / 3, 1.0]))
    assert tpr == pytest.approx([0.5, 0.5, 0.5, 0.75, 1.0, 1.0])


def test_roc_curve_area_is_the_auroc():
    rng = np.random.default_rng(1)
    id_scores, ood_scores = rng.integers(0, 6, 40).astype(float), rng.integers(2, 9, 30).astype(float)
    grid = np.linspace(0.0, 1.0, 20001)
    tpr = ood_roc_tpr(id_scores, ood_scores, grid)
    area = np.sum((tpr[1:] + tpr[:-1]) / 2 * np.diff(grid))
    assert area == pytest.approx(ood_auroc(id_scores, ood_scores), abs=1e-6)


def test_roc_curve_rejects_rates_outside_0_1():
    with pytest.raises(ValueError, match=r"fpr must be .* in \[0, 1\]"):
        ood_roc_tpr([1.0], [2.0], np.array([0.5, 1.5]))


def test_fpr95_by_hand():
    # ID 1..20: tau = the 19th smallest (ceil(0.95 * 20) = 19) = 19; OOD 18 and 19 are accepted (<= tau), 19.5 and
    # 25 are not: 2 of 4.
    id_scores = np.arange(1.0, 21.0)
    assert ood_fpr95(id_scores, [18.0, 19.0, 19.5, 25.0]) == 0.5
    # 10 ID scores: ceil(9.5) = 10, tau = the largest ID score.
    assert ood_fpr95(np.arange(1.0, 11.0), [10.0, 11.0]) == 0.5


def test_fpr95_with_tied_id_scores():
    # 19 ID scores of 1 and one of 5: tau = the 19th smallest = 1 (95% kept); an OOD score tying tau is accepted.
    id_scores = np.r_[np.ones(19), 5.0]
    assert ood_fpr95(id_scores, [1.0, 2.0]) == 0.5
    # 18 ones and two fives: the 19th smallest is 5, so every ID sample is kept and OOD 2 is accepted too.
    assert ood_fpr95(np.r_[np.ones(18), 5.0, 5.0], [1.0, 2.0, 6.0]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="id_kept"):
        ood_fpr95(id_scores, [1.0], id_kept=0.0)


def test_detection_metrics_refuse_nan_and_empty_scores():
    with pytest.raises(ValueError, match="without NaN"):
        ood_auroc([1.0, math.nan], [2.0])
    with pytest.raises(ValueError, match="non-empty"):
        ood_fpr95([], [2.0])


# --- baseline scores ----------------------------------------------------------------------------------------------


def test_knn_distance_by_hand():
    # From (0, 1): to (0, 0) 1, to (0, 4) 3, to (3, 0) sqrt(10).
    train_latents = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    query = np.array([[0.0, 1.0]])
    assert [knn_distance(train_latents, query, k)[0] for k in (1, 2, 3)] == pytest.approx([1.0, 3.0, math.sqrt(10)])
    with pytest.raises(ValueError, match="k must be in"):
        knn_distance(train_latents, query, 4)


def test_mahalanobis_distance_by_hand():
    # Training latents (+-1, 0), (0, +-2): mean 0, empirical (1/n) covariance diag(0.5, 2).
    # Query (1, 2): 1 / 0.5 + 4 / 2 = 4. Query (0, 0): 0.
    train_latents = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    query = np.array([[1.0, 2.0], [0.0, 0.0]])
    assert mahalanobis_distance(train_latents, query, "empirical") == pytest.approx([4.0, 0.0])
    # Ledoit-Wolf shrinks the covariance towards mu I, mu = trace / d = 1.25; the distances stay ordered.
    shrunk = mahalanobis_distance(train_latents, query, "ledoit_wolf")
    assert shrunk[1] == pytest.approx(0.0) and shrunk[0] > 0
    with pytest.raises(ValueError, match="estimator 'robust'"):
        mahalanobis_distance(train_latents, query, "robust")


def test_reconstruction_error_by_hand():
    assert reconstruction_error(np.array([[1.0, 2.0], [0.0, 1.0]]), np.zeros((2, 2))).tolist() == [5.0, 1.0]


# --- OOD sets -----------------------------------------------------------------------------------------------------


def test_area_weights_by_hand():
    # 3 -> 2 pixels: each output cell is 1.5 input pixels wide: [0, 1.5) and [1.5, 3).
    np.testing.assert_allclose(area_weights(3, 2), [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]])
    # 2 -> 4: each input pixel is copied into the two output cells it covers.
    np.testing.assert_allclose(area_weights(2, 4), [[1, 0], [1, 0], [0, 1], [0, 1]])
    assert np.allclose(area_weights(28, 8).sum(axis=1), 1) and np.allclose(area_weights(8, 28).sum(axis=1), 1)


def test_area_resample_is_block_averaging_at_integer_ratios():
    images = np.random.default_rng(0).random((2, 28, 28))
    blocks = images.reshape(2, 7, 4, 7, 4).mean(axis=(2, 4))
    np.testing.assert_allclose(area_resample(images, 7), blocks)
    np.testing.assert_allclose(area_resample(np.full((1, 28, 28), 3.0), 8), 3.0)  # 28 -> 8 keeps a constant
    # area averaging keeps the mean intensity at any ratio
    assert area_resample(images, 8).mean() == pytest.approx(images.mean())


def test_cross_dataset_conversions_match_the_tasks_feature_scales():
    ink = np.full((3, 28, 28), 255, dtype=np.uint8)
    as_digits = mnist_as_digits(ink)
    assert as_digits.shape == (3, 64) and as_digits.dtype == np.float32 and np.allclose(as_digits, 1.0)
    assert mnist_as_digits(np.zeros((1, 28, 28), dtype=np.uint8)).max() == 0.0  # the digits task's 0..1 range
    as_mnist = digits_as_mnist(np.full((2, 8, 8), 16.0))
    assert as_mnist.shape == (2, 784) and np.allclose(as_mnist, (1 - mnist.MEAN) / mnist.STD)
    assert np.allclose(digits_as_mnist(np.zeros((1, 8, 8))), -mnist.MEAN / mnist.STD)  # MNIST's background


def test_gaussian_noise_matches_each_features_training_statistics():
    rng = np.random.default_rng(0)
    train_features = np.c_[rng.normal(2.0, 3.0, 5000), np.zeros(5000), rng.normal(-1.0, 0.5, 5000)]
    noise = gaussian_noise_set(train_features, 20000, np.random.default_rng(1))
    assert noise.shape == (20000, 3)
    np.testing.assert_allclose(noise.mean(axis=0), train_features.mean(axis=0), atol=0.06)
    np.testing.assert_allclose(noise.std(axis=0), train_features.std(axis=0), rtol=0.02)
    assert np.all(noise[:, 1] == 0)  # constant in training, constant here
    np.testing.assert_array_equal(noise, gaussian_noise_set(train_features, 20000, np.random.default_rng(1)))


def test_corruption_drops_exactly_the_set_fraction_to_the_training_minimum():
    rng = np.random.default_rng(0)
    train_features, test_features = rng.random((100, 64)) + 1.0, rng.random((10, 64)) + 1.0
    config = OODSetConfig(corruption_noise=0.5, corruption_dropout=0.25)
    corrupted = corrupted_set(test_features, train_features, np.random.default_rng(2), config)
    assert corrupted.shape == test_features.shape
    dropped = corrupted == np.float32(train_features.min())
    assert dropped.sum(axis=1).tolist() == [16] * 10  # round(0.25 * 64) per sample
    kept_change = (corrupted - test_features)[~dropped]
    assert 0.5 * 0.5 * train_features.std() < kept_change.std() < 2 * 0.5 * train_features.std()
    untouched = corrupted_set(test_features, train_features, np.random.default_rng(2), OODSetConfig(0.0, 0.0))
    np.testing.assert_allclose(untouched, test_features, rtol=1e-6)
    with pytest.raises(ValueError, match="corruption_dropout"):
        corrupted_set(test_features, train_features, rng, OODSetConfig(corruption_dropout=1.5))


def test_digits_ood_sets_with_mnist(shared_mnist):
    features = (load_digits().data / 16.0).astype(np.float32)
    train_features, test_features = features[:1000], features[1000:1360]
    sets = build_ood_sets("digits", train_features, test_features, seed=0)
    assert list(sets) == ["mnist", "noise", "corrupted"]
    for states in sets.values():
        assert states.shape == (360, 64) and states.dtype == np.float32
    assert 0.0 <= sets["mnist"].min() and sets["mnist"].max() <= 1.0
    again = build_ood_sets("digits", train_features, test_features, seed=0)
    other = build_ood_sets("digits", train_features, test_features, seed=1)
    for name in sets:
        np.testing.assert_array_equal(sets[name], again[name])
        assert not np.array_equal(sets[name], other[name])


def test_mnist_ood_sets_use_the_digits_up_to_their_count():
    rng = np.random.default_rng(0)
    train_features, test_features = rng.normal(size=(50, 784)), rng.normal(size=(2000, 784))
    sets = build_ood_sets("mnist", train_features, test_features, seed=0)
    assert list(sets) == ["digits", "noise", "corrupted"]
    assert sets["digits"].shape == (1797, 784)  # only 1,797 digits exist
    assert sets["noise"].shape == sets["corrupted"].shape == (2000, 784)


def test_a_missing_mnist_leaves_its_set_out_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("KAE_ZOO_DATA", str(tmp_path))
    features = np.random.default_rng(0).random((20, 64))
    with caplog.at_level(logging.WARNING):
        sets = build_ood_sets("digits", features, features[:5], seed=0)
    assert list(sets) == ["noise", "corrupted"]
    assert "KAE_ZOO_DATA" in caplog.text
    assert list(build_ood_sets("sparse_vec", features, features[:5], seed=0)) == ["noise", "corrupted"]


# --- kae-zoo show -------------------------------------------------------------------------------------------------


def _cell(seed: int, with_ood: bool) -> CellResult:
    cell = CellResult("attractor", "digits", seed, scalars={"state_error": 0.1 * (seed + 1)})
    if with_ood:
        coords = {"ood_method": ["trajectory", "knn"], "ood_set": ["mnist", "noise"]}
        cell.curves["ood_auroc"] = (("ood_method", "ood_set"), coords, np.array([[0.6, np.nan], [0.9 + 0.02 * seed,
                                                                                                 0.8]]))
        cell.curves["ood_fpr95"] = (("ood_method", "ood_set"), coords, np.array([[0.9, np.nan], [0.2, 0.5]]))
    return cell


def test_show_prints_the_ood_table_mean_and_std_over_seeds(tmp_path):
    path = tmp_path / "r.nc"
    write_results(path, [_cell(0, True), _cell(1, True)], {}, "cpu")
    text = format_results(read_results(path))
    assert "OOD detection, ID = the test split" in text
    lines = text.splitlines()
    knn = next(line for line in lines if line.strip().startswith("knn"))
    assert "0.9100 ± 0.014 / 0.2000 ± 0" in knn and "0.8000 ± 0 / 0.5000 ± 0" in knn
    trajectory = next(line for line in lines if line.strip().startswith("trajectory"))
    assert "0.6000 ± 0 / 0.9000 ± 0" in trajectory and "- / -" in trajectory  # no score on that set


def test_show_is_unchanged_without_ood_scores(tmp_path):
    path = tmp_path / "r.nc"
    write_results(path, [_cell(0, False)], {}, "cpu")
    text = format_results(read_results(path))
    assert "OOD" not in text and "probe" not in text and "training split" not in text
