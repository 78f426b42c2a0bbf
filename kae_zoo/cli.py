"""`kae-zoo`: a thin command line over the library (list, run, sweep, reproduce, compare, show, report, check,
cache, bench).

Bad input gets one line on stderr and exit code 2, before anything is written; a run with a failed cell exits 3;
compare exits 1 when a metric regressed, check when a conformance check failed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import sys
import textwrap
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NoReturn, Sequence

from .core.cache import cache_root, clear_cache, format_listing, format_size, list_cache
from .core.config import PRECISIONS, PRESETS
from .core.logs import NORMAL, QUIET, VERBOSE, configure_logging
from .core.registry import UnknownNameError, did_you_mean
from .core.version import __version__
from .experiments.executors import EXECUTORS, check_executor
from .reporting import DEFAULT_ALPHA, DEFAULT_TOLERANCE, FORMATS
from .store.errors import ResultFileError

if TYPE_CHECKING:
    from .experiments.runner import RunSpec
    from .experiments.sweep import SweepSpec

# Only the standard library and light kae_zoo modules are imported at the top: `kae-zoo --help` starts without
# torch, xarray, matplotlib or Dask (benches/asv/startup.py times it, tests/test_cli.py checks it). Each
# command imports what it needs when it runs.
EXIT_REGRESSED, EXIT_USAGE, EXIT_CELL_FAILED = 1, 2, 3


class UsageError(Exception):
    """A bad command-line value; reported as one line with exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage dump) with exit code 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog if self.prog == "kae-zoo" else f"kae-zoo {self.prog.split()[-1]}"
        self.exit(EXIT_USAGE, f"kae-zoo: error: {message} (see {command} --help)\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A value outside an option's choices (a command, --preset, --named, --executor, ...) names the closest."""
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(map(repr, action.choices))
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}; {did_you_mean(value, action.choices)}"
                                                 f"choose from {choices}")


def split_values(values: Sequence[str] | None) -> list[str]:
    """Repeatable, comma-separated option values -> one flat list ("a,b" "c" -> a, b, c)."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def parse_seeds(values: Sequence[str]) -> tuple[int, ...]:
    seeds = []
    for value in split_values(values):
        if not value.isdigit():
            raise UsageError(f"--seed {value!r} is not a non-negative integer")
        seeds.append(int(value))
    return tuple(seeds)


def _parse_value(raw: str) -> Any:
    """A command-line VALUE: JSON (numbers, true/false, lists), else the string itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _split_assignment(option: str, item: str, example: str) -> tuple[str, str, str]:
    """FAMILY.FIELD=VALUE -> (family, field, raw value text)."""
    key, separator, raw = item.partition("=")
    family, dot, field = key.partition(".")
    if not separator or not dot or not family or not field:
        raise UsageError(f"{option} {item!r} is not of the form FAMILY.FIELD=VALUE (e.g. {example})")
    return family, field, raw


