"""Run benchmark cells: build a family's surrogate for a task and seed, train it, score it, collect the results.

The runner is the one place a cell is trained: every family, with every setting of the run (precision, compile,
threads, the scorers' training watchers), through one `FitSettings`; a family's hook says what it trains on
(`training_examples`), and only a peer baseline with its own algorithm fits itself (`Surrogate.fit`). A cell that
raises or diverges is recorded as failed with its reason and the run goes on. Cells are jobs (`CellJob`) that any
executor runs (`kae_zoo.experiments.executors`); task data (and so the base network) is loaded once per (task,
seed, preset, view, data fingerprint) in each process and shared by the cells that need it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import xarray as xr

from ..core.acceleration import FP32, Acceleration
from ..core.allocator import reuse_freed_memory
from ..core.atomic import exclusive_output
from ..core.config import PRESETS, TrainingConfig
from ..core.determinism import seed_everything, torch_threads
from ..core.logs import NOTICES
from ..core.provenance import RESUME_FIELDS, cell_provenance, git_sha
from ..core.registry import did_you_mean
from ..core.surrogate import FitSettings, Surrogate, TrainReport
from ..core.types import missing_view
from ..families import create_surrogate, get_family
from ..scoring import EvaluationConfig, ScoringContext, combined_watcher, score, training_watchers
from ..store.results import CellResult, ResultFileError, cells_from_dataset, read_results, write_results
from ..tasks import Task, base_task_name, get_task
from ..tasks.base import TaskData
from ..training import train
from .checkpoints import save
from .executors import Executor, LocalExecutor, make_executor

logger = logging.getLogger(__name__)
notices = logging.getLogger(NOTICES)  # what a run does with its output file: said even with --quiet


def resolve_device(name: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; "cuda" without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device {name!r} is not one of auto, cpu, cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


def check_run_settings(seeds: Sequence[int], preset: str, device: str, threads: int) -> None:
    """The settings every run shares (RunSpec, sweep.SweepSpec): seeds distinct non-negative ints, a known preset,
    an available device, a positive thread count; ValueError on the first bad one."""
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must name at least one seed, each once, got {list(seeds)}")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed {seed!r} must be a non-negative integer")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads {threads!r} must be a positive integer")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; {did_you_mean(preset, PRESETS)}valid presets: "
                         f"{', '.join(PRESETS)}")
    resolve_device(device)


def check_pair(family: str, family_class: type[Surrogate], task_class: type[Task]) -> None:
    """ValueError unless the task offers the data view the family trains on (checked before anything runs)."""
    if missing_view(family_class.data_view, task_class.views) is not None:
        raise ValueError(f"family {family!r} trains on the {family_class.data_view!r} view, which task "
                         f"{task_class.name!r} does not offer (it offers {', '.join(task_class.views)}); run other "
                         "tasks, or list the (family, task) pairs in a matrix file")


@dataclass(frozen=True)
class RunSpec:
    """A benchmark matrix at one preset: every (family, task) pair x seeds; the pairs are families x tasks, or the
    listed `pairs` (a matrix file's groups: not every family runs on every task)."""

    families: tuple[str, ...]
    tasks: tuple[str, ...]
    seeds: tuple[int, ...]
    preset: str = "default"
    device: str = "auto"
    # torch CPU threads; 1 is fastest for the small default models and makes CPU numbers machine-independent
    threads: int = 1
    overrides: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)  # family -> field -> value
    pairs: tuple[tuple[str, str], ...] = ()  # (family, task) pairs to run; empty: every family on every task
    precision: str = "fp32"  # fp32, tf32 (CUDA) or bf16 autocast: kae_zoo.core.acceleration
    compile: bool = False  # torch.compile every model
    save_models: str = ""  # folder for a checkpoint of every trained model (kae_zoo.experiments.checkpoints); "" = none

    @property
    def acceleration(self) -> Acceleration:
        """The run's precision and compile settings as one object (what run_cell takes)."""
        return Acceleration(self.precision, self.compile)

    def validate(self) -> None:
        """Fail on the first unknown name or bad value, before any work is done."""
        if not self.families or not self.tasks or not self.seeds:
            raise ValueError("families, tasks and seeds must each name at least one value")
        for family in self.families:
            get_family(family)
        for task in self.tasks:
            get_task(task)().check_available()  # DataUnavailableError (a ValueError): nothing runs without the data
        check_run_settings(self.seeds, self.preset, self.device, self.threads)
        self.acceleration.validate(resolve_device(self.device))
        if self.save_models and Path(self.save_models).is_file():
            raise ValueError(f"save_models {self.save_models!r} is a file; give a folder for the checkpoints")
        for family, task in self.pairs:
            if family not in self.families or task not in self.tasks:
                raise ValueError(f"pair ({family!r}, {task!r}) names a family or task outside families "
                                 f"{list(self.families)} and tasks {list(self.tasks)}")
        for family, task in self.family_task_pairs():  # the task has the family's view; configs resolve and fit
            family_class, task_class = get_family(family), get_task(task)
            check_pair(family, family_class, task_class)
            config = family_class.make_config(self.preset, base_task_name(task), self.overrides.get(family))
            family_class.check_config_for_data(config, getattr(task_class, "n_classes", 0))

    def family_task_pairs(self) -> list[tuple[str, str]]:
        """The (family, task) pairs this matrix runs, in order."""
        return [tuple(pair) for pair in self.pairs] if self.pairs else list(itertools.product(self.families,
                                                                                             self.tasks))

    def cells(self) -> list[tuple[str, str, int]]:
        return [(family, task, seed) for family, task in self.family_task_pairs() for seed in self.seeds]

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "overrides": {k: dict(v) for k, v in self.overrides.items()}}


