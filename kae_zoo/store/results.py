"""The one module that writes and reads kae-zoo result files (xarray Datasets as netCDF via h5netcdf).

Schema: dims `family`, `task`, `seed` (plus curve dims such as `step`, `layer`, `homology_dim`); one variable per
metric with attrs `units`, `long_name`, `direction` ("higher", "lower" or "none": shown, never judged),
`definition_version` (raised whenever the metric's formula changes) and `split`; settings a cell ran with rather
than measured (`MetricSpec.role` "setting", e.g. `unlearned_class`) are non-index coordinates over the cell dims,
with `units` and `long_name`. Per-cell string variables `status` ("ok" / "failed"), `error`, `split_description`,
`family_config`, `degenerate` (JSON {metric: why it is NaN} for the scores that are degenerate on the cell's task,
"" when none; files from before it read as "") and the cell's provenance (`provenance.PROVENANCE_FIELDS`: data
fingerprint, preset, device, machine, threads, precision, compile, kae-zoo version, git sha, torch version, creation
time). A non-index coordinate `baseline_for` over `family` names the paper family each family is a baseline for
(`Surrogate.baseline_for`, "" for none; files from before it have none), so reports group baselines with their
paper family without importing the families. Global attrs
`kae_zoo_version`, `git_sha`, `torch_version`, `device`, `created` and `config` (JSON: netCDF attributes take
numbers, strings and arrays only) describe the last write; a file may hold cells of several runs, and each
cell's own provenance says where it came from. Files are written atomically (a temporary file, then a rename),
their numeric arrays zlib-compressed.
Files from before per-cell provenance (metrics with `higher_is_better` instead of `direction`) are read with
`definition_version` 0 ("unversioned"), settings moved to coordinates and provenance taken from the global attrs,
the data fingerprint left empty (unknown).

Sweep files (`kae_zoo.experiments.sweep`: one family and task, the product of config-field axes x seeds) use the same
variables with other dims: one dim per axis, named by the config field (e.g. `latent_dim`, `n_train_samples`,
in the sweep's order, coordinates = the axis values), then `seed`. Every scalar score, setting and per-point
string is kept; curves (Betti, OOD, probe) are dropped, since the sweep compares scalars across points (run a
point as a normal run for its curves). Global attrs: those of a run file plus `kind` = "sweep", `family`, `task` and
`axes` (JSON list of the axis dims in order); `config` is the SweepSpec as JSON.

Reproduction files (`kae-zoo reproduce`, `reproduction.nc`): dim `claim` (coordinates = claim keys); string
variables `source`, `statement`, `paper_value`, `measured`, `verdict`, `rule`, `detail`, `conditions` (what ran),
`departures` (in a few words, how that departs from the paper's setting; "none") and `experiments` (the run
files under runs/ that the claim reads, comma-separated); numbers `measured_mean`, `measured_std` (sample std
over seeds, ddof 1) and `n_seeds`; global attrs those of a run file plus `kind` = "reproduction" and `preset`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
import xarray as xr

from ..core.atomic import atomic_path
from ..core.provenance import PROVENANCE_FIELDS, git_sha, kae_zoo_version, now
from ..metrics import METRICS, MetricSpec
from .errors import ResultFileError

CELL_DIMS = ("family", "task", "seed")
CELL_STRINGS = ("status", "error", "split_description", "family_config", "degenerate", *PROVENANCE_FIELDS)
LEGACY_DEFINITION_VERSION = 0  # metrics of files written before definitions were versioned
REQUIRED_ATTRS = ("kae_zoo_version", "git_sha", "torch_version", "device", "created", "config")
SWEEP_KIND = "sweep"  # the `kind` attribute of a sweep file; run files have no `kind`
SWEEP_ATTRS = ("kind", "family", "task", "axes")
REPRODUCTION_KIND = "reproduction"
REPRODUCTION_STRINGS = ("source", "statement", "paper_value", "measured", "verdict", "rule", "detail", "conditions",
                        "departures", "experiments")
REPRODUCTION_NUMBERS = ("measured_mean", "measured_std", "n_seeds")
Curve = tuple[tuple[str, ...], dict[str, list], np.ndarray]


@dataclass
class CellResult:
    """Everything one (family, task, seed) cell produced."""

    family: str
    task: str
    seed: int
    status: str = "ok"  # "ok" or "failed"
    error: str = ""  # why it failed; empty when ok
    scalars: dict[str, float] = field(default_factory=dict)
    curves: dict[str, Curve] = field(default_factory=dict)
    split_description: str = ""
    family_config: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # provenance.PROVENANCE_FIELDS -> value
    degenerate: dict[str, str] = field(default_factory=dict)  # metric -> why it is NaN on this cell
    baseline_for: str = ""  # the paper family this cell's family is a baseline for (stored once per family)

    def strings(self) -> dict[str, str]:
        """Every per-cell string the store writes (CELL_STRINGS), provenance included ("" where unknown)."""
        values = {"status": self.status, "error": self.error, "split_description": self.split_description,
                  "family_config": self.family_config, "degenerate": self.degenerate or ""}
        return {name: _cell_string(values[name] if name in values else self.provenance.get(name, ""))
                for name in CELL_STRINGS}


def _ordered_union(values: Iterable[Any]) -> list[Any]:
    seen: dict[Any, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def _metric_attrs(spec: MetricSpec) -> dict[str, Any]:
    if spec.role == "setting":
        return {"units": spec.units, "long_name": spec.long_name}
    return {"units": spec.units, "long_name": spec.long_name, "direction": spec.direction,
            "definition_version": spec.version, "split": spec.split}


def _is_setting(name: str) -> bool:
    return METRICS.get(name).role == "setting"  # an unregistered variable is an error: it must carry metadata


def storable(text: str) -> str:
    """`text` as netCDF can store it: NUL characters and lone surrogates (which HDF5 strings and UTF-8 cannot hold)
    become backslash escapes; everything else is kept exactly. An error message can hold either."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _cell_string(value: Any) -> str:
    return storable(json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value))


