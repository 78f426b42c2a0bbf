"""Registries: lookup, clear errors for unknown names, and third-party families from entry points."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kae_zoo.families import get_family, list_families, register_family
from kae_zoo.metrics import get_metric
from kae_zoo.registry import Registry, UnknownNameError
from kae_zoo.tasks import get_task

PLUGIN_SOURCE = Path(__file__).parent / "plugin_example"


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown family 'nope'; known family names: .*koopman"):
        get_family("nope")
    with pytest.raises(UnknownNameError, match="unknown task 'nope'.*yinyang"):
        get_task("nope")
    with pytest.raises(UnknownNameError, match="unknown metric 'nope'.*accuracy"):
        get_metric("nope")


def test_registry_refuses_duplicates_and_bad_names():
    registry: Registry[int] = Registry("thing")
    registry.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", 2)
    with pytest.raises(ValueError, match="invalid"):
        registry.register("a b", 3)
    assert registry.names() == ["a"] and registry.get("a") == 1


def test_register_family_needs_a_surrogate_subclass():
    with pytest.raises(TypeError, match="subclass of kae_zoo.Surrogate"):
        register_family("not_a_family")(object)
    assert "not_a_family" not in list_families()


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """pip-install the example plugin package into a private folder (no network, no build isolation)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(PLUGIN_SOURCE)],
        check=True, capture_output=True, text=True,
    )
    return target


def run_with_plugin(target: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=environment, timeout=600)


def test_installed_plugin_is_discovered_and_runs(installed_plugin, tmp_path):
    listed = run_with_plugin(installed_plugin, "-m", "kae_zoo.cli", "list")
    assert listed.returncode == 0, listed.stderr
    assert "toy_linear" in listed.stdout and "koopman" in listed.stdout
    out = tmp_path / "plugin.nc"
    ran = run_with_plugin(installed_plugin, "-m", "kae_zoo.cli", "run", "--family", "toy_linear", "--task",
                          "yinyang", "--preset", "smoke", "--quiet", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    assert "toy_linear" in ran.stdout and out.exists()
    checked = run_with_plugin(installed_plugin, "-c", "from kae_zoo.families import get_family\n"
                              "from kae_zoo.testing import check_family\ncheck_family(get_family('toy_linear'))")
    assert checked.returncode == 0, checked.stderr  # the README's example plugin passes the conformance check


def test_plugin_is_absent_without_the_package():
    assert "toy_linear" not in list_families()
