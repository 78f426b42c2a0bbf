"""Scores of a latent map's attractors (REFERENCE section 3): convergence, contractivity, memorization, probing.

The search itself (iteration, stopping and merging rules) is `kae_zoo.scoring.attractor_search`; these are pure
functions of
its outputs. "Data starts" are the training examples' latents; "noise starts" are Gaussian noise (data-free).
"Training examples" are the ones the model was trained on: the `n_train_samples` subset of the train split when
that is set (`n_train_used` records how many).
"""

from __future__ import annotations

import numpy as np

from . import MetricSpec, metric, register_metric


def _vector(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {values.shape}")
    return values


def _matrix(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.size == 0 or not np.isfinite(values).all():
        raise ValueError(f"{name} must be a non-empty finite 2-D array, got shape {values.shape}")
    return values


@metric("attractor_count", "distinct attractors reached from the training latents (cosine merge)", "1",
        higher_is_better=False, split="train")
def attractor_count(labels: np.ndarray) -> int:
    """Number of distinct attractor labels; label -1 marks a start that did not converge and is not counted."""
    labels = _vector(labels, "labels")
    return int(np.unique(labels[labels >= 0]).size)


@metric("convergence_fraction", "fraction of training latents whose iteration converges within the step cap",
        "1", higher_is_better=True, split="train")
def convergence_fraction(converged: np.ndarray) -> float:
    """Share of starts that met the stopping rule within the step cap."""
    return float(np.mean(_vector(converged, "converged").astype(bool)))


@metric("iterations_to_converge", "median map applications until convergence from the training latents "
        "(unconverged counted at the cap)", "steps", higher_is_better=False, split="train")
def iterations_to_converge(n_steps: np.ndarray, converged: np.ndarray, max_steps: int) -> float:
    """Median number of steps, a start that never converged counted at `max_steps`.

    Censoring at the cap keeps the median exact whenever at least half the starts converge (it is then one of
    the converged values); when fewer do, it is the cap.
    """
    n_steps, converged = _vector(n_steps, "n_steps"), _vector(converged, "converged").astype(bool)
    if n_steps.shape != converged.shape:
        raise ValueError(f"n_steps and converged differ in length: {n_steps.shape} and {converged.shape}")
    return float(np.median(np.where(converged, n_steps, max_steps)))


@metric("jacobian_spectral_norm", "largest singular value of the latent map's Jacobian, mean over the "
        "training attractors (< 1: contractive)", "1", higher_is_better=False, split="train")
def jacobian_spectral_norm(jacobians: np.ndarray) -> float:
    """Mean over k Jacobians (k, d, d) of their spectral norm (largest singular value)."""
    jacobians = np.asarray(jacobians, dtype=np.float64)
    if jacobians.ndim != 3 or jacobians.shape[0] == 0 or jacobians.shape[1] != jacobians.shape[2]:
        raise ValueError(f"jacobians must be (k, d, d) with k >= 1, got shape {jacobians.shape}")
    return float(np.mean(np.linalg.norm(jacobians, ord=2, axis=(1, 2))))


@metric("jacobian_spectral_radius", "largest |eigenvalue| of the latent map's Jacobian, mean over the training "
        "attractors (< 1: locally attracting, even where the spectral norm is > 1)", "1", higher_is_better=False,
        split="train")
def jacobian_spectral_radius(jacobians: np.ndarray) -> float:
    """Mean over k Jacobians (k, d, d) of their spectral radius max |eigenvalue|.

    The radius, not the norm, decides whether a fixed point attracts its neighbourhood (iterates of J shrink
    iff radius < 1); a non-normal J can have norm > 1 and radius < 1, so the norm alone can call an attractor
    expanding. radius <= norm always.
    """
    jacobians = np.asarray(jacobians, dtype=np.float64)
    if jacobians.ndim != 3 or jacobians.shape[0] == 0 or jacobians.shape[1] != jacobians.shape[2]:
        raise ValueError(f"jacobians must be (k, d, d) with k >= 1, got shape {jacobians.shape}")
    return float(np.mean(np.abs(np.linalg.eigvals(jacobians)).max(axis=1)))


@metric("memorization", "mean over training attractors of the max cosine similarity between the decoded "
        "attractor and a training example (compare memorization_reference)", "1", higher_is_better=False,
        split="train")
def memorization(decoded_attractors: np.ndarray, train_examples: np.ndarray) -> float:
    """Mean over attractors z* of max over training examples x of cos(D(z*), x) (1: every attractor is one).

    Rows are flattened states in the task's feature space. A zero vector has cosine 0 with everything. Read it
    against `memorization_reference`, the same function of held-out test examples: fresh data of the task already
    sit this close to some training example, so only a value above the reference says that attractors sit on
    training examples more than unseen data do.
    """
    decoded = _matrix(np.reshape(decoded_attractors, (len(decoded_attractors), -1)), "decoded_attractors")
    examples = _matrix(np.reshape(train_examples, (len(train_examples), -1)), "train_examples")
    if decoded.shape[1] != examples.shape[1]:
        raise ValueError(f"attractors have {decoded.shape[1]} features, examples {examples.shape[1]}")
    norms = np.outer(np.linalg.norm(decoded, axis=1), np.linalg.norm(examples, axis=1))
    cosines = np.divide(decoded @ examples.T, norms, out=np.zeros_like(norms), where=norms > 0)
    return float(np.mean(cosines.max(axis=1)))


@metric("probe_reconstruction", "relative error of the test split (centred by the training mean) projected on k "
        "vectors: decoded noise attractors, a random orthogonal basis, or the top-k principal axes of the training "
        "data", "1", higher_is_better=False, dims=("probe_basis",))
def probe_reconstruction(data: np.ndarray, basis: np.ndarray) -> float:
    """||X - P X||_F / ||X||_F, P the least-squares projection of each row of X onto the span of `basis`' rows.

    Rank-deficient bases are fine (the projection is onto the span, via the pseudo-inverse).
    """
    data, basis = _matrix(data, "data"), _matrix(basis, "basis")
    if data.shape[1] != basis.shape[1]:
        raise ValueError(f"data has {data.shape[1]} features, the basis {basis.shape[1]}")
    norm = np.linalg.norm(data)
    if norm == 0:
        raise ValueError("data is all zeros: the relative error is undefined")
    coefficients, *_ = np.linalg.lstsq(basis.T, data.T, rcond=None)  # basis.T (d, k) @ c (k, n) ~ data.T
    return float(np.linalg.norm(data - (basis.T @ coefficients).T) / norm)


# Memorization is read against memorization_reference (fresh data); both are at most 1, the score of an attractor
# that sits on a training example. When fresh data already sit within 1 degree of arc of a training example on
# average (1 - reference < 1 - cos 1 deg), no attractor can score measurably above fresh data: the score cannot
# tell memorization from generalization (2-D data such as yinyang, densely covered by its training set: 0.99996).
MEMORIZATION_MIN_ROOM = 1.0 - float(np.cos(np.radians(1.0)))  # 1.52e-4


def memorization_degenerate_reason(reference: float) -> str:
    """Why memorization (and noise_memorization) cannot be read on this task, "" when they can: the reference
    leaves less than MEMORIZATION_MIN_ROOM below the score's maximum of 1."""
    if not np.isfinite(reference):
        raise ValueError(f"reference must be a finite cosine, got {reference!r}")
    room = 1.0 - reference
    if room >= MEMORIZATION_MIN_ROOM:
        return ""
    return (f"fresh test examples already score {reference:.6f} (1 - reference = {room:.2g} < "
            f"{MEMORIZATION_MIN_ROOM:.2g}, i.e. within 1 degree of a training example): no attractor can score "
            f"measurably above fresh data, so memorization cannot be told from generalization on this task")


def data_dimension(examples: np.ndarray) -> int:
    """Dimension of the data: the numerical rank of the examples (rows) centred by their mean, singular values
    below max(n, d) x float32's machine epsilon (1.2e-7: states are computed in float32, even when handed over as
    float64) x the largest counted as zero. Yinyang's four features (x, y, 1 - x, 1 - y) have dimension 2."""
    epsilon = float(np.finfo(np.float32).eps)
    examples = _matrix(np.reshape(examples, (len(examples), -1)), "examples")
    singular = np.linalg.svd(examples - examples.mean(axis=0), compute_uv=False)
    if singular[0] == 0:
        return 0
    return int(np.sum(singular > singular[0] * max(examples.shape) * epsilon))


def probe_degenerate_reason(n_vectors: int, dimension: int, n_features: int) -> str:
    """Why the probe cannot be read on this task, "" when it can: with k >= the data's dimension the top-k
    principal axes (and, once k >= the number of features, any k independent vectors) span the data exactly, so
    every basis reconstructs the test split to rounding (~1e-16) and the probe no longer compares dictionaries."""
    if n_vectors < 1 or dimension < 0 or n_features < 1:
        raise ValueError(f"need k >= 1, dimension >= 0 and features >= 1, got {n_vectors}, {dimension}, {n_features}")
    if n_vectors < dimension:
        return ""
    return (f"k = {n_vectors} noise attractors >= {dimension}, the dimension of the centred training data "
            f"({n_features} features): the top-k principal axes reconstruct it exactly, so the probe cannot compare "
            f"the attractors with a random or a PCA basis")


register_metric(MetricSpec("memorization_reference", "mean over held-out test examples of the max cosine similarity "
                           "to a training example: `memorization` of fresh data, the level attractors are read "
                           "against", "1", higher_is_better=None, split="test"))
register_metric(MetricSpec("n_train_used", "training examples the model was trained on and its attractor scores "
                           "refer to (n_train_samples, or the whole train split)", "samples", higher_is_better=None,
                           split="", role="setting"))
register_metric(MetricSpec("noise_attractor_count", "distinct attractors reached from Gaussian noise starts "
                           "(data-free; k of the probe)", "1", higher_is_better=False, split=""))
register_metric(MetricSpec("noise_convergence_fraction", "fraction of Gaussian noise starts that converge within "
                           "the step cap", "1", higher_is_better=True, split=""))
register_metric(MetricSpec("noise_memorization", "mean over noise-start attractors of the max cosine similarity "
                           "between the decoded attractor and a training example", "1", higher_is_better=False,
                           split="train"))