def _cell_variables(cells: Sequence[CellResult], dims: tuple[str, ...], shape: tuple[int, ...],
                    positions: Sequence[tuple[int, ...]]) -> tuple[dict[str, xr.DataArray], dict[str, xr.DataArray]]:
    """The per-cell strings and scalar metrics of `cells` at `positions` of an array of `shape` over `dims`
    (absent cells: "missing" / "" / NaN), and their settings as coordinates."""
    data_vars: dict[str, xr.DataArray] = {}
    strings = [cell.strings() for cell in cells]
    for name in CELL_STRINGS:
        values = np.full(shape, "missing" if name == "status" else "", dtype=object)
        for position, cell_strings in zip(positions, strings):
            values[position] = cell_strings[name]
        data_vars[name] = xr.DataArray(values, dims=dims)
    settings: dict[str, xr.DataArray] = {}
    for name in _ordered_union(name for cell in cells for name in cell.scalars):
        values = np.full(shape, np.nan)
        for position, cell in zip(positions, cells):
            if name in cell.scalars:
                values[position] = cell.scalars[name]
        target = settings if _is_setting(name) else data_vars
        target[name] = xr.DataArray(values, dims=dims, attrs=_metric_attrs(METRICS.get(name)))
    return data_vars, settings


def to_dataset(cells: list[CellResult], run_config: dict[str, Any], device: str) -> xr.Dataset:
    """Build the result Dataset of `cells`; cells absent from the cross product are NaN / "missing"."""
    if not cells:
        raise ValueError("no cells to write")
    coords: dict[str, list[Any]] = {
        "family": _ordered_union(cell.family for cell in cells),
        "task": _ordered_union(cell.task for cell in cells),
        "seed": sorted({int(cell.seed) for cell in cells}),
    }
    shape = tuple(len(coords[dim]) for dim in CELL_DIMS)

    def cell_index(cell: CellResult) -> tuple[int, int, int]:
        return (coords["family"].index(cell.family), coords["task"].index(cell.task), coords["seed"].index(cell.seed))

    data_vars, settings = _cell_variables(cells, CELL_DIMS, shape, [cell_index(cell) for cell in cells])

    curves_by_name = {name: [(cell, cell.curves[name]) for cell in cells if name in cell.curves]
                      for name in _ordered_union(name for cell in cells for name in cell.curves)}
    for name, curves in curves_by_name.items():  # first every curve dim's coordinates: curves may share a dim
        dims = curves[0][1][0]
        if any(curve[0] != dims for _, curve in curves):
            raise ValueError(f"curve {name!r} has different dims in different cells")
        for dim in dims:
            coords[dim] = _ordered_union([*coords.get(dim, []), *(value for _, curve in curves
                                                                    for value in curve[1][dim])])
    for name, curves in curves_by_name.items():
        dims = curves[0][1][0]
        values = np.full(shape + tuple(len(coords[dim]) for dim in dims), np.nan)
        for cell, (_, curve_coords, curve_values) in curves:
            position = np.ix_(*[[coords[dim].index(value) for value in curve_coords[dim]] for dim in dims])
            values[cell_index(cell)][position] = curve_values
        data_vars[name] = xr.DataArray(values, dims=CELL_DIMS + dims, attrs=_metric_attrs(METRICS.get(name)))

    attrs = _provenance(run_config, device)
    all_coords = {dim: np.asarray(values) for dim, values in coords.items()}
    settings["baseline_for"] = _baseline_for(cells, coords["family"])
    return xr.Dataset(data_vars, coords={**all_coords, **settings}, attrs=attrs)


