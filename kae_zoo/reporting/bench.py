"""The cost table (`kae_zoo.experiments.bench`) as text: Markdown for the README, CSV and JSON for machines.

Every format names what the numbers were measured with (`BenchTable.environment`: the device and its model name,
torch threads, torch and kae-zoo versions, the commit, the date, batch size and repeats): Markdown in a caption
above the table, CSV in columns of every row, JSON in an "environment" object beside the rows. A missing value
(not measured: the row's `error` or `note` says why) is "-" in Markdown, an empty field in CSV and null in JSON.
`table_from_csv` and `table_from_json` read the machine formats back.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from typing import Any

from ..experiments.bench import BenchRow, BenchTable

BENCH_FORMATS = ("markdown", "csv", "json")
# the environment's keys that every CSV row repeats, after the row's own fields
CSV_ENVIRONMENT = ("device", "machine", "threads", "cpu_count", "torch_version", "kae_zoo_version", "git_sha",
                   "created", "preset", "seed", "batch_size", "repeats", "warmup", "memory_method")
ROW_FIELDS = tuple(field.name for field in dataclasses.fields(BenchRow))
FLOAT_FIELDS = ("forward_us", "step_us", "forward_peak_bytes", "step_peak_bytes")
INT_FIELDS = ("parameters", "buffers")
MARKDOWN_HEADER = ("family", "task", "state shape", "mode", "precision", "parameters", "buffers", "trained by",
                   "forward µs/sample", "fwd+bwd µs/sample", "forward peak", "fwd+bwd peak", "note")


def render_bench(table: BenchTable, format: str) -> str:
    """`table` as Markdown, CSV or JSON text (module docstring)."""
    if format == "markdown":
        return bench_markdown(table)
    if format == "csv":
        return bench_csv(table)
    if format == "json":
        return bench_json(table)
    raise ValueError(f"format {format!r} is not one of {', '.join(BENCH_FORMATS)}")


def bench_caption(environment: dict[str, Any]) -> str:
    """One paragraph: what was measured, how, on which device, with which code."""
    device = environment.get("device", "?")
    where = (f"{device}, {environment.get('machine', '?')}, {environment.get('threads', '?')} torch thread(s) of "
             f"{environment.get('cpu_count', '?')} CPU(s) available")
    return (f"Cost per sample of each family below at its `{environment.get('preset', 'default')}` preset on {where}; "
            f"torch {environment.get('torch_version', '?')}, kae-zoo {environment.get('kae_zoo_version', '?')}, "
            f"commit {str(environment.get('git_sha', '?'))[:12]}, {environment.get('created', '?')}. "
            f"Weights as initialised from seed {environment.get('seed', 0)} (not trained), inputs seeded Gaussian "
            f"states of the shape of the family's first task in benches/matrix/default.toml; batch "
            f"{environment.get('batch_size', '?')}, the median of {environment.get('repeats', '?')} timed calls after "
            f"{environment.get('warmup', '?')} untimed ones. forward: no gradients, eval mode; fwd+bwd: the training "
            f"loss and its backward pass, train mode (no optimiser step). compiled: `kae-zoo run --compile`'s "
            f"`nn.Module.compile` (the loss runs compiled only where it calls the model); bf16: autocast. Peak "
            f"memory: what one call allocates beyond the weights and inputs ({environment.get('memory_method', '?')}). "
            f"-: not measured (the note says why).")


def _number(value: float, digits: int = 3) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"


def format_bytes(value: float) -> str:
    """Bytes in B, KiB, MiB or GiB, three significant digits; "-" when missing."""
    if not math.isfinite(value):
        return "-"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} B"


def bench_markdown(table: BenchTable) -> str:
    """The caption, then a GitHub table with one line per row."""
    lines = [bench_caption(table.environment), "", "| " + " | ".join(MARKDOWN_HEADER) + " |",
             "|" + "---|" * len(MARKDOWN_HEADER)]
    for row in table.rows:
        note = f"failed: {row.error}" + (f"; {row.note}" if row.note else "") if row.error else row.note
        cells = (row.family, row.task, row.state_shape, row.mode, row.precision, f"{row.parameters:,}",
                 f"{row.buffers:,}", row.trained_by, _number(row.forward_us), _number(row.step_us),
                 format_bytes(row.forward_peak_bytes), format_bytes(row.step_peak_bytes), note.replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bench_csv(table: BenchTable) -> str:
    """One line per row: the row's fields, then the environment (`CSV_ENVIRONMENT`); missing numbers empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ROW_FIELDS + CSV_ENVIRONMENT)
    context = [table.environment.get(key, "") for key in CSV_ENVIRONMENT]
    for row in table.rows:
        values = [getattr(row, name) for name in ROW_FIELDS]
        writer.writerow(["" if isinstance(value, float) and not math.isfinite(value) else
                         repr(value) if isinstance(value, float) else value for value in values] + context)
    return buffer.getvalue()


def bench_json(table: BenchTable) -> str:
    """{"environment": {...}, "rows": [{field: value}, ...]}, missing numbers null."""
    rows = [{name: None if isinstance(value, float) and not math.isfinite(value) else value
             for name, value in dataclasses.asdict(row).items()} for row in table.rows]
    return json.dumps({"environment": table.environment, "rows": rows}, indent=1, allow_nan=False)


def _row(values: dict[str, Any]) -> BenchRow:
    fields = {name: values.get(name, "") for name in ROW_FIELDS}
    for name in FLOAT_FIELDS:
        fields[name] = math.nan if fields[name] in ("", None) else float(fields[name])
    for name in INT_FIELDS:
        fields[name] = int(fields[name])
    return BenchRow(**{name: "" if value is None else value for name, value in fields.items()})


def table_from_json(text: str) -> BenchTable:
    """The BenchTable of `bench_json`'s text."""
    data = json.loads(text)
    return BenchTable([_row(row) for row in data["rows"]], dict(data["environment"]))


def table_from_csv(text: str) -> BenchTable:
    """The BenchTable of `bench_csv`'s text (the environment as strings, from the first row)."""
    records = list(csv.DictReader(io.StringIO(text)))
    environment = {key: records[0][key] for key in CSV_ENVIRONMENT} if records else {}
    return BenchTable([_row(record) for record in records], environment)