def run_cell(
    family_name: str,
    task_name: str,
    seed: int,
    *,
    preset: str = "default",
    device: str | torch.device = "auto",
    overrides: Mapping[str, Any] | None = None,
    task_data: TaskData | None = None,
    progress: bool = True,
    evaluation: EvaluationConfig = EvaluationConfig(),
    acceleration: Acceleration = FP32,
    save_models: str | Path = "",
    data_fingerprint: str | None = None,
    threads: int = 1,
) -> CellResult:
    """Train and score one cell; failures (exceptions, divergence) come back as a failed CellResult. With
    `save_models`, the trained model is saved there as FAMILY_TASK_SEED.pt (`kae_zoo.load` reads it). The cell
    records its provenance (`kae_zoo.core.provenance`); `data_fingerprint` is the task's fingerprint for this cell
    when the caller has it already (None: computed here). It runs with `threads` CPU threads (1, as a run's
    default: CPU numbers depend on the thread count, `kae_zoo.core.determinism.torch_threads`). Freed tensor memory
    is kept in the process (`kae_zoo.core.allocator`), which makes CPU cells faster and changes no number."""
    reuse_freed_memory()
    with torch_threads(threads):
        return _run_cell(family_name, task_name, seed, preset=preset, device=device, overrides=overrides,
                         task_data=task_data, progress=progress, evaluation=evaluation, acceleration=acceleration,
                         save_models=save_models, data_fingerprint=data_fingerprint)