def _baseline_for(cells: Sequence[CellResult], families: Sequence[str]) -> xr.DataArray:
    """The `baseline_for` coordinate over `families`: each family's first non-empty value among its cells."""
    values = {family: "" for family in families}
    for cell in cells:
        values[cell.family] = values[cell.family] or cell.baseline_for
    return xr.DataArray(np.array([values[family] for family in families], dtype=object), dims=("family",),
                        attrs={"long_name": "the paper family this family is a baseline for (empty: none)"})


def _provenance(config: dict[str, Any], device: str) -> dict[str, Any]:
    """The global attrs every result file carries (of its last write): versions, commit, threads, device, time,
    config as JSON."""
    return {
        "kae_zoo_version": kae_zoo_version(),
        "git_sha": git_sha(),
        "torch_version": str(torch.__version__),  # TorchVersion is a str subclass h5py cannot store
        "torch_num_threads": torch.get_num_threads(),  # CPU results are reproducible at a fixed thread count
        "device": device,
        "created": now(),
        "config": json.dumps(config, sort_keys=True),
    }


SweepPoint = tuple[Mapping[str, Any], CellResult]
"""One run of a sweep: its axis values {field: value} and the cell it produced."""


def sweep_to_dataset(points: Sequence[SweepPoint], axes: Mapping[str, Sequence[Any]], sweep_config: dict[str, Any],
                     device: str) -> xr.Dataset:
    """The sweep Dataset (module docstring) of `points`; points absent from axes x seeds are NaN / "missing"."""
    if not points:
        raise ValueError("no sweep points to write")
    if not axes:
        raise ValueError("a sweep needs at least one axis")
    families = {cell.family for _, cell in points}
    tasks = {cell.task for _, cell in points}
    if len(families) != 1 or len(tasks) != 1:
        raise ValueError(f"a sweep has one family and one task, got {sorted(families)} and {sorted(tasks)}")
    names = list(axes)
    coords: dict[str, list[Any]] = {name: list(axes[name]) for name in names}
    coords["seed"] = sorted({int(cell.seed) for _, cell in points})
    dims = (*names, "seed")
    shape = tuple(len(coords[dim]) for dim in dims)

    def index(values: Mapping[str, Any], cell: CellResult) -> tuple[int, ...]:
        if set(values) != set(names):
            raise ValueError(f"a sweep point names the fields {sorted(values)}, the axes are {names}")
        return (*[coords[name].index(values[name]) for name in names], coords["seed"].index(cell.seed))

    positions = [index(values, cell) for values, cell in points]
    data_vars, settings = _cell_variables([cell for _, cell in points], dims, shape, positions)
    attrs = {**_provenance(sweep_config, device), "kind": SWEEP_KIND, "family": families.pop(),
             "task": tasks.pop(), "axes": json.dumps(names)}
    all_coords = {dim: np.asarray(values) for dim, values in coords.items()}
    return xr.Dataset(data_vars, coords={**all_coords, **settings}, attrs=attrs)


def write_sweep(path: str | Path, points: Sequence[SweepPoint], axes: Mapping[str, Sequence[Any]],
                sweep_config: dict[str, Any], device: str) -> xr.Dataset:
    """Write a sweep's points to `path` atomically and return the Dataset written."""
    path = Path(path)
    if path.suffix != ".nc":
        raise ValueError(f"sweep file {str(path)!r} must end in .nc")
    dataset = sweep_to_dataset(points, axes, sweep_config, device)
    _write(dataset, path)
    return dataset


