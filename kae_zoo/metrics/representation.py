"""Representation scores of sparse autoencoders (SAEBench's core metrics, Karvonen et al. 2025, arXiv 2503.09532;
Wright & Sharkey 2024): how much of a representation a reconstruction keeps, how it is scaled, how many latents
are ever used, and how much of the downstream accuracy survives replacing the representation by its
reconstruction.

x are the true states and x_hat their reconstructions (or predictions), (n_samples, ...) arrays flattened per
sample. A score that is undefined on its input (targets without variance, a reconstruction orthogonal to the
states on average, a layer whose ablation costs no accuracy) raises `DegenerateScoreError`, a ValueError whose
one-line message is the reason a scorer records beside its NaN.
"""

from __future__ import annotations

import numpy as np

from . import MetricSpec, metric, register_metric
from .sparse import DEFAULT_ZERO_TOLERANCE

# sum ||x - mean(x)||^2 at or below this share of sum ||x||^2 is float round-off of constant states: no variance
ZERO_VARIANCE_SHARE = 1e-12


class DegenerateScoreError(ValueError):
    """The score is undefined on this (valid) input; the message says why (recorded as the degenerate reason)."""


def _states(x: np.ndarray, x_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and x_hat as float64 (n_samples, n_features) arrays; ValueError on a shape mismatch, empty or non-finite."""
    x, x_hat = np.asarray(x, dtype=np.float64), np.asarray(x_hat, dtype=np.float64)
    if x.shape != x_hat.shape or x.ndim < 1 or x.size == 0:
        raise ValueError(f"x and x_hat must be non-empty (n_samples, ...) arrays of one shape, got {x.shape} and "
                         f"{x_hat.shape}")
    if not (np.isfinite(x).all() and np.isfinite(x_hat).all()):
        raise ValueError("x and x_hat must be finite; found NaN or inf")
    return x.reshape(len(x), -1), x_hat.reshape(len(x_hat), -1)


@metric("explained_variance", "1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 over test samples (SAEBench; "
        "SAELens once used mean 0)", "1", higher_is_better=True)
def explained_variance(x: np.ndarray, x_hat: np.ndarray) -> float:
    """1 - sum_i ||x_i - x_hat_i||^2 / sum_i ||x_i - mean(x)||^2, the mean taken over the evaluated samples.

    This is SAEBench's current definition; SAELens once shipped the zero-mean version (sum_i ||x_i||^2 in the
    denominator), which scores higher on states with a non-zero mean. 1 is a perfect reconstruction, 0 is as good
    as predicting the mean, below 0 worse. DegenerateScoreError when x has no variance.
    """
    x, x_hat = _states(x, x_hat)
    total = float(np.sum((x - x.mean(axis=0)) ** 2))
    if total <= ZERO_VARIANCE_SHARE * float(np.sum(x**2)):
        raise DegenerateScoreError(f"explained variance is undefined: the {len(x)} target states have no variance "
                                   f"(sum ||x - mean(x)||^2 = {total:.3g}); it needs states that vary")
    return float(1.0 - np.sum((x - x_hat) ** 2) / total)


@metric("l2_ratio", "mean over test samples of ||x_hat|| / ||x|| (1 ideal; < 1 shrinks)", "1",
        higher_is_better=None)
def l2_ratio(x: np.ndarray, x_hat: np.ndarray) -> float:
    """mean_i ||x_hat_i|| / ||x_i|| over the samples with ||x_i|| > 0 (1 is ideal: neither side is better).

    DegenerateScoreError when every x_i is zero."""
    x, x_hat = _states(x, x_hat)
    norms = np.linalg.norm(x, axis=1)
    kept = norms > 0
    if not kept.any():
        raise DegenerateScoreError(f"l2_ratio is undefined: all {len(x)} target states are zero; it needs one with "
                                   "||x|| > 0")
    return float(np.mean(np.linalg.norm(x_hat[kept], axis=1) / norms[kept]))


@metric("relative_reconstruction_bias", "gamma = E||x_hat||^2 / E<x, x_hat> over test samples (1 ideal; < 1 "
        "shrinks)", "1", higher_is_better=None)
def relative_reconstruction_bias(x: np.ndarray, x_hat: np.ndarray) -> float:
    """gamma = E||x_hat||^2 / E<x, x_hat>: the inverse of the scale c minimising E||x - c x_hat||^2 (Wright & Sharkey
    2024). 1 is ideal; gamma < 1 is shrinkage (the reconstruction is too short along itself), > 1 the opposite.

    DegenerateScoreError when E<x, x_hat> <= 0 (no positive scale maps x_hat onto x)."""
    x, x_hat = _states(x, x_hat)
    inner = float(np.mean(np.sum(x * x_hat, axis=1)))
    if inner <= 0:
        raise DegenerateScoreError(f"relative reconstruction bias is undefined: E<x, x_hat> = {inner:.3g} <= 0; it "
                                   "needs reconstructions positively aligned with the states")
    return float(np.mean(np.sum(x_hat**2, axis=1)) / inner)


@metric("reconstruction_cosine", "cos(x, x_hat) per test sample, then the mean", "1", higher_is_better=True)
def reconstruction_cosine(x: np.ndarray, x_hat: np.ndarray) -> float:
    """mean_i <x_i, x_hat_i> / (||x_i|| ||x_hat_i||): per sample, then the mean, over the samples with ||x_i|| > 0;
    a zero reconstruction of a non-zero state counts as cosine 0. DegenerateScoreError when every x_i is zero."""
    x, x_hat = _states(x, x_hat)
    norms, hat_norms = np.linalg.norm(x, axis=1), np.linalg.norm(x_hat, axis=1)
    kept = norms > 0
    if not kept.any():
        raise DegenerateScoreError(f"reconstruction cosine is undefined: all {len(x)} target states are zero; it "
                                   "needs one with ||x|| > 0")
    inner = np.sum(x[kept] * x_hat[kept], axis=1)
    safe_hat_norms = np.where(hat_norms[kept] > 0, hat_norms[kept], 1.0)  # zero reconstruction: inner 0, cos 0
    return float(np.mean(inner / (norms[kept] * safe_hat_norms)))


@metric("alive_fraction", "fraction of latents non-zero (|z| > 1e-6) on at least one test sample", "1",
        higher_is_better=True)
def alive_fraction(codes: np.ndarray, tolerance: float = DEFAULT_ZERO_TOLERANCE) -> float:
    """Share of latents with |z| > tolerance on at least one sample; codes (n_samples, n_latents, ...): a latent is
    dim 1, and any trailing dims (the positions of a convolutional code) count as more samples of it.

    The tolerance is the one `sparsity` counts non-zero entries with, so a latent counted there is alive here."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim < 2 or codes.shape[0] == 0 or codes.shape[1] == 0 or not np.isfinite(codes).all():
        raise ValueError(f"codes must be a non-empty finite (n_samples, n_latents, ...) array, got shape "
                         f"{codes.shape}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    fired = np.abs(np.moveaxis(codes, 1, 0).reshape(codes.shape[1], -1)) > tolerance  # (n_latents, everything else)
    return float(np.mean(fired.any(axis=1)))


@metric("downstream_recovered", "(acc. with the layer replaced by the reconstruction - acc. with it mean-ablated) / "
        "(acc. of the layer itself - mean-ablated acc.); mean = training-split mean of the layer, test split", "1",
        higher_is_better=True)
def downstream_recovered(reconstructed: float, ablated: float, original: float) -> float:
    """(reconstructed - ablated) / (original - ablated) of three accuracies (SAEBench's loss-recovered score, with
    the layer mean-ablated rather than zeroed: for a small MLP the mean is the fair floor). 1: the reconstruction
    keeps all the accuracy the layer carries; 0: no better than its mean; below 0: worse.

    DegenerateScoreError when original <= ablated (the layer's content adds no accuracy to recover)."""
    values = np.array([reconstructed, ablated, original], dtype=np.float64)
    if not (np.isfinite(values).all() and np.all((values >= 0) & (values <= 1))):
        raise ValueError(f"accuracies must be finite numbers in [0, 1], got reconstructed {reconstructed!r}, "
                         f"ablated {ablated!r}, original {original!r}")
    if original <= ablated:
        raise DegenerateScoreError(f"downstream recovery is undefined: the layer's own accuracy {original:.4g} is not "
                                   f"above the mean-ablated accuracy {ablated:.4g}; it needs original > ablated")
    return float((reconstructed - ablated) / (original - ablated))


register_metric(MetricSpec("mean_ablated_accuracy", "accuracy with the layer replaced by its training-split mean for "
                           "every test sample (the floor of downstream_recovered)", "1", higher_is_better=None))
