"""The metric registry: what every score in a result file means, and the pure functions that compute them.

Each registered `MetricSpec` names one result variable with its units, long name, direction and curve dims
(the results store writes these as attributes). Metric functions are pure functions of arrays and know
nothing of xarray; third-party metrics come from the entry-point group `kae_zoo.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..registry import Registry


@dataclass(frozen=True)
class MetricSpec:
    """Metadata of one result variable."""

    name: str
    long_name: str
    units: str  # "1" for dimensionless, as in CF conventions
    higher_is_better: bool
    dims: tuple[str, ...] = ()  # curve dimensions beyond (family, task, seed)
    split: str = "test"  # which data split the value is computed on ("" when not data-dependent)


METRICS: Registry[MetricSpec] = Registry("metric", entry_point_group="kae_zoo.metrics")


def register_metric(spec: MetricSpec) -> MetricSpec:
    """Register a result variable's metadata."""
    if not isinstance(spec, MetricSpec):
        raise TypeError(f"register_metric takes a MetricSpec, got {spec!r}")
    return METRICS.register(spec.name, spec)


def metric(
    name: str, long_name: str, units: str, higher_is_better: bool, dims: tuple[str, ...] = (), split: str = "test"
) -> Callable[[Callable], Callable]:
    """Decorator: register a metric function's result variable under `name`, returning the function unchanged."""

    def wrap(function: Callable) -> Callable:
        register_metric(MetricSpec(name, long_name, units, higher_is_better, dims, split))
        return function

    return wrap


def list_metrics() -> list[str]:
    return METRICS.names()


def get_metric(name: str) -> MetricSpec:
    return METRICS.get(name)


from . import (attractor, classification, editing, geometry, ood, sparse, spectrum, throughput,  # noqa: E402,F401
               topology_metrics)

__all__ = ["MetricSpec", "METRICS", "register_metric", "metric", "list_metrics", "get_metric"]