def _run_cell(family_name: str, task_name: str, seed: int, *, preset: str, device: str | torch.device,
              overrides: Mapping[str, Any] | None, task_data: TaskData | None, progress: bool,
              evaluation: EvaluationConfig, acceleration: Acceleration, save_models: str | Path,
              data_fingerprint: str | None) -> CellResult:
    """run_cell's work, with its thread count set."""
    start = time.perf_counter()
    device = resolve_device(device) if isinstance(device, str) else device
    family = get_family(family_name)
    config = family.make_config(preset, base_task_name(task_name), overrides)
    result = CellResult(family_name, task_name, seed, family_config=config.to_dict(),
                        baseline_for=family.baseline_for or "")
    if data_fingerprint is None:
        data_fingerprint = task_fingerprint(get_task(task_name)(), seed, preset, family.data_view)
    result.provenance = cell_provenance(data_fingerprint=data_fingerprint, preset=preset, device=device,
                                        precision=acceleration.precision, compile=acceleration.compile)
    try:
        seed_everything(seed)
        data_seconds = 0.0  # the task's data, when this cell loads it (a run's cells share what a process loaded)
        if task_data is None:
            data_start = time.perf_counter()
            task_data = get_task(task_name)().load(seed, preset, family.data_view, device, progress=progress)
            data_seconds = time.perf_counter() - data_start
        result.split_description = task_data.split_description
        model = create_surrogate(family_name, task_data.spec, seed=seed, config=config)
        model = acceleration.prepare(model.to(device))
        watchers = training_watchers(model, task_data)
        settings = FitSettings(seed=seed, acceleration=acceleration, progress=progress,
                               description=f"{family_name}/{task_name}/{seed}", on_step=combined_watcher(watchers),
                               track_every_steps=evaluation.recovery_every_steps)
        with acceleration.matmul_precision():
            report = fit_model(model, task_data, settings)
            scores = score(ScoringContext(model, task_data, report, seed, evaluation, acceleration, watchers))
        if save_models:
            save(model, Path(save_models) / f"{family_name}_{task_name}_{seed}.pt", task_name, seed)
    except Exception as error:  # one broken cell must not stop the matrix: record why and go on
        logger.debug("cell %s/%s/%d failed", family_name, task_name, seed, exc_info=True)  # CellJob says why
        result.status, result.error = "failed", failure_reason(error)
        return result
    result.scalars, result.curves, result.degenerate = scores.scalars, scores.curves, scores.degenerate
    phases = {"data": data_seconds, "steps": report.seconds - report.validation_seconds - report.watcher_seconds,
              "validation": report.validation_seconds, "watchers": report.watcher_seconds,
              **{f"score/{name}": seconds for name, seconds in scores.seconds.items()}}
    result.curves["phase_seconds"] = (("phase",), {"phase": list(phases)},
                                      np.asarray(list(phases.values()), dtype=np.float64))
    result.scalars["cell_seconds"] = time.perf_counter() - start
    return result


def fit_model(model: Surrogate, data: TaskData, settings: FitSettings) -> TrainReport:
    """Train `model` on the task's training examples (the family's `training_examples` hook) with `settings`: its
    own `fit` when it has one (a peer baseline), else the shared trainer."""
    train_batch = model.training_examples(data.splits["train"], settings.seed)
    report = model.fit(train_batch, data.splits["val"], settings)
    if report is None:  # every neural family: the shared trainer
        report = train(model, train_batch, data.splits["val"], settings)
    return report


def task_fingerprint(task: Task, seed: int, preset: str, view: str) -> str:
    """The task's data fingerprint for one cell (`Task.fingerprint`; pass one task object for every seed and view,
    so the data is read once); "" when the data cannot be read (the cell then fails with the reason when it loads
    the data, and a resume never keeps a cell with an empty one)."""
    try:
        return task.fingerprint(seed, preset, view)
    except Exception as error:  # a corrupt file fails the cell that loads it, with the reason
        logger.debug("no fingerprint for %s seed %d: %s", task.name, seed, error)
        return ""


CellKey = tuple[str, str, int]


@dataclass
class ResumePlan:
    """What a run does with the cells its output file already holds (`stored`, in the file's order): `kept` (in the
    spec, finished, same data fingerprint, run settings and family config: not run again), `stale` (in the spec but
    not keepable, with the reason: run again, and until then left in the file as they were) and `carried` (outside
    the spec: written back unchanged, so a result file grows like a store and nothing finished is lost)."""

    source: str = ""
    stored: dict[CellKey, CellResult] = dataclasses.field(default_factory=dict)
    kept: dict[CellKey, CellResult] = dataclasses.field(default_factory=dict)
    stale: dict[CellKey, str] = dataclasses.field(default_factory=dict)

    @property
    def carried(self) -> list[CellKey]:
        return [key for key in self.stored if key not in self.kept and key not in self.stale]

    def summary(self) -> str:
        """One line for the terminal; "" when the file held nothing."""
        if not self.stored:
            return ""
        parts = [f"kept {len(self.kept)} finished cell(s) from {self.source}"]
        if self.stale:
            reasons = sorted(set(self.stale.values()))
            parts.append(f"running {len(self.stale)} again ({'; '.join(reasons)})")
        if self.carried:
            parts.append(f"carried {len(self.carried)} cell(s) outside this run unchanged")
        return ", ".join(parts)