def write_results(path: str | Path, cells: list[CellResult], run_config: dict[str, Any], device: str) -> xr.Dataset:
    """Write `cells` to `path` atomically and return the Dataset written."""
    path = Path(path)
    if path.suffix != ".nc":
        raise ValueError(f"result file {str(path)!r} must end in .nc")
    dataset = to_dataset(cells, run_config, device)
    _write(dataset, path)
    return dataset


def _write(dataset: xr.Dataset, path: Path) -> None:
    """Write `dataset` to `path` atomically, its numeric arrays zlib-compressed (lossless): a matrix's curves are
    mostly NaN where a (family, task) has no such curve, and compressed they take a tenth of the space."""
    encoding = {name: {"zlib": True, "complevel": 4} for name, variable in dataset.data_vars.items()
                if variable.dtype.kind == "f" and variable.ndim}
    with atomic_path(path) as temporary:
        dataset.to_netcdf(temporary, engine="h5netcdf", encoding=encoding)


def _open(path: str | Path) -> xr.Dataset:
    """Load a netCDF file fully into memory; a missing or unreadable file raises ResultFileError."""
    path = Path(path)
    if not path.is_file():
        raise ResultFileError(f"result file {str(path)!r} does not exist")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as opened:
            return _upgrade_legacy(opened.load())
    except ResultFileError:
        raise
    except Exception as error:  # h5py / xarray raise many types for a non-netCDF or truncated file
        raise ResultFileError(f"{str(path)!r} is not a readable netCDF result file ({type(error).__name__})") from None


def _upgrade_legacy(dataset: xr.Dataset) -> xr.Dataset:
    """A file from before per-cell provenance in today's schema (module docstring); others unchanged."""
    legacy = [name for name, variable in dataset.data_vars.items()
              if "higher_is_better" in variable.attrs and "direction" not in variable.attrs]
    if not legacy or "status" not in dataset:
        return dataset
    for name in legacy:
        attrs = dict(dataset[name].attrs)
        higher = attrs.pop("higher_is_better")
        if name in METRICS and _is_setting(name):
            dataset = dataset.set_coords(name)
            dataset[name].attrs = {key: attrs[key] for key in ("units", "long_name") if key in attrs}
            continue
        dataset[name].attrs = {**attrs, "direction": "higher" if int(higher) else "lower",
                               "definition_version": LEGACY_DEFINITION_VERSION}
    try:
        config = json.loads(dataset.attrs.get("config", "{}"))
    except json.JSONDecodeError:
        config = {}
    known = {"preset": config.get("preset", ""), "device": dataset.attrs.get("device", ""),
             "threads": str(dataset.attrs.get("torch_num_threads", config.get("threads", ""))),
             "precision": config.get("precision", "fp32"), "compile": str(bool(config.get("compile", False))).lower(),
             "kae_zoo_version": dataset.attrs.get("kae_zoo_version", ""), "git_sha": dataset.attrs.get("git_sha", ""),
             "torch_version": dataset.attrs.get("torch_version", ""), "created": dataset.attrs.get("created", "")}
    present = dataset["status"] != "missing"
    for name in PROVENANCE_FIELDS:
        if name not in dataset:
            value = str(known.get(name, ""))  # data_fingerprint: unknown, so a resume never keeps such a cell
            dataset[name] = xr.where(present, value, "").astype(object)
    return dataset


def is_sweep(dataset: xr.Dataset) -> bool:
    """Whether a result Dataset is a sweep (dims: the axes and seed) rather than a run (family, task, seed)."""
    return dataset.attrs.get("kind") == SWEEP_KIND


def is_reproduction(dataset: xr.Dataset) -> bool:
    """Whether a Dataset is a reproduction table (`kae-zoo reproduce`)."""
    return dataset.attrs.get("kind") == REPRODUCTION_KIND


def sweep_axes(dataset: xr.Dataset) -> list[str]:
    """The axis dims of a sweep Dataset, in the sweep's order."""
    return list(json.loads(dataset.attrs["axes"]))


def _check_run(dataset: xr.Dataset, path: Path) -> xr.Dataset:
    if is_sweep(dataset):
        raise ResultFileError(f"{str(path)!r} is a sweep file, not a run result file; read it with read_sweep")
    missing = [dim for dim in CELL_DIMS if dim not in dataset.dims]
    missing += [name for name in ("status", "error") if name not in dataset]
    missing += [attr for attr in REQUIRED_ATTRS if attr not in dataset.attrs]
    if missing:
        raise ResultFileError(f"{str(path)!r} is not a kae-zoo result file: missing {', '.join(missing)}")
    return dataset


