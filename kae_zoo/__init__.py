"""kae-zoo: a benchmark suite for sparse and operator-space autoencoders as surrogates of neural representations.

Python API: pick a family and a task from the registries, run cells or a whole matrix, read the results.

    import kae_zoo
    cells = kae_zoo.run_matrix(kae_zoo.RunSpec(("koopman",), ("yinyang",), (0,)), out="results/yy.nc")
    print(kae_zoo.format_results(kae_zoo.read_results("results/yy.nc")))
"""

__version__ = "0.1.0"

from .checkpoints import CheckpointError, load, save  # noqa: E402
from .families import DataSpec, Surrogate, get_family, list_families, register_family  # noqa: E402
from .metrics import MetricSpec, get_metric, list_metrics, register_metric  # noqa: E402
from .reproduce import run_reproduction  # noqa: E402
from .results import (CellResult, read_reproduction, read_result_file, read_results, read_sweep,  # noqa: E402
                      write_results)
from .runner import RunSpec, run_cell, run_matrix  # noqa: E402
from .summary import format_results  # noqa: E402
from .sweep import SweepSpec, run_sweep  # noqa: E402
from .tasks import Task, get_task, list_tasks, register_task  # noqa: E402
from .training import DivergenceError, train  # noqa: E402

__all__ = [
    "__version__",
    "save",
    "load",
    "CheckpointError",
    "Surrogate",
    "DataSpec",
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
