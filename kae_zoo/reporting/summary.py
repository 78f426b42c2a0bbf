"""Plain-text tables of a result Dataset (a run or a sweep), for `kae-zoo show` and for people reading results in
Python."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import xarray as xr

from ..core.registry import did_you_mean
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


def format_number(value: float, significant: int) -> str:
    """`value` to `significant` significant digits, trailing zeros kept (0.5000 beside 0.9867): fixed-point when
    it rounds to 1e-3 <= |value| < 1e5 (and for 0), else scientific (4.082e+06); "-" for NaN."""
    if not np.isfinite(value):
        return "-"
    scientific = f"{value:.{significant - 1}e}"
    exponent = int(scientific.split("e")[1])  # after rounding: 99999.9 is 1.000e+05
    return _fixed(value, significant) if value == 0 or -3 <= exponent < 5 else scientific


def _fixed(value: float, significant: int) -> str:
    """Fixed-point `value` to `significant` significant digits (no exponent, whatever its size)."""
    if value == 0:
        return "0"
    exponent = int(f"{value:.{significant - 1}e}".split("e")[1])
    decimals = significant - 1 - exponent
    return f"{round(value, decimals):.{max(decimals, 0)}f}"


def format_stat(mean: float, std: float) -> str:
    """"mean ± std": the mean to 4 significant digits, the std to 2 in the mean's notation (fixed-point, or
    scientific when the mean is); the mean alone for a NaN std, "-" for a NaN mean."""
    if np.isnan(mean):
        return "-"
    text = format_number(mean, 4)
    if np.isnan(std):
        return text
    return f"{text} ± {std:.1e}" if "e" in text and std != 0 else f"{text} ± {_fixed(std, 2)}"


def format_mean_std(values: np.ndarray) -> str:
    """"mean ± std" (`mean_std`, `format_stat`) of the finite values, the mean alone for one value, "-" for none."""
    return format_stat(*mean_std(values))


def _baseline_links(dataset: xr.Dataset) -> dict[str, str]:
    """family -> the paper family it is a baseline for ("" for none), from the file's `baseline_for` coordinate."""
    families = [str(family) for family in dataset.family.values]
    if "baseline_for" not in dataset.coords:
        return dict.fromkeys(families, "")
    return dict(zip(families, (str(value) for value in dataset["baseline_for"].values)))


def family_groups(dataset: xr.Dataset) -> list[list[str]]:
    """The families of a run Dataset grouped with the paper family they are baselines for (the file's
    `baseline_for` coordinate): each group its paper family first, then its baselines in file order; groups in the
    order they first appear. A family that is nobody's baseline, or a file from before the coordinate, is a group
    of its own."""
    groups: dict[str, list[str]] = {}
    for family, paper_family in _baseline_links(dataset).items():
        groups.setdefault(paper_family or family, []).append(family)
    return [sorted(members, key=lambda name: name != root) for root, members in groups.items()]


def pair_cells(dataset: xr.Dataset) -> Iterator[tuple[str, str, xr.Dataset]]:
    """(family, task, the pair's cells over seed) for every (family, task) of a run Dataset: by family group
    (`family_groups`), within a group task by task, so that each baseline's row follows its paper family's on the
    same task."""
    for group in family_groups(dataset):
        for task in dataset.task.values:
            for family in group:
                yield family, str(task), dataset.sel(family=family, task=task)


def format_baselines(dataset: xr.Dataset) -> str:
    """The baselines of a run Dataset and the paper family each is a baseline for (wrapped to the table width);
    "" when it has none."""
    baselines: dict[str, list[str]] = {}
    for family, paper_family in _baseline_links(dataset).items():
        if paper_family:
            baselines.setdefault(paper_family, []).append(family)
    if not baselines:
        return ""
    present = set(_baseline_links(dataset))
    text = ("baselines, each row after its paper family's: "
            + "; ".join(f"{', '.join(members)} for {paper_family}"
                        + ("" if paper_family in present else " (not in this file)")
                        for paper_family, members in baselines.items()))
    return "\n".join(textwrap.wrap(text, TABLE_WIDTH, subsequent_indent="  "))


def scalar_names(dataset: xr.Dataset) -> list[str]:
    """The metrics with one value per cell: dims (family, task, seed) in a run, (axes..., seed) in a sweep; the
    training record apart."""
    dims = (*sweep_axes(dataset), "seed") if is_sweep(dataset) else CELL_DIMS
    return [name for name in metric_names(dataset) if dataset[name].dims == dims and name not in TRAINING_RECORD]


