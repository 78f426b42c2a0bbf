"""Plain-text tables of a result Dataset, for `kae-zoo show` and for people reading results in Python."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .results import CELL_DIMS, metric_names


def _format_value(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "-"
    mean = finite.mean()
    text = f"{mean:.4g}" if abs(mean) < 1e4 else f"{mean:.3e}"
    if finite.size > 1:
        text += f" ± {finite.std(ddof=1):.2g}"
    return text


def format_table(dataset: xr.Dataset) -> str:
    """One row per (family, task): cell status counts and every scalar metric as mean ± std over seeds."""
    scalars = [name for name in metric_names(dataset) if dataset[name].dims == CELL_DIMS]
    header = ["family", "task", "ok/cells", *scalars]
    rows = [header]
    for family in dataset.family.values:
        for task in dataset.task.values:
            cell = dataset.sel(family=family, task=task)
            status = cell["status"].values
            row = [str(family), str(task), f"{int(np.sum(status == 'ok'))}/{status.size}"]
            row += [_format_value(np.asarray(cell[name].values, dtype=float)) for name in scalars]
            rows.append(row)
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_failures(dataset: xr.Dataset) -> str:
    """One line per failed cell with its reason; empty when every cell succeeded."""
    failed = dataset["status"] == "failed"
    lines = []
    for family, task, seed in zip(*[dataset[dim].values[index] for dim, index in zip(CELL_DIMS, np.nonzero(failed.values))]):
        error = str(dataset["error"].sel(family=family, task=task, seed=seed).values)
        lines.append(f"FAILED {family}/{task}/seed {seed}: {error}")
    return "\n".join(lines)


def format_betti_curves(dataset: xr.Dataset) -> str:
    """beta_0 + beta_1 along the surrogate trajectory and over the base network's layers, mean over seeds."""
    if "betti" not in dataset:
        return ""
    lines = ["beta_0 + beta_1 summed over classes (mean over seeds), trajectory | base network layers:"]
    for family in dataset.family.values:
        for task in dataset.task.values:
            cell = dataset.sel(family=family, task=task)
            trajectory = cell["betti"].sum("homology_dim", min_count=1).mean("seed")
            parts = [f"{family}/{task}: " + " ".join(_format_count(value) for value in trajectory.values)]
            if "base_betti" in dataset:
                base = cell["base_betti"].sum("homology_dim", min_count=1).mean("seed")
                parts.append(" ".join(_format_count(value) for value in base.values))
            lines.append("  " + " | ".join(parts))
    return "\n".join(lines)


def _format_count(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:.3g}"


def format_results(dataset: xr.Dataset) -> str:
    """The full `kae-zoo show` text: provenance, the metric table, Betti curves and failures."""
    header = (f"kae-zoo {dataset.attrs.get('kae_zoo_version')} (git {str(dataset.attrs.get('git_sha'))[:10]}), "
              f"torch {dataset.attrs.get('torch_version')} ({dataset.attrs.get('torch_num_threads')} CPU threads), "
              f"device {dataset.attrs.get('device')}, "
              f"created {dataset.attrs.get('created')}; metrics on the held-out test split")
    parts = [header, format_table(dataset), format_betti_curves(dataset), format_failures(dataset)]
    return "\n\n".join(part for part in parts if part)