def parse_overrides(values: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """--set FAMILY.FIELD=VALUE (VALUE as JSON, else a string) -> {family: {field: value}}."""
    overrides: dict[str, dict[str, Any]] = {}
    for item in values or []:
        family, field, raw = _split_assignment("--set", item, "koopman.n_epochs=5")
        overrides.setdefault(family, {})[field] = _parse_value(raw)
    return overrides


def parse_axes(values: Sequence[str] | None) -> dict[str, dict[str, tuple[Any, ...]]]:
    """--axis FAMILY.FIELD=V1,V2,... (each value as JSON, else a string) -> {family: {field: (values...)}}."""
    axes: dict[str, dict[str, tuple[Any, ...]]] = {}
    for item in values or []:
        family, field, raw = _split_assignment("--axis", item, "attractor.latent_dim=4,16,64")
        parts = [part.strip() for part in raw.split(",")]
        if not all(parts):
            raise UsageError(f"--axis {item!r} needs comma-separated values without empty ones")
        if field in axes.get(family, {}):
            raise UsageError(f"--axis names {family}.{field} twice; give all its values in one --axis")
        axes.setdefault(family, {})[field] = tuple(_parse_value(part) for part in parts)
    return axes


def check_out_file(value: str) -> Path:
    """--out of run and sweep: a .nc file path, not a folder."""
    out = Path(value)
    if out.suffix != ".nc":
        raise UsageError(f"--out {value!r} must be a .nc file")
    if out.exists() and out.is_dir():
        raise UsageError(f"--out {value!r} is a directory; give a .nc file path")
    return out


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="kae-zoo", description="Benchmark sparse and operator-space autoencoder surrogates.")
    parser.add_argument("--version", action="version", version=f"kae-zoo {__version__}")
    add_verbosity_arguments(parser, default=False)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    commands.add_parser("list", help="list families, tasks (and which family runs on which), metrics, scorers, "
                                      "presets and claims")
    check = commands.add_parser("check", help="run the conformance check (kae_zoo.testing.check_family) on a family")
    check.add_argument("family", help="a registered family: built-in, or a plugin installed with pip")
    check.add_argument("--set", action="append", metavar="FAMILY.FIELD=VALUE",
                       help="check it at another setting of a config field (repeatable)")
    new_family = commands.add_parser("new-family", help="write a working plugin package for a new surrogate family")
    new_family.add_argument("name", help="the family's name (lower-case letters, digits, '_'; also its module name)")
    new_family.add_argument("--out", default=None, help="folder to create (default: ./kae-zoo-NAME, with dashes)")

    run = commands.add_parser("run", help="train and score families x tasks x seeds, or a matrix file")
    run.add_argument("--matrix", help="a matrix file (TOML, e.g. benches/matrix/smoke.toml) instead of --family, "
                                      "--task, --seed, --preset and --set")
    run.add_argument("--family", action="append", help="family name(s); repeat or comma-separate")
    run.add_argument("--task", action="append",
                     help="task name(s), or file:PATH.npz for your own arrays; repeat or comma-separate")
    run.add_argument("--seed", action="append", default=None, help="seed(s); repeat or comma-separate (default 0)")
    run.add_argument("--preset", default=None, choices=PRESETS, help="default: default")
    run.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    run.add_argument("--threads", type=int, default=1,
                     help="torch and BLAS CPU threads (default 1: fastest for the small default models, and the same "
                          "numbers on every machine; raise it for MNIST-sized models)")
    run.add_argument("--precision", default="fp32", choices=PRECISIONS,
                     help="fp32 (default: reproducible everywhere), tf32 (CUDA matmuls in TensorFloat-32) or bf16 "
                          "(autocast for training and the timed forward pass); other scores are computed in fp32")
    run.add_argument("--compile", action="store_true", help="torch.compile every model (in place)")
    run.add_argument("--save-models", default="", metavar="DIR",
                     help="save every trained model to DIR/FAMILY_TASK_SEED.pt (load with kae_zoo.load)")
    run.add_argument("--set", action="append", metavar="FAMILY.FIELD=VALUE", help="override a family config field")
    run.add_argument("--out", required=True, help="result file to write (.nc); rewritten after every finished cell, "
                                                   "and a rerun keeps the finished cells it already holds")
    run.add_argument("--overwrite", action="store_true",
                     help="replace --out with this run's cells alone: every cell runs again, and the cells --out holds "
                          "outside this run are dropped (default: kept)")
    add_executor_arguments(run, "cells")

    sweep = commands.add_parser("sweep", help="run one family on one task over the product of config-field axes x "
                                              "seeds")
    sweep.add_argument("--family", help="the family (one)")
    sweep.add_argument("--task", help="the task (one)")
    sweep.add_argument("--seed", action="append", default=None, help="seed(s); repeat or comma-separate (default 0)")
    sweep.add_argument("--axis", action="append", metavar="FAMILY.FIELD=V1,V2,...",
                       help="a swept config field and its values; repeat for more axes (the sweep is their product)")
    sweep.add_argument("--set", action="append", metavar="FAMILY.FIELD=VALUE", help="fix a family config field")
    sweep.add_argument("--preset", default=None, choices=PRESETS, help="default: default")
    sweep.add_argument("--named", metavar="NAME",
                       help="a predefined sweep (memorization: attractor on digits, latent_dim 4,16,64 x "
                            "n_train_samples 150,300,600,0 x seeds 0,1,2); replaces --family, --task, --seed, "
                            "--axis and --set (--preset smoke tries its design at smoke sizes)")
    sweep.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    sweep.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as for run)")
    sweep.add_argument("--out", required=True, help="sweep file to write (.nc)")
    sweep.add_argument("--overwrite", action="store_true", help="run every point again, even those --out holds")
    add_executor_arguments(sweep, "points")

    reproduce = commands.add_parser("reproduce", help="run the experiment behind every published claim and write a "
                                                      "paper-vs-measured report (reproduction.md, reproduction.nc)")
    reproduce.add_argument("--preset", default="default", choices=PRESETS,
                           help="default: fits 30 min on 2 CPU cores, with fewer seeds and MNIST epochs (each row "
                                "says so); paper: the papers' settings (hours on a CPU); smoke: pipeline check only")
    reproduce.add_argument("--out", required=True,
                           help="folder for reproduction.md, reproduction.nc, runs/ and figures/")
    reproduce.add_argument("--claim", action="append", default=None,
                           help="only these claims (repeat or comma-separate; default: all, see kae-zoo list)")
    reproduce.add_argument("--workers", type=int, default=None,
                           help="experiments run side by side in this many processes, one torch thread each "
                                "(default: one per CPU core)")
    reproduce.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    reproduce.add_argument("--overwrite", action="store_true",
                           help="rerun experiments whose result files in --out/runs already match the plan")

    compare = commands.add_parser("compare", help="compare a new run result file with a reference; exit 1 when a "
                                                  "metric regressed beyond the tolerance and the seed noise")
    compare.add_argument("reference", help="the reference run file (e.g. results/reference/default.nc)")
    compare.add_argument("new", help="the new run file")
    compare.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                         help=f"allowed change for the worse, relative to the reference (default {DEFAULT_TOLERANCE})")
    compare.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                         help="with >= 2 seeds a side, a change beyond the tolerance regresses only when Welch's "
                              f"one-sided p is below this (default {DEFAULT_ALPHA})")
    compare.add_argument("--require-all", action="store_true",
                         help="a (family, task) of the reference that the new file did not run is a regression "
                              "(default: listed as missing)")
    compare.add_argument("--timings", action="store_true",
                         help="also compare the wall-clock metrics (seconds, throughput)")
    add_table_arguments(compare, "compared (they alone decide the exit code)")

    show = commands.add_parser("show", help="print the table of a result or sweep file")
    show.add_argument("file", help="a file written by kae-zoo run, sweep or reproduce")
    add_table_arguments(show, "the metric tables' columns")

    report = commands.add_parser("report", help="write PNG figures and a Markdown summary of a result or sweep file")
    report.add_argument("file", help="a file written by kae-zoo run or kae-zoo sweep (a reproduction has its report)")
    report.add_argument("--out", required=True, help="folder for report.md and the figures")

    site = commands.add_parser("site", help="build a static results site (leaderboards, a page per family and task, "
                                            "the reproduction, asv graphs) that opens from file://")
    site.add_argument("files", nargs="+", metavar="FILE",
                      help="result files: runs, sweeps and at most one reproduction (repro/reproduction.nc)")
    site.add_argument("--out", required=True, help="folder for the site (index.html); must be new or empty")
    site.add_argument("--asv", default=None, metavar="DIR", help="an `asv publish` folder (.asv/html) to link")
    site.add_argument("--title", default="kae-zoo results", help="the site's title")
    site.add_argument("--overwrite", action="store_true", help="replace --out when it holds files")

    cache = commands.add_parser("cache", help="list or clear the cache of trained base networks (shared by every "
                                              "working directory; $KAE_ZOO_CACHE moves it)")
    cache.add_argument("action", choices=("list", "clear"), help="list: each file, its size and what it is; clear: "
                                                                 "delete them (they are trained again when needed)")
    cache.add_argument("--match", default=None, metavar="GLOB",
                       help="only the files whose name matches, e.g. 'base_mnist_*'")
    bench = commands.add_parser("bench", help="a cost table: parameters, peak memory, forward and forward+backward "
                                              "time per sample of every family at its default size, eager and "
                                              "compiled, fp32 and bf16")
    bench.add_argument("--family", "--families", dest="family", action="append",
                       help="only these families; repeat or comma-separate (default: every registered family)")
    bench.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    bench.add_argument("--precision", action="append", metavar="NAME[,NAME]",
                       help=f"precisions, repeat or comma-separate: {', '.join(PRECISIONS)} (tf32 on CUDA only; "
                            "default fp32,bf16)")
    bench.add_argument("--mode", "--modes", dest="mode", action="append", metavar="NAME[,NAME]",
                       help="eager and/or compiled (torch.compile, as run --compile); default eager,compiled")
    bench.add_argument("--batch-size", type=int, default=256, help="samples per timed call (default 256)")
    bench.add_argument("--repeats", type=int, default=10,
                       help="timed calls per measure, after 2 warm-up calls; the median is reported (default 10)")
    bench.add_argument("--threads", type=int, default=1, help="torch and BLAS CPU threads (default 1, as for run)")
    bench.add_argument("--format", default="markdown", choices=("markdown", "csv", "json"),
                       help="markdown (default: a caption and a GitHub table), csv or json (with the environment)")
    bench.add_argument("--out", default=None, metavar="PATH",
                       help="write the table to PATH (atomically) instead of printing it")
    for subcommand in commands.choices.values():  # -q/-v after the subcommand too (kae-zoo run ... -q)
        add_verbosity_arguments(subcommand, default=argparse.SUPPRESS)
    return parser


