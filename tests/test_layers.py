"""The package's layers: the import-linter contracts of pyproject.toml hold, and no module imports itself back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contracts_hold():
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[dev]'")
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "3 kept" in result.stdout


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """Every direct import a -> b (a != b) where b also reaches a through a chain of imports."""
    return [(module, imported) for module in sorted(graph.modules)
            for imported in sorted(graph.find_modules_directly_imported_by(module))
            if imported != module and graph.chain_exists(importer=imported, imported=module)]


def test_no_import_cycle_in_the_package():
    assert import_cycles(grimp.build_graph("kae_zoo")) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    assert import_cycles(graph) == []
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert import_cycles(graph) == [("pkg.a", "pkg.b"), ("pkg.b", "pkg.c"), ("pkg.c", "pkg.a")]
