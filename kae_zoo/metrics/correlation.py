"""Rank correlation of one score against another across runs (e.g. memorization against training-set size in a
sweep). A pure function of two arrays; it is computed when a sweep is shown, not stored."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankCorrelation:
    """Spearman's rho of paired values, its two-sided p-value and the number of pairs it used."""

    rho: float  # in [-1, 1]; NaN when either variable is constant
    p_value: float  # scipy's t-approximation; it treats the pairs as independent
    n_pairs: int


def spearman_correlation(x: np.ndarray, y: np.ndarray) -> RankCorrelation:
    """Spearman's rho of y against x: the Pearson correlation of their ranks, tied values taking their mean rank.

    Pairs where either value is NaN are dropped (a failed run has no score). Needs at least 3 complete pairs.
    """
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in size: {x.size} and {y.size}")
    complete = ~(np.isnan(x) | np.isnan(y))
    x, y = x[complete], y[complete]
    if len(x) < 3:
        raise ValueError(f"a rank correlation needs at least 3 complete pairs, got {len(x)}")
    from scipy.stats import rankdata, spearmanr  # on use: keeps CLI start-up fast
    x_ranks, y_ranks = rankdata(x) - (len(x) + 1) / 2, rankdata(y) - (len(y) + 1) / 2  # centred mean ranks
    denominator = np.sqrt(np.sum(x_ranks**2) * np.sum(y_ranks**2))
    rho = float(np.sum(x_ranks * y_ranks) / denominator) if denominator > 0 else float("nan")
    p_value = float(spearmanr(x, y).pvalue) if denominator > 0 else float("nan")
    return RankCorrelation(rho, p_value, int(len(x)))
