"""Extending the suite: a new family, task and scorer are one new file each (zero as plugins), as the README shows.

The README's example files are read from the README itself, so they cannot drift from what is tested."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kae_zoo.skeleton import skeleton_files

ROOT = Path(__file__).resolve().parents[1]


def readme_example(name: str) -> str:
    """The code block under `<!-- example: NAME -->` in the README."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)```", readme, flags=re.S)
    assert match, f"the README has no example {name!r}"
    return match.group(1)


def run_python(code: str, *, pythonpath: Path, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pythonpath), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=cwd,
                          timeout=900)


def in_repo_family() -> str:
    """The README's family module (`kae-zoo new-family my_flow`) as a file inside the package: registered with the
    decorator instead of an entry point."""
    module = skeleton_files("my_flow", check_taken=False)["my_flow.py"]
    config_import = "from kae_zoo.core.config import TrainingConfig\n"
    module = module.replace(config_import, config_import + "from kae_zoo.families import register_family\n")
    assert "class MyFlow(Surrogate):" in module
    return module.replace("class MyFlow(Surrogate):", '@register_family("my_flow")\nclass MyFlow(Surrogate):')


CHECK_NEW_FILES = """
import kae_zoo
assert kae_zoo.__file__.startswith({package!r}), kae_zoo.__file__
assert "my_flow" in kae_zoo.list_families() and "moons" in kae_zoo.list_tasks()
assert "latent_norm" in kae_zoo.list_scorers() and "latent_norm" in kae_zoo.list_metrics()
spec = kae_zoo.RunSpec(("my_flow", "attractor"), ("moons",), (0,), preset="smoke", device="cpu")
cells = kae_zoo.run_matrix(spec, out="cells.nc", progress=False)
assert [cell.status for cell in cells] == ["ok", "ok"], [cell.error for cell in cells]
dataset = kae_zoo.read_results("cells.nc")
norms = dataset["latent_norm"].values.ravel()
assert norms.shape == (2,) and (norms > 0).all(), norms
assert dataset["latent_norm"].attrs["direction"] == "none"
assert dataset["accuracy"].sel(family="my_flow").notnull().all()  # the new family's cell scored on the new task
print("ok", norms)
"""


def test_a_new_family_task_and_scorer_are_one_new_file_each(tmp_path):
    package = tmp_path / "copy"
    shutil.copytree(ROOT / "kae_zoo", package / "kae_zoo", ignore=shutil.ignore_patterns("__pycache__"))
    (package / "kae_zoo" / "families" / "my_flow.py").write_text(in_repo_family())
    (package / "kae_zoo" / "tasks" / "moons.py").write_text(readme_example("kae_zoo/tasks/moons.py"))
    (package / "kae_zoo" / "scoring" / "latent_norm.py").write_text(readme_example("kae_zoo/scoring/latent_norm.py"))
    result = run_python(CHECK_NEW_FILES.format(package=str(package)), pythonpath=package, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok")


@pytest.fixture(scope="module")
def installed_scorer(tmp_path_factory):
    """The README's scorer package, pip-installed into a private folder (no network, no build isolation)."""
    package = tmp_path_factory.mktemp("source") / "kae-zoo-latent-norm"
    package.mkdir()
    (package / "pyproject.toml").write_text(readme_example("kae-zoo-latent-norm/pyproject.toml"))
    (package / "kae_zoo_latent_norm.py").write_text(readme_example("kae_zoo/scoring/latent_norm.py"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(package)], check=True, capture_output=True, text=True)
    return target


def test_a_scorer_plugin_adds_its_metric_to_every_matching_cell(installed_scorer, tmp_path):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed_scorer),
                                                                os.environ.get("PYTHONPATH", "")])}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kae_zoo.cli", *args], capture_output=True, text=True,
                              env=environment, cwd=tmp_path, timeout=900)

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    metrics = listed.stdout.split("\nmetrics:\n")[1].split("\nscorers")[0]
    assert re.search(r"^  latent_norm +mean L2 norm of the encoder's latents", metrics, flags=re.M), metrics
    scorer_line = r"^  latent_norm +mean L2 norm of the test latents \(needs: nothing; writes: latent_norm\)$"
    assert re.search(scorer_line, listed.stdout, flags=re.M), listed.stdout
    ran = cli("run", "--family", "koopman,sae", "--task", "yinyang,sparse_vec", "--preset", "smoke", "--quiet",
              "--set", "koopman.n_epochs=2", "--set", "sae.n_epochs=2", "--out", "plugin.nc")
    # koopman trains on the layer-pair view, which sparse_vec does not offer: the run is refused before it starts
    assert ran.returncode == 2 and "sparse_vec" in ran.stderr
    ran = cli("run", "--family", "koopman,sae", "--task", "yinyang", "--preset", "smoke", "--quiet",
              "--set", "koopman.n_epochs=2", "--set", "sae.n_epochs=2", "--out", "plugin.nc")
    assert ran.returncode == 0, ran.stderr
    import xarray as xr

    with xr.open_dataset(tmp_path / "plugin.nc", engine="h5netcdf") as dataset:
        norms = dataset["latent_norm"].load()
        attrs = dict(dataset["latent_norm"].attrs)
    assert norms.notnull().all() and (norms > 0).all() and norms.sizes["family"] == 2
    assert attrs["long_name"] == "mean L2 norm of the encoder's latents of the test split"
    assert attrs["direction"] == "none" and attrs["definition_version"] == 1 and attrs["units"] == "1"


TASK_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "kae-zoo-moons"
version = "0.1.0"
dependencies = ["kae-zoo"]

[tool.setuptools]
py-modules = ["kae_zoo_moons"]

[project.entry-points."kae_zoo.tasks"]
moons = "kae_zoo_moons"
"""


def test_a_task_plugin_is_listed_and_runs(tmp_path):
    """The README's task module, installed as a package with an entry point in `kae_zoo.tasks`: zero files in the
    repository."""
    package = tmp_path / "kae-zoo-moons"
    package.mkdir()
    (package / "pyproject.toml").write_text(TASK_PYPROJECT)
    (package / "kae_zoo_moons.py").write_text(readme_example("kae_zoo/tasks/moons.py"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(package)], check=True, capture_output=True, text=True)
    code = """
import kae_zoo
assert "moons" in kae_zoo.list_tasks()
cells = kae_zoo.run_matrix(kae_zoo.RunSpec(("sae",), ("moons",), (0,), preset="smoke", device="cpu",
                                           overrides={"sae": {"n_epochs": 2}}), progress=False)
assert cells[0].status == "ok", cells[0].error
print("ok", cells[0].split_description)
"""
    result = run_python(code, pythonpath=target, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "make_moons(2000" in result.stdout


def test_the_scorer_plugin_is_absent_without_its_package():
    from importlib.metadata import entry_points

    from kae_zoo.scoring import list_scorers

    if any(entry.name == "latent_norm" for entry in entry_points(group="kae_zoo.scorers")):
        pytest.skip("the README's latent_norm scorer package is installed in this environment")
    assert "latent_norm" not in list_scorers()


def test_the_python_api_example_runs(tmp_path):
    (tmp_path / "results").mkdir()
    result = run_python(readme_example("python-api"), pythonpath=ROOT, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ") and "KoopmanAE 16 ['latent_path', 'linear_operator']" in result.stdout
