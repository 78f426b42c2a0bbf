"""Peer baseline `sklearn_dict`: scikit-learn's MiniBatchDictionaryLearning, side by side with the SAEs.

Online dictionary learning (Mairal et al. 2009): each mini-batch is sparse-coded by a lasso solver against the
current dictionary, then every atom gets one exact block-coordinate update from running statistics of the codes;
no gradient, no step size. So this family overrides `fit` instead of using the shared trainer: one `partial_fit`
per mini-batch, drawn by the shared trainer's own shuffler from the cell seed (the batches `sae` sees), and the
recovery curve is tracked in the same units as the SAEs' (mini-batch steps).

Same objective and lambda as `sae`: sklearn minimises 1/2 ||x - D z||^2 + alpha ||z||_1 per sample (its lasso
solvers divide alpha by the state dimension internally to match their own scaling), i.e. `lasso_loss` with
lambda = alpha = `sparsity_weight`. Same start: the initial dictionary is drawn exactly as `sae` draws its own
(randn, unit columns; sklearn's default would be an SVD of the first batch) and given as `dict_init`, so with the
same seed both families start from the same atoms. sklearn keeps atoms in the unit ball (not on the sphere):
`decode` uses them as they are, `dictionary()` scales them to unit norm.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass
from typing import Iterator, Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..core.batching import evaluate_loss, iterate_minibatches
from ..core.config import TrainingConfig
from ..core.logs import progress_bar
from ..core.surrogate import FitSettings, TrainReport
from ..core.types import Batch, DataSpec
from . import register_family
from .sparse_coding import SparseCodingAE, unit_columns

logger = logging.getLogger(__name__)

Solver = Literal["cd", "lars"]


@contextlib.contextmanager
def counted_convergence_warnings() -> Iterator[list[int]]:
    """Count scikit-learn's ConvergenceWarnings (a lasso solve that stopped at its iteration cap) instead of letting
    each reach stderr as raw text; the caller logs one line with the count. Other warnings pass through."""
    from sklearn.exceptions import ConvergenceWarning  # on use: keeps CLI start-up fast

    count = [0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        yield count
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            count[0] += 1
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


@dataclass(frozen=True)
class SklearnDictConfig(TrainingConfig):
    """MiniBatchDictionaryLearning settings. Of the inherited training fields only n_epochs, batch_size and
    eval_every_epochs apply (learning_rate, weight_decay, the schedule, clipping and early stopping do not)."""

    n_atoms: int = 100  # n_components, the dictionary size (the true p of sparse_vec)
    sparsity_weight: float = 0.3  # alpha = transform_alpha: sae's lambda, same scale (module docstring)
    solver: Solver = "cd"  # lasso solver of fit and transform: lasso_cd (10x faster on sparse_vec) or lasso_lars
    batch_size: int = 512
    n_epochs: int = 150  # 150 epochs of 20000 samples at batch 512 are sae's 6000 steps
    # the validation loss only draws the loss curve (the final dictionary is kept: no model selection), so it is
    # checked every 10th epoch and at the last; every epoch cost 6.6 % (sparse_vec) and 24 % (digits_acts) of a fit
    eval_every_epochs: int = 10

    def validate(self) -> None:
        super().validate()
        if self.n_atoms < 1 or self.sparsity_weight < 0:
            raise ValueError(f"n_atoms must be >= 1 and sparsity_weight >= 0, got {self.n_atoms}, "
                             f"{self.sparsity_weight}")
        if self.solver not in ("cd", "lars"):
            raise ValueError(f"solver {self.solver!r} is not one of 'cd', 'lars'")


def as_array(tensor: Tensor) -> np.ndarray:
    """A float64 NumPy copy (sklearn updates its dictionary in place: it must not share memory with torch)."""
    return tensor.detach().cpu().numpy().astype(np.float64)


@register_family("sklearn_dict")
class SklearnDictionary(SparseCodingAE):
    """scikit-learn's online dictionary learning (advance = identity); fitted by its own `fit`."""

    config_class = SklearnDictConfig
    fits_itself = True
    baseline_for = "sae"  # a classical peer of the paper's SAE: the same lasso objective, another algorithm
    presets = {
        "smoke": {"n_epochs": 20},  # 80 steps on the smoke split (2000 samples, batch 512)
        "default": {},
        "paper": {},
    }

    def __init__(self, config: SklearnDictConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        initial = unit_columns(torch.randn(spec.state_dim, config.n_atoms))  # sae's draw, in the same order
        # sklearn's components_: atoms as rows, (n_atoms, state_dim). A parameter, so the loss is differentiable
        # in the dictionary, but only `fit` changes it.
        self.components = nn.Parameter(initial.T.contiguous())

    def dictionary(self) -> Tensor:
        """The learned dictionary D: (state_dim, n_atoms), atoms scaled to unit norm."""
        return unit_columns(self.components.T)

    def encode(self, x: Tensor) -> Tensor:
        """Lasso codes against the current atoms: sklearn's `sparse_encode` with the settings `transform` uses."""
        config = self.config
        from sklearn.decomposition import sparse_encode  # on use: keeps CLI start-up fast
        with counted_convergence_warnings() as not_converged:
            codes = sparse_encode(as_array(x.flatten(1)), as_array(self.components),
                                  algorithm=f"lasso_{config.solver}", alpha=config.sparsity_weight)
        if not_converged[0]:
            logger.debug("sklearn_dict: the lasso did not converge in %d solve(s) of %d samples", not_converged[0],
                         len(x))
        return torch.from_numpy(codes).to(x.device, x.dtype)

    def decode(self, z: Tensor) -> Tensor:
        """z times sklearn's atoms as they are (inside the unit ball); the inherited loss is sae's lasso objective
        at the current atoms (reported; sklearn minimises the same one)."""
        return (z @ self.components).reshape(z.shape[0], *self.spec.state_shape)

    @torch.no_grad()
    def set_components(self, components: np.ndarray) -> None:
        self.components.copy_(torch.from_numpy(components))

    def fit(self, train_batch: Batch, val_batch: Batch, settings: FitSettings) -> TrainReport:
        """One `partial_fit` per shuffled mini-batch for n_epochs; the final dictionary is kept.

        `settings.acceleration` does not apply: scikit-learn fits in float64 NumPy. Like sklearn's
        own `fit` there is no model selection, so the report's best epoch is the last one and its best validation
        loss the last one. `partial_fit` reports no loss, so the training loss of each check is NaN (recomputing it
        would cost a lasso solve of the whole epoch). `seconds` is the fit time (tracking and validation included,
        as for the shared trainer).
        """
        config, seed = self.config, settings.seed
        on_step, track_every_steps = settings.on_step, settings.track_every_steps
        config.validate()
        from sklearn.decomposition import MiniBatchDictionaryLearning  # on use: keeps CLI start-up fast
        estimator = MiniBatchDictionaryLearning(
            n_components=config.n_atoms, alpha=config.sparsity_weight, batch_size=config.batch_size,
            fit_algorithm=config.solver, transform_algorithm=f"lasso_{config.solver}",
            transform_alpha=config.sparsity_weight, dict_init=as_array(self.components), random_state=seed,
        )
        generator = torch.Generator().manual_seed(seed)
        step, val_history, check_epochs = 0, [], []
        start = time.perf_counter()
        validation_seconds, watcher_seconds = 0.0, 0.0
        if on_step is not None:
            on_step(0, self)
            watcher_seconds = time.perf_counter() - start
        not_converged = 0
        for epoch in progress_bar(range(1, config.n_epochs + 1), description=settings.description,
                                  enabled=settings.progress, leave=False):
            for minibatch in iterate_minibatches(train_batch, config.batch_size, generator):
                with counted_convergence_warnings() as count:
                    estimator.partial_fit(as_array(minibatch["source"].flatten(1)))
                not_converged += count[0]
                step += 1
                if on_step is not None and step % track_every_steps == 0:
                    watch_start = time.perf_counter()
                    self.set_components(estimator.components_)
                    on_step(step, self)
                    watcher_seconds += time.perf_counter() - watch_start
            self.set_components(estimator.components_)
            if epoch % config.eval_every_epochs == 0 or epoch == config.n_epochs:
                check_start = time.perf_counter()
                val_history.append(evaluate_loss(self, val_batch, config.batch_size))
                check_epochs.append(epoch)
                validation_seconds += time.perf_counter() - check_start
        if on_step is not None and step % track_every_steps:
            watch_start = time.perf_counter()
            on_step(step, self)
            watcher_seconds += time.perf_counter() - watch_start
        if not_converged:
            logger.info("%s: scikit-learn's lasso stopped at its iteration cap in %d of %d mini-batch fits "
                        "(ConvergenceWarning; those codes are its last iterate)", settings.description,
                        not_converged, step)
        return TrainReport(
            n_epochs_run=config.n_epochs,
            n_steps=step,
            best_epoch=config.n_epochs,
            best_val_loss=val_history[-1],
            stopped_early=False,
            seconds=time.perf_counter() - start,
            val_history=val_history,
            train_history=[float("nan")] * len(val_history),
            check_epochs=check_epochs,
            validation_seconds=validation_seconds,
            watcher_seconds=watcher_seconds,
        )
