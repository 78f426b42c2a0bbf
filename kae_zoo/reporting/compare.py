"""`kae-zoo compare`: did anything regress between two run result files (a reference and a new run)?

Pairs: every (family, task) that both files ran is compared; a pair only one file holds is listed as "missing"
(with `require_all`, a pair of the reference that the new file lacks is a regression). A pair whose new cells
failed more often than the reference's (as a share of its cells) has regressed.

Metrics: every scalar metric with a direction ("higher" or "lower"; "none" is never judged) that both files
hold for the pair, over the finished seeds of each file (the seeds need not be the same: 0,1,2 against 3,4,5 is
the usual way to ask whether a change is beyond seed noise). A metric whose definition version differs between
the files is reported as "definition changed" and not judged: the numbers come from two formulas. A metric NaN
on both sides (a score degenerate on the task, `kae_zoo.store.results.degenerate_scores`) is not compared; one
with values in the reference and none in the new file is "missing" (listed, not a regression), with the new
file's reason when its cells call the score degenerate; so is a metric only one file holds (a score added or removed
since the reference), with a note naming the file that has it.

The rule, fixed before any comparison was made. With means m_ref, m_new, the change for the worse is compared
with the tolerance, `tolerance` x max(|m_ref|, 1e-3) (relative, with a floor so that a reference of 0 still
tolerates float noise). Within it: "same". Beyond it:
- with at least two finished seeds on each side, Welch's t-test (unequal variances) of the mean difference,
  one-sided in the direction of the change, decides: p < `alpha` (default 0.05) makes it "regressed" (or
  "improved", for a change for the better), otherwise it is "within noise" (the seed-to-seed spread explains it,
  whichever way it went);
- with one seed on either side there is no spread to test against, and the tolerance alone decides.
Welch's t: t = (m_new - m_ref) / sqrt(s_new^2 / n_new + s_ref^2 / n_ref) with sample variances (ddof 1) and the
Welch-Satterthwaite degrees of freedom; when both sides have zero spread, any difference is outside the noise
(p = 0). Each metric is tested on its own, without a correction for the number of metrics.

Wall-clock metrics (train_seconds, cell_seconds, phase_seconds, throughput, mfu) depend on the machine and are
left out unless asked for.
Pure functions over Datasets; the CLI exits 1 when `regressions` is not empty.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import xarray as xr
from scipy import stats

from ..core.registry import did_you_mean
from ..store.results import CELL_DIMS, degenerate_scores, metric_names
from . import DEFAULT_ALPHA, DEFAULT_TOLERANCE, FORMATS
from .export import json_number, markdown_cell, provenance
from .summary import ARROWS, TABLE_WIDTH, format_grid, format_mean_std, format_number, mean_std

TIMING_METRICS = ("train_seconds", "cell_seconds", "phase_seconds", "throughput", "mfu")
RELATIVE_FLOOR = 1e-3
VERDICT_ORDER = ("regressed", "missing", "definition changed", "improved", "within noise", "same")


@dataclass(frozen=True)
class Sample:
    """The finished seeds' values of one metric of one (family, task) in one file."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return mean_std(np.asarray(self.values))[0]

    @property
    def std(self) -> float:
        return mean_std(np.asarray(self.values))[1]

    def describe(self) -> str:
        return format_mean_std(np.asarray(self.values)) + f" (n={self.n})" if self.n else "-"


@dataclass(frozen=True)
class Difference:
    """One metric of one (family, task) in both files; `metric` "failed cells" compares the shares of failed cells,
    "cells" marks a pair one file lacks."""

    metric: str
    family: str
    task: str
    reference: Sample
    new: Sample
    direction: str  # "higher" or "lower" is better; "" on the cell-count rows
    verdict: str  # one of VERDICT_ORDER
    p_value: float = float("nan")  # Welch's one-sided p, NaN when not tested
    note: str = ""


def welch_p_value(reference: np.ndarray, new: np.ndarray, alternative: str) -> float:
    """One-sided p of Welch's t-test that the mean of `new` is "greater" or "less" than that of `reference`
    (module docstring); each side needs >= 2 values."""
    reference, new = np.asarray(reference, dtype=float), np.asarray(new, dtype=float)
    if len(reference) < 2 or len(new) < 2:
        raise ValueError(f"Welch's t-test needs >= 2 values a side, got {len(reference)} and {len(new)}")
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative must be 'greater' or 'less', got {alternative!r}")
    difference = new.mean() - reference.mean()
    variance_ref, variance_new = reference.var(ddof=1) / len(reference), new.var(ddof=1) / len(new)
    standard_error = np.sqrt(variance_ref + variance_new)
    if standard_error == 0:  # no spread on either side: any difference is real
        if difference == 0:
            return 1.0
        return 0.0 if (difference > 0) == (alternative == "greater") else 1.0
    t = difference / standard_error
    dof = (variance_ref + variance_new) ** 2 / (variance_ref**2 / (len(reference) - 1)
                                                  + variance_new**2 / (len(new) - 1))
    return float(stats.t.sf(t, dof) if alternative == "greater" else stats.t.cdf(t, dof))


