"""Sparse-coding scores: dictionary recovery, steps to recovery, code sparsity, error across resolutions.

Dictionaries are (atom_length, n_atoms) arrays whose columns are atoms (x = D z), e.g. a linear decoder's
weight; a ConvTranspose1d decoder's weight (n_atoms, 1, kernel_size) becomes `weight[:, 0].T` (a Conv1d
decoder cross-correlates, so its atoms are its taps reversed: `weight[0].flip(-1).T`). Recovery compares atoms up
to scale and sign: cos(d, e) = <d, e> / (|d| |e|), sine distance sqrt(1 - cos^2), and each true atom is
matched to a distinct learned atom by the assignment that maximises the summed |cos| (Hungarian algorithm).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import MetricSpec, metric, register_metric
from .geometry import state_error

DEFAULT_RECOVERY_THRESHOLD = 0.9  # recovery (1 - mean sine distance) counted as "recovered"
DEFAULT_ZERO_TOLERANCE = 1e-6  # |z| above this counts as a non-zero code entry


def _dictionary(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2 or array.size == 0 or not np.isfinite(array).all():
        raise ValueError(f"{name} must be a non-empty finite (atom_length, n_atoms) array, got shape {array.shape}")
    return array


def atom_cosines(true: np.ndarray, learned: np.ndarray, shift_invariant: bool = False) -> np.ndarray:
    """|cos| between every true atom and every learned atom: (n_true, n_learned), values in [0, 1].

    shift_invariant: the largest |cos| over all circular shifts, for convolutional atoms. Atoms of different
    lengths are compared by zero-padding the shorter ones at the end to the longer length, so a short learned
    filter is tried at every position of the true atom's periodic grid. A learned atom that is all zeros (a
    dead atom) has cosine 0 with everything; a true atom that is all zeros is an error.
    """
    true, learned = _dictionary(true, "true dictionary"), _dictionary(learned, "learned dictionary")
    if not shift_invariant and len(true) != len(learned):
        raise ValueError(f"atom lengths differ ({len(true)} true, {len(learned)} learned); they must be equal "
                         "unless shift_invariant=True")
    true_norms, learned_norms = np.linalg.norm(true, axis=0), np.linalg.norm(learned, axis=0)
    if np.any(true_norms == 0):
        raise ValueError(f"true atom {int(np.argmin(true_norms))} is all zeros; true atoms must be non-zero")
    if shift_invariant:
        length = max(len(true), len(learned))
        true_spectrum = np.fft.rfft(true, n=length, axis=0)  # zero-pads to `length`
        learned_spectrum = np.fft.rfft(learned, n=length, axis=0)
        # circular cross-correlation at every shift: (length, n_true, n_learned)
        correlation = np.fft.irfft(true_spectrum[:, :, None] * learned_spectrum[:, None, :].conj(), n=length, axis=0)
        inner = np.abs(correlation).max(axis=0)
    else:
        inner = np.abs(true.T @ learned)
    safe_norms = np.where(learned_norms > 0, learned_norms, 1.0)  # dead atoms: inner = 0, so cos = 0
    return np.clip(inner / np.outer(true_norms, safe_norms), 0.0, 1.0)


def match_atoms(
    true: np.ndarray, learned: np.ndarray, shift_invariant: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """For each true atom, the index of its matched learned atom (all distinct, the summed sine distance as small
    as it can be) and their |cos|."""
    cosines = atom_cosines(true, learned, shift_invariant)
    n_true, n_learned = cosines.shape
    if n_learned < n_true:
        raise ValueError(f"the learned dictionary has {n_learned} atoms; it needs at least the true {n_true}")
    from scipy.optimize import linear_sum_assignment  # on use: keeps CLI start-up fast
    rows, columns = linear_sum_assignment(np.sqrt(1.0 - cosines**2))  # rows come back as 0 .. n_true - 1
    return columns, cosines[rows, columns]


def sine_distances(true: np.ndarray, learned: np.ndarray, shift_invariant: bool = False) -> np.ndarray:
    """sqrt(1 - cos^2) between each true atom and its matched learned atom: (n_true,), values in [0, 1]."""
    _, cosines = match_atoms(true, learned, shift_invariant)
    return np.sqrt(1.0 - cosines**2)


@metric("dictionary_recovery", "1 - mean sine distance between true and matched learned atoms", "1",
        higher_is_better=True, split="", version=2)
def dictionary_recovery(true: np.ndarray, learned: np.ndarray, shift_invariant: bool = False) -> float:
    """1 - mean sine distance: 1 when every true atom is learned exactly (up to scale and sign)."""
    return float(1.0 - sine_distances(true, learned, shift_invariant).mean())


@metric("max_sine_distance", "largest sine distance between a true atom and its matched learned atom", "1",
        higher_is_better=False, split="", version=2)
def max_sine_distance(true: np.ndarray, learned: np.ndarray, shift_invariant: bool = False) -> float:
    """The worst-recovered atom's sine distance."""
    return float(sine_distances(true, learned, shift_invariant).max())


