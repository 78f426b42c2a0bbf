"""`kae-zoo show --format markdown|csv|json`: a result file's metric table (`summary.metric_table`) for other
programs and for pasting into pull requests.

CSV and JSON hold one row per (family, task) that ran (per point of a sweep file, whose rows also carry the axis
values and settings), with each metric's mean, sample std (ddof 1) and n, the count of finite seed values; a missing
value is an empty CSV field and a JSON null. JSON also carries the file's provenance attributes and each metric's
long name, unit, direction, split and definition version. Markdown is a GitHub table per score group (cells
"mean ± std") with a metric legend, then the rest of `kae-zoo show`'s text as sections.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np
import xarray as xr

from . import FORMATS
from .summary import ARROWS, Column, MetricTable, Stat, format_axis_value, format_stat, result_sections, score_groups


def json_number(value: float) -> float | None:
    """A number for JSON and CSV: None (null, an empty field) for NaN and infinities."""
    return value if math.isfinite(value) else None


def _stat_fields(name: str, stat: Stat) -> dict[str, Any]:
    return {f"{name}_mean": json_number(stat.mean), f"{name}_std": json_number(stat.std), f"{name}_n": stat.n}


def table_csv(table: MetricTable) -> str:
    """The table as CSV: keys, ok, cells, then NAME_mean, NAME_std, NAME_n per setting and metric."""
    names = [*(setting.name for setting in table.settings), *(column.name for column in table.columns)]
    fields = [*table.keys, "ok", "cells", *(f"{name}_{part}" for name in names for part in ("mean", "std", "n"))]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in table.rows:
        record: dict[str, Any] = {**row.keys, "ok": row.ok, "cells": row.cells}
        for name, stat in [*row.settings.items(), *row.stats.items()]:
            record.update(_stat_fields(name, stat))
        writer.writerow({key: "" if value is None else value for key, value in record.items()})
    return buffer.getvalue()


def _describe(column: Column) -> dict[str, Any]:
    return {"long_name": column.long_name, "units": column.units, "direction": column.direction,
            "split": column.split, "definition_version": column.definition_version, "group": column.group}


def provenance(attrs: dict[str, Any]) -> dict[str, Any]:
    """A file's attributes for JSON: numpy scalars as Python numbers, those holding JSON text (config, axes)
    parsed."""
    parsed = {}
    for key, value in attrs.items():
        value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass  # text that merely starts with a bracket stays text
        parsed[key] = value
    return parsed


def table_json(table: MetricTable) -> str:
    """The table as JSON: kind, keys, provenance, settings and metrics (their descriptions), rows (keys, ok, cells,
    and {name: {mean, std, n}} per setting and metric); NaN as null."""
    def stats(values: dict[str, Stat]) -> dict[str, Any]:
        return {name: {"mean": json_number(stat.mean), "std": json_number(stat.std), "n": stat.n}
                for name, stat in values.items()}

    document = {
        "kind": table.kind, "keys": list(table.keys), "provenance": provenance(table.attrs),
        "settings": {setting.name: _describe(setting) for setting in table.settings},
        "metrics": {column.name: _describe(column) for column in table.columns},
        "rows": [{**row.keys, "ok": row.ok, "cells": row.cells, "settings": stats(row.settings),
                  "metrics": stats(row.stats)} for row in table.rows],
    }
    return json.dumps(document, indent=1, allow_nan=False, default=str)


def markdown_cell(text: str) -> str:
    """Text for a GitHub table cell: its pipes escaped."""
    return text.replace("|", "\\|")


def table_markdown(table: MetricTable) -> str:
    """The table as GitHub tables, one per score group as in the terminal (`score_groups`: "#### group" over a
    column per metric with a value, "name ↑" headings, "mean ± std" cells, the rows with a value in the group), then
    a legend table of each metric's unit, better side and definition."""
    count = "ok/cells" if table.kind == "run" else "ok/seeds"
    lines: list[str] = []
    for group, columns, indices in score_groups(table):
        rows = [table.rows[index] for index in indices]
        header = [*table.keys, *(setting.name for setting in table.settings), count,
                  *(column.heading for column in columns)]
        lines += [f"#### {group}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in rows:
            cells = [format_axis_value(row.keys[key]) for key in table.keys]
            cells += [format_stat(stat.mean, stat.std) for stat in row.settings.values()]
            cells += [f"{row.ok}/{row.cells}",
                      *(format_stat(row.stats[column.name].mean, row.stats[column.name].std) for column in columns)]
            lines.append("| " + " | ".join(markdown_cell(cell) for cell in cells) + " |")
        lines.append("")
    lines += ["mean ± sample std (ddof 1) over the seeds with a value; ↑ higher is better, ↓ lower is better.", "",
              "| metric | unit | better | split | definition |", "|---|---|---|---|---|"]
    better = {"higher": f"higher {ARROWS['higher']}", "lower": f"lower {ARROWS['lower']}", "none": "no better side"}
    lines += [f"| {column.name} | {markdown_cell(column.units)} | {better.get(column.direction, column.direction)} | "
              f"{column.split or '-'} | {markdown_cell(column.long_name)} (v{column.definition_version}) |"
              for column in table.columns]
    return "\n".join(lines)


def results_markdown(dataset: xr.Dataset, table: MetricTable) -> str:
    """`kae-zoo show --format markdown`: the provenance, the metric table (`table_markdown`), then the other
    sections of the terminal text (training record, Betti curves, OOD, probe, failures, ...) as fenced blocks."""
    sections = dict(result_sections(dataset, table))
    title = f"sweep of {table.attrs['family']} on {table.attrs['task']}" if table.kind == "sweep" else "results"
    parts = [f"## {title}", "", sections.pop("provenance"), "", table_markdown(table)]
    sections.pop("metrics", None)
    for name, text in sections.items():
        parts += ["", f"### {name}", "", "```text", text, "```"]
    return "\n".join(parts)


def render(dataset: xr.Dataset, table: MetricTable, fmt: str) -> str:
    """`kae-zoo show`'s output in `fmt` (one of FORMATS) for a run or sweep Dataset and its (selected) table."""
    if fmt == "csv":
        return table_csv(table).rstrip("\n")
    if fmt == "json":
        return table_json(table)
    if fmt == "markdown":
        return results_markdown(dataset, table)
    raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
