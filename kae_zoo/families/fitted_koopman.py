"""Shared by the Koopman peers `dmd` and `edmd`: a linear operator K on fixed observables, fitted in closed form.

Both families encode a layer-i state and a layer-j state with the same observables psi (shared coordinates, as
the Koopman AE's one encoder phi does), fit K with kooplearn's `Ridge` on the training pairs
(psi(source), psi(target)) and decode with a fixed linear map. No gradient step is taken: `fit` is the whole
training (one "step"), and the parameters are `nn.Parameter`s only so that the loss is differentiable in them
(the conformance check asks for it); only `fit` changes them.

kooplearn fits a trajectory X by pairing X[:-lag] with X[lag:]. Layer pairs are not one trajectory, so the n
pairs are given as X = [psi(source); psi(target)] with lag = n: then X[:-n] is every source and X[n:] its target,
exactly the pairs, and kooplearn's uncentred covariances C_X = psi(S)^T psi(S) / n, C_XY = psi(S)^T psi(T) / n are
those of the pairs. Its estimator G (p, p) predicts rows, psi(y) ~ psi(x) G, so K = G^T advances columns.

Fractional steps (the path the topology scorer walks, t in [0, 1]): K^(t) = Re(K^t), K^t the principal power
exp(t Log K) (`scipy.linalg.fractional_matrix_power`). It is real, and the semigroup K^(s) K^(t) = K^(s + t)
holds, when no eigenvalue of K lies on the negative real axis. A real negative eigenvalue -a has no real power:
its principal power is a^t e^(i pi t), and the real part a^t cos(pi t) is kept, a real path that shrinks the
mode through zero at t = 1/2 and reaches -a at t = 1. K^(0) = I and K^(1) = K are exact; between, such modes
break the semigroup. A zero eigenvalue (a reduced-rank K) gives 0^t = 0 for t > 0: the path leaves the
operator's null space at once. An operator edit E (`kae_zoo.scoring.operator_editing`) is phased in linearly, as
the Koopman AE does: K'^(t) = K^(t) + t E.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..core.batching import evaluate_loss, to_numpy
from ..core.capabilities import LATENT_PATH, LINEAR_OPERATOR
from ..core.config import TrainingConfig
from ..core.surrogate import FitSettings, Surrogate, TrainReport
from ..core.types import Batch, DataSpec
from .blocks import tensor_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FittedKoopmanConfig(TrainingConfig):
    """Fields of a closed-form Koopman fit. Of the inherited training fields only batch_size applies (the chunk
    size of the validation loss): there are no epochs, learning rates or early stopping."""

    rank: int | None = None  # rank of the fit (see each family); None = every observable
    ridge: float = 1e-6  # Tikhonov regularisation alpha of kooplearn's Ridge, added to C_X (observables of unit scale)
    n_epochs: int = 1  # one closed-form fit

    def validate(self) -> None:
        super().validate()
        if self.rank is not None and self.rank < 1:
            raise ValueError(f"rank must be >= 1 or null (every observable), got {self.rank}")
        if not self.ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {self.ridge}")


def random_orthogonal(size: int) -> Tensor:
    """A random orthogonal (size, size) matrix from the global (seeded) generator: the unfitted operator."""
    q, r = torch.linalg.qr(torch.randn(size, size))
    return q * torch.sign(torch.diagonal(r))  # sign fix: Haar-distributed


def ridge_operator(source: np.ndarray, target: np.ndarray, *, rank: int | None, reduced_rank: bool,
                   ridge: float) -> np.ndarray:
    """K (p, p) with psi(target)^T ~ K psi(source)^T, fitted by kooplearn's Ridge on the n pairs of rows
    (module docstring: one array, lag n). reduced_rank=False is principal-component regression (DMD's estimator),
    True the reduced-rank regression of Kostic et al. 2022; `rank` None = p.

    kooplearn drops directions whose singular values are numerically zero and says so with a warning of its own
    (a garbled one in 2.0.3) on every such fit; it is replaced here by a debug line with the rank it kept."""
    from kooplearn.linear_model import Ridge  # on use: keeps CLI start-up fast

    n_samples = len(source)
    estimator = Ridge(n_components=rank, lag_time=n_samples, reduced_rank=reduced_rank, alpha=ridge,
                      eigen_solver="dense", copy_X=False)
    kooplearn_logger = logging.getLogger("kooplearn")
    level = kooplearn_logger.level
    kooplearn_logger.setLevel(logging.ERROR)
    try:
        estimator.fit(np.concatenate([source, target]))  # X[:-n] = sources, X[n:] = their targets
    finally:
        kooplearn_logger.setLevel(level)
    requested = source.shape[1] if rank is None else rank
    if estimator.rank_ < requested:
        logger.debug("kooplearn fitted K with rank %d of the %d requested (the rest numerically zero)",
                     estimator.rank_, requested)
    return estimator.estimator_.T  # kooplearn predicts rows (psi(y) = psi(x) G): K = G^T


def real_fractional_power(operator: np.ndarray, t: float) -> np.ndarray:
    """Re(K^t), the principal fractional power (module docstring: why the real part)."""
    if t == 0:
        return np.eye(len(operator))
    if t == 1:
        return operator
    from scipy.linalg import fractional_matrix_power  # on use: keeps CLI start-up fast

    return np.real(fractional_matrix_power(operator, t))


class FittedKoopman(Surrogate):
    """encode = fixed observables psi, advance = K^(t), decode = a linear read-out; K fitted in closed form.

    A subclass builds its observables and read-out, and implements `fit_observables` (anything psi and the read-out
    learn from the training split before K is fitted) and `fit_readout` (after). The unfitted model (before `fit`)
    has a random orthogonal K drawn from the seed, so models of different seeds differ, as every family's do."""

    data_view = "layer_pair"
    fits_itself = True
    capabilities = frozenset({LINEAR_OPERATOR, LATENT_PATH})
    baseline_for = "koopman"
    eager_methods = ("operator",)  # eager under torch.compile: it calls scipy and caches across calls
    reduced_rank = False  # kooplearn's estimator: principal-component (False) or reduced-rank (True) regression

    def __init__(self, config: FittedKoopmanConfig, spec: DataSpec, observable_dim: int) -> None:
        super().__init__(config, spec)
        if config.rank is not None and config.rank > observable_dim:
            raise ValueError(f"rank {config.rank} exceeds the {observable_dim} observables of {type(self).name} on "
                             f"states of dimension {spec.state_dim}; valid: 1 to {observable_dim} or null")
        self.koopman_operator = nn.Parameter(random_orthogonal(observable_dim))  # K (p, p); `fit` sets it
        # Additive edit E of K (kae_zoo.scoring.operator_editing): zero unless the model was edited.
        self.register_buffer("operator_edit", torch.zeros(observable_dim, observable_dim))
        self._operator_cache: tuple[tuple, Tensor] | None = None

    @property
    def operator_rank(self) -> int | None:
        """The rank kooplearn's Ridge fits K with (None: every observable); `rank` unless a family says otherwise."""
        return self.config.rank

    @abstractmethod
    def fit_observables(self, source: Tensor, target: Tensor, seed: int) -> None:
        """Fit what the observables learn from the training pairs (states (n, d)), before K."""

    @abstractmethod
    def fit_readout(self, source: Tensor, target: Tensor) -> None:
        """Fit the read-out from observables to states on the training pairs, after K."""

    def operator(self, t: float = 1.0) -> Tensor:
        """K^(t) = Re(K^t) + t E (module docstring). At t = 1 it is K + E itself (differentiable: the loss uses
        it); other times are computed in float64 by scipy without gradients and reused until K or E change."""
        if t == 1:
            return self.koopman_operator + self.operator_edit
        key = (t, *tensor_state(self.koopman_operator, self.operator_edit))
        if self._operator_cache is not None and self._operator_cache[0] == key:
            return self._operator_cache[1]
        power = real_fractional_power(to_numpy(self.koopman_operator), t)
        operator = torch.from_numpy(power).to(self.koopman_operator) + t * self.operator_edit
        self._operator_cache = (key, operator)
        return operator

    @torch.no_grad()
    def add_operator_edit(self, edit: Tensor) -> None:
        """K^(1) += `edit` (p, p), in place: the operator-editing capability (`kae_zoo.core.capabilities`)."""
        self.operator_edit += edit.to(self.operator_edit)

    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        return z @ self.operator(t).T  # row vectors: (K z^T)^T

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """"state": the MSE of the predicted target states, what the fit's validation loss reports."""
        state = F.mse_loss(self(batch["source"]), batch["target"])
        return {"state": state, "total": state}

    @torch.no_grad()
    def set_operator(self, operator: np.ndarray) -> None:
        self.koopman_operator.copy_(torch.from_numpy(np.ascontiguousarray(operator)))

    def fit(self, train_batch: Batch, val_batch: Batch, settings: FitSettings) -> TrainReport:
        """Observables, then K (kooplearn's Ridge), then the read-out, all on the training split: one step.

        `settings.acceleration` does not apply (the fit is float64 NumPy and the result is exact, not trained).
        The report has one check: the validation loss (MSE of the predicted targets) of the fitted model; the
        training loss is the same MSE on the training split."""
        config = self.config
        config.validate()
        import kooplearn.linear_model  # noqa: F401  # imported before the clock starts: train_seconds is the fit
        start = time.perf_counter()
        if settings.on_step is not None:
            settings.on_step(0, self)
        source, target = train_batch["source"].flatten(1), train_batch["target"].flatten(1)
        with torch.no_grad():
            self.fit_observables(source, target, settings.seed)
            observables_source, observables_target = to_numpy(self.encode(source)), to_numpy(self.encode(target))
        self.set_operator(ridge_operator(observables_source, observables_target, rank=self.operator_rank,
                                         reduced_rank=self.reduced_rank, ridge=config.ridge))
        with torch.no_grad():
            self.fit_readout(source, target)
        if settings.on_step is not None:
            settings.on_step(1, self)
        train_loss = evaluate_loss(self, train_batch, config.batch_size)
        val_loss = evaluate_loss(self, val_batch, config.batch_size)
        return TrainReport(n_epochs_run=1, n_steps=1, best_epoch=1, best_val_loss=val_loss, stopped_early=False,
                           seconds=time.perf_counter() - start, val_history=[val_loss], train_history=[train_loss],
                           check_epochs=[1])
