"""Plain-text tables of a result Dataset (a run or a sweep), for `kae-zoo show` and for people reading results in
Python."""

from __future__ import annotations

import json
from typing import Iterator

import numpy as np
import xarray as xr

from ..metrics.correlation import spearman_correlation
from ..metrics.spread import mean_std
from ..store.results import (
    CELL_DIMS,
    degenerate_scores,
    is_reproduction,
    is_sweep,
    metric_names,
    setting_names,
    sweep_axes,
)

# (score, against): the rank correlations a sweep file shows when it has both variables; n_train_used is the
# training-set size the attractor family actually used (its n_train_samples axis, 0 = all, resolved)
SWEEP_CORRELATIONS = (("memorization", "n_train_used"), ("noise_memorization", "n_train_used"),
                      ("attractor_count", "n_train_used"))


# The training record (kae_zoo.metrics.training): shown in its own section, not as table columns.
TRAINING_RECORD = ("scored_epoch", "epochs_run", "loss_spike_ratio", "loss_spike")


def format_mean_std(values: np.ndarray) -> str:
    """"mean ± std" (`mean_std`) of the finite values, the mean alone for one value, "-" for none."""
    mean, std = mean_std(values)
    if np.isnan(mean):
        return "-"
    text = f"{mean:.4g}" if abs(mean) < 1e4 else f"{mean:.3e}"
    return text if np.isnan(std) else f"{text} ± {std:.2g}"


def pair_cells(dataset: xr.Dataset) -> Iterator[tuple[str, str, xr.Dataset]]:
    """(family, task, the pair's cells over seed) for every (family, task) of a run Dataset, in file order."""
    for family in dataset.family.values:
        for task in dataset.task.values:
            yield str(family), str(task), dataset.sel(family=family, task=task)


def scalar_names(dataset: xr.Dataset) -> list[str]:
    """The metrics with one value per cell: dims (family, task, seed) in a run, (axes..., seed) in a sweep; the
    training record apart."""
    dims = (*sweep_axes(dataset), "seed") if is_sweep(dataset) else CELL_DIMS
    return [name for name in metric_names(dataset) if dataset[name].dims == dims and name not in TRAINING_RECORD]


def format_table(dataset: xr.Dataset) -> str:
    """One row per (family, task) that ran (a matrix file need not pair every family with every task): cell status
    counts and every scalar metric as mean ± std over seeds."""
    scalars = scalar_names(dataset)
    header = ["family", "task", "ok/cells", *scalars]
    rows = [header]
    for family, task, cell in pair_cells(dataset):
        status = cell["status"].values
        if np.all(status == "missing"):
            continue
        row = [family, task, f"{int(np.sum(status == 'ok'))}/{int(np.sum(status != 'missing'))}"]
        row += [format_mean_std(np.asarray(cell[name].values, dtype=float)) for name in scalars]
        rows.append(row)
    return "\n".join(format_grid(rows, header_rule=True))


def format_training(dataset: xr.Dataset) -> str:
    """Per (family, task): the scored epoch of each seed against the epochs run, and every cell whose validation
    loss spiked after its best epoch (`kae_zoo.metrics.training`: the scored weights are the best ones, from
    before the spike)."""
    if "scored_epoch" not in dataset:
        return ""
    lines = ["training (scored epoch / epochs run per seed; loss curves in the file and in kae-zoo report):"]
    for family, task, cell in pair_cells(dataset):
        ok = np.asarray(cell["status"].values) == "ok"
        if not ok.any():
            continue
        seeds = cell["seed"].values[ok]
        scored = np.asarray(cell["scored_epoch"].values)[ok]
        run = np.asarray(cell["epochs_run"].values)[ok] if "epochs_run" in cell else scored
        line = f"  {family}/{task}: " + ", ".join(f"{_format_epoch(a)}/{_format_epoch(b)}" for a, b in zip(scored, run))
        if "loss_spike" in cell:
            spikes = np.asarray(cell["loss_spike"].values)[ok] == 1
            ratios = np.asarray(cell["loss_spike_ratio"].values)[ok]
            if spikes.any():
                line += "; LOSS SPIKE after the scored epoch on " + ", ".join(
                    f"seed {seed} (validation loss up to {ratio:.3g}x its best)"
                    for seed, ratio in zip(seeds[spikes], ratios[spikes]))
        lines.append(line)
    return "\n".join(lines) if len(lines) > 1 else ""


