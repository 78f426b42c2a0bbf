"""Out-of-distribution detection: per-sample OOD scores and the two detection metrics, AUROC and FPR95.

Convention throughout: a higher score means "more OOD"; in-distribution (ID) samples are the negatives (label 0)
and OOD samples the positives (label 1). The ID samples are a task's held-out test split.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from . import metric

CovarianceEstimator = Literal["ledoit_wolf", "empirical"]
DEFAULT_ID_KEPT = 0.95  # FPR95: the threshold keeps this fraction of the ID samples


def _scores(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or np.isnan(values).any():
        raise ValueError(f"{name} must be a non-empty 1-D array without NaN, got shape {values.shape}")
    return values


@metric("ood_auroc", "area under the ROC curve separating OOD samples (1) from the ID test split (0) by the "
        "OOD score; 0.5 = chance", "1", higher_is_better=True, dims=("ood_method", "ood_set"))
def ood_auroc(id_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """P(score of a random OOD sample > score of a random ID sample), ties counted one half.

    Computed with the Mann-Whitney rank formula: (sum of the OOD samples' mid-ranks in the pooled scores
    - n_ood (n_ood + 1) / 2) / (n_id n_ood); equal to sklearn's roc_auc_score with ID = 0, OOD = 1.
    """
    id_scores, ood_scores = _scores(id_scores, "id_scores"), _scores(ood_scores, "ood_scores")
    from scipy.stats import rankdata  # on use: keeps CLI start-up fast
    ranks = rankdata(np.concatenate([id_scores, ood_scores]))  # ties get their mid-rank
    n_id, n_ood = len(id_scores), len(ood_scores)
    return float((ranks[n_id:].sum() - n_ood * (n_ood + 1) / 2) / (n_id * n_ood))


@metric("ood_fpr95", "fraction of OOD samples accepted as ID at the threshold that keeps 95% of the ID test "
        "split", "1", higher_is_better=False, dims=("ood_method", "ood_set"))
def ood_fpr95(id_scores: np.ndarray, ood_scores: np.ndarray, id_kept: float = DEFAULT_ID_KEPT) -> float:
    """Fraction of OOD scores <= tau, where tau is the smallest ID score with at least `id_kept` of the ID scores
    <= tau.

    A sample is accepted as ID when its score is <= tau. With the ID scores sorted ascending s_(1) <= ... <= s_(n),
    tau = s_(ceil(id_kept * n)): at least 95% of ID is kept (more when ID scores tie at tau), and OOD samples that
    tie with tau are accepted, i.e. counted as false positives.
    """
    id_scores, ood_scores = _scores(id_scores, "id_scores"), _scores(ood_scores, "ood_scores")
    if not 0 < id_kept <= 1:
        raise ValueError(f"id_kept must be in (0, 1], got {id_kept}")
    rank = int(np.ceil(id_kept * len(id_scores) - 1e-9))  # 1-based; the tolerance keeps 0.95 * 20 at 19
    threshold = np.sort(id_scores)[rank - 1]
    return float(np.mean(ood_scores <= threshold))


ROC_FPR_GRID = np.linspace(0.0, 1.0, 51)  # false-positive rates at which ood_roc_tpr reads the ROC curve


@metric("ood_roc_tpr", "ROC curve: fraction of OOD samples flagged (true-positive rate) at each fraction of the ID "
        "test split flagged (false-positive rate)", "1", higher_is_better=True, dims=("ood_method", "ood_set", "fpr"))
def ood_roc_tpr(id_scores: np.ndarray, ood_scores: np.ndarray, fpr: np.ndarray = ROC_FPR_GRID) -> np.ndarray:
    """The ROC curve read at the false-positive rates `fpr`: (len(fpr),).

    Vertices: (0, 0), then for each distinct score t, highest first, the rule "flag as OOD when score >= t" gives
    (fraction of ID flagged, fraction of OOD flagged). The curve joins consecutive vertices by straight lines, so an
    ID/OOD tie is a diagonal segment and the area under it equals `ood_auroc` (ties one half). At an FPR shared by
    several vertices (a vertical segment) the highest TPR is returned: the best rule at that FPR.
    """
    id_scores, ood_scores = _scores(id_scores, "id_scores"), _scores(ood_scores, "ood_scores")
    fpr = np.asarray(fpr, dtype=np.float64)
    if fpr.ndim != 1 or np.any((fpr < 0) | (fpr > 1)):
        raise ValueError(f"fpr must be a 1-D array of rates in [0, 1], got {fpr!r}")
    thresholds = np.unique(np.concatenate([id_scores, ood_scores]))[::-1]
    id_sorted, ood_sorted = np.sort(id_scores), np.sort(ood_scores)
    vertex_fpr = np.r_[0.0, 1.0 - np.searchsorted(id_sorted, thresholds, side="left") / len(id_sorted)]
    vertex_tpr = np.r_[0.0, 1.0 - np.searchsorted(ood_sorted, thresholds, side="left") / len(ood_sorted)]
    last = np.searchsorted(vertex_fpr, fpr, side="right") - 1  # the last vertex at or left of each query
    after = np.minimum(last + 1, len(vertex_fpr) - 1)
    run = vertex_fpr[after] - vertex_fpr[last]
    slope = np.divide(vertex_tpr[after] - vertex_tpr[last], run, out=np.zeros_like(run), where=run > 0)
    return vertex_tpr[last] + slope * (fpr - vertex_fpr[last])


def knn_distance(train_latents: np.ndarray, query_latents: np.ndarray, k: int = 1) -> np.ndarray:
    """Euclidean distance from each query latent to its k-th nearest training latent: (n_query,)."""
    train_latents = np.asarray(train_latents, dtype=np.float64)
    if not 1 <= k <= len(train_latents):
        raise ValueError(f"k must be in [1, {len(train_latents)}] (the number of training latents), got {k}")
    from sklearn.neighbors import NearestNeighbors  # on use: keeps CLI start-up fast
    neighbours = NearestNeighbors(n_neighbors=k).fit(train_latents)
    distances, _ = neighbours.kneighbors(np.asarray(query_latents, dtype=np.float64))
    return distances[:, k - 1]


def mahalanobis_distance(
    train_latents: np.ndarray, query_latents: np.ndarray, estimator: CovarianceEstimator = "ledoit_wolf"
) -> np.ndarray:
    """Squared Mahalanobis distance (z - mu)^T Sigma^-1 (z - mu) of each query latent: (n_query,).

    mu and Sigma: the class-agnostic mean and covariance of the training latents, Sigma by Ledoit-Wolf shrinkage
    (well-conditioned even when latent dimensions are nearly collinear) or the plain empirical estimate
    (inverted with a pseudo-inverse). Squared, as sklearn returns it: the ranking, so AUROC and FPR95, is the same.
    """
    from sklearn.covariance import EmpiricalCovariance, LedoitWolf  # on use: keeps CLI start-up fast
    estimators = {"ledoit_wolf": LedoitWolf, "empirical": EmpiricalCovariance}
    if estimator not in estimators:
        raise ValueError(f"estimator {estimator!r} is not one of {', '.join(estimators)}")
    fitted = estimators[estimator]().fit(np.asarray(train_latents, dtype=np.float64))
    return fitted.mahalanobis(np.asarray(query_latents, dtype=np.float64))


def reconstruction_error(states: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """||x - x_hat||^2 per sample, summed over features: (n,)."""
    states = np.asarray(states, dtype=np.float64)
    reconstructions = np.asarray(reconstructions, dtype=np.float64)
    if states.shape != reconstructions.shape or states.ndim < 1:
        raise ValueError(f"states and reconstructions differ in shape: {states.shape}, {reconstructions.shape}")
    return np.sum((states - reconstructions).reshape(len(states), -1) ** 2, axis=1)
