"""`kae-zoo site`: a static, self-contained results site (opens from file://, no server, no network).

Built from result files (runs, sweeps, a reproduction) and optionally an asv html folder:
- `index.html`: a leaderboard per task (families as rows, every scalar score as a column with its units and
  direction, mean ± std over seeds as `kae-zoo show` prints it, the number of finished seeds, the best value of
  each column marked), the reproduction table, links to the sweep pages and to the asv graphs;
- `pairs/*.html`: a page per (family, task) with its scores, its figures (the plot functions of `kae-zoo report`),
  its config and the provenance of every seed (version, git sha, machine, data fingerprint, ...);
- `sweeps/*.html`: a page per sweep file with its table and figures.

Pages are rendered from Jinja2 templates (`templates/`), with autoescaping; the small stylesheet and script live in
`static/`. Everything is readable with JavaScript off; the script only sorts and filters the leaderboards. The site
is written in a temporary sibling folder and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Sequence

import numpy as np
import xarray as xr
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..core.provenance import PROVENANCE_FIELDS
from ..core.version import __version__
from ..families import FAMILIES, get_family
from ..store.results import is_reproduction, is_sweep, read_result_file
from .plots import plot_all, plot_sweep_figures
from .summary import format_mean_std, format_results, mean_std, pair_cells, scalar_names

ARROWS = {"higher": "↑", "lower": "↓", "none": ""}
VIEW_NAMES = {"layer_pair": "a base network's layer map", "autoencode": "autoencoding the inputs"}
MAX_COLOURS = 256  # PNGs are quantised to this palette: the reference site stays small


@dataclass
class Score:
    """One leaderboard cell: the text `kae-zoo show` prints, the mean (for sorting) and whether it is the best."""

    text: str
    mean: float
    n: int
    best: bool = False


@dataclass
class Column:
    name: str
    long_name: str
    units: str
    direction: str

    @property
    def arrow(self) -> str:
        return ARROWS.get(self.direction, "")


@dataclass
class Row:
    family: str
    source: str
    page: str
    finished: int
    cells: int
    scores: dict[str, Score] = field(default_factory=dict)


@dataclass
class Leaderboard:
    task: str
    view: str  # the data view its families train on: scores of different views are not comparable
    columns: list[Column]
    rows: list[Row]

    @property
    def label(self) -> str:
        return f"{self.task} ({VIEW_NAMES.get(self.view, self.view)})"


def slug(text: str) -> str:
    """A file-name-safe form of a family, task or file name (a `file:` task's name holds a path)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def _column(dataset: xr.Dataset, name: str) -> Column:
    attrs = dataset[name].attrs
    return Column(name, str(attrs.get("long_name", name)), str(attrs.get("units", "")),
                  str(attrs.get("direction", "none")))


def _mark_best(leaderboard: Leaderboard) -> None:
    """Mark the best mean of each column with a better side (ties: every row that reaches it)."""
    for column in leaderboard.columns:
        if column.direction not in ("higher", "lower"):
            continue
        means = [row.scores[column.name].mean for row in leaderboard.rows if column.name in row.scores]
        finite = [mean for mean in means if math.isfinite(mean)]
        if len(finite) < 2:  # one entry is not a contest
            continue
        best = max(finite) if column.direction == "higher" else min(finite)
        for row in leaderboard.rows:
            score = row.scores.get(column.name)
            if score is not None and score.mean == best:
                score.best = True


def data_view(family: str) -> str:
    """The data view a family trains on ("unknown" for a family not installed here)."""
    return get_family(family).data_view if family in FAMILIES else "unknown"


def leaderboards(runs: Sequence[tuple[str, xr.Dataset]]) -> list[Leaderboard]:
    """One leaderboard per (task, data view) over the run files (source name, Dataset): a row per (family, file)
    that ran. Families of two views of one task (e.g. koopman's layer map and attractor's autoencoder on digits)
    predict different targets, so their state errors are not ranked against each other."""
    by_task: dict[tuple[str, str], Leaderboard] = {}
    for source, dataset in runs:
        names = scalar_names(dataset)
        for family, task, cell in pair_cells(dataset):
            status = np.asarray(cell["status"].values)
            if np.all(status == "missing"):
                continue
            view = data_view(family)
            board = by_task.setdefault((task, view), Leaderboard(task, view, [], []))
            row = Row(family, source, pair_page(source, family, task), int(np.sum(status == "ok")),
                      int(np.sum(status != "missing")))
            for name in names:
                values = np.asarray(cell[name].values, dtype=float)
                if not np.isfinite(values).any():
                    continue
                if name not in {column.name for column in board.columns}:
                    board.columns.append(_column(dataset, name))
                row.scores[name] = Score(format_mean_std(values), mean_std(values)[0], int(np.isfinite(values).sum()))
            board.rows.append(row)
    for board in by_task.values():
        _mark_best(board)
    return list(by_task.values())


def pair_page(source: str, family: str, task: str) -> str:
    return f"pairs/{slug(source)}--{slug(family)}--{slug(task)}.html"


def _provenance_rows(cell: xr.Dataset) -> list[dict[str, str]]:
    rows = []
    for seed in cell["seed"].values:
        selected = cell.sel(seed=seed)
        if str(selected["status"].item()) == "missing":
            continue
        row = {"seed": str(int(seed)), "status": str(selected["status"].item()), "error": str(selected["error"].item())}
        for name in PROVENANCE_FIELDS:
            row[name] = str(selected[name].item()) if name in selected else ""
        rows.append(row)
    return rows


def _config_text(cell: xr.Dataset) -> str:
    """The family config the pair ran with, pretty-printed (one config per pair; the first finished seed's)."""
    for seed in cell["seed"].values:
        text = str(cell["family_config"].sel(seed=seed).item())
        if text:
            try:
                return json.dumps(json.loads(text), indent=2, sort_keys=True)
            except json.JSONDecodeError:
                return text
    return ""


def _compress(paths: Sequence[Path]) -> None:
    """Quantise each PNG to a palette of MAX_COLOURS colours (line plots lose nothing visible; a third the size)."""
    from PIL import Image

    for path in paths:
        with Image.open(path) as image:
            quantised = image.convert("RGB").quantize(colors=MAX_COLOURS)
        quantised.save(path, optimize=True)


def _environment() -> Environment:
    templates = files("kae_zoo.reporting") / "templates"
    return Environment(loader=FileSystemLoader(str(templates)), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def check_site_inputs(paths: Sequence[str | Path], out: str | Path, asv_html: str | Path | None,
                      overwrite: bool) -> list[tuple[str, xr.Dataset]]:
    """Read every input (ResultFileError / ValueError name the bad one) and check the output folder, before
    anything is written."""
    if not paths:
        raise ValueError("give at least one result file")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder for the site")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"--out {str(out)!r} is not empty; pass --overwrite to replace it")
    if asv_html is not None and not (Path(asv_html) / "index.html").is_file():
        raise ValueError(f"--asv {str(asv_html)!r} has no index.html; give the folder `asv publish` writes "
                         "(.asv/html)")
    datasets, names = [], set()
    for path in paths:
        name = Path(path).name
        if name in names:
            raise ValueError(f"two inputs are called {name!r}; give files with different names")
        names.add(name)
        datasets.append((name, read_result_file(path)))
    reproductions = [name for name, dataset in datasets if is_reproduction(dataset)]
    if len(reproductions) > 1:
        raise ValueError(f"give one reproduction at most, got {', '.join(reproductions)}")
    return datasets


def write_site(paths: Sequence[str | Path], out: str | Path, *, asv_html: str | Path | None = None,
               overwrite: bool = False, title: str = "kae-zoo results") -> Path:
    """Build the site of the result files `paths` into the folder `out` (module docstring); returns index.html."""
    datasets = check_site_inputs(paths, out, asv_html, overwrite)
    out = Path(out)
    temporary = out.parent / f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    temporary.mkdir(parents=True)
    try:
        _build(datasets, temporary, asv_html, title)
        if out.exists():
            shutil.rmtree(out)
        temporary.rename(out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return out / "index.html"


def _build(datasets: Sequence[tuple[str, xr.Dataset]], folder: Path, asv_html: str | Path | None,
           title: str) -> None:
    environment = _environment()
    runs = [(name, dataset) for name, dataset in datasets if not is_sweep(dataset) and not is_reproduction(dataset)]
    sweeps = [(name, dataset) for name, dataset in datasets if is_sweep(dataset)]
    reproduction = next((dataset for _, dataset in datasets if is_reproduction(dataset)), None)
    static = files("kae_zoo.reporting") / "static"
    (folder / "static").mkdir()
    for asset in ("site.css", "site.js"):
        (folder / "static" / asset).write_text((static / asset).read_text())
    common = {"title": title, "version": __version__, "directions": ARROWS}

    pair_pages = []
    for source, dataset in runs:
        names = scalar_names(dataset)
        for family, task, cell in pair_cells(dataset):
            if np.all(np.asarray(cell["status"].values) == "missing"):
                continue
            page = pair_page(source, family, task)
            figure_dir = folder / "figures" / Path(page).stem
            subset = dataset.sel(family=[family], task=[task])
            figures = plot_all(subset, figure_dir)
            _compress(figures)
            scores = [(_column(dataset, name), format_mean_std(np.asarray(cell[name].values, dtype=float)),
                       [_format_value(value) for value in np.asarray(cell[name].values, dtype=float)])
                      for name in names if np.isfinite(np.asarray(cell[name].values, dtype=float)).any()]
            html = environment.get_template("pair.html").render(
                **common, root="../", family=family, task=task, source=source, scores=scores,
                seeds=[str(int(seed)) for seed in cell["seed"].values],
                figures=[f"../{path.relative_to(folder).as_posix()}" for path in figures],
                config=_config_text(cell), provenance=_provenance_rows(cell),
                provenance_fields=PROVENANCE_FIELDS, split=str(cell["split_description"].values.ravel()[0]))
            (folder / page).parent.mkdir(exist_ok=True)
            (folder / page).write_text(html)
            pair_pages.append(page)

    sweep_pages = []
    for source, dataset in sweeps:
        page = f"sweeps/{slug(source)}.html"
        figures = plot_sweep_figures(dataset, folder / "figures" / f"sweep--{slug(source)}")
        _compress(figures)
        html = environment.get_template("sweep.html").render(
            **common, root="../", source=source, family=dataset.attrs["family"], task=dataset.attrs["task"],
            text=format_results(dataset), figures=[f"../{path.relative_to(folder).as_posix()}" for path in figures])
        (folder / page).parent.mkdir(exist_ok=True)
        (folder / page).write_text(html)
        sweep_pages.append({"page": page, "source": source, "family": dataset.attrs["family"],
                            "task": dataset.attrs["task"]})

    asv_link = None
    if asv_html is not None:
        shutil.copytree(asv_html, folder / "asv")
        asv_link = "asv/index.html"
    claims = []
    if reproduction is not None:
        for key in reproduction["claim"].values:
            claims.append({name: str(reproduction[name].sel(claim=key).item())
                           for name in ("source", "statement", "paper_value", "measured", "verdict", "rule",
                                        "departures")} | {"key": str(key)})
    sources = [{"name": name, "kind": "sweep" if is_sweep(dataset) else
                "reproduction" if is_reproduction(dataset) else "run",
                "git_sha": str(dataset.attrs.get("git_sha", "")), "created": str(dataset.attrs.get("created", "")),
                "version": str(dataset.attrs.get("kae_zoo_version", ""))} for name, dataset in datasets]
    html = environment.get_template("index.html").render(
        **common, root="", boards=leaderboards(runs), claims=claims, sweeps=sweep_pages, asv=asv_link,
        sources=sources, several_sources=len(runs) > 1, metric_help=_metric_help(runs))
    (folder / "index.html").write_text(html)


def _format_value(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"


def _metric_help(runs: Sequence[tuple[str, xr.Dataset]]) -> dict[str, str]:
    """Metric name -> its long name and definition version, for the column headers' tooltips."""
    help_text = {}
    for _, dataset in runs:
        for name in scalar_names(dataset):
            attrs = dataset[name].attrs
            version = attrs.get("definition_version", "")
            help_text[name] = f"{attrs.get('long_name', name)} (definition v{version}, split {attrs.get('split', '')})"
    return help_text
