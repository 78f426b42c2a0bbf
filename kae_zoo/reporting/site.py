"""`kae-zoo site`: a static, self-contained results site (opens from file://, no server, no network).

Built from result files (runs, sweeps, a reproduction) and optionally an asv html folder:
- `index.html`: a leaderboard per task and data view (families as rows, every scalar score as a column with its
  units, direction and split, mean ± std over seeds as `kae-zoo show` prints it, the number of finished seeds, the
  best mean of each ranked column marked, loss spikes flagged), the reproduction table, links to the sweep pages
  and to the asv graphs;
- `pairs/*.html`: a page per (family, task) with its scores, its small categorical curves as tables (OOD scores
  per method and set, the probe per basis), its training record, its figures (the plot functions of `kae-zoo
  report`), its config and the provenance of every seed (version, git sha, machine, data fingerprint, ...);
- `sweeps/*.html`: a page per sweep file with its table and figures;
- `asv.html`: with `--asv` (the folder `asv publish` writes), every benchmark's history as a static figure, and
  asv's own pages copied under `asv/` (they load their scripts from the internet and need `asv preview`).

Pages are rendered from Jinja2 templates (`templates/`), with autoescaping; the small stylesheet and script live in
`static/`. Everything is readable with JavaScript off; the script only sorts and filters the leaderboards. The site
is written in a temporary sibling folder and renamed into place, so a failure leaves nothing half-written; an
existing `--out` is replaced only when it is an earlier site (it holds `kae-zoo-site.json`) and holds none of the
inputs nor the working directory.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import secrets
import shutil
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Sequence

import numpy as np
import xarray as xr
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from PIL import Image  # matplotlib's own dependency

from ..core.provenance import PROVENANCE_FIELDS
from ..core.version import __version__
from ..families import FAMILIES, get_family
from ..store.results import is_reproduction, is_sweep, read_result_file
from .plots import plot_all, plot_asv_history, plot_sweep_figures, safe_file_name
from .summary import TRAINING_RECORD, format_mean_std, format_results, mean_std, pair_cells, scalar_names

ARROWS = {"higher": "↑", "lower": "↓", "none": ""}
MARKER = "kae-zoo-site.json"  # what makes a folder an earlier site that --overwrite may replace
CURVE_TABLE_MAX = 40  # categorical curves up to this many values (OOD AUROC per method and set, probe) get a table
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
    split: str = "test"
    version: str = ""

    @property
    def arrow(self) -> str:
        return ARROWS.get(self.direction, "")

    @property
    def shown_units(self) -> str:
        """The units under a header: none for a dimensionless score ("1" would read like a value)."""
        return "" if self.units == "1" else self.units

    @property
    def help(self) -> str:
        split = f", {self.split} split" if self.split else ""
        return f"{self.long_name} (definition v{self.version}{split})"


@dataclass
class Row:
    family: str
    source: str
    page: str
    finished: int
    cells: int
    scores: dict[str, Score] = field(default_factory=dict)
    spiked_seeds: list[str] = field(default_factory=list)  # seeds whose validation loss spiked after the best


@dataclass
class Leaderboard:
    task: str
    view: str  # the data view its families train on: scores of different views are not comparable
    columns: list[Column]
    rows: list[Row]

    @property
    def label(self) -> str:
        return f"{self.task} ({VIEW_NAMES.get(self.view, self.view)})"


def _column(dataset: xr.Dataset, name: str) -> Column:
    attrs = dataset[name].attrs
    return Column(name, str(attrs.get("long_name", name)), str(attrs.get("units", "")),
                  str(attrs.get("direction", "none")), str(attrs.get("split", "")),
                  str(attrs.get("definition_version", "")))


def _mark_best(leaderboard: Leaderboard) -> None:
    """Mark the best mean of each column with a better side (ties: every row that reaches it)."""
    for column in leaderboard.columns:
        if column.direction not in ("higher", "lower"):
            continue
        means = [row.scores[column.name].mean for row in leaderboard.rows if column.name in row.scores]
        finite = [mean for mean in means if math.isfinite(mean)]
        if len(finite) < 2 or len(set(finite)) == 1:  # one entry, or all tied (e.g. every run at a step cap)
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
                      int(np.sum(status != "missing")), spiked_seeds=_spiked_seeds(cell))
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


def _spiked_seeds(cell: xr.Dataset) -> list[str]:
    """The seeds whose validation loss rose above ten times its best after the scored epoch (`loss_spike`)."""
    if "loss_spike" not in cell:
        return []
    spikes = np.asarray(cell["loss_spike"].values, dtype=float) == 1
    return [str(int(seed)) for seed in cell["seed"].values[spikes]]


def _training_rows(cell: xr.Dataset) -> list[dict[str, str]]:
    """Per finished seed: the scored epoch, the epochs run and the spike ratio of its validation loss."""
    present = [name for name in TRAINING_RECORD if name in cell]
    rows = []
    for seed in cell["seed"].values:
        selected = cell.sel(seed=seed)
        if str(selected["status"].item()) != "ok":
            continue
        rows.append({"seed": str(int(seed)),
                     **{name: format_mean_std(np.array([selected[name].item()], dtype=float)) for name in present}})
    return rows


def _curve_tables(cell: xr.Dataset) -> list[dict]:
    """Small curves over categorical dims (OOD AUROC and FPR95 per method and set, the probe per basis) as tables
    of mean ± std over seeds, rows the first dim and columns the second (one column for a 1-D curve)."""
    tables = []
    for name in cell.data_vars:
        variable = cell[name]
        dims = [dim for dim in variable.dims if dim != "seed"]
        too_big = variable.size > CURVE_TABLE_MAX * cell.sizes.get("seed", 1)
        if "seed" not in variable.dims or not 1 <= len(dims) <= 2 or too_big:
            continue
        if not all(cell[dim].dtype.kind in "OUS" for dim in dims):  # numeric dims are curves for figures
            continue
        values = np.asarray(variable.transpose(*dims, "seed").values, dtype=float)
        if not np.isfinite(values).any():
            continue
        columns = [str(value) for value in cell[dims[1]].values] if len(dims) == 2 else [name]
        rows = []
        for index, label in enumerate(cell[dims[0]].values):
            line = values[index] if len(dims) == 2 else values[index][np.newaxis]
            rows.append({"label": str(label), "cells": [format_mean_std(seeds) for seeds in line]})
        column = _column(cell, name)
        tables.append({"name": name, "help": column.help, "units": column.units, "direction": column.direction,
                       "row_dim": dims[0], "columns": columns, "rows": rows})
    return tables


def pair_page(source: str, family: str, task: str) -> str:
    return f"pairs/{safe_file_name(source)}--{safe_file_name(family)}--{safe_file_name(task)}.html"


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
    """The family config the pair ran with, pretty-printed (one config per pair: the first seed's that has one)."""
    for seed in cell["seed"].values:
        text = str(cell["family_config"].sel(seed=seed).item())
        if text:
            try:
                return json.dumps(json.loads(text), indent=2, sort_keys=True)
            except json.JSONDecodeError:
                return text
    return ""


def _compress(paths: Sequence[Path]) -> None:
    """Quantise each PNG to a palette of MAX_COLOURS colours: line plots lose nothing visible, and the files shrink
    to about a third (koopman/yinyang's four figures of the default matrix: 222 kB -> 80 kB)."""
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
    given, out = str(out), Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {given!r} is a file; give a folder for the site")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ValueError(f"--out {given!r} is not empty; pass --overwrite to replace an earlier site")
        if not (out / MARKER).is_file():
            raise ValueError(f"--out {given!r} is not an earlier kae-zoo site (it has no {MARKER}); refusing to delete "
                             "it: give a new or empty folder")
    inside = [str(path) for path in [*paths, *([asv_html] if asv_html else []), Path.cwd()]
              if Path(path).resolve() == out or out in Path(path).resolve().parents]
    if inside:
        raise ValueError(f"--out {given!r} holds {inside[0]!r}, which building the site would delete; give another "
                         "folder")
    if asv_html is not None and not (Path(asv_html) / "index.json").is_file():
        raise ValueError(f"--asv {str(asv_html)!r} has no index.json; give the folder `asv publish` writes "
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
    given, out = str(out), Path(out).resolve()
    temporary = out.parent / f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        temporary.mkdir(parents=True)
        _build(datasets, temporary, asv_html, title)
        (temporary / MARKER).write_text(json.dumps({"kae_zoo_version": __version__, "title": title,
                                                     "inputs": [name for name, _ in datasets]}, indent=2))
        if out.exists():
            shutil.rmtree(out)  # an empty folder, or an earlier site (check_site_inputs)
        temporary.rename(out)
    except OSError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        raise ValueError(f"cannot write the site to --out {given!r}: {error.strerror or error}") from None
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
                       [format_mean_std(np.array([value])) for value in np.asarray(cell[name].values, dtype=float)])
                      for name in names if np.isfinite(np.asarray(cell[name].values, dtype=float)).any()]
            html = environment.get_template("pair.html").render(
                **common, root="../", family=family, task=task, source=source, scores=scores,
                seeds=[str(int(seed)) for seed in cell["seed"].values],
                figures=[f"../{path.relative_to(folder).as_posix()}" for path in figures],
                config=_config_text(cell), provenance=_provenance_rows(cell),
                provenance_fields=PROVENANCE_FIELDS, split=str(cell["split_description"].values.ravel()[0]),
                training=_training_rows(cell), training_fields=[name for name in TRAINING_RECORD if name in cell],
                spiked=_spiked_seeds(cell), curve_tables=_curve_tables(cell))
            (folder / page).parent.mkdir(exist_ok=True)
            (folder / page).write_text(html)
            pair_pages.append(page)

    sweep_pages = []
    for source, dataset in sweeps:
        page = f"sweeps/{safe_file_name(source)}.html"
        figures = plot_sweep_figures(dataset, folder / "figures" / f"sweep--{safe_file_name(source)}")
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
        graphs = asv_graphs(Path(asv_html), folder / "figures" / "asv")
        (folder / "asv.html").write_text(environment.get_template("asv.html").render(
            **common, root="", graphs=[{**graph, "figure": graph["figure"].relative_to(folder).as_posix()}
                                       for graph in graphs]))
        asv_link = "asv.html"
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
        sources=sources, several_sources=len(runs) > 1)
    (folder / "index.html").write_text(html)


