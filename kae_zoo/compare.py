"""`kae-zoo compare`: did anything regress between two run result files (a reference and a new run)?

For every scalar metric and (family, task) present in the reference, the mean over the finished seeds of each
file is compared in the metric's direction (`higher_is_better`). A change for the worse larger than
`tolerance` x max(|reference|, 1e-3) is a regression (relative, with a floor so that a reference of 0, e.g. a
forgotten accuracy of 0.0, still tolerates float noise); so is a (family, task) with fewer finished cells than in
the reference. Wall-clock metrics (train_seconds, throughput, mfu) depend on the machine and are left out unless asked
for. Pure functions over Datasets; the CLI exits 1 when `regressions` is not empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .results import CELL_DIMS, metric_names
from .summary import format_grid

TIMING_METRICS = ("train_seconds", "throughput", "mfu")
RELATIVE_FLOOR = 1e-3


@dataclass(frozen=True)
class Difference:
    """One metric of one (family, task) in both files, or the cell counts when `metric` is "finished cells"."""

    metric: str
    family: str
    task: str
    reference: float
    new: float
    higher_is_better: bool
    verdict: str  # "regressed", "improved", "same" (within tolerance) or "missing" (absent from the new file)


def _scalar_metrics(dataset: xr.Dataset, timings: bool) -> list[str]:
    names = [name for name in metric_names(dataset) if dataset[name].dims == CELL_DIMS]
    return [name for name in names if timings or name not in TIMING_METRICS]


def _mean_over_finished(dataset: xr.Dataset, name: str, family: str, task: str) -> float:
    cell = dataset.sel(family=family, task=task)
    values = np.asarray(cell[name].values, dtype=float)[np.asarray(cell["status"].values) == "ok"]
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def judge_change(reference: float, new: float, higher_is_better: bool, tolerance: float) -> str:
    """regressed / improved / same for one metric; "missing" when the new value is NaN and the reference is not."""
    if np.isnan(new):
        return "same" if np.isnan(reference) else "missing"
    if np.isnan(reference):
        return "same"
    gain = (new - reference) if higher_is_better else (reference - new)
    allowed = tolerance * max(abs(reference), RELATIVE_FLOOR)
    return "regressed" if gain < -allowed else "improved" if gain > allowed else "same"


def compare_results(reference: xr.Dataset, new: xr.Dataset, tolerance: float = 0.05,
                    timings: bool = False) -> list[Difference]:
    """Every (metric, family, task) of `reference` against `new` (module docstring)."""
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0, got {tolerance!r}")
    differences = []
    metrics = _scalar_metrics(reference, timings)
    for family in map(str, reference["family"].values):
        for task in map(str, reference["task"].values):
            status = reference["status"].sel(family=family, task=task).values
            if np.all(status == "missing"):
                continue
            reference_ok = int(np.sum(status == "ok"))
            present = family in new["family"].values and task in new["task"].values
            new_ok = int(np.sum(new["status"].sel(family=family, task=task).values == "ok")) if present else 0
            differences.append(Difference("finished cells", family, task, reference_ok, new_ok, True,
                                          "regressed" if new_ok < reference_ok else "same"))
            for name in metrics:
                before = _mean_over_finished(reference, name, family, task)
                if np.isnan(before):
                    continue
                after = _mean_over_finished(new, name, family, task) if present and name in new else float("nan")
                higher = bool(reference[name].attrs["higher_is_better"])
                differences.append(Difference(name, family, task, before, after, higher,
                                              judge_change(before, after, higher, tolerance)))
    return differences


def regressions(differences: list[Difference]) -> list[Difference]:
    return [difference for difference in differences if difference.verdict == "regressed"]


def format_comparison(differences: list[Difference], tolerance: float) -> str:
    """A table of every difference (regressions first), and a closing line with the counts."""
    order = {"regressed": 0, "missing": 1, "improved": 2, "same": 3}
    rows = [["verdict", "family", "task", "metric", "reference", "new", "change", "better"]]
    for item in sorted(differences, key=lambda d: (order[d.verdict], d.family, d.task, d.metric)):
        change = item.new - item.reference
        rows.append([item.verdict, item.family, item.task, item.metric, f"{item.reference:.4g}", f"{item.new:.4g}",
                     "-" if np.isnan(change) else f"{change:+.4g}", "higher" if item.higher_is_better else "lower"])
    lines = format_grid(rows, header_rule=True)
    counts = {verdict: sum(d.verdict == verdict for d in differences) for verdict in order}
    lines.append(f"\n{counts['regressed']} regressed, {counts['missing']} missing, {counts['improved']} improved, "
                 f"{counts['same']} within tolerance {tolerance:g} (relative, floor {RELATIVE_FLOOR:g})")
    return "\n".join(lines)
