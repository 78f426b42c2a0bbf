"""The one module that writes and reads kae-zoo result files (xarray Datasets as netCDF via h5netcdf).

Schema: dims `family`, `task`, `seed` (plus curve dims such as `step`, `layer`, `homology_dim`); one variable per
metric with attrs `units`, `long_name`, `higher_is_better` (1/0: netCDF has no booleans) and `split`; per-cell
string variables `status` ("ok" / "failed"), `error`, `split_description`, `family_config`; global attrs
`kae_zoo_version`, `git_sha`, `torch_version`, `device`, `created` and `config` (JSON: netCDF attributes take
numbers, strings and arrays only). Files are written atomically: a temporary file, then a rename.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
import xarray as xr

from .atomic import atomic_path
from .metrics import METRICS

CELL_DIMS = ("family", "task", "seed")
CELL_STRINGS = ("status", "error", "split_description", "family_config")
REQUIRED_ATTRS = ("kae_zoo_version", "git_sha", "torch_version", "device", "created", "config")
Curve = tuple[tuple[str, ...], dict[str, list], np.ndarray]


class ResultFileError(ValueError):
    """A file that is not a readable kae-zoo result file; the message says what is wrong."""


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


def git_sha() -> str:
    """The commit of the kae-zoo source tree, or "unknown" outside a git checkout."""
    try:
        output = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return output.stdout.strip() if output.returncode == 0 else "unknown"


def _ordered_union(values: Iterable[Any]) -> list[Any]:
    seen: dict[Any, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def _metric_attrs(name: str) -> dict[str, Any]:
    spec = METRICS.get(name)  # an unregistered metric is an error: every variable must carry its metadata
    return {"units": spec.units, "long_name": spec.long_name, "higher_is_better": int(spec.higher_is_better),
            "split": spec.split}


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

    data_vars: dict[str, xr.DataArray] = {}
    for name in CELL_STRINGS:
        values = np.full(shape, "missing" if name == "status" else "", dtype=object)
        for cell in cells:
            value = getattr(cell, name)
            values[cell_index(cell)] = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
        data_vars[name] = xr.DataArray(values, dims=CELL_DIMS)

    for name in _ordered_union(name for cell in cells for name in cell.scalars):
        values = np.full(shape, np.nan)
        for cell in cells:
            if name in cell.scalars:
                values[cell_index(cell)] = cell.scalars[name]
        data_vars[name] = xr.DataArray(values, dims=CELL_DIMS, attrs=_metric_attrs(name))

    for name in _ordered_union(name for cell in cells for name in cell.curves):
        curves = [(cell, cell.curves[name]) for cell in cells if name in cell.curves]
        dims = curves[0][1][0]
        if any(curve[0] != dims for _, curve in curves):
            raise ValueError(f"curve {name!r} has different dims in different cells")
        for dim in dims:
            union = _ordered_union(value for _, curve in curves for value in curve[1][dim])
            if dim in coords and coords[dim] != union:
                coords[dim] = _ordered_union([*coords[dim], *union])
            else:
                coords[dim] = union
        values = np.full(shape + tuple(len(coords[dim]) for dim in dims), np.nan)
        for cell, (_, curve_coords, curve_values) in curves:
            position = np.ix_(*[[coords[dim].index(value) for value in curve_coords[dim]] for dim in dims])
            values[cell_index(cell)][position] = curve_values
        data_vars[name] = xr.DataArray(values, dims=CELL_DIMS + dims, attrs=_metric_attrs(name))

    attrs = {
        "kae_zoo_version": _version(),
        "git_sha": git_sha(),
        "torch_version": str(torch.__version__),  # TorchVersion is a str subclass h5py cannot store
        "torch_num_threads": torch.get_num_threads(),  # CPU results are reproducible at a fixed thread count
        "device": device,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": json.dumps(run_config, sort_keys=True),
    }
    return xr.Dataset(data_vars, coords={dim: np.asarray(values) for dim, values in coords.items()}, attrs=attrs)


def _version() -> str:
    from . import __version__

    return __version__


def write_results(path: str | Path, cells: list[CellResult], run_config: dict[str, Any], device: str) -> xr.Dataset:
    """Write `cells` to `path` atomically and return the Dataset written."""
    path = Path(path)
    if path.suffix != ".nc":
        raise ValueError(f"result file {str(path)!r} must end in .nc")
    dataset = to_dataset(cells, run_config, device)
    with atomic_path(path) as temporary:
        dataset.to_netcdf(temporary, engine="h5netcdf")
    return dataset


def read_results(path: str | Path) -> xr.Dataset:
    """Read and validate a result file; anything unreadable raises ResultFileError with the reason."""
    path = Path(path)
    if not path.is_file():
        raise ResultFileError(f"result file {str(path)!r} does not exist")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as opened:
            dataset = opened.load()
    except Exception as error:  # h5py / xarray raise many types for a non-netCDF or truncated file
        raise ResultFileError(f"{str(path)!r} is not a readable netCDF result file ({type(error).__name__})") from None
    missing = [dim for dim in CELL_DIMS if dim not in dataset.dims]
    missing += [name for name in ("status", "error") if name not in dataset]
    missing += [attr for attr in REQUIRED_ATTRS if attr not in dataset.attrs]
    if missing:
        raise ResultFileError(f"{str(path)!r} is not a kae-zoo result file: missing {', '.join(missing)}")
    return dataset


def metric_names(dataset: xr.Dataset) -> list[str]:
    """The metric variables of a result Dataset (those carrying `higher_is_better`)."""
    return [name for name, variable in dataset.data_vars.items() if "higher_is_better" in variable.attrs]
