"""Matrix files: a benchmark matrix written as TOML (benches/matrix/*.toml), read into a RunSpec.

    description = "every family on one small task"   # optional
    preset = "smoke"                                  # smoke | default | paper
    seeds = [0]

    [[cells]]                 # a group: every family of it on every task of it
    families = ["koopman"]
    tasks = ["yinyang"]

    [[cells]]
    families = ["sae", "lifted_sae"]
    tasks = ["sparse_vec"]

    [overrides.koopman]       # config fields of one family, for every cell of it
    n_epochs = 50

Not every family runs on every task, so a matrix is a list of groups rather than one cross product; the pairs
of all groups (in order, each once) times the seeds are the cells. Every problem with a file (missing, not TOML,
an unknown key, a wrong type, an empty list, an unknown family, task or config field) raises ValueError with
one line that names it and what is valid.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..core.registry import did_you_mean
from .runner import RunSpec

MATRIX_KEYS = ("description", "preset", "seeds", "cells", "overrides")
GROUP_KEYS = ("families", "tasks")


def _check_keys(table: dict[str, Any], valid: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; {did_you_mean(unknown[0], valid)}valid keys: "
                         f"{', '.join(valid)}")


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"{where} must be a non-empty list of names, got {value!r}")
    return value


def load_matrix(path: str | Path, device: str = "auto", threads: int = 1, **settings: Any) -> RunSpec:
    """The validated RunSpec of the matrix file at `path` (module docstring), to run on `device` with `threads`
    and any other run settings a file does not hold (`settings`: precision, compile, save_models)."""
    path = Path(path)
    try:
        matrix = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"matrix file {str(path)!r} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"matrix file {str(path)!r} is not valid TOML: {error}") from None
    where = f"matrix file {path.name}"
    _check_keys(matrix, MATRIX_KEYS, where)
    for key in ("preset", "seeds", "cells"):
        if key not in matrix:
            raise ValueError(f"{where}: missing key {key!r} (needs preset, seeds and at least one [[cells]] group)")
    seeds = matrix["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           for s in seeds):
        raise ValueError(f"{where}: seeds must be a non-empty list of integers, got {seeds!r}")
    groups = matrix["cells"]
    if not isinstance(groups, list) or not groups or not all(isinstance(group, dict) for group in groups):
        raise ValueError(f"{where}: cells must be one or more [[cells]] tables with families and tasks")
    pairs: dict[tuple[str, str], None] = {}
    for index, group in enumerate(groups, start=1):
        _check_keys(group, GROUP_KEYS, f"{where}, [[cells]] group {index}")
        for key in GROUP_KEYS:
            if key not in group:
                raise ValueError(f"{where}, [[cells]] group {index}: missing key {key!r}")
        families = _names(group["families"], f"{where}, [[cells]] group {index}: families")
        tasks = _names(group["tasks"], f"{where}, [[cells]] group {index}: tasks")
        pairs.update({(family, task): None for family in families for task in tasks})
    overrides = matrix.get("overrides", {})
    if not isinstance(overrides, dict) or not all(isinstance(fields, dict) for fields in overrides.values()):
        raise ValueError(f"{where}: overrides must be tables [overrides.FAMILY] of config fields")
    families = list(dict.fromkeys(family for family, _ in pairs))
    stray = sorted(set(overrides) - set(families))
    if stray:
        raise ValueError(f"{where}: [overrides.{stray[0]}] names a family that no [[cells]] group runs; families: "
                         f"{', '.join(families)}")
    spec = RunSpec(tuple(families), tuple(dict.fromkeys(task for _, task in pairs)), tuple(seeds),
                   preset=matrix["preset"], device=device, threads=threads, overrides=overrides, pairs=tuple(pairs),
                   **settings)
    try:
        spec.validate()
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{where}: {error}") from None
    return spec