def add_verbosity_arguments(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """-q/--quiet and -v/--verbose; on subcommands with default SUPPRESS, so either place works."""
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="warnings and errors only (and what a rerun kept): no progress bars or per-cell lines")
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="debug detail (every validation check, Dask's own log lines)")


def add_executor_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """--executor, --workers and --scheduler (`kae_zoo.experiments.executors`), for run and sweep."""
    parser.add_argument("--executor", default="local", choices=EXECUTORS,
                        help=f"local: {what} one after another in this process; process: {what} in --workers processes "
                             f"(default one per CPU); dask: {what} on a Dask cluster")
    parser.add_argument("--workers", type=int, default=None,
                        help="with --executor process or dask: this many worker processes (one thread each)")
    parser.add_argument("--scheduler", default=None, metavar="ADDR",
                        help="with --executor dask: an existing cluster's scheduler, e.g. tcp://HOST:8786")


LIST_WIDTH = 120  # columns `kae-zoo list` keeps every line within
# what each data view is, for the grid's legend (kae_zoo.core.types.DataView)
VIEW_MEANINGS = {"layer_pair": "a base network's layer i -> layer j states", "autoencode": "the task's own inputs"}


def described(rows: Sequence[tuple[str, str]]) -> list[str]:
    """'  name  text' lines with the texts aligned after the longest name and wrapped within LIST_WIDTH columns."""
    pad = max((len(name) for name, _ in rows), default=0) + 2
    lines = []
    for name, text in rows:
        lines += textwrap.wrap(text, LIST_WIDTH, initial_indent=f"  {name:<{pad}}", subsequent_indent=" " * (pad + 2),
                               break_on_hyphens=False) or [f"  {name}"]
    return lines