def format_failures(dataset: xr.Dataset) -> str:
    """One line per failed cell with its reason; empty when every cell succeeded."""
    failed = dataset["status"] == "failed"
    lines = []
    indices = np.nonzero(failed.values)
    for family, task, seed in zip(*[dataset[dim].values[index] for dim, index in zip(CELL_DIMS, indices)]):
        error = str(dataset["error"].sel(family=family, task=task, seed=seed).values)
        lines.append(f"FAILED {family}/{task}/seed {seed}: {error}")
    return "\n".join(lines)


def format_betti_curves(dataset: xr.Dataset) -> str:
    """beta_0 + beta_1 along the surrogate trajectory and over the base network's layers, mean over seeds; pairs
    without Betti curves are left out."""
    if "betti" not in dataset:
        return ""
    lines = ["beta_0 + beta_1 summed over classes (mean over seeds), trajectory | base network layers:"]
    for family, task, cell in pair_cells(dataset):
        trajectory = cell["betti"].sum("homology_dim", min_count=1).mean("seed")
        if not np.isfinite(trajectory.values).any():  # the pair did not run, or its task has no classes
            continue
        parts = [f"{family}/{task}: " + " ".join(_format_count(value) for value in trajectory.values)]
        if "base_betti" in dataset:
            base = cell["base_betti"].sum("homology_dim", min_count=1).mean("seed")
            parts.append(" ".join(_format_count(value) for value in base.values))
        lines.append("  " + " | ".join(parts))
    return "\n".join(lines) if len(lines) > 1 else ""


def format_grid(rows: list[list[str]], header_rule: bool = False) -> list[str]:
    """Left-aligned columns, two spaces apart; with `header_rule`, a line of dashes under the first row."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in rows]
    if header_rule:
        lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def format_ood_table(dataset: xr.Dataset) -> str:
    """Per (family, task): AUROC / FPR95 of each OOD method (rows) on each OOD set (columns), mean ± std over
    seeds; ID is the task's test split. Empty when the file has no OOD scores."""
    if "ood_auroc" not in dataset or "ood_fpr95" not in dataset:
        return ""
    lines = ["OOD detection, ID = the test split: AUROC / FPR95 (mean ± std over seeds), OOD method x OOD set:"]
    for family in dataset.family.values:
        for task in dataset.task.values:
            auroc = dataset["ood_auroc"].sel(family=family, task=task)
            fpr95 = dataset["ood_fpr95"].sel(family=family, task=task)
            present = auroc.notnull()
            sets = [str(name) for name in auroc.ood_set.values[present.any(["seed", "ood_method"]).values]]
            methods = [str(name) for name in auroc.ood_method.values[present.any(["seed", "ood_set"]).values]]
            if not sets:
                continue
            rows = [[f"{family}/{task}", *sets]]
            for method in methods:
                rows.append([f"  {method}"] + [
                    f"{format_mean_std(auroc.sel(ood_method=method, ood_set=name).values)} / "
                    f"{format_mean_std(fpr95.sel(ood_method=method, ood_set=name).values)}" for name in sets])
            lines += ["  " + line for line in format_grid(rows)]
    return "\n".join(lines) if len(lines) > 1 else ""


def format_probe(dataset: xr.Dataset) -> str:
    """The data-free probe: relative test reconstruction error per basis, mean ± std over seeds."""
    if "probe_reconstruction" not in dataset:
        return ""
    lines = ["probe_reconstruction (relative error of the centred test split on k vectors, k = noise attractors):"]
    for family in dataset.family.values:
        for task in dataset.task.values:
            probe = dataset["probe_reconstruction"].sel(family=family, task=task)
            if not np.isfinite(probe.values).any():
                continue
            parts = [f"{basis} {format_mean_std(probe.sel(probe_basis=basis).values)}"
                     for basis in probe.probe_basis.values]
            lines.append(f"  {family}/{task}: " + ", ".join(parts))
    return "\n".join(lines) if len(lines) > 1 else ""


