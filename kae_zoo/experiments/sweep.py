"""Sweeps: one family on one task over the product of config-field axes x seeds, each point one benchmark cell.

A sweep is the tool for "how does a score change with a hyperparameter": e.g. the latent-attractor family's
memorization against bottleneck size and training-set size (`MEMORIZATION_SWEEP`, arXiv 2505.22785). Each point
of axes x seeds is a cell (`runner.CellJob`, on any executor) with the point's values as config overrides (on top
of the fixed `overrides`); a failed or diverged point is recorded as failed with its reason and the sweep goes on.
The result file (written and read by `kae_zoo.store.results`) has one dim per axis plus `seed` and keeps the scalar
scores only; it is rewritten after every point, and a rerun on it keeps the finished points (`finished_points`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import xarray as xr

from ..core.atomic import exclusive_output
from ..core.determinism import torch_threads
from ..core.logs import NOTICES
from ..core.registry import did_you_mean
from ..families import get_family
from ..store.results import CellResult, SweepPoint, points_from_sweep, read_sweep, sweep_to_dataset, write_sweep
from ..tasks import base_task_name, get_task
from .executors import Executor, LocalExecutor, make_executor
from .runner import (
    CellJob,
    check_pair,
    check_run_settings,
    clear_task_data,
    existing_output,
    resolve_device,
    stale_reason,
    task_fingerprint,
)

notices = logging.getLogger(NOTICES)  # what a sweep does with its output file: said even with --quiet

AxisValue = int | float | str


@dataclass(frozen=True)
class SweepSpec:
    """The points of a sweep: `family` on `task` for every combination of the axes' values and every seed."""

    family: str
    task: str
    seeds: tuple[int, ...]
    # config field -> the values it takes (numbers or strings: they become the file's coordinates), in sweep order
    axes: Mapping[str, tuple[AxisValue, ...]]
    preset: str = "default"
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # fixed field values of every point
    device: str = "auto"
    threads: int = 1  # torch CPU threads, fixed for the whole sweep as run_matrix fixes them (see RunSpec)

    def __post_init__(self) -> None:
        # JSON gives lists; keep the frozen spec's sequences as tuples so equal specs compare equal.
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "axes", {name: tuple(values) for name, values in self.axes.items()})
        object.__setattr__(self, "overrides", dict(self.overrides))

    def validate(self) -> None:
        """Fail on the first unknown name or bad value, before any point is run."""
        family, task = get_family(self.family), get_task(self.task)
        task().check_available()  # DataUnavailableError (a ValueError): nothing runs without the data
        check_pair(self.family, family, task)
        check_run_settings(self.seeds, self.preset, self.device, self.threads)
        if not self.axes:
            raise ValueError("a sweep needs at least one axis (FIELD=VALUE,VALUE,...)")
        fields = {field.name for field in dataclasses.fields(family.config_class)}
        defaults = family.config_class()
        for name, values in self.axes.items():
            if name not in fields:
                raise ValueError(f"axis {name!r} is not a {family.config_class.__name__} field; "
                                 f"{did_you_mean(name, sorted(fields))}valid: "
                                 f"{', '.join(sorted(fields))}")
            if name in self.overrides:
                raise ValueError(f"field {name!r} is both a sweep axis and a fixed override; give it once")
            for value in values:
                check_axis_value(name, value, getattr(defaults, name))
            if not values or len(set(values)) != len(values):
                raise ValueError(f"axis {name!r} must take at least one value, each once, got {list(values)}")
        for point in self.points():  # every point's config resolves, validates and fits the task's data
            config = family.make_config(self.preset, base_task_name(self.task), {**self.overrides, **point})
            family.check_config_for_data(config, getattr(task, "n_classes", 0))

    def points(self) -> list[dict[str, AxisValue]]:
        """Every combination of axis values, the last axis varying fastest."""
        names = list(self.axes)
        return [dict(zip(names, values)) for values in itertools.product(*self.axes.values())]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (the sweep file's `config` attribute)."""
        return {**dataclasses.asdict(self), "seeds": list(self.seeds),
                "axes": {name: list(values) for name, values in self.axes.items()}, "overrides": dict(self.overrides)}


def check_axis_value(field: str, value: Any, default: Any) -> None:
    """An axis value must be a number or string of the field's type (an int field takes ints, a float field
    numbers, a string field strings): it becomes a coordinate of the sweep file."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"axis {field!r} value {value!r} is not a number or a string; sweep axes take those only")
    if isinstance(default, bool) or not isinstance(default, (int, float, str)):
        raise ValueError(f"field {field!r} takes {type(default).__name__} values; a sweep axis takes numbers or "
                         f"strings only (set it with a fixed override)")
    valid = {int: (int,), float: (int, float), str: (str,)}[type(default)]
    if not isinstance(value, valid):
        raise ValueError(f"axis {field!r} value {value!r} is a {type(value).__name__}; the field takes "
                         f"{type(default).__name__} values")


# The issue's memorization sweep: bottleneck 4, 16, 64 (log-spaced inside the paper's 2..512, up to digits' 64
# pixels, beyond which the bottleneck no longer compresses) x 150, 300, 600 and all 1,078 training images x 3
# seeds, at the default preset (MLP 64-256-latent, 300 epochs).
MEMORIZATION_SWEEP = SweepSpec(
    family="attractor",
    task="digits",
    seeds=(0, 1, 2),
    axes={"latent_dim": (4, 16, 64), "n_train_samples": (150, 300, 600, 0)},
)
NAMED_SWEEPS: dict[str, SweepSpec] = {"memorization": MEMORIZATION_SWEEP}


DESIGN_SETTINGS = ("family", "task", "preset", "device", "threads")  # a sweep file holds points of one of each


PointKey = tuple[Any, ...]  # (axis values in spec order..., seed)


def finished_points(spec: SweepSpec, out: str | Path, fingerprints: Mapping[int, str],
                    ) -> tuple[dict[PointKey, CellResult], dict[PointKey, CellResult], list[SweepPoint]]:
    """What a sweep of `spec` does with the points the sweep file `out` holds: (kept, stale, carried).

    kept: finished ("ok") points of the spec with its data fingerprint (`fingerprints`: seed -> fingerprint) and
    the family config `spec` gives that point (so extending an axis keeps the points already run). stale: the
    spec's other stored points, run again and left in the file until their rerun replaces them. carried: the
    points outside the spec (other axis values or seeds), written back unchanged. No file: nothing. A file that is
    not a sweep file, or one of another family, task, preset, device, thread count or other axes (whose points this
    sweep could not keep), raises ValueError: pass overwrite, or write elsewhere."""
    dataset = existing_output(out, read_sweep)
    if dataset is None:
        return {}, {}, []
    stored = json.loads(dataset.attrs["config"])
    design = {name: getattr(spec, name) for name in DESIGN_SETTINGS}
    differing = [name for name in DESIGN_SETTINGS if stored.get(name) != design[name]]
    if differing or list(stored.get("axes", {})) != list(spec.axes):
        what = (f"{differing[0]} {stored.get(differing[0])!r}" if differing
                else f"the axes {list(stored.get('axes', {}))}")
        raise ValueError(f"sweep file {str(out)!r} holds a sweep with {what}, this sweep has "
                         f"{design[differing[0]] if differing else list(spec.axes)!r}; its points would be lost: "
                         "pass overwrite (--overwrite) to replace it, or write elsewhere")
    family = get_family(spec.family)
    wanted = {_key(spec, point, seed): point for point in spec.points() for seed in spec.seeds}
    settings = {"preset": spec.preset, "device": str(resolve_device(spec.device)), "threads": str(spec.threads),
                "precision": "fp32", "compile": "false"}  # sweeps run at fp32, eager
    kept, stale, carried = {}, {}, []
    for values, cell in points_from_sweep(dataset):
        key = _key(spec, values, cell.seed)
        if key not in wanted:
            carried.append((values, cell))
            continue
        config = family.make_config(spec.preset, base_task_name(spec.task), {**spec.overrides, **wanted[key]})
        settings_now = {**settings, "data_fingerprint": fingerprints[cell.seed]}
        target = stale if stale_reason(cell, settings_now, config) else kept  # the runner's rule, point by point
        target[key] = cell
    return kept, stale, carried


def _key(spec: SweepSpec, values: Mapping[str, Any], seed: int) -> PointKey:
    return (*[values[name] for name in spec.axes], seed)


def run_sweep(spec: SweepSpec, out: str | Path | None = None, *, progress: bool = True, overwrite: bool = False,
              executor: str | Executor = "local", workers: int | None = None,
              scheduler: str | None = None) -> xr.Dataset:
    """Run every point of `spec` (a progress bar over points x seeds) and return the sweep Dataset.

    With `out`, the file is rewritten (atomically) after every finished point, so a killed sweep loses only the
    points in flight, and a rerun on the same `out` keeps the finished points it may (`finished_points`) unless
    `overwrite`; `out` is locked while the sweep runs (a second sweep on it fails at once). `executor` runs the
    points as `run_matrix` runs cells; task data is loaded once per seed in each process and shared."""
    spec.validate()
    runner = executor if isinstance(executor, Executor) else make_executor(executor, workers=workers,
                                                                            scheduler=scheduler)
    with exclusive_output(out) if out is not None else contextlib.nullcontext():
        try:
            return _run_points(spec, out, runner, progress, overwrite)
        finally:
            clear_task_data()


def _run_points(spec: SweepSpec, out: str | Path | None, runner: Executor, progress: bool,
                overwrite: bool) -> xr.Dataset:
    """run_sweep's work, inside the output's lock."""
    device = resolve_device(spec.device)
    view = get_family(spec.family).data_view
    order = [(point, seed) for point in spec.points() for seed in spec.seeds]
    task = get_task(spec.task)()
    fingerprints = {seed: task_fingerprint(task, seed, spec.preset, view) for seed in spec.seeds}
    finished, stale, carried = (finished_points(spec, out, fingerprints) if out is not None and not overwrite
                                else ({}, {}, []))
    if carried or finished or stale:
        notices.info("kept %d finished point(s) from %s%s%s", len(finished), out,
                    f", running {len(stale)} again (failed, or other data or config)" if stale else "",
                    f", carried {len(carried)} point(s) outside this sweep unchanged" if carried else "")
    axes = {name: _ordered([*values, *(point[name] for point, _ in carried)]) for name, values in spec.axes.items()}

    def points_so_far() -> list[SweepPoint]:
        stored = {**stale, **finished}  # a stale point stays until its rerun replaces it
        return [*carried, *((point, stored[_key(spec, point, seed)]) for point, seed in order
                            if _key(spec, point, seed) in stored)]

    todo = [(point, seed) for point, seed in order if _key(spec, point, seed) not in finished]
    in_process = isinstance(runner, LocalExecutor)
    jobs = [CellJob(spec.family, spec.task, seed, preset=spec.preset, device=spec.device, threads=spec.threads,
                    overrides={**spec.overrides, **point}, data_fingerprint=fingerprints[seed],
                    progress=progress and in_process,  # sweeps run at fp32, eager
                    label=f"point {number}/{len(todo)} {spec.family}/{spec.task}/{seed} "
                          + " ".join(f"{name}={value}" for name, value in point.items()))
            for number, (point, seed) in enumerate(todo, 1)]
    written: xr.Dataset | None = None
    with torch_threads(spec.threads):
        for index, outcome in runner.run(jobs, progress=progress, description="sweep points"):
            (point, seed), cell = todo[index], jobs[index].result_of(outcome)  # a failure: logged by the job
            finished[_key(spec, point, seed)] = cell
            if out is not None:  # inside the block: the file records the thread count the points ran with
                written = write_sweep(out, points_so_far(), axes, spec.to_dict(), str(device))
        if out is None:
            return sweep_to_dataset(points_so_far(), axes, spec.to_dict(), str(device))
        if written is None:  # every point kept: still stamp the file with this sweep
            written = write_sweep(out, points_so_far(), axes, spec.to_dict(), str(device))
        return written


def _ordered(values: list[Any]) -> tuple[Any, ...]:
    """The values once each, in order of first appearance."""
    return tuple(dict.fromkeys(values))


def sweep_failed(dataset: xr.Dataset) -> bool:
    """Whether any point of a sweep Dataset failed."""
    return bool((dataset["status"] != "ok").any())