def family_line(family: type) -> str:
    """A family's line in `kae-zoo list`: its docstring's first line, and the paper family it is a baseline for."""
    line = family.__doc__.strip().splitlines()[0]
    return f"{line} [baseline for {family.baseline_for}]" if family.baseline_for else line


def runs_where(families: Sequence[str], tasks: Sequence[tuple[str, type]]) -> list[str]:
    """The task x family grid of `kae-zoo list`: "yes" where the family can run on the task, else the one word the
    runner refuses it for (`missing_view`: the data view the family trains on that the task lacks). Family columns
    that would overrun LIST_WIDTH continue in a further block of the same rows."""
    from .core.types import missing_view
    from .families import get_family

    classes = {family: get_family(family) for family in families}
    cells = {(task, family): missing_view(classes[family].data_view, task_class.views) or "yes"
             for task, task_class in tasks for family in families}
    label_width = max(len(task) for task, _ in tasks) + 2
    widths = {family: max(len(family), *(len(cells[task, family]) for task, _ in tasks)) + 2 for family in families}
    blocks: list[list[str]] = [[]]
    for family in families:
        if blocks[-1] and 2 + label_width + sum(widths[f] for f in blocks[-1]) + widths[family] > LIST_WIDTH:
            blocks.append([])
        blocks[-1].append(family)
    lines = []
    for block in blocks:
        lines.append("  " + " " * label_width + "".join(f"{family:<{widths[family]}}" for family in block).rstrip())
        lines += ["  " + f"{task:<{label_width}}" + "".join(f"{cells[task, family]:<{widths[family]}}"
                                                             for family in block).rstrip() for task, _ in tasks]
    missing = sorted({cell for cell in cells.values() if cell != "yes"})
    legend = "; ".join(f"{view} = it trains on {VIEW_MEANINGS.get(view, f'the {view} view')}, which the task lacks"
                       for view in missing)
    return lines + (textwrap.wrap(f"(yes: the family runs on the task; {legend})", LIST_WIDTH, initial_indent="  ",
                                  subsequent_indent="  ") if legend else [])