def format_split_note(dataset: xr.Dataset) -> str:
    """A line naming the table's scores computed on the training split rather than the test split (e.g. attractor
    scores from the training latents); empty when there are none. train_seconds says so in its name."""
    names = [name for name in scalar_names(dataset) if name != "train_seconds"
             and dataset[name].attrs.get("split") == "train"]
    return f"computed on the training split, not the test split: {', '.join(names)}" if names else ""


def _format_epoch(value: float) -> str:
    return "-" if not np.isfinite(value) else str(int(value))


def _format_count(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:.3g}"


def _format_axis_value(value: object) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def format_sweep_table(dataset: xr.Dataset) -> str:
    """One row per sweep point (axis values): the settings it ran with (e.g. n_train_used), ok seeds and every scalar
    score as mean ± std over seeds."""
    axes, scalars = sweep_axes(dataset), scalar_names(dataset)
    settings = setting_names(dataset, (*axes, "seed"))
    rows = [[*axes, *settings, "ok/seeds", *scalars]]
    for point in np.ndindex(*[dataset.sizes[axis] for axis in axes]):
        selected = dataset.isel(dict(zip(axes, point)))
        status = selected["status"].values
        row = [_format_axis_value(selected[axis].item()) for axis in axes]
        row += [format_mean_std(np.asarray(selected[name].values, dtype=float)) for name in settings]
        row.append(f"{int(np.sum(status == 'ok'))}/{status.size}")
        row += [format_mean_std(np.asarray(selected[name].values, dtype=float)) for name in scalars]
        rows.append(row)
    return "\n".join(format_grid(rows, header_rule=True))


def constant_along(values: xr.DataArray, dim: str) -> bool:
    """Whether `values` is the same at every coordinate of `dim`, NaN (failed points) ignored."""
    return bool(((values.max(dim) - values.min(dim)).fillna(0) == 0).all())


def _format_correlation(x: xr.DataArray, y: xr.DataArray) -> str:
    try:
        result = spearman_correlation(x.values, y.values)
    except ValueError:  # fewer than 3 complete pairs: nothing to rank
        return "-"
    if np.isnan(result.rho):
        return f"undefined: a variable is constant (n {result.n_pairs})"
    return f"rho {result.rho:+.3f} (p {result.p_value:.2g}, n {result.n_pairs})"


def format_rank_correlations(dataset: xr.Dataset) -> str:
    """Spearman's rho of each SWEEP_CORRELATIONS score against its variable over every point and seed, then within
    each value of every axis the variable does not change along (e.g. per latent_dim for n_train_used); nothing
    for a variable that is the same at every point."""
    if not is_sweep(dataset):
        return ""
    lines = []
    for name, against in SWEEP_CORRELATIONS:
        if name not in dataset or against not in dataset:
            continue
        x, y = dataset[against], dataset[name]
        finite = x.values[np.isfinite(x.values)]
        if finite.size == 0 or finite.min() == finite.max():
            continue  # e.g. a sweep at one training-set size: nothing to rank against
        lines.append(f"  {name} vs {against}, all points and seeds: {_format_correlation(x, y)}")
        for axis in sweep_axes(dataset):
            if not constant_along(x, axis) or dataset.sizes[axis] < 2:
                continue
            for value in dataset[axis].values:
                correlation = _format_correlation(x.sel({axis: value}), y.sel({axis: value}))
                lines.append(f"    {axis} = {_format_axis_value(value)}: {correlation}")
    if not lines:
        return ""
    return "\n".join(["Spearman rank correlation (ties at mean rank; p from scipy's t-approximation):", *lines])


def format_sweep_failures(dataset: xr.Dataset) -> str:
    """One line per failed sweep point and seed with its reason; empty when every point succeeded."""
    axes = [*sweep_axes(dataset), "seed"]
    failed = dataset["status"].transpose(*axes).values == "failed"
    lines = []
    for index in zip(*np.nonzero(failed)):
        selected = dataset.isel(dict(zip(axes, index)))
        where = ", ".join(f"{axis} {_format_axis_value(selected[axis].item())}" for axis in axes)
        lines.append(f"FAILED {where}: {selected['error'].item()}")
    return "\n".join(lines)


