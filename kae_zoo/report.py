"""`kae-zoo report`: a Markdown summary of a result file (a run or a sweep) with its figures embedded."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .atomic import atomic_path
from .plots import plot_all, plot_sweep_figures
from .results import is_sweep
from .summary import format_results


def write_report(dataset: xr.Dataset, out_dir: str | Path, source: str = "") -> Path:
    """Write every figure and `report.md` (the `kae-zoo show` text plus the figures) under `out_dir`; a sweep
    file gets the sweep figures, and its text carries the rank correlations."""
    out_dir = Path(out_dir)
    figures = plot_sweep_figures(dataset, out_dir) if is_sweep(dataset) else plot_all(dataset, out_dir)
    kind = "sweep" if is_sweep(dataset) else "results"
    lines = [f"# kae-zoo {kind}{f': {source}' if source else ''}", ""]
    lines += ["```", format_results(dataset), "```", ""]
    for figure in figures:
        lines += [f"![{figure.stem}]({figure.name})", ""]
    path = out_dir / "report.md"
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))
    return path