def add_table_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """--format, --metrics, --family and --task of show and compare (`kae_zoo.reporting.export`)."""
    parser.add_argument("--format", default="table", choices=FORMATS,
                        help="table (default: the terminal text, tables fit 120 columns), markdown (GitHub tables), "
                             "csv or json (one row per family and task, or sweep point: mean, std, n per metric)")
    parser.add_argument("--metrics", action="append", metavar="NAME[,NAME]",
                        help=f"only these metrics, {what}; repeat or comma-separate (default: all)")
    parser.add_argument("--family", action="append", help="only these families; repeat or comma-separate")
    parser.add_argument("--task", action="append", help="only these tasks; repeat or comma-separate")


def command_show(args: argparse.Namespace) -> int:
    from .reporting.export import render
    from .reporting.summary import format_results, metric_table, result_sections, select_results
    from .store.results import is_reproduction, read_result_file

    dataset = read_result_file(args.file)
    metrics, families, tasks = split_values(args.metrics), split_values(args.family), split_values(args.task)
    if is_reproduction(dataset):
        given = [option for option, value in (("--metrics", metrics), ("--family", families), ("--task", tasks))
                 if value] + (["--format"] if args.format != "table" else [])
        if given:
            raise UsageError(f"{given[0]} does not apply to a reproduction file (its report is reproduction.md)")
        print(format_results(dataset))
        return 0
    try:
        dataset = select_results(dataset, families=families, tasks=tasks)
        table = metric_table(dataset, metrics)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.format == "table":
        print("\n\n".join(text for _, text in result_sections(dataset, table)))
    else:
        print(render(dataset, table, args.format))
    return 0


def command_list() -> str:
    """Every family, task, metric, scorer, preset and claim, with which family runs on which task."""
    from .families import get_family, list_families
    from .metrics import get_metric, list_metrics
    from .paper.claims import CLAIMS
    from .scoring import get_scorer, list_scorers
    from .tasks import get_task, list_tasks
    from .tasks.array_file import ArrayFileTask

    scorers = list_scorers()  # first: loading scorer plugins registers their metrics
    families = list_families()
    lines = ["families:"]
    lines += described([(name, family_line(get_family(name))) for name in families])
    lines.append("tasks:")
    lines += described([(name, get_task(name).description) for name in list_tasks()] + [
        ("file:PATH.npz", "your own arrays: features (n, d), integer labels (n,), optional split (0/1/2 = "
                          "train/val/test); README section 'Your own data'")])
    lines.append("which family runs on which task (kae-zoo run refuses the others before it starts):")
    lines += runs_where(families, [(name, get_task(name)) for name in list_tasks()] + [("file:PATH.npz",
                                                                                        ArrayFileTask)])
    lines.append("metrics:")
    rows = []
    for name in list_metrics():
        spec = get_metric(name)
        direction = {"higher": "higher is better", "lower": "lower is better", "none": "no better side"}[
            spec.direction]
        kind = "setting" if spec.role == "setting" else f"{direction}, definition v{spec.version}"
        dims = f" [{', '.join(spec.dims)}]" if spec.dims else ""
        rows.append((name, f"{spec.long_name} ({spec.units}, {kind}){dims}"))
    lines += described(rows)
    lines.append("scorers (each runs on the cells whose task and model offer what it needs):")
    rows = []
    for name in scorers:
        scorer = get_scorer(name)
        needs = sorted(scorer.task_needs) + sorted(f"model: {need}" for need in scorer.model_needs)
        rows.append((name, f"{scorer.description or name} (needs: {', '.join(needs) or 'nothing'}; "
                           f"writes: {', '.join(spec.name for spec in scorer.metrics)})"))
    lines += described(rows)
    lines.append("presets: " + ", ".join(PRESETS))
    lines.append("claims (kae-zoo reproduce):")
    lines += described([(claim.key, claim.statement) for claim in CLAIMS])
    return "\n".join(lines)


