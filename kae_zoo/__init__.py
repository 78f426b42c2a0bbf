"""kae-zoo: a benchmark suite for sparse and operator-space autoencoders as surrogates of neural representations.

Python API: pick a family and a task from the registries, run cells or a whole matrix, read the results.

    import kae_zoo
    cells = kae_zoo.run_matrix(kae_zoo.RunSpec(("koopman",), ("yinyang",), (0,)), out="results/yy.nc")
    print(kae_zoo.format_results(kae_zoo.read_results("results/yy.nc")))

The package is layered, each layer importing only those below it (import-linter contracts in pyproject.toml):
core, metrics, then tasks | families | training, scoring, store, experiments, reporting, paper, and the CLI.

The names below are loaded on first use (PEP 562), so that `import kae_zoo` and the command line's `--help` start
without importing torch, xarray or matplotlib; `from kae_zoo import X` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core.version import __version__

# public name -> the module (relative to this package) that defines it
_EXPORTS = {
    "save": ".experiments.checkpoints",
    "load": ".experiments.checkpoints",
    "CheckpointError": ".experiments.checkpoints",
    "Surrogate": ".core.surrogate",
    "FitSettings": ".core.surrogate",
    "TrainReport": ".core.surrogate",
    "DataSpec": ".core.types",
    "create_surrogate": ".families",
    "register_family": ".families",
    "list_families": ".families",
    "get_family": ".families",
    "Task": ".tasks",
    "register_task": ".tasks",
    "list_tasks": ".tasks",
    "get_task": ".tasks",
    "MetricSpec": ".metrics",
    "register_metric": ".metrics",
    "list_metrics": ".metrics",
    "get_metric": ".metrics",
    "Scorer": ".scoring",
    "ScoringContext": ".scoring",
    "register_scorer": ".scoring",
    "list_scorers": ".scoring",
    "get_scorer": ".scoring",
    "train": ".training",
    "DivergenceError": ".training",
    "RunSpec": ".experiments.runner",
    "run_cell": ".experiments.runner",
    "run_matrix": ".experiments.runner",
    "SweepSpec": ".experiments.sweep",
    "run_sweep": ".experiments.sweep",
    "run_reproduction": ".paper.reproduce",
    "format_results": ".reporting.summary",
    "CellResult": ".store.results",
    "read_reproduction": ".store.results",
    "read_result_file": ".store.results",
    "read_results": ".store.results",
    "read_sweep": ".store.results",
    "write_results": ".store.results",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time `__getattr__` imports on first use
    from .core.surrogate import FitSettings, Surrogate, TrainReport  # noqa: F401
    from .core.types import DataSpec  # noqa: F401
    from .experiments.checkpoints import CheckpointError, load, save  # noqa: F401
    from .experiments.runner import RunSpec, run_cell, run_matrix  # noqa: F401
    from .experiments.sweep import SweepSpec, run_sweep  # noqa: F401
    from .families import create_surrogate, get_family, list_families, register_family  # noqa: F401
    from .metrics import MetricSpec, get_metric, list_metrics, register_metric  # noqa: F401
    from .paper.reproduce import run_reproduction  # noqa: F401
    from .reporting.summary import format_results  # noqa: F401
    from .scoring import Scorer, ScoringContext, get_scorer, list_scorers, register_scorer  # noqa: F401
    from .store.results import CellResult, read_reproduction, read_result_file, read_results, read_sweep, write_results  # noqa: F401, E501
    from .tasks import Task, get_task, list_tasks, register_task  # noqa: F401
    from .training import DivergenceError, train  # noqa: F401


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first use and cache the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kae_zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