def stale_reason(cell: CellResult, wanted: Mapping[str, str], config: TrainingConfig) -> str:
    """Why a stored cell of the run's spec cannot be kept ("" when it can): not finished, its data fingerprint or a
    run setting (`provenance.RESUME_FIELDS`) differs from `wanted`, or it ran with another family config."""
    if cell.status != "ok":
        return f"{cell.status} before"
    for name in RESUME_FIELDS:
        stored = cell.provenance.get(name, "")
        if name == "data_fingerprint" and not stored:
            return "no data fingerprint on record"
        if stored != wanted[name]:
            return "the data changed" if name == "data_fingerprint" else f"{name} {stored} -> {wanted[name]}"
    return "" if ran_with(cell, config) else "the family config changed"


def plan_resume(spec: RunSpec, out: str | Path, fingerprints: Mapping[CellKey, str]) -> ResumePlan:
    """The ResumePlan of a run of `spec` on the file `out` (`fingerprints`: each spec cell's data fingerprint).

    No file: an empty plan. A file that is not a readable run file raises ValueError (pass overwrite)."""
    dataset = existing_output(out, read_results)
    if dataset is None:
        return ResumePlan()
    device = str(resolve_device(spec.device))
    settings = {"preset": spec.preset, "device": device, "threads": str(spec.threads), "precision": spec.precision,
                "compile": str(spec.compile).lower()}
    plan, wanted = ResumePlan(source=str(out)), set(spec.cells())
    for cell in cells_from_dataset(dataset):
        key = (cell.family, cell.task, cell.seed)
        plan.stored[key] = cell
        if key not in wanted:
            continue
        config = get_family(cell.family).make_config(spec.preset, base_task_name(cell.task),
                                                     spec.overrides.get(cell.family))
        reason = stale_reason(cell, {**settings, "data_fingerprint": fingerprints[key]}, config)
        if reason:
            plan.stale[key] = reason
        else:
            plan.kept[key] = cell
    return plan


def existing_output(out: str | Path, reader: Callable[[str | Path], xr.Dataset]) -> xr.Dataset | None:
    """The result file `out` as `reader` reads it, for a resume; None when there is none. A file `reader` refuses
    raises ValueError saying how to replace it."""
    if not Path(out).exists():
        return None
    try:
        return reader(out)
    except ResultFileError as error:
        raise ValueError(f"{error}; pass overwrite (--overwrite) to replace it, or write elsewhere") from None


def ran_with(cell: CellResult, config: TrainingConfig) -> bool:
    """Whether a stored cell was trained with `config` (its family_config as the result file keeps it)."""
    return json.loads(json.dumps(config.to_dict(), sort_keys=True)) == cell.family_config


