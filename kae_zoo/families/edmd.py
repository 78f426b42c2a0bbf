"""Koopman peer `edmd`: extended DMD (Williams, Kevrekidis & Rowley 2015, J. Nonlinear Sci. 25) of a layer map.

EDMD replaces DMD's linear coordinates by a fixed dictionary of observables psi and fits K on psi(source) ->
psi(target). Here psi(x) = [x, 1, f_1(x), ..., f_m(x)] (the state only with `include_state`), with m features of
one `features` kind, drawn from the seed (nothing about them is trained):
- "rff": random Fourier features sqrt(2 / m) cos(x w_k / sigma + b_k), w_k ~ N(0, I), b_k ~ U[0, 2 pi) (Rahimi &
  Recht 2007): an approximation of the Gaussian kernel of bandwidth sigma;
- "rbf": Gaussian bumps exp(-||x - c_k||^2 / (2 sigma^2)) centred on m training sources drawn from the seed.
sigma is `bandwidth`, or (None) the median distance between training sources (the median heuristic), so the
features see the data at its own scale whatever the task's normalisation.

K is kooplearn's `Ridge` with reduced_rank=True: the reduced-rank regression of Kostic et al. 2022 (NeurIPS),
the rank-`rank` K that best predicts psi(target) (with `rank` None, every observable: ridge regression). The
read-out B maps observables back to states, decode(z) = z B, fitted by least squares on the training sources and
targets (both: psi(x) B ~ x for either layer). With the state in psi the read-out of a state's own observables is
exact, and the prediction psi(source) K^T B contains DMD's affine least-squares map as a special case.
Fractional steps and edits: `kae_zoo.families.fitted_koopman`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from ..core.types import DataSpec
from . import register_family
from .fitted_koopman import FittedKoopman, FittedKoopmanConfig

Features = Literal["rff", "rbf"]
MEDIAN_SAMPLES = 2000  # sources the median heuristic measures distances between (a seeded draw beyond that)


@dataclass(frozen=True)
class EDMDConfig(FittedKoopmanConfig):
    """EDMD settings: the dictionary of observables and the rank of K."""

    features: Features = "rff"  # rff: random Fourier features; rbf: Gaussian bumps on training sources
    n_features: int = 200  # m, the nonlinear observables beside the state and the constant
    include_state: bool = True  # the state itself among the observables (then DMD's affine map is within reach)
    bandwidth: float | None = None  # sigma; None = the median distance between training sources

    def validate(self) -> None:
        super().validate()
        if self.n_features < 0:
            raise ValueError(f"n_features must be >= 0, got {self.n_features}")
        if self.features not in ("rff", "rbf"):
            raise ValueError(f"features {self.features!r} is not one of 'rff', 'rbf'")
        if self.bandwidth is not None and not self.bandwidth > 0:
            raise ValueError(f"bandwidth must be > 0 or null (the median heuristic), got {self.bandwidth}")


def median_distance(states: Tensor, seed: int) -> float:
    """The median pairwise distance of `states` (n, d), on a seeded draw of MEDIAN_SAMPLES of them at most."""
    if len(states) > MEDIAN_SAMPLES:
        states = states[torch.randperm(len(states), generator=torch.Generator().manual_seed(seed))[:MEDIAN_SAMPLES]]
    distances = torch.pdist(states.double())
    median = float(distances.median()) if len(distances) else 0.0
    return median if median > 0 else 1.0


@register_family("edmd")
class EDMD(FittedKoopman):
    """Fixed observables [x, 1, features] -> reduced-rank K -> least-squares read-out to states."""

    config_class = EDMDConfig
    reduced_rank = True
    presets = {"smoke": {"n_features": 50}, "default": {}, "paper": {}}
    # m grows with the state dimension (the state is in psi too); the rank stays free (None) by default
    task_presets = {
        "yinyang": {"smoke": {"n_features": 50}, "default": {"n_features": 200}, "paper": {"n_features": 500}},
        "digits": {"smoke": {"n_features": 100}, "default": {"n_features": 500}, "paper": {"n_features": 1000}},
        "mnist": {"smoke": {"n_features": 200}, "default": {"n_features": 1000}, "paper": {"n_features": 2000}},
    }

    def __init__(self, config: EDMDConfig, spec: DataSpec) -> None:
        state_dim = spec.state_dim
        self.n_state = state_dim if config.include_state else 0
        super().__init__(config, spec, self.n_state + 1 + config.n_features)
        # The seeded draw of the features: rff frequencies w_k and phases b_k; rbf centres (replaced by training
        # sources in fit). Buffers: fixed, never trained, saved with the model.
        self.register_buffer("directions", torch.randn(state_dim, config.n_features))  # w_k or c_k as columns
        self.register_buffer("phases", 2 * math.pi * torch.rand(config.n_features))
        self.register_buffer("sigma", torch.tensor(1.0 if config.bandwidth is None else config.bandwidth))  # fitted
        observable_dim = self.koopman_operator.shape[0]
        self.readout = nn.Parameter(torch.randn(observable_dim, state_dim) / math.sqrt(observable_dim))  # B

    def nonlinear_features(self, x: Tensor) -> Tensor:
        """The m nonlinear observables of states x (batch, d): (batch, m)."""
        if self.config.features == "rff":
            return math.sqrt(2 / max(self.config.n_features, 1)) * torch.cos(
                x @ self.directions / self.sigma + self.phases)
        squared = torch.cdist(x, self.directions.T).pow(2)  # (batch, m): ||x - c_k||^2
        return torch.exp(-squared / (2 * self.sigma**2))

    def encode(self, x: Tensor) -> Tensor:
        x = x.flatten(1)
        parts = [x] if self.n_state else []
        return torch.cat([*parts, x.new_ones(len(x), 1), self.nonlinear_features(x)], dim=1)  # (batch, p)

    def decode(self, z: Tensor) -> Tensor:
        return (z @ self.readout).reshape(z.shape[0], *self.spec.state_shape)

    def fit_observables(self, source: Tensor, target: Tensor, seed: int) -> None:
        """sigma (median heuristic unless given) and, for rbf, m training sources drawn from `seed` as centres."""
        if self.config.bandwidth is None:
            self.sigma.fill_(median_distance(source, seed))
        if self.config.features == "rbf" and self.config.n_features:
            generator = torch.Generator().manual_seed(seed)
            if self.config.n_features <= len(source):
                drawn = torch.randperm(len(source), generator=generator)[:self.config.n_features]
            else:  # more centres than samples: with replacement
                drawn = torch.randint(len(source), (self.config.n_features,), generator=generator)
            self.directions.copy_(source[drawn.to(source.device)].T)

    def fit_readout(self, source: Tensor, target: Tensor) -> None:
        """B = argmin ||psi(X) B - X||^2 over the training sources and targets X, in float64 (gelsd on CPU)."""
        states = torch.cat([source, target]).double().cpu()
        observables = self.encode(torch.cat([source, target])).double().cpu()
        solution = torch.linalg.lstsq(observables, states, driver="gelsd").solution
        self.readout.copy_(solution)
