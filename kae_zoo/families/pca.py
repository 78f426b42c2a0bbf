"""Field baseline `pca`: principal component analysis (SAEBench's dense baseline, Karvonen et al. 2025, arXiv
2503.09532), the best linear autoencoder with n_components latents in squared error (Eckart-Young).

Fitted in closed form by scikit-learn's PCA (full SVD of the centred data) on the training split only, once:
`fits_itself`, one "step". encode = (x - mean) V, decode = z V^T + mean, with V (state_dim, n_components) the
principal axes as orthonormal columns, which are also `dictionary()`; the codes are the dense coefficients of those
atoms (the `codes` capability, so L0 and alive fraction score them like a sparse code). Its loss is the
reconstruction error ||x - x_hat||^2 summed over dimensions and averaged over the batch (the SAEs' normalisation,
`linear_sae`); it has no sparsity term.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..core.batching import evaluate_loss
from ..core.config import TrainingConfig
from ..core.surrogate import FitSettings, TrainReport
from ..core.types import Batch, DataSpec
from . import register_family
from .linear_sae import REPRESENTATION_KEPT, squared_error
from .sparse_coding import SparseCodingAE


@dataclass(frozen=True)
class PCAConfig(TrainingConfig):
    """The number of components. Of the inherited training fields only batch_size applies (the validation loss is
    computed in batches of it); PCA has no epochs, learning rate or schedule."""

    n_components: int = 32  # principal axes kept; at most the state dim
    n_epochs: int = 1  # one closed-form fit (a field of every config; PCA ignores it)
    batch_size: int = 4096

    def validate(self) -> None:
        super().validate()
        if self.n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")


@register_family("pca")
class PCA(SparseCodingAE):
    """PCA, fitted in closed form on the training split (advance = identity)."""

    config_class = PCAConfig
    fits_itself = True
    baseline_for = "sae"
    # smoke: 8 components, so that the conformance check's 16 samples of 12-dim states can fit them (and leave a
    # residual, whose gradient reaches the mean)
    presets = {"smoke": {"n_components": 8}, "default": {}, "paper": {}}
    example_spec = DataSpec(state_shape=(12,), n_classes=0)
    # n_components per task: the SAEs' k there (sparse_vec's s = 5, linear_sae.REPRESENTATION_KEPT), so PCA's dense
    # code has as many numbers per sample as the SAEs' sparse ones (the L0-matched baseline)
    task_presets = {task: {preset: {"n_components": kept} for preset in ("smoke", "default", "paper")}
                    for task, kept in {"sparse_vec": 5, **REPRESENTATION_KEPT}.items()}

    def __init__(self, config: PCAConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        if config.n_components > spec.state_dim:
            raise ValueError(f"pca n_components = {config.n_components} must be <= the state dim {spec.state_dim}")
        # Parameters, so that the loss is differentiable in them like every family's; only `fit` changes them. They
        # start as a random orthonormal basis and zero mean (an unfitted PCA).
        self.components = nn.Parameter(torch.linalg.qr(torch.randn(spec.state_dim, config.n_components)).Q)  # V
        self.mean = nn.Parameter(torch.zeros(spec.state_dim))

    def dictionary(self) -> Tensor:
        """V, (state_dim, n_components), orthonormal columns."""
        return self.components

    def encode(self, x: Tensor) -> Tensor:
        return (x.flatten(1) - self.mean) @ self.components

    def decode(self, z: Tensor) -> Tensor:
        return (z @ self.components.T + self.mean).reshape(z.shape[0], *self.spec.state_shape)

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """"recon" = "total" = ||x - x_hat||^2."""
        x = batch["source"]
        recon = squared_error(x, self.decode(self.encode(x)))
        return {"recon": recon, "total": recon}

    def fit(self, train_batch: Batch, val_batch: Batch, settings: FitSettings) -> TrainReport:
        """sklearn's PCA on the training split, in float64 (`settings.acceleration` does not apply); on_step at
        step 0 and after the one step; the report's one check is the validation loss after the fit."""
        config, on_step = self.config, settings.on_step
        config.validate()
        from sklearn.decomposition import PCA as SklearnPCA  # on use: keeps CLI start-up fast
        start = time.perf_counter()
        if on_step is not None:
            on_step(0, self)
        states = train_batch["source"].flatten(1).detach().double().cpu().numpy()
        if states.shape[0] < config.n_components:
            raise ValueError(f"pca n_components = {config.n_components} needs at least as many training samples, "
                             f"got {states.shape[0]}")
        estimator = SklearnPCA(n_components=config.n_components, svd_solver="full").fit(states)
        with torch.no_grad():
            self.components.copy_(torch.from_numpy(estimator.components_.T.copy()))
            self.mean.copy_(torch.from_numpy(estimator.mean_))
        if on_step is not None:
            on_step(1, self)
        val_loss = evaluate_loss(self, val_batch, config.batch_size)
        return TrainReport(n_epochs_run=1, n_steps=1, best_epoch=1, best_val_loss=val_loss, stopped_early=False,
                           seconds=time.perf_counter() - start, val_history=[val_loss],
                           train_history=[float("nan")], check_epochs=[1])
