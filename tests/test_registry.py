"""Registries: lookup, clear errors for unknown names, and third-party families from entry points."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kae_zoo.cli import main
from kae_zoo.core.registry import Registry, UnknownNameError
from kae_zoo.families import get_family, list_families, register_family
from kae_zoo.metrics import get_metric
from kae_zoo.skeleton import skeleton_files
from kae_zoo.tasks import get_task

PLUGIN = "toy_flow"  # a plugin family written by `kae-zoo new-family toy_flow`, the README's recipe


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
    """`kae-zoo new-family` writes the package; pip installs it into a private folder (no network, no build
    isolation). Returns (install folder, package folder)."""
    package = tmp_path_factory.mktemp("source") / "kae-zoo-toy-flow"
    assert main(["new-family", PLUGIN, "--out", str(package)]) == 0
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(package)],
        check=True, capture_output=True, text=True,
    )
    return target, package


def run_with_plugin(target: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=environment, timeout=600,
                          cwd=cwd)


def test_a_new_family_package_installs_lists_runs_and_passes_its_own_tests(installed_plugin, tmp_path):
    target, package = installed_plugin
    listed = run_with_plugin(target, "-m", "kae_zoo.cli", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"  {PLUGIN}  " in listed.stdout and "koopman" in listed.stdout
    out = tmp_path / "plugin.nc"
    ran = run_with_plugin(target, "-m", "kae_zoo.cli", "run", "--family", PLUGIN, "--task", "yinyang", "--preset",
                          "smoke", "--quiet", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    assert PLUGIN in ran.stdout and out.exists()
    # the package's own tests: check_family at the smoke preset and at other settings
    tested = run_with_plugin(target, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package), cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "2 passed" in tested.stdout
    # its config's validate() runs before anything is written: a bad --set is exit 2 with one line
    refused = run_with_plugin(target, "-m", "kae_zoo.cli", "run", "--family", PLUGIN, "--task", "yinyang",
                              "--set", f"{PLUGIN}.latent_dim=0", "--out", str(tmp_path / "bad.nc"))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "latent_dim" in refused.stderr
    assert not (tmp_path / "bad.nc").exists()


def test_plugin_is_absent_without_the_package():
    assert PLUGIN not in list_families()


@pytest.mark.parametrize(("name", "message"), [
    ("koopman", "family 'koopman' already exists"),
    ("My-Flow", "family name 'My-Flow' is invalid"),
    ("class", "family name 'class' is invalid"),
    ("2fast", "family name '2fast' is invalid"),
])
def test_new_family_refuses_bad_names_and_writes_nothing(tmp_path, capsys, name, message):
    assert main(["new-family", name, "--out", str(tmp_path / "package")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error
    assert list(tmp_path.iterdir()) == []


def test_new_family_refuses_an_existing_folder(tmp_path, capsys):
    (tmp_path / "package").mkdir()
    assert main(["new-family", "fresh", "--out", str(tmp_path / "package")]) == 2
    assert "already exists; give a new folder with --out" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "package"] and not any((tmp_path / "package").iterdir())


def test_the_readme_shows_the_files_new_family_writes():
    """The README's plugin example is the generated package itself, so it cannot drift from a working one."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    files = skeleton_files("my_flow", check_taken=False)  # the text, whether or not the user installed my_flow
    assert f"```python\n{files['my_flow.py'].rstrip()}\n```" in readme
    assert f"```toml\n{files['pyproject.toml'].rstrip()}\n```" in readme