def run_spec(args: argparse.Namespace) -> RunSpec:
    """The validated RunSpec of `kae-zoo run`'s arguments: a matrix file, or --family, --task, --seed, ..."""
    from .experiments.matrix import load_matrix
    from .experiments.runner import RunSpec

    if args.matrix:
        given = [option for option, value in (("--family", args.family), ("--task", args.task), ("--seed", args.seed),
                                              ("--preset", args.preset), ("--set", args.set)) if value is not None]
        if given:
            raise UsageError(f"--matrix {args.matrix} fixes the whole matrix; drop {given[0]}")
        try:
            return load_matrix(args.matrix, args.device, args.threads, precision=args.precision,
                               compile=args.compile, save_models=args.save_models)
        except ValueError as error:
            raise UsageError(str(error)) from None
    if not args.family or not args.task:
        raise UsageError("kae-zoo run needs --family and --task (or --matrix FILE)")
    spec = RunSpec(
        families=tuple(split_values(args.family)),
        tasks=tuple(split_values(args.task)),
        seeds=parse_seeds(args.seed or ["0"]),
        preset=args.preset or "default",
        device=args.device,
        threads=args.threads,
        overrides=parse_overrides(args.set),
        precision=args.precision,
        compile=args.compile,
        save_models=args.save_models,
    )
    unknown_overrides = sorted(set(spec.overrides) - set(spec.families))
    if unknown_overrides:
        raise UsageError(f"--set names family {unknown_overrides[0]!r}, which is not in this run's --family list")
    try:
        spec.validate()
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None
    return spec


def command_run(args: argparse.Namespace) -> int:
    from .experiments.runner import run_matrix
    from .reporting.summary import format_results
    from .store.results import read_result_file

    out = check_out_file(args.out)
    spec = run_spec(args)
    try:
        check_executor(args.executor, args.workers, args.scheduler)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        results = run_matrix(spec, out=out, progress=not args.quiet, overwrite=args.overwrite,
                             executor=args.executor, workers=args.workers, scheduler=args.scheduler)
    except ValueError as error:  # --out is no run file, or another run holds it (cells catch their own errors)
        raise UsageError(str(error)) from None
    print(format_results(read_result_file(out)))
    return EXIT_CELL_FAILED if any(cell.status != "ok" for cell in results) else 0


def sweep_spec(args: argparse.Namespace) -> SweepSpec:
    """The SweepSpec of `kae-zoo sweep`'s arguments: a named sweep, or --family, --task, --axis, ... (unvalidated)."""
    from .experiments.sweep import NAMED_SWEEPS, SweepSpec

    design = {"--family": args.family, "--task": args.task, "--seed": args.seed, "--axis": args.axis,
              "--set": args.set}
    if args.named:
        given = [option for option, value in design.items() if value is not None]
        if given:
            raise UsageError(f"--named {args.named} fixes the sweep's design; drop {given[0]} (--preset, --device and "
                             "--threads may change)")
        if args.named not in NAMED_SWEEPS:
            raise UsageError(f"--named {args.named!r} is not a named sweep; {did_you_mean(args.named, NAMED_SWEEPS)}"
                             f"valid: {', '.join(sorted(NAMED_SWEEPS))}")
        named = NAMED_SWEEPS[args.named]
        return dataclasses.replace(named, preset=args.preset or named.preset, device=args.device, threads=args.threads)
    families, tasks = split_values([args.family] if args.family else []), split_values([args.task] if args.task else [])
    if len(families) != 1 or len(tasks) != 1:
        raise UsageError(f"a sweep takes one --family and one --task (or --named), got {families or 'none'} and "
                         f"{tasks or 'none'}")
    family = families[0]
    axes, overrides = parse_axes(args.axis), parse_overrides(args.set)
    if not axes:
        raise UsageError("a sweep needs at least one --axis FAMILY.FIELD=V1,V2,... (or --named)")
    for option, named in (("--axis", axes), ("--set", overrides)):
        other = sorted(set(named) - {family})
        if other:
            raise UsageError(f"{option} names family {other[0]!r}, but the sweep's --family is {family!r}")
    return SweepSpec(family, tasks[0], parse_seeds(args.seed or ["0"]), axes.get(family, {}),
                     args.preset or "default", overrides.get(family, {}), args.device, args.threads)


def command_sweep(args: argparse.Namespace) -> int:
    from .experiments.sweep import run_sweep, sweep_failed
    from .reporting.summary import format_results
    from .store.results import read_result_file

    out = check_out_file(args.out)
    spec = sweep_spec(args)
    try:
        spec.validate()
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None
    try:
        check_executor(args.executor, args.workers, args.scheduler)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        dataset = run_sweep(spec, out=out, progress=not args.quiet, overwrite=args.overwrite, executor=args.executor,
                            workers=args.workers, scheduler=args.scheduler)
    except ValueError as error:  # --out is no sweep file, or another sweep holds it (points catch their own errors)
        raise UsageError(str(error)) from None
    print(format_results(read_result_file(out)))
    return EXIT_CELL_FAILED if sweep_failed(dataset) else 0


