"""The metric registry: what every score in a result file means, and the pure functions that compute them.

Each registered `MetricSpec` names one result variable with its units, long name, direction and curve dims
(the results store writes these as attributes). Metric functions are pure functions of arrays and know
nothing of xarray. A metric computed by a plugin comes with its scorer (`kae_zoo.scoring`, entry-point group
`kae_zoo.scorers`), which registers its specs here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from ..core.registry import Registry, import_submodules

Role = Literal["score", "setting"]
DIRECTIONS = ("higher", "lower", "none")


@dataclass(frozen=True)
class MetricSpec:
    """Metadata of one result variable.

    `higher_is_better` is None for a quantity without a better side (an eigenvalue, a latent time, a record of
    training): it is shown and stored, never judged. `role` "setting" marks what a cell was run with rather than
    measured (the unlearned class, the training examples used); the store keeps settings as coordinates, never as
    scores. `version` is the definition's version: raise it whenever the formula changes, so that `compare`
    reports a mismatch instead of judging numbers computed by two formulas.
    """

    name: str
    long_name: str
    units: str  # "1" for dimensionless, as in CF conventions
    higher_is_better: bool | None
    dims: tuple[str, ...] = ()  # curve dimensions beyond (family, task, seed)
    split: str = "test"  # which data split the value is computed on ("" when not data-dependent)
    role: Role = "score"
    version: int = 1

    def __post_init__(self) -> None:
        if self.role not in ("score", "setting"):
            raise ValueError(f"metric {self.name!r}: role must be 'score' or 'setting', got {self.role!r}")
        if self.role == "setting" and (self.higher_is_better is not None or self.dims):
            raise ValueError(f"metric {self.name!r}: a setting has no direction and no curve dims")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValueError(f"metric {self.name!r}: version must be an integer >= 1, got {self.version!r}")

    @property
    def direction(self) -> str:
        """"higher", "lower" or "none": the better side, as result files store it."""
        return "none" if self.higher_is_better is None else "higher" if self.higher_is_better else "lower"


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Register a result variable's metadata."""
    if not isinstance(spec, MetricSpec):
        raise TypeError(f"register_metric takes a MetricSpec, got {spec!r}")
    return METRICS.register(spec.name, spec)


def metric(
    name: str, long_name: str, units: str, higher_is_better: bool | None, dims: tuple[str, ...] = (),
    split: str = "test", *, version: int = 1,
) -> Callable[[Callable], Callable]:
    """Decorator: register a metric function's result variable under `name`, returning the function unchanged."""

    def wrap(function: Callable) -> Callable:
        register_metric(MetricSpec(name, long_name, units, higher_is_better, dims, split, version=version))
        return function

    return wrap


def list_metrics() -> list[str]:
    return METRICS.names()


def get_metric(name: str) -> MetricSpec:
    return METRICS.get(name)


import_submodules(__name__)  # the metric modules register their specs on import

__all__ = ["DIRECTIONS", "MetricSpec", "METRICS", "register_metric", "metric", "list_metrics", "get_metric"]
