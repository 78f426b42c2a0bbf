"""Matrix files (benches/matrix/*.toml): the shipped ones load; every malformed one gets a one-line error."""

from pathlib import Path

import pytest

from kae_zoo.cli import main
from kae_zoo.experiments.matrix import load_matrix
from kae_zoo.store.results import read_results

MATRICES = Path(__file__).parent.parent / "benches" / "matrix"
TINY = """preset = "smoke"
seeds = [0]
[[cells]]
families = ["koopman"]
tasks = ["yinyang"]
[[cells]]
families = ["attractor"]
tasks = ["digits"]
[overrides.koopman]
n_epochs = 2
"""


@pytest.mark.parametrize("name, n_cells", [("smoke", 16), ("default", 93), ("paper", 145)])
def test_shipped_matrices_load(name, n_cells):
    spec = load_matrix(MATRICES / f"{name}.toml")
    assert spec.preset == name and len(spec.cells()) == n_cells
    assert ("koopman", "sparse_vec") not in spec.family_task_pairs()  # groups, not one cross product


def test_smoke_matrix_runs_every_built_in_family():
    from kae_zoo.families import get_family, list_families

    built_in = {name for name in list_families() if get_family(name).__module__.startswith("kae_zoo.families.")}
    assert set(load_matrix(MATRICES / "smoke.toml").families) == built_in


@pytest.mark.parametrize("text, message", [
    ('preset = "smoke"\nseeds = [0]\nflavour = 1\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]',
     "unknown key 'flavour'; valid keys: description, preset, seeds, cells, overrides"),
    ('preset = "smoke"\nseeds = [0]', "missing key 'cells'"),
    ('preset = "smoke"\nseeds = "0"\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]',
     "seeds must be a non-empty list of integers, got '0'"),
    ('preset = "smoke"\nseeds = []\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]',
     "seeds must be a non-empty list of integers"),
    ('preset = "smoke"\nseeds = [0]\n[[cells]]\nfamilies = []\ntasks = ["yinyang"]',
     "group 1: families must be a non-empty list of names, got []"),
    ('preset = "smoke"\nseeds = [0]\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]\nmodels = 1',
     "group 1: unknown key 'models'; valid keys: families, tasks"),
    ('preset = "smoke"\nseeds = [0]\n[[cells]]\nfamilies = ["nope"]\ntasks = ["yinyang"]', "nope"),
    ('preset = "huge"\nseeds = [0]\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]', "huge"),
    ('preset = "smoke"\nseeds = [0]\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]\n[overrides.sae]\nx = 1',
     "[overrides.sae] names a family that no [[cells]] group runs"),
    ('preset = "smoke"\nseeds = [0]\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]\n'
     '[overrides.koopman]\nn_epochz = 1', "n_epochz"),
    ('preset = "smoke"\nseeds = [0\n', "is not valid TOML"),
])
def test_malformed_matrix_files(tmp_path, text, message):
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        load_matrix(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_run_matrix_command(tmp_path, capsys):
    (tmp_path / "m.toml").write_text(TINY)
    out = tmp_path / "r.nc"
    assert main(["run", "--matrix", str(tmp_path / "m.toml"), "--out", str(out), "--quiet"]) == 0
    dataset = read_results(out)
    status = {(str(f), str(t)): str(dataset["status"].sel(family=f, task=t, seed=0).item())
              for f in dataset.family.values for t in dataset.task.values}
    assert status == {("koopman", "yinyang"): "ok", ("koopman", "digits"): "missing",
                      ("attractor", "yinyang"): "missing", ("attractor", "digits"): "ok"}
    printed = capsys.readouterr().out
    assert "attractor  digits" in printed and "koopman    digits" not in printed  # pairs that did not run: no row


def test_matrix_command_errors_exit_2(tmp_path, capsys):
    (tmp_path / "m.toml").write_text(TINY)
    assert main(["run", "--matrix", str(tmp_path / "m.toml"), "--family", "sae", "--out", str(tmp_path / "r.nc")]) == 2
    assert "fixes the whole matrix; drop --family" in capsys.readouterr().err
    assert main(["run", "--matrix", str(tmp_path / "none.toml"), "--out", str(tmp_path / "r.nc")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", "--out", str(tmp_path / "r.nc")]) == 2
    assert "needs --family and --task (or --matrix FILE)" in capsys.readouterr().err
    assert main(["run", "--matrix", str(tmp_path / "m.toml"), "--workers", "2", "--out", str(tmp_path / "r.nc")]) == 2
    assert "--workers 2 needs --executor process or dask" in capsys.readouterr().err
    assert not (tmp_path / "r.nc").exists()