def command_reproduce(args: argparse.Namespace) -> int:
    from .core.atomic import OutputLockedError
    from .paper.reproduce import check_reproduce_settings, incomplete_experiments, run_reproduction
    from .reporting.summary import format_results

    out = Path(args.out)
    try:
        check_reproduce_settings(out, args.preset, split_values(args.claim) or None, args.workers)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        dataset = run_reproduction(out, args.preset, claims=split_values(args.claim) or None, workers=args.workers,
                                   device=args.device, overwrite=args.overwrite, progress=not args.quiet)
    except OutputLockedError as error:
        raise UsageError(str(error)) from None
    print(format_results(dataset))
    print(f"wrote {out / 'reproduction.md'} and {out / 'reproduction.nc'}")
    return EXIT_CELL_FAILED if incomplete_experiments(dataset) else 0


def command_compare(args: argparse.Namespace) -> int:
    from .reporting.compare import changed_settings, compare_results, regressions, render_comparison, select_differences
    from .store.results import read_results

    reference, new = read_results(args.reference), read_results(args.new)
    changed = changed_settings(reference, new)
    if changed:
        print(f"kae-zoo: warning: {len(changed)} pair(s) ran with other settings in the two files, so their verdicts "
              f"judge the settings too (to judge a code change, compare runs made with the same settings): "
              f"{'; '.join(changed[:3])}{'; ...' if len(changed) > 3 else ''}", file=sys.stderr)
    try:
        differences = compare_results(reference, new, args.tolerance, args.timings, alpha=args.alpha,
                                      require_all=args.require_all)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        differences = select_differences(differences, metrics=split_values(args.metrics),
                                         families=split_values(args.family), tasks=split_values(args.task))
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(render_comparison(differences, args.format, args.tolerance, args.alpha,
                            sources=(reference.attrs, new.attrs)))
    return EXIT_REGRESSED if regressions(differences) else 0


def command_report(args: argparse.Namespace) -> int:
    from .reporting.report import write_report
    from .store.results import read_result_file

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out!r} is a file; give a folder for the report")
    dataset = read_result_file(args.file)
    print(f"wrote {write_report(dataset, out, source=Path(args.file).name)}")
    return 0


def command_site(args: argparse.Namespace) -> int:
    from .reporting.site import write_site

    try:
        index = write_site(args.files, args.out, asv_html=args.asv, overwrite=args.overwrite, title=args.title)
    except ValueError as error:  # a bad output folder, asv folder or input (a ResultFileError names the file)
        raise UsageError(str(error)) from None
    print(f"wrote {index} (open it in a browser: file://{index.resolve()})")
    return 0


def parse_choices(option: str, values: Sequence[str] | None, valid: Sequence[str], default: Sequence[str]) -> list[str]:
    """Repeated or comma-separated values of `option`, each one of `valid` (UsageError naming the first that is
    not, the closest and the valid ones); `default` when none is given."""
    chosen = split_values(values) or list(default)
    for value in chosen:
        if value not in valid:
            raise UsageError(f"{option} {value!r} is not valid; {did_you_mean(value, valid)}valid: {', '.join(valid)}")
    return list(dict.fromkeys(chosen))


def command_bench(args: argparse.Namespace) -> int:
    """`kae-zoo bench`: the cost table, printed or written to --out (atomically)."""
    from .core.atomic import atomic_path
    from .experiments.bench import DEFAULT_PRECISIONS, MODES, check_bench_settings, run_bench
    from .families import list_families
    from .reporting.bench import render_bench

    for option, value in (("--batch-size", args.batch_size), ("--repeats", args.repeats), ("--threads", args.threads)):
        if value < 1:
            raise UsageError(f"{option} {value} must be a positive integer")
    families = parse_choices("--family", args.family, list_families(), list_families())
    precisions = parse_choices("--precision", args.precision, PRECISIONS, DEFAULT_PRECISIONS)
    modes = parse_choices("--mode", args.mode, MODES, MODES)
    out = Path(args.out) if args.out else None
    if out is not None and out.is_dir():
        raise UsageError(f"--out {args.out!r} is a directory; give a file path")
    try:
        check_bench_settings(families, args.device, precisions, modes, args.batch_size, args.repeats)
    except ValueError as error:
        raise UsageError(str(error)) from None
    table = run_bench(families, device=args.device, precisions=precisions, modes=modes, batch_size=args.batch_size,
                      repeats=args.repeats, threads=args.threads, progress=not args.quiet)
    text = render_bench(table, args.format)
    if out is None:
        print(text)
        return 0
    with atomic_path(out) as temporary:
        temporary.write_text(text + "\n")
    failed = sum(1 for row in table.rows if row.error)
    print(f"wrote {out} ({len(table.rows)} rows" + (f", {failed} failed: see their notes)" if failed else ")"))
    return 0