def asv_graphs(asv_html: Path, out_dir: Path) -> list[dict]:
    """Every benchmark's history in an `asv publish` folder as a static figure: [{name, unit, figure}].

    Reads asv's index.json (benchmarks, their parameters, revision -> commit) and the per-machine graph files
    (`graphs/<machine params>/<benchmark>.json`: [[revision, value or one value per parameter combination], ...])."""
    index = json.loads((asv_html / "index.json").read_text())
    hashes = {int(revision): sha[:8] for revision, sha in index.get("revision_to_hash", {}).items()}
    graphs = []
    for name, benchmark in sorted(index.get("benchmarks", {}).items()):
        labels = [", ".join(value.strip("'") for value in combination)
                  for combination in itertools.product(*benchmark.get("params", []))] or [name.rsplit(".", 1)[-1]]
        for path in sorted(asv_html.glob(f"graphs/**/{name}.json")):
            if "summary" in path.relative_to(asv_html).parts:
                continue
            points = json.loads(path.read_text())
            if not points:
                continue
            revisions = [int(revision) for revision, _ in points]
            values = np.array([[np.nan if value is None else value for value in
                                (entry if isinstance(entry, list) else [entry])] for _, entry in points], dtype=float)
            machine = "/".join(path.relative_to(asv_html / "graphs").parts[:-1])
            figure = plot_asv_history(revisions, [hashes.get(revision, str(revision)) for revision in revisions],
                                      values, labels, title=name, unit=str(benchmark.get("unit", "")),
                                      out_dir=out_dir, filename=f"{name}--{machine}.png")  # _save makes it safe
            graphs.append({"name": name, "unit": str(benchmark.get("unit", "")), "machine": machine,
                           "figure": figure})
    _compress([graph["figure"] for graph in graphs])
    return graphs