@metric("steps_to_recovery", "first training step with dictionary recovery >= the threshold (the cap if never)",
        "steps", higher_is_better=False, split="", version=2)
def steps_to_recovery(
    steps: Sequence[int], recovery: Sequence[float], threshold: float = DEFAULT_RECOVERY_THRESHOLD,
    cap: int | None = None,
) -> tuple[float, bool]:
    """(first step whose recovery >= threshold, True), or (cap, False) when no step reaches it.

    `steps` must increase strictly; `cap` (default: the last step) must be >= the last step, e.g. the
    number of training steps when the curve was evaluated only every few steps. A run that never recovers is
    censored at the cap: report `recovery_reached` beside it.
    """
    steps, recovery = np.asarray(steps, dtype=np.float64), np.asarray(recovery, dtype=np.float64)
    if steps.ndim != 1 or steps.shape != recovery.shape or steps.size == 0:
        raise ValueError(f"steps and recovery must be non-empty 1-D arrays of equal length, got {steps.shape} "
                         f"and {recovery.shape}")
    if np.any(np.diff(steps) <= 0) or not np.isfinite(recovery).all():
        raise ValueError("steps must increase strictly and recovery values must be finite")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    cap = float(steps[-1]) if cap is None else float(cap)
    if cap < steps[-1]:
        raise ValueError(f"cap must be >= the last step {steps[-1]:g}, got {cap:g}")
    reached = np.flatnonzero(recovery >= threshold)
    return (float(steps[reached[0]]), True) if len(reached) else (cap, False)


register_metric(MetricSpec("recovery_reached", "1 if dictionary recovery reached the threshold during training",
                           "1", higher_is_better=True, split="", version=2))
register_metric(MetricSpec("recovery", "dictionary recovery (1 - mean sine distance) against optimiser steps", "1",
                           higher_is_better=True, dims=("train_step",), split="", version=2))


@metric("sparsity", "mean number of non-zero code entries per test sample (L0; the true codes have s)", "1",
        higher_is_better=False)
def sparsity(codes: np.ndarray, tolerance: float = DEFAULT_ZERO_TOLERANCE) -> float:
    """Mean over samples of #{|z| > tolerance}; codes (n_samples, ...) with any trailing shape.

    The tolerance is absolute: shrinkage (soft-threshold) and ReLU encoders give exact zeros, and 1e-6 only
    keeps float32 round-off from counting. Codes of order 1e-6 or below are counted as zeros.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim < 1 or len(codes) == 0 or not np.isfinite(codes).all():
        raise ValueError(f"codes must be a non-empty finite (n_samples, ...) array, got shape {codes.shape}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    return float(np.mean(np.sum(np.abs(codes.reshape(len(codes), -1)) > tolerance, axis=1)))


@metric("resolution_error", "relative L2 reconstruction error of the test split at each grid size", "1",
        higher_is_better=False, dims=("resolution",))
def resolution_error(predicted: Sequence[np.ndarray], target: Sequence[np.ndarray]) -> np.ndarray:
    """||predicted_r - target_r||_F / ||target_r||_F for each resolution r: (n_resolutions,).

    Point-sampled signals have ||x||^2 ~ n_points * int x^2, so the ratio is comparable across grid sizes.
    """
    if len(predicted) != len(target) or len(target) == 0:
        raise ValueError(f"need one prediction per resolution, got {len(predicted)} predictions and "
                         f"{len(target)} targets")
    return np.array([state_error(guess, truth) for guess, truth in zip(predicted, target)])


@metric("resolution_robustness", "worst / best relative error over the grid sizes (1 = resolution-invariant)", "1",
        higher_is_better=False)
def resolution_robustness(errors: np.ndarray) -> float:
    """max(errors) / min(errors) >= 1; 1 when all errors are 0, inf when only the best is 0."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 1 or errors.size == 0 or not np.isfinite(errors).all() or np.any(errors < 0):
        raise ValueError(f"errors must be a non-empty 1-D array of finite values >= 0, got {errors!r}")
    best, worst = errors.min(), errors.max()
    if best == 0:
        return 1.0 if worst == 0 else float("inf")
    return float(worst / best)


register_metric(MetricSpec("resolution_error_direct", "relative L2 reconstruction error of the test split at each "
                           "grid size, the model applied to that grid's samples without resampling", "1",
                           higher_is_better=False, dims=("resolution",)))
register_metric(MetricSpec("resolution_robustness_direct", "worst / best of resolution_error_direct (1 = "
                           "resolution-invariant)", "1", higher_is_better=False))
register_metric(MetricSpec("resolution_native", "1 if the model ran natively on every grid of resolution_error, 0 "
                           "if inputs were resampled to its training grid (periodic linear interpolation)", "1",
                           higher_is_better=True))