def judge_change(reference: Sample, new: Sample, *, higher_is_better: bool, tolerance: float,
                 alpha: float = DEFAULT_ALPHA) -> tuple[str, float]:
    """(verdict, p) for one metric by the module's rule; p is NaN when no test was made."""
    if new.n == 0:
        return ("same" if reference.n == 0 else "missing"), float("nan")
    if reference.n == 0:
        return "same", float("nan")
    gain = (new.mean - reference.mean) if higher_is_better else (reference.mean - new.mean)
    allowed = tolerance * max(abs(reference.mean), RELATIVE_FLOOR)
    if abs(gain) <= allowed:
        return "same", float("nan")
    direction = "regressed" if gain < 0 else "improved"
    if reference.n < 2 or new.n < 2:
        return direction, float("nan")
    worse_side = "less" if higher_is_better else "greater"
    alternative = worse_side if gain < 0 else ("greater" if worse_side == "less" else "less")
    p_value = welch_p_value(np.asarray(reference.values), np.asarray(new.values), alternative)
    return (direction if p_value < alpha else "within noise"), p_value


def _scalar_metrics(dataset: xr.Dataset, timings: bool) -> list[str]:
    names = [name for name in metric_names(dataset) if dataset[name].dims == CELL_DIMS]
    return [name for name in names if dataset[name].attrs["direction"] != "none"
            and (timings or name not in TIMING_METRICS)]


def _pairs(dataset: xr.Dataset) -> list[tuple[str, str]]:
    """The (family, task) pairs with at least one cell that ran (finished or failed)."""
    ran = (dataset["status"] != "missing").any("seed")
    return [(str(family), str(task)) for family in dataset["family"].values for task in dataset["task"].values
            if bool(ran.sel(family=family, task=task))]


def _finished(dataset: xr.Dataset, name: str, family: str, task: str) -> Sample:
    cell = dataset.sel(family=family, task=task)
    values = np.asarray(cell[name].values, dtype=float)[np.asarray(cell["status"].values) == "ok"]
    return Sample(tuple(float(value) for value in values[np.isfinite(values)]))


# per-cell settings that change what a score means: two files that differ in one compare more than the code
COMPARED_SETTINGS = ("preset", "precision", "device")


def changed_settings(reference: xr.Dataset, new: xr.Dataset) -> list[str]:
    """"family/task: preset default -> smoke"-style lines for the pairs both files ran whose cells ran with other
    settings (COMPARED_SETTINGS, each side's distinct values): their differences are not the code's alone."""
    lines = []
    new_pairs = set(_pairs(new))
    for family, task in _pairs(reference):
        if (family, task) not in new_pairs:
            continue
        changes = []
        for name in COMPARED_SETTINGS:
            if name not in reference or name not in new:
                continue
            sides = [sorted({str(value) for value, status in zip(
                np.asarray(dataset[name].sel(family=family, task=task).values),
                np.asarray(dataset["status"].sel(family=family, task=task).values)) if status != "missing"})
                     for dataset in (reference, new)]
            if sides[0] != sides[1]:
                changes.append(f"{name} {'/'.join(sides[0])} -> {'/'.join(sides[1])}")
        if changes:
            lines.append(f"{family}/{task}: {', '.join(changes)}")
    return lines


def _failed_share(dataset: xr.Dataset, family: str, task: str) -> tuple[float, int, int]:
    status = np.asarray(dataset["status"].sel(family=family, task=task).values)
    n_ran = int(np.sum(status != "missing"))
    n_failed = int(np.sum(status == "failed"))
    return n_failed / n_ran, n_failed, n_ran


def _degenerate_note(dataset: xr.Dataset, name: str, family: str, task: str) -> str:
    """Why `name` of the pair is NaN in `dataset` where its cells call it degenerate; "" otherwise."""
    reasons = {reason for where, metric, reason in degenerate_scores(dataset.sel(family=[family], task=[task]))
               if metric == name}
    return f"degenerate in the new file: {sorted(reasons)[0]}" if reasons else ""


