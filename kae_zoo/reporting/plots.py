"""PNG figures of a result Dataset: Betti curves (surrogate trajectory against base network), the loss curves of
training, accuracies,
dictionary recovery against the training step, reconstruction error against the grid size and the spectrum of
the Koopman operator on the unit circle, OOD AUROC per detector and OOD set and the ROC curves behind it; for a
sweep file, scores against each sweep axis (e.g. memorization against bottleneck and training-set size).

Figures are built on `matplotlib.figure.Figure` (no pyplot global state, no display needed) and written
atomically. Each function returns the paths it wrote, and writes nothing when the Dataset lacks its variables.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..core.atomic import atomic_path
from ..core.capabilities import LATENT_MAP
from ..core.registry import UnknownNameError
from ..families import get_family
from ..store.results import sweep_axes
from .summary import constant_along

HOMOLOGY_LABELS = {0: r"$\beta_0$ (components)", 1: r"$\beta_1$ (loops)"}
# Sweep axes whose value is a request, not the value used (n_train_samples 0 = the whole split): they are placed
# on the x axis at the score that records the value used.
AXIS_POSITIONS = {"n_train_samples": "n_train_used"}
SCORE_STYLES = ("-", "--", "-.")  # line style of the 1st, 2nd, 3rd score of a sweep panel
# Marker, marker size and line width of the 1st, 2nd, 3rd score of a sweep panel: each drawn thinner and smaller
# than the one before, with hollow markers after the first, so that equal scores (noise_memorization on
# memorization) stay visible one on top of the other.
SCORE_MARKERS = (("o", 7.0, 2.6), ("s", 4.5, 1.5), ("^", 3.5, 1.0))
TIME_AXIS = "trajectory time t"
ITERATION_AXIS = "iteration of the latent map f (steps)"
BASE_AXIS = "base network layer"
# The sweep panels of `kae-zoo report`: memorization (with its data-free variant and its fresh-data reference)
# and attractor counts for attractor sweeps; the test reconstruction error for every sweep.
MEMORIZATION_PANELS = (("memorization", "noise_memorization", "memorization_reference"), ("attractor_count",))


def safe_file_name(name: str) -> str:
    """`name` made safe for file systems, Markdown and HTML links (a `file:` task's name holds a path): every
    character but letters, digits, '.', '-' and '_' becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _save(figure: Figure, out_dir: str | Path, name: str) -> Path:
    """Write `figure` as `out_dir/name`, the name made safe (`safe_file_name`)."""
    path = Path(out_dir) / safe_file_name(name)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    return path


def _mean_and_band(axis, x: np.ndarray, curve: xr.DataArray, **style) -> None:
    """Plot the mean over seeds of `curve` against x, with the min-max band over seeds shaded."""
    axis.plot(x, curve.mean("seed"), **style)
    axis.fill_between(x, curve.min("seed"), curve.max("seed"), alpha=0.2)


def _family_curves(dataset: xr.Dataset, variable: str, task: str, dim: str) -> list[tuple[str, xr.DataArray]]:
    """(family, curve over `dim` and seed) of every family with values of `variable` on `task`."""
    curves = [(str(family), dataset[variable].sel(family=family, task=task).dropna(dim, how="all"))
              for family in dataset.family.values]
    return [(family, curve) for family, curve in curves if curve.sizes[dim] > 0]


def _progress(n_points: int) -> np.ndarray:
    """Positions 0..1 of a curve's points: base layer l of L at l/L."""
    return np.linspace(0.0, 1.0, n_points) if n_points > 1 else np.zeros(n_points)


def trajectory_axis(family: str) -> str:
    """What a family's trajectory moves along: iterations of its latent map (LATENT_MAP capability, the attractor
    family) or trajectory time t (every other family; also one this process does not know)."""
    try:
        return ITERATION_AXIS if LATENT_MAP in get_family(family).capabilities else TIME_AXIS
    except UnknownNameError:
        return TIME_AXIS


def _base_curve(dataset: xr.Dataset, task: str) -> xr.DataArray | None:
    """The base network's Betti curve of `task` (layer, homology_dim), mean over seeds; None if absent.

    Every family of one task and seed sees the same base network, so the first family with values is used.
    """
    if "base_betti" not in dataset:
        return None
    for family in dataset.family.values:
        curve = dataset["base_betti"].sel(family=family, task=task).mean("seed")
        curve = curve.dropna("layer", how="all")
        if curve.sizes["layer"] > 0:
            return curve
    return None


def _trajectory_positions(dataset: xr.Dataset, family: str, task: str, curve: xr.DataArray) -> np.ndarray:
    """The trajectory times (or iterations) of a Betti curve's steps: `betti_time` (mean over seeds) where the file
    has it, else the step index."""
    if "betti_time" in dataset:
        times = dataset["betti_time"].sel(family=family, task=task, step=curve.step).mean("seed").values
        if np.isfinite(times).all():
            return times
    return curve.step.values.astype(float)


def _tick_labels(axis, x: np.ndarray, max_ticks: int = 11) -> None:
    """A tick with its value at every point of x (every n-th when there are more than `max_ticks`)."""
    every = int(np.ceil(len(x) / max_ticks))
    axis.set_xticks(x[::every], [f"{value:g}" for value in x[::every]])


def plot_betti_curves(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """One figure per task, `betti_<task>.png`: beta_0 and beta_1 (columns) along each family's trajectory (mean
    over seeds, min-max band), a row per kind of trajectory axis: trajectory time t (Koopman: t = 0 is the base
    network's input, t = 1 its output, so its layers are drawn on the same row against a top axis naming them)
    and iterations of the latent map (the attractor family's f(z) = E(D(z))); the base network alone gets a row
    of its own when no family runs on trajectory time."""
    if "betti" not in dataset:
        return []
    written = []
    for task in dataset.task.values:
        rows: dict[str, list[tuple[str, np.ndarray, xr.DataArray]]] = {}
        for family in map(str, dataset.family.values):
            curve = dataset["betti"].sel(family=family, task=task).dropna("step", how="all")
            if curve.sizes["step"] == 0 or not np.isfinite(curve.values).any():
                continue
            x = _trajectory_positions(dataset, family, str(task), curve)
            rows.setdefault(trajectory_axis(family), []).append((family, x, curve))
        if not rows:
            continue
        base = _base_curve(dataset, task)
        kinds = [kind for kind in (TIME_AXIS, ITERATION_AXIS) if kind in rows]
        if base is not None and TIME_AXIS not in rows:
            kinds.insert(0, BASE_AXIS)
        figure = Figure(figsize=(9, 3.4 * len(kinds)), layout="constrained")
        grid = figure.subplots(len(kinds), 2, squeeze=False)
        for row, kind in enumerate(kinds):
            axes = grid[row]
            for family, x, curve in rows.get(kind, []):
                for axis, dim in zip(axes, (0, 1)):
                    _mean_and_band(axis, x, curve.sel(homology_dim=dim), marker="o", label=f"{family} trajectory")
                    _tick_labels(axis, x)
            if base is not None and kind in (TIME_AXIS, BASE_AXIS):
                times = np.concatenate([x for _, x, _ in rows.get(kind, [])]) if kind in rows else np.zeros(1)
                low, high = (times.min(), times.max()) if times.max() > times.min() else (0.0, 1.0)
                x = low + (high - low) * _progress(base.sizes["layer"])
                names = [str(name) for name in base.layer.values]
                for axis, dim in zip(axes, (0, 1)):
                    axis.plot(x, base.sel(homology_dim=dim), "k--", marker="s", label="base network layers")
                    if kind == BASE_AXIS:
                        axis.set_xticks(x, names, rotation=45, fontsize=7)
                    else:
                        top = axis.secondary_xaxis("top")
                        top.set_xticks(x, names, rotation=45, fontsize=7)
                        top.set_xlabel(f"{BASE_AXIS} (black, dashed)", fontsize=8)
            for axis, dim in zip(axes, (0, 1)):
                axis.set_title(HOMOLOGY_LABELS[dim] + ", summed over classes", fontsize=10)
                axis.set_xlabel(kind)
                axis.yaxis.get_major_locator().set_params(integer=True)
                axis.set_ylim(0, max(axis.get_ylim()[1], 1))  # counts: an all-zero curve still gets ticks 0 and 1
                axis.grid(alpha=0.3)
            axes[0].legend(fontsize=8, loc="lower left")
        figure.suptitle(f"Topological simplification on {task} (test split; mean over seeds, min-max band)")
        written.append(_save(figure, out_dir, f"betti_{task}.png"))
    return written


def plot_accuracy(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """`accuracy.png`: per task with accuracies, the base network's and each family's surrogate accuracy as a point
    (mean over seeds) with a ±std error bar and each seed as a small dot. Points, not bars, because the y axis
    does not start at 0: the gaps are a few percentage points, invisible on a 0-1 axis, and a bar's length would
    exaggerate them; the y label says where the axis starts."""
    if "accuracy" not in dataset or not np.isfinite(dataset["accuracy"].values).any():
        return []
    series: list[tuple[str, xr.DataArray]] = [("base network", dataset["base_accuracy"].max("family"))] \
        if "base_accuracy" in dataset else []
    series += [(str(family), dataset["accuracy"].sel(family=family)) for family in dataset.family.values]
    tasks = [str(task) for task in dataset.task.values
             if np.isfinite(dataset["accuracy"].sel(task=task).values).any()]
    shown = [(label, values) for label, values in series if np.isfinite(values.sel(task=tasks).values).any()]
    figure = Figure(figsize=(max(4.5, 1.4 * len(tasks) * len(shown) / 2 + 2), 3.6), layout="constrained")
    axis = figure.subplots()
    width = 0.6 / max(len(shown) - 1, 1)
    for index, (label, values) in enumerate(shown):
        colour = f"C{index % 10}"
        for position, task in enumerate(tasks):
            cell = values.sel(task=task).values.astype(float)
            cell = cell[np.isfinite(cell)]
            if not cell.size:
                continue
            x = position - 0.3 + index * width if len(shown) > 1 else float(position)
            error = cell.std(ddof=1) if cell.size > 1 else None
            axis.errorbar(x, cell.mean(), yerr=error, fmt="o", color=colour, capsize=4, markersize=7,
                          label=label if position == 0 or label not in axis.get_legend_handles_labels()[1] else None)
            axis.plot(np.full(cell.size, x + 0.06), cell, ".", color=colour, alpha=0.6, markersize=4)
    axis.set_xticks(np.arange(len(tasks)), tasks)
    axis.set_xlim(-0.6, len(tasks) - 0.4)
    low, high = axis.get_ylim()
    axis.set_ylim(low, min(high, 1.0) if low < 1.0 else high)
    axis.set_ylabel(f"accuracy (test split)\naxis starts at {axis.get_ylim()[0]:.3f}, not 0")
    axis.set_title("points: mean over seeds, bars: ±std, dots: seeds", fontsize=8)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axis.grid(axis="y", alpha=0.3)
    return [_save(figure, out_dir, "accuracy.png")]


def plot_recovery(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """One figure per task, `recovery_<task>.png`: dictionary recovery against the training step, each family's
    mean over seeds with a min-max band."""
    if "recovery" not in dataset:
        return []
    written = []
    for task in dataset.task.values:
        curves = _family_curves(dataset, "recovery", task, "train_step")
        if not curves:
            continue
        figure = Figure(figsize=(5.5, 3.6))
        axis = figure.subplots()
        for family, curve in curves:
            _mean_and_band(axis, curve.train_step.values, curve, label=family)
        axis.axhline(0.9, color="grey", linestyle=":", label="recovery threshold 0.9")
        axis.set_xlabel("optimiser step")
        axis.set_ylabel("dictionary recovery (1 - mean sine distance)")
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
        axis.set_title(f"Dictionary recovery on {task}")
        written.append(_save(figure, out_dir, f"recovery_{task}.png"))
    return written


def plot_resolution(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """One figure per task, `resolution_<task>.png`: relative reconstruction error against the grid size (log2
    axis), each family's mean over seeds with a min-max band; families that were resampled to their training
    grid (resolution_native = 0) are dashed, and their direct curve (applied to each grid without resampling)
    is dotted."""
    if "resolution_error" not in dataset:
        return []
    written = []
    for task in dataset.task.values:
        curves = _family_curves(dataset, "resolution_error", task, "resolution")
        if not curves:
            continue
        figure = Figure(figsize=(5.5, 3.6))
        axis = figure.subplots()
        for family, curve in curves:
            grids = curve.resolution.values
            native = "resolution_native" in dataset and \
                bool(dataset["resolution_native"].sel(family=family, task=task).max("seed") == 1)
            label = f"{family} ({'native' if native else 'resampled'})"
            _mean_and_band(axis, grids, curve, marker="o", linestyle="-" if native else "--", label=label)
            if not native and "resolution_error_direct" in dataset:
                direct = dataset["resolution_error_direct"].sel(family=family, task=task, resolution=grids)
                _mean_and_band(axis, grids, direct, marker="s", linestyle=":", label=f"{family} (direct)")
        axis.set_xscale("log", base=2)
        axis.set_xlabel("grid size (points)")
        axis.set_ylabel("relative L2 reconstruction error (test split)")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
        axis.set_title(f"Resolution robustness on {task}")
        written.append(_save(figure, out_dir, f"resolution_{task}.png"))
    return written


def plot_spectrum(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """One figure per task, `spectrum_<task>.png`: the eigenvalues of K in the complex plane with the unit circle,
    every seed of every family that has them (one colour per seed, one marker per family)."""
    if "eigenvalue_real" not in dataset:
        return []
    markers = "o^sDvP*X"
    written = []
    for task in dataset.task.values:
        figure = Figure(figsize=(4.8, 4.8))
        axis = figure.subplots()
        drawn = False
        for family_index, family in enumerate(dataset.family.values):
            for colour, seed in enumerate(dataset.seed.values):
                cell = dataset.sel(family=family, task=task, seed=seed)
                real, imag = cell["eigenvalue_real"].values, cell["eigenvalue_imag"].values
                kept = np.isfinite(real) & np.isfinite(imag)
                if not kept.any():
                    continue
                axis.scatter(real[kept], imag[kept], s=14, color=f"C{colour % 10}",
                             marker=markers[family_index % len(markers)], alpha=0.7, label=f"{family}, seed {seed}")
                drawn = True
        if not drawn:
            continue
        angles = np.linspace(0.0, 2.0 * np.pi, 361)
        axis.plot(np.cos(angles), np.sin(angles), color="grey", linewidth=0.8, label="unit circle")
        axis.axhline(0.0, color="grey", linewidth=0.4)
        axis.axvline(0.0, color="grey", linewidth=0.4)
        axis.set_aspect("equal", adjustable="datalim")
        axis.set_xlabel("Re λ")
        axis.set_ylabel("Im λ")
        axis.legend(fontsize=7)
        axis.set_title(f"Spectrum of K on {task}")
        written.append(_save(figure, out_dir, f"spectrum_{task}.png"))
    return written


def _axis_positions(dataset: xr.Dataset, axis: str) -> tuple[np.ndarray, list[str]]:
    """x positions and labels of a sweep axis's values: the values used (AXIS_POSITIONS, mean over the other dims)
    where the file records them, else the values themselves, else (strings) 0, 1, 2, ..."""
    values = dataset[axis].values
    used = AXIS_POSITIONS.get(axis)
    if used in dataset:
        positions = dataset[used].mean([dim for dim in dataset[used].dims if dim != axis]).values
        if np.isfinite(positions).all():
            return positions, [f"{position:g}" for position in positions]
    if np.issubdtype(values.dtype, np.number):
        return values.astype(float), [f"{value:g}" for value in values]
    return np.arange(len(values), dtype=float), [str(value) for value in values]


def _draw_sweep_panel(axis, dataset: xr.Dataset, scores: Sequence[str], x_axis: str, line_axis: str | None) -> None:
    """Each score against `x_axis` (mean over seeds, min-max band), one colour per value of `line_axis`; a score
    that does not change along `line_axis` (a reference) is one black line."""
    x, labels = _axis_positions(dataset, x_axis)
    order = np.argsort(x, kind="stable")  # draw left to right even when the used values reorder the coordinates
    x, labels = x[order], [labels[index] for index in order]
    colours = [f"C{index}" for index in range(10)]
    line_values = dataset[line_axis].values if line_axis else [None]
    line_labels = _axis_positions(dataset, line_axis)[1] if line_axis else [""]
    for style, (marker, size, width), name in zip(SCORE_STYLES, SCORE_MARKERS, scores):
        values = dataset[name]
        reference = line_axis is not None and constant_along(values, line_axis)
        for index, value in enumerate(line_values[:1] if reference else line_values):
            curve = values.sel({line_axis: value}) if line_axis else values
            curve = curve.transpose(x_axis, "seed").isel({x_axis: order})
            colour = "black" if reference else colours[index % len(colours)]
            axis.plot(x, curve.mean("seed"), linestyle=style, marker=marker, markersize=size, linewidth=width,
                      color=colour, markerfacecolor=colour if marker == SCORE_MARKERS[0][0] else "none", label=name)
            axis.fill_between(x, curve.min("seed"), curve.max("seed"), color=colour, alpha=0.15)
    if np.all(x > 0) and x.max() / x.min() >= 4:
        axis.set_xscale("log")
        axis.minorticks_off()
    axis.set_xticks(x, labels)
    axis.set_xlabel(x_axis if x_axis not in AXIS_POSITIONS else f"{x_axis} (examples used)")
    axis.grid(alpha=0.3)
    handles = [Line2D([], [], color="grey", linestyle=style, marker=marker, markersize=size, linewidth=width,
                      markerfacecolor="grey" if marker == SCORE_MARKERS[0][0] else "none", label=name)
               for style, (marker, size, width), name in zip(SCORE_STYLES, SCORE_MARKERS, scores)]
    if line_axis:
        handles += [Line2D([], [], color=colours[index % len(colours)], label=f"{line_axis} {label}")
                    for index, label in enumerate(line_labels)]
    axis.legend(handles=handles, fontsize=7)


def plot_sweep(dataset: xr.Dataset, out_dir: str | Path, panels: Sequence[Sequence[str]], filename: str
               ) -> list[Path]:
    """`filename` for a sweep file with one or two axes: one row per panel (up to three scores in one panel, told
    apart by line style) and one column per axis, each score against that axis with one line per value of the
    other axis (mean over seeds, min-max band over seeds). A score equal for every value of the other axis (a
    reference such as memorization_reference, which depends on the training set only) is one black line. Axes of
    numbers spanning a factor >= 4 are drawn on a log scale. Scores the file lacks are left out; writes nothing
    when no panel has a score left or the sweep has more than two axes."""
    too_full = [panel for panel in panels if len(panel) > len(SCORE_STYLES)]
    if too_full:
        raise ValueError(f"a sweep panel draws at most {len(SCORE_STYLES)} scores, got {list(too_full[0])}")
    axes = sweep_axes(dataset)
    panels = [[name for name in panel if name in dataset] for panel in panels]
    panels = [panel for panel in panels if panel]
    if not panels or len(axes) > 2:
        return []
    figure = Figure(figsize=(5.2 * len(axes), 3.6 * len(panels)))
    grid = figure.subplots(len(panels), len(axes), squeeze=False)
    for row, panel in enumerate(panels):
        for column, x_axis in enumerate(axes):
            others = [axis for axis in axes if axis != x_axis]
            _draw_sweep_panel(grid[row, column], dataset, panel, x_axis, others[0] if others else None)
            if len(panel) == 1:  # several scores are named by the legend
                grid[row, column].set_ylabel(panel[0])
    n_seeds = dataset.sizes["seed"]
    over = "one seed" if n_seeds == 1 else f"mean over {n_seeds} seeds, min-max band"
    figure.suptitle(f"{dataset.attrs.get('family')} on {dataset.attrs.get('task')}: {over}")
    return [_save(figure, out_dir, filename)]


def plot_sweep_figures(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """The figures of a sweep file: `memorization_sweep.png` (MEMORIZATION_PANELS) and `sweep_state_error.png`."""
    return [*plot_sweep(dataset, out_dir, MEMORIZATION_PANELS, "memorization_sweep.png"),
            *plot_sweep(dataset, out_dir, [("state_error",)], "sweep_state_error.png")]


def _pairs_with_values(dataset: xr.Dataset, variable: str) -> Iterator[tuple[str, str, xr.DataArray]]:
    """(family, task, values) of every pair whose `variable` has a finite value; none when the file lacks it."""
    if variable not in dataset:
        return
    for family in dataset.family.values:
        for task in dataset.task.values:
            values = dataset[variable].sel(family=family, task=task)
            if np.isfinite(values.values).any():
                yield str(family), str(task), values


def plot_ood(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """One figure per family and task with OOD scores, `ood_<family>_<task>.png`: AUROC of each detector on each
    OOD set (bars: mean over seeds, whiskers: min-max), chance at 0.5; the legend outside the axes, clear of the
    bars."""
    paths = []
    for family, task, auroc in _pairs_with_values(dataset, "ood_auroc"):
        methods = [str(name) for name in auroc.ood_method.values]
        sets = [str(name) for name in auroc.ood_set.values]
        figure = Figure(figsize=(max(4.0, 1.2 * len(sets) * len(methods) / 2) + 1.4, 3.4), layout="constrained")
        axis = figure.subplots()
        width = 0.8 / len(methods)
        positions = np.arange(len(sets))
        for index, method in enumerate(methods):
            values = auroc.sel(ood_method=method)
            mean = values.mean("seed").values
            whiskers = np.nan_to_num(np.stack([mean - values.min("seed").values, values.max("seed").values - mean]))
            axis.bar(positions + index * width, mean, width, yerr=whiskers, label=method)
        axis.axhline(0.5, color="gray", linewidth=0.8, linestyle=":")
        axis.set_xticks(positions + width * (len(methods) - 1) / 2, sets)
        axis.set_ylim(0.0, 1.0)
        axis.set_ylabel(f"AUROC vs {task} test split")
        axis.set_title(f"{family} on {task}: OOD detection ({auroc.sizes['seed']} seeds)", fontsize=9)
        axis.legend(fontsize=7, title="detector", title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axis.grid(axis="y", alpha=0.3)
        paths.append(_save(figure, out_dir, f"ood_{family}_{task}.png"))
    return paths


def plot_ood_roc(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """One figure per family and task with ROC curves, `ood_roc_<family>_<task>.png`: a panel per OOD set, a line
    per detector (mean TPR over seeds at each FPR, min-max band shaded), chance on the diagonal."""
    paths = []
    for family, task, roc in _pairs_with_values(dataset, "ood_roc_tpr"):
        sets = [str(name) for name in roc.ood_set.values]
        figure = Figure(figsize=(3.3 * len(sets), 3.4), layout="constrained")
        axes = np.atleast_1d(figure.subplots(1, len(sets), sharey=True))
        fpr = roc.fpr.values
        for axis, ood_set in zip(axes, sets):
            for method in roc.ood_method.values:
                curve = roc.sel(ood_method=method, ood_set=ood_set)
                if np.isfinite(curve.values).any():
                    _mean_and_band(axis, fpr, curve, label=str(method))
            axis.plot([0, 1], [0, 1], color="gray", linewidth=0.8, linestyle=":")
            axis.set_title(f"OOD set: {ood_set}", fontsize=9)
            axis.set_xlabel("FPR")
            axis.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", "0.25", "0.5", "0.75", "1"])
            axis.set_xlim(0, 1)
            axis.set_ylim(0, 1.01)
            axis.grid(alpha=0.3)
        axes[0].set_ylabel("TPR (OOD flagged)")
        # the legend on the first panel with curves (an OOD set may have no scores for this task)
        labelled = [axis for axis in axes if axis.get_legend_handles_labels()[0]]
        if labelled:
            labelled[0].legend(fontsize=7)
        figure.supxlabel(f"FPR: share of the {task} test split flagged as OOD", fontsize=9)
        figure.suptitle(f"{family} on {task}: OOD ROC curves ({roc.sizes['seed']} seeds)", fontsize=9)
        paths.append(_save(figure, out_dir, f"ood_roc_{family}_{task}.png"))
    return paths


def plot_loss_curves(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """One figure per (family, task), `loss_<family>_<task>.png`: training and validation loss at every validation
    check, one line per seed on a log scale, the scored epoch of each seed marked, and a spike flagged in the
    title (`kae_zoo.metrics.training`). A pair whose seeds have one check each (a closed-form fit: pca, dmd, edmd)
    has no curve to draw and gets no figure."""
    if "val_loss" not in dataset:
        return []
    paths = []
    for family in map(str, dataset.family.values):
        for task in map(str, dataset.task.values):
            cell = dataset.sel(family=family, task=task)
            seeds = [seed for seed in cell.seed.values if np.isfinite(cell["val_loss"].sel(seed=seed).values).any()]
            if not seeds or all(np.isfinite(cell["val_loss"].sel(seed=seed).values).sum() < 2 for seed in seeds):
                continue
            figure = Figure(figsize=(6.4, 3.6))
            axis = figure.subplots()
            spikes = []
            for index, seed in enumerate(seeds):
                color = f"C{index % 10}"
                val = cell["val_loss"].sel(seed=seed).dropna("epoch")
                axis.plot(val["epoch"], val, color=color, label=f"seed {seed} validation")
                if "train_loss" in cell:
                    train = cell["train_loss"].sel(seed=seed).dropna("epoch")
                    if train.size:
                        axis.plot(train["epoch"], train, color=color, linestyle="--", alpha=0.6,
                                  label=f"seed {seed} training")
                if "scored_epoch" in cell and np.isfinite(cell["scored_epoch"].sel(seed=seed).item()):
                    axis.axvline(cell["scored_epoch"].sel(seed=seed).item(), color=color, linestyle=":", alpha=0.8)
                if "loss_spike" in cell and cell["loss_spike"].sel(seed=seed).item() == 1:
                    spikes.append(str(seed))
            axis.set_yscale("log")
            axis.set_xlabel("epoch (dotted: the scored epoch of each seed)")
            axis.set_ylabel("total loss")
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize=7)
            title = f"{family} on {task}: loss at each validation check"
            if spikes:
                title += f"\nvalidation loss spiked > 10x its best after the scored epoch: seed {', '.join(spikes)}"
            axis.set_title(title, fontsize=9)
            paths.append(_save(figure, out_dir, f"loss_{family}_{task}.png"))
    return paths


def plot_all(dataset: xr.Dataset, out_dir: str | Path) -> list[Path]:
    """Every figure the Dataset has the variables for."""
    return [*plot_betti_curves(dataset, out_dir), *plot_loss_curves(dataset, out_dir), *plot_accuracy(dataset, out_dir),
            *plot_recovery(dataset, out_dir),
            *plot_resolution(dataset, out_dir), *plot_spectrum(dataset, out_dir), *plot_ood(dataset, out_dir),
            *plot_ood_roc(dataset, out_dir)]


def plot_asv_history(revisions: Sequence[int], commits: Sequence[str], values: np.ndarray, labels: Sequence[str], *,
                     title: str, unit: str, out_dir: str | Path, filename: str) -> Path:
    """`filename`: one asv benchmark's value at each recorded commit (x: asv's revision order, labelled by short
    commit hash), a line per parameter combination; `values` is (n_commits, n_combinations), NaN where it failed."""
    figure = Figure(figsize=(7, 3.6))
    axis = figure.subplots()
    for column, label in enumerate(labels):
        axis.plot(revisions, values[:, column], marker="o", label=label)
    axis.set_xticks(list(revisions), list(commits), rotation=45, ha="right", fontsize=7)
    axis.set_xlabel("commit")
    axis.set_ylabel(unit)
    if np.nanmin(values) > 0 and np.nanmax(values) / np.nanmin(values) > 30:
        axis.set_yscale("log")
    axis.set_title(title, fontsize=9)
    if len(labels) > 1:
        axis.legend(fontsize=7, ncol=2, frameon=False)
    axis.grid(alpha=0.3)
    return _save(figure, out_dir, filename)