def _check_sweep(dataset: xr.Dataset, path: Path) -> xr.Dataset:
    missing = [attr for attr in (*REQUIRED_ATTRS, *SWEEP_ATTRS) if attr not in dataset.attrs]
    if not missing and not is_sweep(dataset):
        missing = [f"kind = {SWEEP_KIND!r}"]
    if not missing:
        try:
            axes = sweep_axes(dataset)
        except (json.JSONDecodeError, TypeError):
            raise ResultFileError(f"{str(path)!r} is not a kae-zoo sweep file: its axes attribute is not a JSON "
                                  f"list") from None
        missing = [dim for dim in (*axes, "seed") if dim not in dataset.dims]
        missing += [name for name in ("status", "error") if name not in dataset]
    if missing:
        raise ResultFileError(f"{str(path)!r} is not a kae-zoo sweep file: missing {', '.join(missing)}")
    return dataset


def read_results(path: str | Path) -> xr.Dataset:
    """Read and validate a run result file; anything unreadable raises ResultFileError with the reason."""
    return _check_run(_open(path), Path(path))


def read_sweep(path: str | Path) -> xr.Dataset:
    """Read and validate a sweep file; anything else (a run file included) raises ResultFileError."""
    return _check_sweep(_open(path), Path(path))


def read_result_file(path: str | Path) -> xr.Dataset:
    """Read and validate a run, sweep or reproduction file (`is_sweep`, `is_reproduction` tell which), for tools
    that show any of them."""
    dataset = _open(path)
    if is_reproduction(dataset):
        return _check_reproduction(dataset, Path(path))
    return _check_sweep(dataset, Path(path)) if is_sweep(dataset) else _check_run(dataset, Path(path))


def metric_names(dataset: xr.Dataset) -> list[str]:
    """The metric variables of a result Dataset (those carrying a `direction`; settings are coordinates)."""
    return [name for name, variable in dataset.data_vars.items() if "direction" in variable.attrs]


def setting_names(dataset: xr.Dataset, dims: Sequence[str]) -> list[str]:
    """The settings of a result Dataset: non-index coordinates over exactly the cell (or point) `dims`."""
    return [name for name, coordinate in dataset.coords.items()
            if name not in dataset.dims and coordinate.dims == tuple(dims)]


def _stored_cell(selected: xr.Dataset, family: str, task: str, seed: int, settings: Sequence[str]) -> CellResult:
    """A CellResult with the strings (status, error, split description, family config, provenance) and settings
    one stored cell holds."""
    cell = CellResult(family, task, seed, status=str(selected["status"].item()), error=str(selected["error"].item()),
                      split_description=str(selected["split_description"].item()),
                      family_config=json.loads(str(selected["family_config"].item()) or "{}"),
                      provenance={name: str(selected[name].item()) for name in PROVENANCE_FIELDS},
                      degenerate=_degenerate(selected))
    cell.scalars.update({name: float(selected[name].item()) for name in settings})
    return cell


def _degenerate(selected: xr.Dataset) -> dict[str, str]:
    """The {metric: reason} of one stored cell's `degenerate` string; {} when none or the file predates it."""
    text = str(selected["degenerate"].item()) if "degenerate" in selected else ""
    return json.loads(text) if text else {}


def degenerate_scores(dataset: xr.Dataset) -> list[tuple[dict[str, Any], str, str]]:
    """Every degenerate score of a run or sweep Dataset: (the cell's coordinates, metric, reason), in file order."""
    if "degenerate" not in dataset:
        return []
    notes = dataset["degenerate"]
    found = []
    for position in np.ndindex(*notes.shape):
        text = str(notes.values[position])
        if text:
            where = {dim: notes[dim].values[index].item() for dim, index in zip(notes.dims, position)}
            found += [(where, metric, reason) for metric, reason in json.loads(text).items()]
    return found


