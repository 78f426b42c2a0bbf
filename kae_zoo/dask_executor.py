"""Run benchmark cells on a Dask cluster: a LocalCluster of worker processes, or an existing scheduler.

Each cell is one task: the worker loads the cell's task data itself (seeded exactly as the local runner seeds it:
`run_cell` with no shared data calls `seed_everything(seed)` before loading and again before building the model)
and runs it with the run's torch thread count, so a cell gives the same numbers as on the local executor,
timings aside. Every worker of a LocalCluster is a process with one thread. Workers of an existing cluster must
have kae-zoo (and the data under $KAE_ZOO_DATA) installed, and should be started without Dask's
MALLOC_TRIM_THRESHOLD_ (see `worker_environment`). Dask is imported only here, and only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from tqdm.auto import tqdm

from .results import CellResult

if TYPE_CHECKING:  # the runner imports this module
    from .runner import RunSpec


def worker_environment() -> dict[str, Any]:
    """Dask's environment for new worker processes without MALLOC_TRIM_THRESHOLD_: Dask sets it to 64 KiB so that
    workers hand freed memory back to the OS, which made every torch allocation a system call here (a smoke
    sae_cnn cell trained in 117 s instead of 21 s). The one-thread BLAS/OpenMP settings are kept."""
    import dask
    import distributed  # noqa: F401  (registers the distributed.* config defaults)

    environment = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}))
    environment.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environment


def _cell_job(family: str, task: str, seed: int, spec: RunSpec, fingerprint: str) -> CellResult:
    """One cell of `spec` on a worker, with the run's torch thread count."""
    from .runner import run_cell, torch_threads

    with torch_threads(spec.threads):
        return run_cell(family, task, seed, spec.preset, spec.device, spec.overrides.get(family), progress=False,
                        acceleration=spec.acceleration, save_models=spec.save_models, data_fingerprint=fingerprint)


def run_cells_on_dask(cells: Sequence[tuple[str, str, int]], spec: RunSpec,
                      fingerprints: Mapping[tuple[str, str, int], str], workers: int | None = None,
                      scheduler: str | None = None, progress: bool = True) -> Iterator[CellResult]:
    """Yield each cell's result as it finishes (in completion order), on a LocalCluster of `workers` processes or
    on the cluster at `scheduler` (e.g. tcp://HOST:8786)."""
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environment()}):
            cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(_cell_job, family, task, seed, spec, fingerprints[family, task, seed], pure=False,
                                 key=f"cell-{family}-{task}-{seed}-{index}")
                   for index, (family, task, seed) in enumerate(cells)]
        for future in tqdm(as_completed(futures), total=len(futures), desc="cells (dask)", disable=not progress):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