def compare_results(reference: xr.Dataset, new: xr.Dataset, tolerance: float = DEFAULT_TOLERANCE,
                    timings: bool = False, *, alpha: float = DEFAULT_ALPHA,
                    require_all: bool = False) -> list[Difference]:
    """Every judged (metric, family, task) of the pairs both files ran, and a "cells" row for each pair one file
    lacks (module docstring)."""
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0, got {tolerance!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
    differences = []
    reference_pairs, new_pairs = _pairs(reference), _pairs(new)
    empty = Sample(())
    for family, task in [*reference_pairs, *(pair for pair in new_pairs if pair not in reference_pairs)]:
        if (family, task) not in new_pairs or (family, task) not in reference_pairs:
            only_in = "reference" if (family, task) in reference_pairs else "new file"
            verdict = "regressed" if require_all and only_in == "reference" else "missing"
            differences.append(Difference("cells", family, task, empty, empty, "", verdict,
                                          note=f"ran only in the {only_in}"))
            continue
        (share_ref, failed_ref, ran_ref), (share_new, failed_new, ran_new) = (
            _failed_share(reference, family, task), _failed_share(new, family, task))
        differences.append(Difference(
            "failed cells", family, task, empty, empty, "", "regressed" if share_new > share_ref else "same",
            note=f"{failed_ref}/{ran_ref} -> {failed_new}/{ran_new} failed"))
        for name in _scalar_metrics(reference, timings):
            before = _finished(reference, name, family, task)
            if before.n == 0:
                continue
            if name not in new:
                differences.append(Difference(name, family, task, before, empty,
                                              reference[name].attrs["direction"], "missing",
                                              note="only in the reference file"))
                continue
            after = _finished(new, name, family, task)
            direction = reference[name].attrs["direction"]
            versions = (reference[name].attrs.get("definition_version"), new[name].attrs.get("definition_version"))
            if versions[0] != versions[1] or new[name].attrs.get("direction") != direction:
                differences.append(Difference(name, family, task, before, after, direction, "definition changed",
                                              note=f"definition version {versions[0]} -> {versions[1]}"))
                continue
            verdict, p_value = judge_change(before, after, higher_is_better=direction == "higher", tolerance=tolerance,
                                            alpha=alpha)
            note = _degenerate_note(new, name, family, task) if after.n == 0 else ""
            differences.append(Difference(name, family, task, before, after, direction, verdict, p_value, note))
        for name in _scalar_metrics(new, timings):  # a metric the reference's code did not measure yet
            if name in reference:
                continue
            after = _finished(new, name, family, task)
            if after.n:
                differences.append(Difference(name, family, task, empty, after, new[name].attrs["direction"],
                                              "missing", note="only in the new file"))
    return differences


def regressions(differences: list[Difference]) -> list[Difference]:
    return [difference for difference in differences if difference.verdict == "regressed"]


def select_differences(differences: list[Difference], *, metrics: Sequence[str] | None = None,
                       families: Sequence[str] | None = None, tasks: Sequence[str] | None = None) -> list[Difference]:
    """The differences of the given metrics, families and tasks (all for none given); the failed-cell and
    missing-pair rows of the selected pairs stay whatever the metrics. An unknown name raises ValueError naming
    the valid ones."""
    judged = {"failed cells", "cells"}
    for option, given, valid in (
            ("--metrics", metrics, sorted({d.metric for d in differences} - judged)),
            ("--family", families, sorted({d.family for d in differences})),
            ("--task", tasks, sorted({d.task for d in differences}))):
        unknown = [name for name in given or [] if name not in valid]
        if unknown:
            raise ValueError(f"{option} {unknown[0]!r} is not compared in these files; "
                             f"{did_you_mean(unknown[0], valid)}valid: {', '.join(valid)}")
    return [d for d in differences if (not metrics or d.metric in metrics or d.metric in judged)
            and (not families or d.family in families) and (not tasks or d.task in tasks)]


def _sorted(differences: list[Difference]) -> list[Difference]:
    return sorted(differences, key=lambda d: (VERDICT_ORDER.index(d.verdict), d.family, d.task, d.metric))


def _change(item: Difference) -> str:
    """The change of the means, signed; "-" when a side has no value (the row's note says why)."""
    if item.reference.n and item.new.n:
        change = format_number(item.new.mean - item.reference.mean, 4)
        return change if change.startswith("-") else f"+{change}"
    return "-"


def _rule(tolerance: float, alpha: float) -> str:
    return (f"rule: a change for the worse beyond tolerance {tolerance:g} (relative, floor {RELATIVE_FLOOR:g}) "
            f"regresses; with >= 2 seeds a side only when Welch's one-sided p < {alpha:g} too")


def verdict_counts(differences: list[Difference]) -> dict[str, int]:
    """How many differences got each verdict, in VERDICT_ORDER."""
    return {verdict: sum(d.verdict == verdict for d in differences) for verdict in VERDICT_ORDER}


def _counts(differences: list[Difference]) -> str:
    return ", ".join(f"{count} {verdict}" for verdict, count in verdict_counts(differences).items())


def _rows(differences: list[Difference]) -> list[list[str]]:
    """Header and one row per difference (regressions first): the metric with its better side's arrow, mean ± std
    (n) on both sides, the change of the means and Welch's p."""
    rows = [["verdict", "family", "task", "metric", "reference", "new", "change", "p"]]
    for item in _sorted(differences):
        rows.append([item.verdict, item.family, item.task, f"{item.metric} {ARROWS.get(item.direction, '')}".rstrip(),
                     item.reference.describe(), item.new.describe(), _change(item),
                     "-" if np.isnan(item.p_value) else f"{item.p_value:.3g}"])
    return rows


def format_comparison(differences: list[Difference], tolerance: float, alpha: float = DEFAULT_ALPHA) -> str:
    """The terminal table: a block per (family, task), the pairs with the worst verdicts first, one row per metric
    (`_rows` without the pair's columns) and a row's note (why a side has no value) wrapped under it; then the
    counts, the arrows' legend and the rule. Every line fits TABLE_WIDTH columns: a block whose grid would not
    gives each metric two lines instead."""
    pairs: dict[tuple[str, str], list[Difference]] = {}
    for item in _sorted(differences):
        pairs.setdefault((item.family, item.task), []).append(item)
    lines: list[str] = []
    # a pair's items are sorted worst first, so its first item's verdict ranks the pair
    for (family, task), items in sorted(pairs.items(), key=lambda pair: (VERDICT_ORDER.index(pair[1][0].verdict),
                                                                         pair[0])):
        rows = [[row[0], *row[3:]] for row in _rows(items)]  # without the family and task columns
        grid = format_grid(rows, header_rule=True)
        lines.append(f"{family} / {task}:")
        if max(len(line) for line in grid) + 2 <= TABLE_WIDTH:
            lines += ["  " + line for line in grid[:2]]
            for line, item in zip(grid[2:], items):
                lines.append("  " + line)
                if item.note:
                    lines += textwrap.wrap(item.note, TABLE_WIDTH, initial_indent="      ", subsequent_indent="      ")
        else:
            for item, row in zip(items, rows[1:]):
                lines.append(f"  {row[0]}  {row[1]}")
                detail = f"reference {row[2]}, new {row[3]}, change {row[4]}, p {row[5]}"
                lines += textwrap.wrap(detail + (f"; {item.note}" if item.note else ""), TABLE_WIDTH,
                                       initial_indent="      ", subsequent_indent="      ")
        lines.append("")
    lines += [_counts(differences), "↑ higher is better, ↓ lower is better; reference and new: mean ± sample std "
              "(ddof 1) (n seeds)", *textwrap.wrap(_rule(tolerance, alpha), TABLE_WIDTH)]
    return "\n".join(lines)


def _record(item: Difference) -> dict[str, Any]:
    """One difference as flat fields, NaN as None."""
    record: dict[str, Any] = {"verdict": item.verdict, "family": item.family, "task": item.task,
                              "metric": item.metric, "direction": item.direction}
    for side, sample in (("reference", item.reference), ("new", item.new)):
        record.update({f"{side}_mean": json_number(sample.mean), f"{side}_std": json_number(sample.std),
                       f"{side}_n": sample.n})
    change = item.new.mean - item.reference.mean if item.reference.n and item.new.n else float("nan")
    record.update({"change": json_number(change), "p_value": json_number(item.p_value), "note": item.note})
    return record


def render_comparison(differences: list[Difference], fmt: str, tolerance: float, alpha: float = DEFAULT_ALPHA, *,
                      sources: tuple[dict, dict] = ({}, {})) -> str:
    """`kae-zoo compare`'s output: `format_comparison` ("table"), a GitHub table ("markdown"), one CSV row per
    difference ("csv"), or JSON ("json": the rule's settings, the counts, each file's attributes as `sources`, the
    differences; NaN as null)."""
    if fmt == "table":
        return format_comparison(differences, tolerance, alpha)
    if fmt == "markdown":
        notes = ["note", *(item.note for item in _sorted(differences))]
        rows = [[*row, note] for row, note in zip(_rows(differences), notes)]
        lines = ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
        lines.insert(1, "|" + "---|" * len(rows[0]))
        return "\n".join([*lines, "", _counts(differences), "", _rule(tolerance, alpha)])
    records = [_record(item) for item in _sorted(differences)]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(_record(Difference("", "", "", Sample(()), Sample(()), "",
                                                                           "same"))), lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: "" if value is None else value for key, value in record.items()} for record in records)
        return buffer.getvalue().rstrip("\n")
    if fmt == "json":
        document = {"tolerance": tolerance, "alpha": alpha, "relative_floor": RELATIVE_FLOOR,
                    "counts": verdict_counts(differences),
                    "reference": provenance(sources[0]), "new": provenance(sources[1]), "differences": records}
        return json.dumps(document, indent=1, allow_nan=False, default=str)
    raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")