def cells_from_dataset(dataset: xr.Dataset) -> list[CellResult]:
    """The cells of a run Dataset, the inverse of `to_dataset`: every (family, task, seed) that is not "missing",
    with its scalars (NaN included), its curves (coordinates where the cell has no value dropped; a curve it lacks
    altogether left out) and its strings."""
    cells = []
    names, settings = metric_names(dataset), setting_names(dataset, CELL_DIMS)
    for family in dataset["family"].values:
        for task in dataset["task"].values:
            for seed in dataset["seed"].values:
                selected = dataset.sel(family=family, task=task, seed=seed)
                if str(selected["status"].item()) == "missing":
                    continue
                cell = _stored_cell(selected, str(family), str(task), int(seed), settings)
                if "baseline_for" in dataset.coords:
                    cell.baseline_for = str(selected["baseline_for"].item())
                for name in names:
                    values = selected[name]
                    if values.ndim == 0:  # NaN kept: writing the cells again gives the same Dataset
                        cell.scalars[name] = float(values.item())
                        continue
                    for dim in values.dims:
                        values = values.dropna(dim, how="all")
                    if values.size:
                        coords = {dim: values[dim].values.tolist() for dim in values.dims}
                        cell.curves[name] = (tuple(values.dims), coords, values.values.copy())
                cells.append(cell)
    return cells


def points_from_sweep(dataset: xr.Dataset) -> list[SweepPoint]:
    """The points of a sweep Dataset, the inverse of `sweep_to_dataset`: every (axis values, seed) that is not
    "missing", with its scalars (NaN included) and strings, axis values as Python numbers or strings."""
    axes, names = sweep_axes(dataset), metric_names(dataset)
    settings = setting_names(dataset, (*axes, "seed"))
    family, task = str(dataset.attrs["family"]), str(dataset.attrs["task"])
    points: list[SweepPoint] = []
    for position in np.ndindex(*(dataset.sizes[dim] for dim in (*axes, "seed"))):
        selected = dataset.isel(dict(zip((*axes, "seed"), position)))
        if str(selected["status"].item()) == "missing":
            continue
        cell = _stored_cell(selected, family, task, int(selected["seed"].item()), settings)
        cell.scalars.update({name: float(selected[name].item()) for name in names})
        points.append(({axis: selected[axis].item() for axis in axes}, cell))
    return points


def write_reproduction(path: str | Path, rows: Sequence[Mapping[str, Any]], config: dict[str, Any],
                       device: str) -> xr.Dataset:
    """Write the reproduction table (one row per claim: `key` plus REPRODUCTION_STRINGS and REPRODUCTION_NUMBERS)
    to `path` atomically and return the Dataset written."""
    path = Path(path)
    if path.suffix != ".nc":
        raise ValueError(f"reproduction file {str(path)!r} must end in .nc")
    if not rows:
        raise ValueError("no claims to write")
    data_vars = {name: ("claim", np.array([storable(str(row[name])) for row in rows], dtype=object))
                 for name in REPRODUCTION_STRINGS}
    data_vars.update({name: ("claim", np.array([float(row[name]) for row in rows])) for name in REPRODUCTION_NUMBERS})
    attrs = {**_provenance(config, device), "kind": REPRODUCTION_KIND, "preset": str(config.get("preset", ""))}
    dataset = xr.Dataset(data_vars, coords={"claim": np.array([row["key"] for row in rows], dtype=object)},
                         attrs=attrs)
    _write(dataset, path)
    return dataset


def read_reproduction(path: str | Path) -> xr.Dataset:
    """Read and validate a reproduction file; anything else raises ResultFileError with what is missing."""
    return _check_reproduction(_open(path), Path(path))


def _check_reproduction(dataset: xr.Dataset, path: Path) -> xr.Dataset:
    missing = [name for name in (*REPRODUCTION_STRINGS, *REPRODUCTION_NUMBERS) if name not in dataset]
    missing += [attr for attr in (*REQUIRED_ATTRS, "kind", "preset") if attr not in dataset.attrs]
    if not missing and dataset.attrs["kind"] != REPRODUCTION_KIND:
        missing = [f"kind = {REPRODUCTION_KIND!r}"]
    if missing:
        raise ResultFileError(f"{str(path)!r} is not a kae-zoo reproduction file: missing {', '.join(missing)}")
    return dataset


def finished_config(path: str | Path) -> dict[str, Any] | None:
    """The `config` attribute of a readable run or sweep file at `path` all of whose cells finished ("ok"), else
    None (absent, unreadable or with failed cells): lets a rerun reuse finished files made by the same spec."""
    try:
        dataset = read_result_file(path)
        if is_reproduction(dataset) or bool((dataset["status"] != "ok").any()):
            return None
        return json.loads(dataset.attrs["config"])
    except (ResultFileError, json.JSONDecodeError):
        return None
