"""kae-zoo: a benchmark suite for sparse and operator-space autoencoders as surrogates of neural representations.

Python API: pick a family and a task from the registries, run cells or a whole matrix, read the results.

    import kae_zoo
    cells = kae_zoo.run_matrix(kae_zoo.RunSpec(("koopman",), ("yinyang",), (0,)), out="results/yy.nc")
    print(kae_zoo.format_results(kae_zoo.read_results("results/yy.nc")))

The package is layered, each layer importing only those below it (import-linter contracts in pyproject.toml):
core, metrics, then tasks | families | training, scoring, store, experiments, reporting, paper, and the CLI.
"""

from .core.surrogate import FitSettings, Surrogate, TrainReport
from .core.types import DataSpec
from .core.version import __version__
from .experiments.checkpoints import CheckpointError, load, save
from .experiments.runner import RunSpec, run_cell, run_matrix
from .experiments.sweep import SweepSpec, run_sweep
from .families import create_surrogate, get_family, list_families, register_family
from .metrics import MetricSpec, get_metric, list_metrics, register_metric
from .paper.reproduce import run_reproduction
from .reporting.summary import format_results
from .scoring import Scorer, ScoringContext, get_scorer, list_scorers, register_scorer
from .store.results import CellResult, read_reproduction, read_result_file, read_results, read_sweep, write_results
from .tasks import Task, get_task, list_tasks, register_task
from .training import DivergenceError, train

__all__ = [
    "__version__",
    "save",
    "load",
    "CheckpointError",
    "Surrogate",
    "DataSpec",
    "FitSettings",
    "TrainReport",
    "create_surrogate",
    "register_family",
    "list_families",
    "get_family",
    "Task",
    "register_task",
    "list_tasks",
    "get_task",
    "MetricSpec",
    "register_metric",
    "list_metrics",
    "get_metric",
    "Scorer",
    "ScoringContext",
    "register_scorer",
    "list_scorers",
    "get_scorer",
    "train",
    "DivergenceError",
    "RunSpec",
    "run_cell",
    "run_matrix",
    "run_reproduction",
    "read_reproduction",
    "CellResult",
    "SweepSpec",
    "run_sweep",
    "read_sweep",
    "read_result_file",
    "write_results",
    "read_results",
    "format_results",
]