def _provenance_line(dataset: xr.Dataset) -> str:
    """The file's last write, and the distinct per-cell origins (commit, machine, device, threads, precision) when
    its cells came from more than one."""
    line = (f"kae-zoo {dataset.attrs.get('kae_zoo_version')} (git {str(dataset.attrs.get('git_sha'))[:10]}), "
            f"torch {dataset.attrs.get('torch_version')} ({dataset.attrs.get('torch_num_threads')} CPU threads), "
            f"device {dataset.attrs.get('device')}, written {dataset.attrs.get('created')}")
    if "machine" not in dataset:
        return line
    ran = np.asarray(dataset["status"].values) != "missing"
    origins: dict[str, int] = {}
    for values in zip(*(np.asarray(dataset[name].values)[ran] for name in ("git_sha", "machine", "device", "threads",
                                                                          "precision"))):
        sha, machine, device, threads, precision = map(str, values)
        key = f"git {sha[:10]}, {machine}, {device}, {threads} thread(s), {precision}"
        origins[key] = origins.get(key, 0) + 1
    if len(origins) == 1:
        return f"{line}\ncells from: {next(iter(origins))}"
    return "\n".join([line, "cells from:", *(f"  {count} cell(s): {key}" for key, count in origins.items())])


def format_degenerate(dataset: xr.Dataset) -> str:
    """The scores that are NaN because they are degenerate on their task (not failures): one line per cell and
    metric with the reason the scorer recorded; "" when there are none."""
    found = degenerate_scores(dataset)
    if not found:
        return ""
    lines = ["degenerate scores (NaN: meaningless by their definition on these cells, not failures):"]
    for where, metric, reason in found:
        cell = (f"{where['family']}/{where['task']} seed {where['seed']}" if "family" in where
                else ", ".join(f"{dim}={value}" for dim, value in where.items()))
        lines.append(f"  {cell}: {metric}: {reason}")
    return "\n".join(lines)


def format_sweep(dataset: xr.Dataset) -> str:
    """The `kae-zoo show` text of a sweep file: provenance, what was swept, the table, rank correlations, failures."""
    config = json.loads(dataset.attrs["config"])
    axes = " x ".join(f"{axis} ({dataset.sizes[axis]})" for axis in sweep_axes(dataset))
    seeds = ", ".join(str(seed) for seed in dataset.seed.values)
    fixed = ", ".join(f"{key}={value}" for key, value in sorted(config.get("overrides", {}).items()))
    what = (f"sweep of {dataset.attrs['family']} on {dataset.attrs['task']} (preset {config.get('preset')}"
            f"{', ' + fixed if fixed else ''}): {axes} x seeds {seeds}; scores mean ± std over seeds, on the held-out "
            f"test split unless noted (curves are not kept in sweep files)")
    parts = [_provenance_line(dataset), what, format_sweep_table(dataset), format_split_note(dataset),
             format_rank_correlations(dataset), format_degenerate(dataset), format_sweep_failures(dataset)]
    return "\n\n".join(part for part in parts if part)


def format_reproduction(dataset: xr.Dataset) -> str:
    """The `kae-zoo show` text of a reproduction file: provenance, then per claim its verdict and measurement."""
    columns = ("verdict", "departures", "measured")
    rows = [["claim", "verdict", "departs from the paper", "measured"]]
    rows += [[str(key), *(str(dataset[name].sel(claim=key).item()) for name in columns)]
             for key in dataset["claim"].values]
    return "\n".join([_provenance_line(dataset), f"reproduction, preset {dataset.attrs['preset']}", "",
                      *format_grid(rows)])


def format_results(dataset: xr.Dataset) -> str:
    """The full `kae-zoo show` text: provenance, the metric table, Betti curves, OOD and probe scores (when
    present) and failures; a sweep file gets `format_sweep`, a reproduction file `format_reproduction`."""
    if is_sweep(dataset):
        return format_sweep(dataset)
    if is_reproduction(dataset):
        return format_reproduction(dataset)
    header = f"{_provenance_line(dataset)}; metrics on the held-out test split"
    parts = [header, format_table(dataset), format_split_note(dataset), format_training(dataset),
             format_betti_curves(dataset), format_ood_table(dataset), format_probe(dataset), format_degenerate(dataset),
             format_failures(dataset)]
    return "\n\n".join(part for part in parts if part)
