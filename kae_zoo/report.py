"""`kae-zoo report`: a Markdown summary of a result file with its figures embedded."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .atomic import atomic_path
from .plots import plot_all
from .summary import format_results


def write_report(dataset: xr.Dataset, out_dir: str | Path, source: str = "") -> Path:
    """Write every figure and `report.md` (the `kae-zoo show` table plus the figures) under `out_dir`."""
    out_dir = Path(out_dir)
    figures = plot_all(dataset, out_dir)
    lines = [f"# kae-zoo results{f': {source}' if source else ''}", ""]
    lines += ["```", format_results(dataset), "```", ""]
    for figure in figures:
        lines += [f"![{figure.stem}]({figure.name})", ""]
    path = out_dir / "report.md"
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))
    return path
