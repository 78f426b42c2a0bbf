"""Scorer `attractors`: a latent map's attractors, a data-free probe, and OOD detection on the test split.

It runs on every model with the `latent_map` capability (the latent-attractor AE: f = E(D(z))). Its settings are
the fields of `AttractorSettings`, read from the model's config where it has them (the attractor family's config
has them all; a plugin family gets the paper's defaults for the rest).

"Training examples" throughout are the ones the model was trained on: `model.training_examples` of the train split
(all of it unless the attractor family's `n_train_samples` is set), drawn with the cell seed exactly as the runner
drew them for training; n_train_used says how many.

1. Data starts: iterate f = E(D(z)) from every training latent (stopping and merging rules:
   `kae_zoo.scoring.attractor_search`). Converged end points, merged, are the *training attractors*. Scores:
   attractor_count, convergence_fraction, iterations_to_converge, jacobian_spectral_norm and
   jacobian_spectral_radius (at the training attractors), memorization (decoded training attractors against
   training examples) and memorization_reference (the test examples against the training examples: the level
   of fresh data, which memorization must exceed to say attractors sit on training examples).
2. Noise starts (data-free): `n_noise_starts` standard Gaussian inputs, encoded (or Gaussian latents, by
   `noise_space`), iterated and merged likewise: noise_attractor_count, noise_convergence_fraction,
   noise_memorization. probe_reconstruction (dim probe_basis) projects the test split, centred by the training
   mean, on k vectors: the decoded noise attractors (centred likewise), a random orthogonal basis, and the top-k
   principal axes of the training split; k = the number of noise attractors, capped at the state size (the k
   largest basins are kept then).
   Degenerate scores are NaN, with the reason returned (`kae_zoo.metrics.attractor`): the probe when k reaches the
   dimension of the centred training data (every basis is then exact to rounding), memorization and
   noise_memorization when memorization_reference leaves no room below 1 (fresh data already sit on training
   examples: low-dimensional data densely covered by its training set).
3. OOD detection (dims ood_method, ood_set): ID = the task's test split, OOD = `kae_zoo.tasks.ood_sets`. Scores,
   higher = more OOD: "trajectory" (the paper's: mean over z_0 = E(x), ..., z_T of the distance to the training
   attractors, T the step the stopping rule holds or the cap), "knn" (distance to the k-th nearest training
   latent), "mahalanobis" (class-agnostic, training latents), "reconstruction" (||x - D(E(x))||^2).
   The trajectory score is implemented as REFERENCE states it, z_0 included and "distance to the set" read as
   the distance to the nearest attractor; `ood_set_distance="mean"` is the other reading (mean distance to every
   attractor). Nothing here is tuned to make it win.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor

from ..core.batching import in_chunks, to_numpy
from ..core.capabilities import LATENT_MAP
from ..core.surrogate import Surrogate
from ..core.types import Curve
from ..metrics.attractor import (
    attractor_count,
    convergence_fraction,
    data_dimension,
    iterations_to_converge,
    jacobian_spectral_norm,
    jacobian_spectral_radius,
    memorization,
    memorization_degenerate_reason,
    probe_degenerate_reason,
    probe_reconstruction,
)
from ..metrics.ood import (
    ROC_FPR_GRID,
    knn_distance,
    mahalanobis_distance,
    ood_auroc,
    ood_fpr95,
    ood_roc_tpr,
    reconstruction_error,
)
from ..tasks.base import TaskData
from ..tasks.ood_sets import OODSetConfig, build_ood_sets
from ..tasks.preprocessing import fit_pca
from .attractor_search import IterationResult, iterate_to_convergence, jacobians, merge_end_points, trajectory_distances
from .base import Scorer, ScorerOutput, ScoringContext, register_scorer, specs

logger = logging.getLogger(__name__)

OOD_METHODS = ("trajectory", "knn", "mahalanobis", "reconstruction")
PROBE_BASES = ("attractors", "random_orthogonal", "pca")
JACOBIAN_CHUNK = 64  # attractors per vmap chunk: bounds memory for conv models with many attractors


@dataclass(frozen=True)
class AttractorSettings:
    """How attractors are searched and OOD scored (the attractor family's config documents each field)."""

    convergence_tolerance: float = 1e-6
    max_steps: int = 3000
    merge_cosine: float = 0.99
    merge_distance: float = 0.0
    n_noise_starts: int = 1000
    noise_space: str = "input"
    ood_knn_k: int = 1
    ood_covariance: str = "ledoit_wolf"
    ood_set_distance: str = "nearest"

    @classmethod
    def of(cls, model: Surrogate) -> AttractorSettings:
        """The settings of `model`'s config where it has the field, the defaults elsewhere."""
        return cls(**{field.name: getattr(model.config, field.name) for field in fields(cls)
                      if hasattr(model.config, field.name)})


def _search(model: Surrogate, starts: Tensor) -> tuple[IterationResult, Tensor, np.ndarray]:
    """Iterate from `starts`, merge the converged end points: (result, attractors, labels with -1 = unconverged)."""
    config = AttractorSettings.of(model)
    result = iterate_to_convergence(model.latent_map, starts, tolerance=config.convergence_tolerance,
                                    max_steps=config.max_steps)
    attractors, merged = merge_end_points(result.end_points[result.converged], config.merge_cosine,
                                          config.merge_distance)
    labels = np.full(len(starts), -1)
    labels[result.converged.cpu().numpy()] = merged.cpu().numpy()
    return result, attractors, labels


def noise_starts(model: Surrogate, seed: int) -> Tensor:
    """`n_noise_starts` standard Gaussian inputs encoded, or Gaussian latents (`noise_space`); seeded."""
    config = AttractorSettings.of(model)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    if config.noise_space == "latent":
        latent_dim = getattr(model.config, "latent_dim", None)
        if latent_dim is None:  # a plugin family: the width of its codes
            latent_dim = model.encode(torch.zeros(1, *model.spec.state_shape, device=device)).shape[1]
        return torch.randn(config.n_noise_starts, latent_dim, generator=generator).to(device)
    inputs = torch.randn(config.n_noise_starts, *model.spec.state_shape, generator=generator).to(device)
    return in_chunks(model.encode, inputs)


def probe_bases(decoded_attractors: np.ndarray, train: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The three k-vector bases (rows) of the probe, k = len(decoded_attractors), for data centred by the
    training mean; decoded attractors in basin-size order."""
    mean = train.mean(axis=0)
    k = len(decoded_attractors)
    random_matrix = np.random.default_rng([seed, 3]).standard_normal((train.shape[1], k))
    return {
        "attractors": decoded_attractors - mean,
        "random_orthogonal": np.linalg.qr(random_matrix)[0].T,
        "pca": fit_pca(train, k)[1],
    }


def _ood_scores(
    model: Surrogate, states: Tensor, train_latents: Tensor, attractors: Tensor
) -> dict[str, np.ndarray]:
    """Every OOD method's score of each state (higher = more OOD); trajectory is NaN without attractors."""
    config = AttractorSettings.of(model)
    latents = in_chunks(model.encode, states)
    if len(attractors):
        trajectory = to_numpy(trajectory_distances(model.latent_map, latents, attractors,
                                                   tolerance=config.convergence_tolerance, max_steps=config.max_steps,
                                                   reduction=config.ood_set_distance))
    else:
        trajectory = np.full(len(states), np.nan)
    train_numpy, latent_numpy = to_numpy(train_latents), to_numpy(latents)
    return {
        "trajectory": trajectory,
        "knn": knn_distance(train_numpy, latent_numpy, config.ood_knn_k),
        "mahalanobis": mahalanobis_distance(train_numpy, latent_numpy, config.ood_covariance),
        "reconstruction": reconstruction_error(to_numpy(states), to_numpy(in_chunks(model.decode, latents))),
    }


def ood_curves(model: Surrogate, data: TaskData, train: Tensor, train_latents: Tensor, attractors: Tensor, *,
               seed: int, sets: OODSetConfig) -> dict[str, Curve]:
    """ood_auroc, ood_fpr95 and the ROC curve (ood_roc_tpr) of every method on every OOD set, ID = the test split;
    `train` (the training examples) sets the noise set's statistics and the corruption's scale."""
    test = data.splits["test"]["source"]
    ood_sets = build_ood_sets(data.task, to_numpy(train), to_numpy(test), seed=seed, config=sets)
    names = list(ood_sets)
    pooled = torch.cat([test, *[torch.from_numpy(states).to(test) for states in ood_sets.values()]])
    scores = _ood_scores(model, pooled, train_latents, attractors)
    bounds = np.cumsum([len(test), *[len(states) for states in ood_sets.values()]])
    auroc, fpr95 = np.full((len(OOD_METHODS), len(names)), np.nan), np.full((len(OOD_METHODS), len(names)), np.nan)
    roc = np.full((len(OOD_METHODS), len(names), len(ROC_FPR_GRID)), np.nan)
    for row, method in enumerate(OOD_METHODS):
        id_scores = scores[method][: bounds[0]]
        if np.isnan(id_scores).any():
            continue
        for column, (start, end) in enumerate(zip(bounds[:-1], bounds[1:])):
            auroc[row, column] = ood_auroc(id_scores, scores[method][start:end])
            fpr95[row, column] = ood_fpr95(id_scores, scores[method][start:end])
            roc[row, column] = ood_roc_tpr(id_scores, scores[method][start:end], ROC_FPR_GRID)
    coords = {"ood_method": list(OOD_METHODS), "ood_set": names}
    return {"ood_auroc": (("ood_method", "ood_set"), coords, auroc),
            "ood_fpr95": (("ood_method", "ood_set"), coords, fpr95),
            "ood_roc_tpr": (("ood_method", "ood_set", "fpr"), {**coords, "fpr": ROC_FPR_GRID.tolist()}, roc)}


def attractor_scores(model: Surrogate, data: TaskData, seed: int, *,
                     sets: OODSetConfig = OODSetConfig()) -> ScorerOutput:
    """Attractor, probe and OOD scores of a model with a latent map (module docstring)."""
    model.eval()
    config = AttractorSettings.of(model)
    train = model.training_examples(data.splits["train"], seed)["source"]
    train_flat = to_numpy(train).reshape(len(train), -1)
    train_latents = in_chunks(model.encode, train)
    test = to_numpy(data.splits["test"]["source"])
    test_flat = test.reshape(len(test), -1)

    result, attractors, labels = _search(model, train_latents)
    converged = result.converged.cpu().numpy()
    scalars = {
        "n_train_used": float(len(train)),
        "attractor_count": float(attractor_count(labels)),
        "convergence_fraction": convergence_fraction(converged),
        "iterations_to_converge": iterations_to_converge(result.n_steps.cpu().numpy(), converged, config.max_steps),
    }
    if len(attractors):
        jacobian = jacobians(model.latent_map, attractors, chunk_size=JACOBIAN_CHUNK)
        scalars["jacobian_spectral_norm"] = jacobian_spectral_norm(to_numpy(jacobian))
        scalars["jacobian_spectral_radius"] = jacobian_spectral_radius(to_numpy(jacobian))
        decoded = to_numpy(in_chunks(model.decode, attractors)).reshape(len(attractors), -1)
        scalars["memorization"] = memorization(decoded, train_flat)
    scalars["memorization_reference"] = memorization(test_flat, train_flat)
    degenerate: dict[str, str] = {}
    memorization_reason = memorization_degenerate_reason(scalars["memorization_reference"])
    logger.debug("%s: %d training attractors, %.3f of training latents converged", data.task, len(attractors),
                scalars["convergence_fraction"])

    noise_result, noise_attractors, noise_labels = _search(model, noise_starts(model, seed))
    scalars["noise_attractor_count"] = float(attractor_count(noise_labels))
    scalars["noise_convergence_fraction"] = convergence_fraction(noise_result.converged.cpu().numpy())
    curves: dict[str, Curve] = {}
    if len(noise_attractors):
        decoded_noise = to_numpy(in_chunks(model.decode, noise_attractors)).reshape(len(noise_attractors), -1)
        scalars["noise_memorization"] = memorization(decoded_noise, train_flat)
        basin_sizes = np.bincount(noise_labels[noise_labels >= 0], minlength=len(noise_attractors))
        largest = np.argsort(-basin_sizes, kind="stable")[: train_flat.shape[1]]  # k at most the state size
        probe_reason = probe_degenerate_reason(len(largest), data_dimension(train_flat), train_flat.shape[1])
        if probe_reason:
            errors = np.full(len(PROBE_BASES), np.nan)
            degenerate["probe_reconstruction"] = probe_reason
        else:
            test_centred = test_flat - train_flat.mean(axis=0)
            bases = probe_bases(decoded_noise[largest], train_flat, seed)
            errors = np.array([probe_reconstruction(test_centred, bases[name]) for name in PROBE_BASES])
        curves["probe_reconstruction"] = (("probe_basis",), {"probe_basis": list(PROBE_BASES)}, errors)
    if memorization_reason:
        for name in ("memorization", "noise_memorization"):
            if name in scalars:
                scalars[name] = float("nan")
                degenerate[name] = memorization_reason
    curves.update(ood_curves(model, data, train, train_latents, attractors, seed=seed, sets=sets))
    return scalars, curves, degenerate


def attractors_scorer(context: ScoringContext) -> ScorerOutput:
    return attractor_scores(context.model, context.data, context.seed)


ATTRACTORS = register_scorer(Scorer(
    "attractors", attractors_scorer,
    specs("n_train_used", "attractor_count", "convergence_fraction", "iterations_to_converge",
          "jacobian_spectral_norm", "jacobian_spectral_radius", "memorization", "memorization_reference",
          "noise_attractor_count", "noise_convergence_fraction", "noise_memorization", "probe_reconstruction",
          "ood_auroc", "ood_fpr95", "ood_roc_tpr"),
    model_needs={LATENT_MAP}, description="attractors of the latent map, their memorization, a data-free probe, OOD"))
