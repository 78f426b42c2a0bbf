"""Markdown reports with their figures embedded: `kae-zoo report` of a result file (a run or a sweep), and the
paper-vs-measured report of `kae-zoo reproduce`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

import xarray as xr

from ..core.atomic import atomic_path
from ..store.results import is_sweep
from .plots import plot_all, plot_sweep_figures
from .summary import format_reproduction, format_results, select_results

# What a reader must know to read a figure honestly, by the start of its file name (longest match first).
CAPTIONS = {
    "accuracy": "Points (mean over seeds) with ±std bars and each seed as a dot; the y axis does not start at 0 "
                "(its start is in the y label), so read the gaps off the axis, not off the points' heights.",
    "betti": "Each row has its own x axis: trajectory time t (Koopman; the base network's layers on the top axis, "
             "t = 0 its input, t = 1 its output) or iterations of the latent map f (attractor).",
    "ood_roc": "One panel per OOD set; chance is the dotted diagonal.",
    "ood": "Bars: mean AUROC over seeds, whiskers: min-max; chance at 0.5 (dotted).",
    "spectrum": "One colour per seed, one marker per family; the unit circle in grey.",
    "memorization_sweep": "Scores told apart by marker and line style (memorization: large filled circles under "
                          "the smaller hollow markers of noise_memorization, so both show where they are equal); "
                          "a score NaN on a degenerate cell (see the text above) is left out.",
}


def caption(stem: str) -> str:
    """The caption of the figure file `stem` ("" when it has none)."""
    for prefix in sorted(CAPTIONS, key=len, reverse=True):
        if stem.startswith(prefix):
            return CAPTIONS[prefix]
    return ""


def write_report(dataset: xr.Dataset, out_dir: str | Path, source: str = "") -> Path:
    """Write every figure and `report.md` (the `kae-zoo show` text plus the figures) under `out_dir`; a sweep
    file gets the sweep figures, and its text carries the rank correlations."""
    out_dir = Path(out_dir)
    dataset = select_results(dataset)  # a run's baselines beside their paper family, in the figures too
    figures = plot_sweep_figures(dataset, out_dir) if is_sweep(dataset) else plot_all(dataset, out_dir)
    kind = "sweep" if is_sweep(dataset) else "results"
    lines = [f"# kae-zoo {kind}{f': {source}' if source else ''}", ""]
    lines += ["```", format_results(dataset), "```", ""]
    for figure in figures:
        lines += [f"![{figure.stem}]({figure.name})", ""]
        if caption(figure.stem):
            lines += [f"*{caption(figure.stem)}*", ""]
    path = out_dir / "report.md"
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))
    return path


def _cell(text: object) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_reproduction_report(dataset: xr.Dataset, out_dir: str | Path,
                              figures: Mapping[str, Sequence[Path]]) -> Path:
    """Write `reproduction.md` under `out_dir`: the claims table, then per claim its rule, the numbers behind the
    verdict and the conditions, then each experiment's figures (`figures`: experiment -> PNG paths)."""
    out_dir = Path(out_dir)
    config = json.loads(dataset.attrs["config"])
    threads = "/".join(sorted({str(spec["threads"]) for spec in config["experiments"].values()}))
    lines = [f"# kae-zoo reproduction (preset {dataset.attrs['preset']})", "",
             f"kae-zoo {dataset.attrs['kae_zoo_version']} (git {dataset.attrs['git_sha']}), torch "
             f"{dataset.attrs['torch_version']}, device {dataset.attrs['device']}, {config['workers']} worker "
             f"process(es) with {threads} torch thread(s) each; experiments ran "
             f"{config['wall_seconds'] / 60:.1f} min"
             + (f" (reused from an earlier run: {', '.join(config['reused'])})" if config["reused"] else "")
             + f"; written {dataset.attrs['created']}.", "",
             "Accuracies and OOD scores are on each task's held-out test split; mean +- std is over seeds "
             "(sample std, ddof 1; one seed has none). Verdicts: holds / holds partly / does not hold / "
             "not run; each rule was fixed before the runs (kae_zoo/claims.py).", ""]
    if dataset.attrs["preset"] == "smoke":
        lines += ["**Smoke preset: tiny models checking the pipeline; these verdicts say nothing about the papers.**",
                  ""]
    lines += ["| claim | paper | measured | verdict | departs from the paper |", "|---|---|---|---|---|"]
    for key in dataset["claim"].values:
        row = dataset.sel(claim=key)
        lines.append(f"| {_cell(row['statement'].item())} (`{key}`) | {_cell(row['paper_value'].item())} | "
                     f"{_cell(row['measured'].item())} | **{row['verdict'].item()}** | "
                     f"{_cell(row['departures'].item())} |")
    lines += ["", "## Claims", ""]
    for key in dataset["claim"].values:
        row = dataset.sel(claim=key)
        lines += [f"### `{key}`: {row['verdict'].item()}", "",
                  f"- claim ({row['source'].item()}): {row['statement'].item()}; paper: {row['paper_value'].item()}",
                  f"- measured: {row['measured'].item()}",
                  f"- numbers: {row['detail'].item()}",
                  f"- rule: {row['rule'].item()}",
                  f"- conditions: {row['conditions'].item()}",
                  "- result files: " + ", ".join(f"runs/{name.strip()}.nc"
                                                 for name in row["experiments"].item().split(",")),
                  ""]
    lines += ["## Experiments", ""]
    for name, spec in config["experiments"].items():
        took = config["experiment_seconds"].get(name)
        lines.append(f"- `runs/{name}.nc`: preset {spec['preset']}, seeds {spec['seeds']}"
                     + (f", {took / 60:.1f} min" if took is not None else ", reused" if name in config["reused"]
                        else ", did not finish") + f". {config['conditions'][name]}")
    lines += ["", "## Figures", ""]
    for experiment, paths in figures.items():
        if paths:
            lines += [f"### {experiment}", ""]
            lines += [f"![{path.stem}]({path.relative_to(out_dir).as_posix()})" for path in paths]
            lines.append("")
    lines += ["## Plain table", "", "```", format_reproduction(dataset), "```", ""]
    path = out_dir / "reproduction.md"
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))
    return path