def run_matrix(spec: RunSpec, out: str | Path | None = None, *, progress: bool = True, overwrite: bool = False,
               executor: str | Executor = "local", workers: int | None = None,
               scheduler: str | None = None) -> list[CellResult]:
    """Run every cell of `spec` (with a progress bar) and return the cells in the spec's order.

    With `out`, the result file is rewritten (atomically) after every finished cell, so a killed run loses only
    the cells in flight. Unless `overwrite`, a run on an existing `out` keeps the finished cells of its spec whose
    data fingerprint, run settings and family config match (`plan_resume`; logged in one line), runs the others
    again, and writes every cell outside its spec back unchanged: a result file grows like a store. `overwrite`
    replaces the file with this run's cells alone. `executor` (`kae_zoo.experiments.executors`: "local", the
    default, one cell after another here; "process", `workers` processes; "dask", `workers` local processes or the
    cluster at `scheduler`; or an Executor object) runs the cells, with the same numbers, timings aside. While it
    runs, `out` is locked: a second run on the same file fails at once (`core.atomic.exclusive_output`)."""
    spec.validate()
    runner = executor if isinstance(executor, Executor) else make_executor(executor, workers=workers,
                                                                            scheduler=scheduler)
    git_sha()  # the commit of the code this process imported, read now (cached), not when a late cell finishes
    device = resolve_device(spec.device)
    with exclusive_output(out) if out is not None else contextlib.nullcontext(), torch_threads(spec.threads):
        wanted = spec.cells()
        fingerprints = data_fingerprints(spec)
        plan = plan_resume(spec, out, fingerprints) if out is not None and not overwrite else ResumePlan()
        if plan.summary():
            notices.info("%s", plan.summary())
        if out is not None and overwrite:
            _log_overwritten(out, set(wanted))
        finished = dict(plan.stored)  # a stale cell stays until its rerun replaces it: a kill loses nothing
        order = [*plan.stored, *(key for key in wanted if key not in plan.stored)]
        todo = [cell for cell in wanted if cell not in plan.kept]
        in_process = isinstance(runner, LocalExecutor)
        jobs = [CellJob(family, task, seed, preset=spec.preset, device=spec.device, threads=spec.threads,
                        overrides=dict(spec.overrides.get(family, {})), precision=spec.precision,
                        compile=spec.compile, save_models=spec.save_models,
                        data_fingerprint=fingerprints[family, task, seed], progress=progress and in_process,
                        label=f"cell {number}/{len(todo)} {family}/{task}/{seed}")
                for number, (family, task, seed) in enumerate(todo, 1)]
        try:
            for index, outcome in runner.run(jobs, progress=progress, description="cells"):
                cell = jobs[index].result_of(outcome)
                finished[(cell.family, cell.task, cell.seed)] = cell
                if out is not None:  # inside the block: the file records the thread count the cells ran with
                    write_results(out, [finished[key] for key in order if key in finished], spec.to_dict(),
                                  str(device))
        finally:
            clear_task_data()
        if out is not None and not todo:  # every cell kept: still stamp the file with this run
            write_results(out, [finished[key] for key in order], spec.to_dict(), str(device))
    return [finished[key] for key in wanted]


@dataclass(frozen=True)
class CellJob:
    """One cell as a picklable job for any executor: loads (or reuses) its task data in the process it runs in,
    with the run's thread count, and returns the CellResult (a failed one, with the reason, when the data cannot be
    loaded or the cell fails). It logs a line when it starts and one when it ends (status and seconds; a failure
    as a warning with the reason), named by `label`."""

    family: str
    task: str
    seed: int
    preset: str = "default"
    device: str = "auto"
    threads: int = 1
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    precision: str = "fp32"
    compile: bool = False
    save_models: str = ""
    data_fingerprint: str = ""
    progress: bool = False
    label: str = ""  # how its log lines name it, e.g. "cell 2/6 koopman/yinyang/0"; "" = FAMILY/TASK/SEED

    def __call__(self) -> CellResult:
        name = self.label or f"{self.family}/{self.task}/{self.seed}"
        logger.info("%s: started", name)
        start = time.perf_counter()
        result = self._run()
        seconds = time.perf_counter() - start
        if result.status == "ok":
            logger.info("%s: %s in %.1f s", name, result.status, seconds)
            if result.scalars.get("loss_spike") == 1:  # the scored weights are from before it (metrics.training)
                logger.warning("%s: the validation loss rose to %.3g x its best after the scored epoch %d", name,
                               result.scalars["loss_spike_ratio"], int(result.scalars.get("scored_epoch", -1)))
        else:
            logger.warning("%s: %s after %.1f s: %s", name, result.status, seconds, result.error)
        return result

    def _run(self) -> CellResult:
        device = resolve_device(self.device)
        acceleration = Acceleration(self.precision, self.compile)
        reuse_freed_memory()  # as run_cell does
        with torch_threads(self.threads):
            view = get_family(self.family).data_view
            data = shared_task_data(self.task, self.seed, self.preset, view, device,
                                    fingerprint=self.data_fingerprint, progress=self.progress)
            if isinstance(data, str):  # recorded in every cell that needs this data; the run goes on
                return self._failed(data, device)
            return run_cell(self.family, self.task, self.seed, preset=self.preset, device=device,
                            overrides=self.overrides, task_data=data, progress=self.progress,
                            acceleration=acceleration, save_models=self.save_models,
                            data_fingerprint=self.data_fingerprint, threads=self.threads)

    def result_of(self, outcome: CellResult | BaseException) -> CellResult:
        """The job's CellResult, or a failed one when the job itself raised (e.g. its worker process died)."""
        if isinstance(outcome, BaseException):
            logger.warning("cell %s/%s/%d failed: %s", self.family, self.task, self.seed, outcome)
            return self._failed(failure_reason(outcome), resolve_device(self.device))
        return outcome

    def _failed(self, reason: str, device: torch.device) -> CellResult:
        failed = CellResult(self.family, self.task, self.seed, status="failed", error=reason,
                            baseline_for=get_family(self.family).baseline_for or "")
        failed.provenance = cell_provenance(data_fingerprint=self.data_fingerprint, preset=self.preset,
                                            device=device, precision=self.precision, compile=self.compile)
        return failed


