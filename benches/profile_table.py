"""Where a run's time went, per (family, task): the README's profile table, from any result file of this version.

    python benches/profile_table.py results/reference/default.nc            # markdown, as in the README
    python benches/profile_table.py results/default.nc --format csv > profile.csv

Each row is a (family, task) pair's mean over its finished seeds of `cell_seconds` and of each phase of
`phase_seconds` (data loaded by the cell, training steps, validation checks, training watchers, each scorer), the
phases as shares of the cell; the scorers shown by name are the two slowest of the pair, the rest summed. Rows are
sorted by their sum over seeds, the matrix's total CPU time at the end.
"""

from __future__ import annotations

import argparse
import csv
import sys

import numpy as np

from kae_zoo.store.results import read_results

TRAINING_PHASES = ("steps", "validation", "watchers")


def profile_rows(path: str) -> list[dict]:
    """One dict per (family, task) with finished cells: seeds, total and mean seconds, and the mean per phase."""
    dataset = read_results(path)
    if "phase_seconds" not in dataset:
        raise SystemExit(f"{path}: no phase_seconds (a file written before kae-zoo recorded where a cell's time goes)")
    rows = []
    for family in dataset.family.values:
        for task in dataset.task.values:
            cell = dataset.sel(family=family, task=task)
            seconds = cell["cell_seconds"].values
            finished = np.isfinite(seconds)
            if not finished.any():
                continue
            phases = cell["phase_seconds"].isel(seed=np.flatnonzero(finished)).mean("seed")
            means = {str(name): float(value) for name, value in zip(dataset.phase.values, phases.values)
                     if np.isfinite(value)}
            rows.append({"family": str(family), "task": str(task), "seeds": int(finished.sum()),
                         "total_seconds": float(seconds[finished].sum()),
                         "cell_seconds": float(seconds[finished].mean()), "phases": means})
    return sorted(rows, key=lambda row: -row["total_seconds"])


def share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole > 0 else "-"


def markdown(rows: list[dict]) -> str:
    lines = ["| family | task | seeds | s / cell | training steps | validation | watchers | scoring (slowest) | data |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        phases, whole = row["phases"], row["cell_seconds"]
        scorers = sorted(((name.removeprefix("score/"), value) for name, value in phases.items()
                          if name.startswith("score/")), key=lambda item: -item[1])
        scoring = sum(value for _, value in scorers)
        slowest = ", ".join(f"{name} {share(value, whole)}" for name, value in scorers[:2])
        lines.append(f"| {row['family']} | {row['task']} | {row['seeds']} | {whole:.1f} | "
                     + " | ".join(share(phases.get(phase, 0.0), whole) for phase in TRAINING_PHASES)
                     + f" | {share(scoring, whole)} ({slowest}) | {share(phases.get('data', 0.0), whole)} |")
    total = sum(row["total_seconds"] for row in rows)
    lines.append(f"\nSum over the {sum(row['seeds'] for row in rows)} cells: {total / 60:.1f} CPU-minutes.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a result file (.nc) written by kae-zoo run")
    parser.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    args = parser.parse_args(argv)
    rows = profile_rows(args.path)
    if args.format == "markdown":
        print(markdown(rows))
        return 0
    phases = sorted({name for row in rows for name in row["phases"]})
    writer = csv.writer(sys.stdout)
    writer.writerow(["family", "task", "seeds", "total_seconds", "cell_seconds", *phases])
    for row in rows:
        writer.writerow([row["family"], row["task"], row["seeds"], f"{row['total_seconds']:.3f}",
                         f"{row['cell_seconds']:.3f}", *(f"{row['phases'].get(name, float('nan')):.3f}"
                                                         for name in phases)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