TABLE_WIDTH = 120  # the terminal metric tables are split to fit this many columns
ARROWS = {"higher": "↑", "lower": "↓", "none": ""}
LEGEND = ("↑ higher is better, ↓ lower is better, no arrow: no better side; the unit under each name ([1]: "
          "dimensionless);\n"
          "mean ± sample std (ddof 1) over the seeds with a value; kae-zoo list describes every metric")


@dataclass(frozen=True)
class Column:
    """A metric column, as the result file describes its variable (so a file shows without the plugin that wrote
    it); `group` is the scorer that writes it ("other" when no installed scorer does)."""

    name: str
    long_name: str
    units: str
    direction: str  # "higher", "lower" or "none"
    definition_version: int | None
    split: str
    group: str

    @property
    def heading(self) -> str:
        return f"{self.name} {ARROWS.get(self.direction, '')}".rstrip()


@dataclass(frozen=True)
class Stat:
    """Mean, sample std (`mean_std`) and count of the finite seed values of one metric in one row."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: np.ndarray) -> Stat:
        values = np.asarray(values, dtype=float)
        return cls(*mean_std(values), int(np.isfinite(values).sum()))


@dataclass(frozen=True)
class Row:
    """One (family, task) of a run, or one point of a sweep: its keys (family, task and the axis values), the cells
    that finished / ran (seeds of a sweep point), and each setting's and metric's Stat."""

    keys: dict[str, Any]
    ok: int
    cells: int
    settings: dict[str, Stat]
    stats: dict[str, Stat]


@dataclass(frozen=True)
class MetricTable:
    """The metric table of a result file as data, for `format_metric_tables` and the machine formats
    (`reporting.export`): one Row per (family, task) that ran, or per sweep point."""

    kind: str  # "run" or "sweep"
    keys: tuple[str, ...]
    settings: tuple[Column, ...]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    attrs: dict[str, Any]  # the file's provenance attributes


def _groups() -> dict[str, str]:
    """metric name -> the scorer that writes it."""
    from ..scoring import get_scorer, list_scorers  # here, not at the top: the scorers import torch

    return {spec.name: name for name in list_scorers() for spec in get_scorer(name).metrics}


def _column(dataset: xr.Dataset, name: str, groups: dict[str, str]) -> Column:
    attrs = dataset[name].attrs
    version = attrs.get("definition_version")
    return Column(name, str(attrs.get("long_name", "")), str(attrs.get("units", "")),
                  str(attrs.get("direction", "none")), None if version is None else int(version),
                  str(attrs.get("split", "")), groups.get(name, "other"))


def _choose(option: str, given: Sequence[str] | None, valid: Sequence[str]) -> list[str]:
    """The given names (duplicates dropped, in the given order), or all `valid` ones for none given; an unknown name
    raises ValueError naming the valid ones."""
    if not given:
        return list(valid)
    for name in given:
        if name not in valid:
            raise ValueError(f"{option} {name!r} is not in this file; {did_you_mean(name, valid)}"
                             f"valid: {', '.join(valid)}")
    return list(dict.fromkeys(given))


def select_results(dataset: xr.Dataset, *, families: Sequence[str] | None = None,
                   tasks: Sequence[str] | None = None) -> xr.Dataset:
    """The run Dataset restricted to `families` and `tasks` (all for None), its families in `family_groups` order
    (baselines after their paper family); a sweep, whose one family and task are attributes, is returned whole once
    the names match. An unknown name raises ValueError naming the valid ones."""
    if is_sweep(dataset):
        _choose("--family", families, [str(dataset.attrs["family"])])
        _choose("--task", tasks, [str(dataset.attrs["task"])])
        return dataset
    chosen_families = _choose("--family", families, [str(name) for name in dataset.family.values])
    chosen_tasks = _choose("--task", tasks, [str(name) for name in dataset.task.values])
    selected = dataset.sel(family=chosen_families, task=chosen_tasks)
    return selected.sel(family=[family for group in family_groups(selected) for family in group])


def metric_table(dataset: xr.Dataset, metrics: Sequence[str] | None = None) -> MetricTable:
    """The MetricTable of a run or sweep Dataset: every scalar metric, or `metrics` in that order (an unknown
    name raises ValueError naming this file's scalar metrics); rows for the pairs that ran, or every sweep point."""
    names = _choose("--metrics", metrics, scalar_names(dataset))
    groups = _groups()
    columns = tuple(_column(dataset, name, groups) for name in names)
    attrs = {key: (value.item() if isinstance(value, np.generic) else value) for key, value in dataset.attrs.items()}
    rows = []
    if is_sweep(dataset):
        axes = sweep_axes(dataset)
        settings = setting_names(dataset, (*axes, "seed"))
        for point in np.ndindex(*[dataset.sizes[axis] for axis in axes]):
            selected = dataset.isel(dict(zip(axes, point)))
            status = np.asarray(selected["status"].values)
            keys = {"family": str(dataset.attrs["family"]), "task": str(dataset.attrs["task"])}
            keys.update({axis: selected[axis].item() for axis in axes})
            rows.append(Row(keys, int(np.sum(status == "ok")), int(status.size),
                            {name: Stat.of(selected[name].values) for name in settings},
                            {name: Stat.of(selected[name].values) for name in names}))
        return MetricTable("sweep", ("family", "task", *axes), tuple(_column_of_setting(dataset, name)
                                                                       for name in settings),
                           columns, tuple(rows), attrs)
    for family, task, cell in pair_cells(dataset):
        status = np.asarray(cell["status"].values)
        if np.all(status == "missing"):
            continue
        rows.append(Row({"family": family, "task": task}, int(np.sum(status == "ok")), int(np.sum(status != "missing")),
                        {}, {name: Stat.of(cell[name].values) for name in names}))
    return MetricTable("run", ("family", "task"), (), columns, tuple(rows), attrs)


def _column_of_setting(dataset: xr.Dataset, name: str) -> Column:
    attrs = dataset[name].attrs
    return Column(name, str(attrs.get("long_name", "")), str(attrs.get("units", "")), "none", None, "", "setting")


def score_groups(table: MetricTable) -> list[tuple[str, list[Column], tuple[int, ...]]]:
    """The table's score groups in column order: (group, its columns with a value in some row, the indices of the
    rows with a value in one of them); a group without any value (e.g. mfu on a CPU, where no peak FLOP/s is known,
    or the scores of tasks not selected) is left out. The terminal and markdown tables are drawn from these."""
    groups: dict[str, list[Column]] = {}
    for column in table.columns:
        groups.setdefault(column.group, []).append(column)
    found = []
    for group, columns in groups.items():
        columns = [column for column in columns if any(row.stats[column.name].n for row in table.rows)]
        rows = tuple(index for index, row in enumerate(table.rows) if any(row.stats[c.name].n for c in columns))
        if rows:
            found.append((group, columns, rows))
    return found


def format_metric_tables(table: MetricTable, width: int = TABLE_WIDTH) -> str:
    """The terminal text of a MetricTable: tables by score group (the scorer that writes the metrics; groups with
    the same rows share a table while it fits), a group split further until each table fits `width` columns; the
    row keys (family, task; a sweep's axes and settings) and ok/cells repeated in each, only the rows with a value
    in it; each metric's direction arrow and unit in its header; a legend at the end. Falls back to one line per
    (row, metric) when even one metric column is too wide."""
    if not table.rows:
        return "no (family, task) of the selection ran"
    shown_keys = [key for key in table.keys if table.kind == "run" or key not in ("family", "task")]
    key_header = [*shown_keys, *(setting.name for setting in table.settings),
                  "ok/cells" if table.kind == "run" else "ok/seeds"]
    key_units = [""] * len(shown_keys) + [f"[{setting.units}]" for setting in table.settings] + [""]
    key_cells = [[format_axis_value(row.keys[key]) for key in shown_keys]
                 + [format_stat(row.settings[setting.name].mean, row.settings[setting.name].std)
                    for setting in table.settings] + [f"{row.ok}/{row.cells}"] for row in table.rows]
    text = {column.name: [format_stat(row.stats[column.name].mean, row.stats[column.name].std) for row in table.rows]
            for column in table.columns}

    def column_width(column: Column, rows: Sequence[int]) -> int:
        return max(len(column.heading), len(column.units) + 2, *(len(text[column.name][index]) for index in rows))

    blocks: list[tuple[list[str], tuple[int, ...], list[Column], int]] = []  # titles, rows, columns, width used
    for group, columns, rows in score_groups(table):
        key_width = sum(max(len(header), *(len(key_cells[index][position]) for index in rows)) + 2
                        for position, header in enumerate(key_header))
        if key_width + max(column_width(column, rows) for column in columns) > width:
            return _format_long(table)
        parts: list[tuple[list[Column], int]] = [([], key_width)]
        for column in columns:
            if parts[-1][0] and parts[-1][1] + column_width(column, rows) > width:
                parts.append(([], key_width))
            parts[-1] = (parts[-1][0] + [column], parts[-1][1] + column_width(column, rows) + 2)
        if len(parts) == 1 and blocks and blocks[-1][1] == rows and blocks[-1][3] + parts[0][1] - key_width <= width:
            titles, _, previous, used = blocks[-1]
            blocks[-1] = ([*titles, group], rows, previous + parts[0][0], used + parts[0][1] - key_width)
            continue
        blocks += [([group if len(parts) == 1 else f"{group} ({number}/{len(parts)})"], rows, part, used)
                   for number, (part, used) in enumerate(parts, 1)]
    lines = []
    for titles, rows, columns, _ in blocks:
        grid = [[*key_header, *(column.heading for column in columns)],
                [*key_units, *(f"[{column.units}]" for column in columns)]]
        grid += [[*key_cells[index], *(text[column.name][index] for column in columns)] for index in rows]
        block = format_grid(grid, header_rule=True)
        block.insert(1, block.pop(2))  # the rule under the units line
        lines += [", ".join(titles) + ":", *block, ""]
    return "\n".join([*lines, LEGEND]) if lines else "no value of the selected metrics in the selected rows"


def _format_long(table: MetricTable) -> str:
    """One line per (row, metric with a value): the keys, the metric with its arrow and unit, the value."""
    grid = [[*table.keys, "metric", "unit", "mean ± std"]]
    for row in table.rows:
        for column in table.columns:
            stat = row.stats[column.name]
            if stat.n:
                grid.append([*(format_axis_value(row.keys[key]) for key in table.keys), column.heading,
                             f"[{column.units}]", format_stat(stat.mean, stat.std)])
    return "\n".join([*format_grid(grid, header_rule=True), "", LEGEND])


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
        lines += textwrap.wrap(line, TABLE_WIDTH, subsequent_indent="    ")
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


def fit_grid(rows: list[list[str]], width: int) -> list[str]:
    """`format_grid` of `rows`, its columns after the first split into several grids (the first column repeated,
    a blank line between) so that each line fits `width`."""
    widths = [max(len(row[column]) for row in rows) + 2 for column in range(len(rows[0]))]
    chunks: list[list[int]] = [[]]
    for column in range(1, len(widths)):
        if chunks[-1] and widths[0] + sum(widths[index] for index in chunks[-1]) + widths[column] - 2 > width:
            chunks.append([])
        chunks[-1].append(column)
    lines: list[str] = []
    for chunk in chunks:
        lines += ([""] if lines else []) + format_grid([[row[0], *(row[index] for index in chunk)] for row in rows])
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
            lines += [f"  {line}" if line else "" for line in fit_grid(rows, TABLE_WIDTH - 2)]
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


def format_split_note(dataset: xr.Dataset, shown: Sequence[str] | None = None) -> str:
    """A line naming the table's scores (those `shown`, default all) computed on the training split rather than the
    test split (e.g. attractor scores from the training latents); empty when there are none. train_seconds says so
    in its name."""
    names = [name for name in scalar_names(dataset) if name != "train_seconds"
             and dataset[name].attrs.get("split") == "train" and (shown is None or name in shown)]
    return "\n".join(textwrap.wrap(f"computed on the training split, not the test split: {', '.join(names)}",
                                   TABLE_WIDTH)) if names else ""


def _format_epoch(value: float) -> str:
    return "-" if not np.isfinite(value) else str(int(value))


def _format_count(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:.3g}"


def format_axis_value(value: object) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


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
                lines.append(f"    {axis} = {format_axis_value(value)}: {correlation}")
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
        where = ", ".join(f"{axis} {format_axis_value(selected[axis].item())}" for axis in axes)
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
    reason, naming the metrics it holds for, with the reason the scorer recorded; "" when there are none."""
    found = degenerate_scores(dataset)
    if not found:
        return ""
    by_cell_and_reason: dict[tuple[str, str], list[str]] = {}
    for where, metric, reason in found:
        cell = (f"{where['family']}/{where['task']} seed {where['seed']}" if "family" in where
                else ", ".join(f"{dim}={value}" for dim, value in where.items()))
        by_cell_and_reason.setdefault((cell, reason), []).append(metric)
    lines = ["degenerate scores (NaN: meaningless by their definition on these cells, not failures):"]
    for (cell, reason), metrics in by_cell_and_reason.items():
        lines += textwrap.wrap(f"{cell}: {', '.join(metrics)}: {reason}", TABLE_WIDTH, initial_indent="  ",
                               subsequent_indent="    ")
    return "\n".join(lines)


def sweep_sections(dataset: xr.Dataset, table: MetricTable) -> list[tuple[str, str]]:
    """The (name, text) sections of a sweep file's `kae-zoo show`: provenance, what was swept, the metric tables,
    the split note, rank correlations, failures; empty ones left out."""
    config = json.loads(dataset.attrs["config"])
    axes = " x ".join(f"{axis} ({dataset.sizes[axis]})" for axis in sweep_axes(dataset))
    seeds = ", ".join(str(seed) for seed in dataset.seed.values)
    fixed = ", ".join(f"{key}={value}" for key, value in sorted(config.get("overrides", {}).items()))
    what = (f"sweep of {dataset.attrs['family']} on {dataset.attrs['task']} (preset {config.get('preset')}"
            f"{', ' + fixed if fixed else ''}): {axes} x seeds {seeds}; scores on the held-out test split unless "
            f"noted (curves are not kept in sweep files)")
    what = "\n".join(textwrap.wrap(what, TABLE_WIDTH, break_on_hyphens=False))
    sections = [("provenance", _provenance_line(dataset)), ("sweep", what), ("metrics", format_metric_tables(table)),
                ("split", format_split_note(dataset, [column.name for column in table.columns])),
                ("correlations", format_rank_correlations(dataset)), ("degenerate", format_degenerate(dataset)),
                ("failures", format_sweep_failures(dataset))]
    return [(name, text) for name, text in sections if text]


def format_reproduction(dataset: xr.Dataset) -> str:
    """The `kae-zoo show` text of a reproduction file: provenance, then per claim its verdict and measurement."""
    columns = ("verdict", "departures", "measured")
    rows = [["claim", "verdict", "departs from the paper", "measured"]]
    rows += [[str(key), *(str(dataset[name].sel(claim=key).item()) for name in columns)]
             for key in dataset["claim"].values]
    return "\n".join([_provenance_line(dataset), f"reproduction, preset {dataset.attrs['preset']}", "",
                      *format_grid(rows)])


def result_sections(dataset: xr.Dataset, table: MetricTable) -> list[tuple[str, str]]:
    """The (name, text) sections of `kae-zoo show` for a run or sweep Dataset and its MetricTable: provenance, the
    metric tables, the split note, training record, Betti curves, OOD and probe scores (when present), failures;
    a sweep's are `sweep_sections`. Empty ones are left out."""
    if is_sweep(dataset):
        return sweep_sections(dataset, table)
    sections = [("provenance", f"{_provenance_line(dataset)}\nmetrics on the held-out test split unless noted"),
                ("metrics", format_metric_tables(table)), ("baselines", format_baselines(dataset)),
                ("split", format_split_note(dataset, [column.name for column in table.columns])),
                ("training", format_training(dataset)), ("betti", format_betti_curves(dataset)),
                ("ood", format_ood_table(dataset)), ("probe", format_probe(dataset)),
                ("degenerate", format_degenerate(dataset)), ("failures", format_failures(dataset))]
    return [(name, text) for name, text in sections if text]


def format_results(dataset: xr.Dataset, *, metrics: Sequence[str] | None = None,
                   families: Sequence[str] | None = None, tasks: Sequence[str] | None = None) -> str:
    """The full `kae-zoo show` text (`result_sections`) of a run or sweep file, `format_reproduction` of a
    reproduction file. `metrics` picks the tables' columns, `families` and `tasks` every section's pairs
    (`select_results`, `metric_table`: an unknown name raises ValueError naming the valid ones)."""
    if is_reproduction(dataset):
        return format_reproduction(dataset)
    dataset = select_results(dataset, families=families, tasks=tasks)
    return "\n\n".join(text for _, text in result_sections(dataset, metric_table(dataset, metrics)))