TASK_DATA_CACHE_SIZE = 16  # (task, seed, view) data sets kept per process; a run's cells reuse them
_task_data: OrderedDict[tuple, TaskData | str] = OrderedDict()


def shared_task_data(task_name: str, seed: int, preset: str, view: str, device: torch.device, *, fingerprint: str,
                     progress: bool = False) -> TaskData | str:
    """The task's data for a seed (`load_task_data`), loaded once per process and reused by every cell that needs
    the same (task, seed, preset, view, device, data fingerprint): a changed data file has another fingerprint,
    so it is loaded afresh; without a fingerprint (unreadable data) nothing is reused."""
    key = (task_name, seed, preset, view, str(device), fingerprint)
    if fingerprint and key in _task_data:
        _task_data.move_to_end(key)
        return _task_data[key]
    data = load_task_data(task_name, seed, preset, view, device, progress=progress)
    if fingerprint:
        _task_data[key] = data
        while len(_task_data) > TASK_DATA_CACHE_SIZE:
            _task_data.popitem(last=False)
    return data


def clear_task_data() -> None:
    """Forget the task data this process shares between cells (a run does at its end, to free the memory)."""
    _task_data.clear()


def _log_overwritten(out: str | Path, wanted: set[CellKey]) -> None:
    """Say how many cells outside the run an overwrite drops from `out` (an unreadable file is simply replaced)."""
    try:
        stored = cells_from_dataset(read_results(out)) if Path(out).exists() else []
    except ResultFileError:
        return
    dropped = [cell for cell in stored if (cell.family, cell.task, cell.seed) not in wanted]
    if dropped:
        notices.info("overwrite: replacing %s, dropping %d cell(s) outside this run (%s)", out, len(dropped),
                    ", ".join(sorted({f"{cell.family}/{cell.task}" for cell in dropped})))


def data_fingerprints(spec: RunSpec) -> dict[CellKey, str]:
    """Every cell's data fingerprint, computed once per (task, seed, view), each task's data read once."""
    tasks = {name: get_task(name)() for name in spec.tasks}
    by_data: dict[tuple[str, int, str], str] = {}
    fingerprints = {}
    for family, task, seed in spec.cells():
        view = get_family(family).data_view
        if (task, seed, view) not in by_data:
            by_data[task, seed, view] = task_fingerprint(tasks[task], seed, spec.preset, view)
        fingerprints[family, task, seed] = by_data[task, seed, view]
    return fingerprints


def failure_reason(error: BaseException) -> str:
    """How a failure is recorded in a result file: the exception's type and message."""
    return f"{type(error).__name__}: {error}"


def load_task_data(task_name: str, seed: int, preset: str, view: str, device: torch.device, *,
                   progress: bool = False) -> TaskData | str:
    """The task's data for a seed, shared by the cells (or sweep points) that need it, seeded as `run_cell` seeds
    its own load; the failure reason instead when it cannot be loaded."""
    seed_everything(seed)
    try:
        return get_task(task_name)().load(seed, preset, view, device, progress=progress)
    except Exception as error:  # every cell that needs it records this; the others run
        return failure_reason(error)