EXIT_CHECK_FAILED = 1


def command_check(args: argparse.Namespace) -> int:
    """`kae-zoo check FAMILY`: one line per check (ok / FAIL / skip); exit 1 when a check failed."""
    from .families import get_family
    from .testing import family_checks

    family = get_family(args.family)
    overrides = parse_overrides(args.set)
    other = sorted(set(overrides) - {args.family})
    if other:
        raise UsageError(f"--set names family {other[0]!r}, but the family checked is {args.family!r}")
    fields = overrides.get(args.family, {})
    try:
        family.make_config("smoke", overrides=fields)
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None
    results = []
    for result in family_checks(family, fields):
        print(f"{result.status:<4} {result.check}" + (f": {result.detail}" if result.detail else ""), flush=True)
        results.append(result)
    failed = [result.check for result in results if result.status == "FAIL"]
    print(f"{args.family}: {len(failed)} of {len(results)} checks failed ({', '.join(failed)})" if failed else
          f"{args.family}: all {len(results)} checks passed")
    return EXIT_CHECK_FAILED if failed else 0


def command_new_family(args: argparse.Namespace) -> int:
    from .skeleton import write_family_skeleton

    try:
        folder = write_family_skeleton(args.name, args.out)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(f"wrote {folder}/: pyproject.toml, {args.name}.py, test_{args.name}.py\n"
          f"next: cd {folder} && pip install -e . && python -m pytest -q && kae-zoo check {args.name}")
    return 0


def command_cache(args: argparse.Namespace) -> int:
    if args.action == "list":
        print(format_listing(list_cache(match=args.match)))
        return 0
    removed = clear_cache(match=args.match)
    for entry in removed:
        print(f"removed {entry.path.name} ({format_size(entry.n_bytes)}, {entry.description()})")
    print(f"freed {format_size(sum(entry.n_bytes for entry in removed))} in {len(removed)} file(s) from "
          f"{cache_root()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quiet and args.verbose:
        print("kae-zoo: error: -q/--quiet and -v/--verbose contradict each other; give one", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(QUIET if args.quiet else VERBOSE if args.verbose else NORMAL)
    with exit_on_sigterm():
        return run_command(args)


def stop_with_signal(signum: int, frame: Any) -> NoReturn:
    """The SIGTERM handler: one line on stderr, then SystemExit(128 + signal number) as a shell reports it."""
    print(f"kae-zoo: stopped by {signal.Signals(signum).name}; `kae-zoo run` keeps the cells it finished in --out, "
          "and the same command again runs the rest", file=sys.stderr)
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def exit_on_sigterm() -> Iterator[None]:
    """SIGTERM (`kill`, a batch scheduler's time limit) ends the command as Ctrl-C would, through the cleanup code:
    worker processes are stopped, no half-written file is left (a run's finished cells are in its file), and the
    exit status is 128 + 15. Python's default ends this process alone and leaves its workers waiting for work
    forever. Only the main thread can set a handler; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, stop_with_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_command(args: argparse.Namespace) -> int:
    """Dispatch a parsed command line; bad input is one line on stderr and EXIT_USAGE."""
    try:
        if args.command == "cache":
            return command_cache(args)
        if args.command == "list":
            print(command_list())
            return 0
        if args.command == "show":
            return command_show(args)
        if args.command == "check":
            return command_check(args)
        if args.command == "new-family":
            return command_new_family(args)
        if args.command == "report":
            return command_report(args)
        if args.command == "site":
            return command_site(args)
        if args.command == "sweep":
            return command_sweep(args)
        if args.command == "reproduce":
            return command_reproduce(args)
        if args.command == "compare":
            return command_compare(args)
        if args.command == "bench":
            return command_bench(args)
        return command_run(args)
    except (UsageError, UnknownNameError, ResultFileError) as error:
        print(f"kae-zoo: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (`kae-zoo list | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that Python's flush of stdout at exit does not fail again
        return 1


if __name__ == "__main__":
    sys.exit(main())
