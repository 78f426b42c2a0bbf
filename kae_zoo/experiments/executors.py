"""Executors: where the jobs of a run, a sweep or a reproduction run. One interface, three back ends.

A job is a picklable callable with no arguments (a frozen dataclass with `__call__`: a cell of a run, a point of a
sweep, an experiment of a reproduction); `Executor.run(jobs)` yields `(index, outcome)` as each finishes, in
completion order, where the outcome is the job's return value or the exception it raised. The executor knows
nothing of what the jobs do, so it never imports the runner.

- `LocalExecutor`: one job after another in this process (the default: shared state such as loaded task data
  stays warm between jobs).
- `ProcessExecutor(workers)`: a pool of fresh ("spawn") worker processes on this machine.
- `DaskExecutor(workers | scheduler)`: a Dask LocalCluster of `workers` one-thread processes, or the cluster at
  `scheduler` (e.g. tcp://HOST:8786), whose workers must have kae-zoo (and the data under $KAE_ZOO_DATA) installed
  (Dask's MALLOC_TRIM_THRESHOLD_ in their environment does no harm: every cell sets glibc's thresholds itself,
  `kae_zoo.core.allocator`). Dask is imported only when used.

Jobs set their own thread count and seeds, so a job gives the same numbers on every executor, timings aside. The
executors' bars are drawn on a terminal only (`kae_zoo.core.logs`); the worker processes of a process pool or a
local Dask cluster log as this process was set up to (`configure_logging`), so a job's log lines reach its stderr.
"""

from __future__ import annotations

import multiprocessing
import uuid
from abc import ABC, abstractmethod
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Sequence

from ..core.logs import configured_verbosity, progress_bar, quiet_noisy_libraries, set_up_worker
from ..core.registry import did_you_mean

Job = Callable[[], Any]
Outcome = Any  # the job's return value, or the BaseException it raised
EXECUTORS = ("local", "process", "dask")


class Executor(ABC):
    """Runs picklable jobs and yields (index, outcome) as each finishes (module docstring)."""

    name: str

    @abstractmethod
    def run(self, jobs: Sequence[Job], *, progress: bool = True, description: str = "jobs",
            ) -> Iterator[tuple[int, Outcome]]:
        """Yield (index into `jobs`, return value or raised exception) for every job, in completion order."""


class LocalExecutor(Executor):
    """Every job in turn, in this process."""

    name = "local"

    def run(self, jobs: Sequence[Job], *, progress: bool = True, description: str = "jobs",
            ) -> Iterator[tuple[int, Outcome]]:
        for index, job in enumerate(progress_bar(jobs, description=description, enabled=progress)):
            try:
                outcome = job()
            except Exception as error:  # the caller decides what a failed job means
                outcome = error
            yield index, outcome


class ProcessExecutor(Executor):
    """A pool of `workers` spawned processes (fresh interpreters: no torch thread pool or lock state inherited)."""

    name = "process"

    def __init__(self, workers: int) -> None:
        check_workers(workers)
        self.workers = workers

    def run(self, jobs: Sequence[Job], *, progress: bool = True, description: str = "jobs",
            ) -> Iterator[tuple[int, Outcome]]:
        if not jobs:
            return
        verbosity = configured_verbosity()
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=set_up_worker, initargs=(verbosity,))
        children_before = set(multiprocessing.active_children())
        workers: list[multiprocessing.process.BaseProcess] = []
        finished = False
        try:
            futures = {pool.submit(job): index for index, job in enumerate(jobs)}
            workers = [child for child in multiprocessing.active_children() if child not in children_before]
            for future in progress_bar(as_completed(futures), total=len(futures), description=description,
                                       enabled=progress):
                error = future.exception()
                yield futures[future], (error if error is not None else future.result())
            finished = True
        finally:
            # An interrupted run (Ctrl-C, SIGTERM through the CLI, a caller that stops early) starts none of the
            # queued jobs and stops the running ones: a worker left running would finish its job for nobody, and
            # one whose parent is gone waits for work forever.
            if not finished:
                for worker in workers:
                    worker.terminate()
            pool.shutdown(wait=True, cancel_futures=True)


def worker_environment() -> dict[str, Any]:
    """Dask's environment for new worker processes without MALLOC_TRIM_THRESHOLD_: Dask sets it to 64 KiB so that
    workers hand freed memory back to the OS, which made every torch allocation a system call here (a smoke
    sae_cnn cell trained in 117 s instead of 21 s). Cells also override it (`kae_zoo.core.allocator`); dropping it
    keeps the rest of a local worker's life (unpickling jobs, sending results) on glibc's defaults too. The
    one-thread BLAS/OpenMP settings are kept."""
    import dask
    import distributed  # noqa: F401  (registers the distributed.* config defaults)

    environment = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}))
    environment.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environment


class DaskExecutor(Executor):
    """A LocalCluster of `workers` one-thread processes (one when neither is given), or the cluster at
    `scheduler`."""

    name = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        check_executor(self.name, workers, scheduler)
        self.workers, self.scheduler = workers, scheduler

    def run(self, jobs: Sequence[Job], *, progress: bool = True, description: str = "jobs",
            ) -> Iterator[tuple[int, Outcome]]:
        if not jobs:
            return
        import dask
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed

        quiet_noisy_libraries()  # importing distributed set its loggers to INFO
        cluster = None
        if self.scheduler:
            client = Client(self.scheduler)
        else:
            with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environment()}):
                cluster = LocalCluster(n_workers=self.workers or 1, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
            client = Client(cluster)
            client.run(set_up_worker, configured_verbosity())  # the workers' stderr is ours: their job lines show
        try:
            run_id = uuid.uuid4().hex[:8]  # keys unique on a shared scheduler
            futures = {client.submit(job, pure=False, key=f"{description}-{run_id}-{index}"): index
                       for index, job in enumerate(jobs)}
            for future in progress_bar(dask_completed(futures), total=len(futures),
                                       description=f"{description} (dask)", enabled=progress):
                try:
                    outcome = future.result()
                except Exception as error:
                    outcome = error
                yield futures[future], outcome
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def check_workers(workers: int | None) -> None:
    """None (the default) or a positive integer number of worker processes."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")


def check_executor(executor: str, workers: int | None, scheduler: str | None) -> None:
    """A valid executor choice: local takes neither workers nor scheduler; process takes workers; dask takes one of
    them (or neither: one local worker)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; {did_you_mean(executor, EXECUTORS)}valid: "
                         f"{', '.join(EXECUTORS)}")
    if executor == "local" and workers is not None:
        raise ValueError(f"--workers {workers} needs --executor process or dask (local runs in this process)")
    if executor != "dask" and scheduler is not None:
        raise ValueError(f"--scheduler {scheduler} needs --executor dask (it names a Dask cluster)")
    check_workers(workers)
    if workers is not None and scheduler is not None:
        raise ValueError("give --workers (a local Dask cluster) or --scheduler (an existing one), not both")


def make_executor(executor: str = "local", *, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor named `executor` (checked by `check_executor`); process defaults to one worker per CPU."""
    check_executor(executor, workers, scheduler)
    if executor == "dask":
        return DaskExecutor(workers, scheduler)
    if executor == "process":
        return ProcessExecutor(workers or multiprocessing.cpu_count())
    return LocalExecutor()
