"""`kae-zoo reproduce`: plans, the end-to-end pipeline at the smoke preset, reuse of finished experiments, workers."""

import numpy as np
import pytest

from kae_zoo.cli import main
from kae_zoo.paper.claims import CLAIMS
from kae_zoo.paper.reproduce import REPRODUCTION_PRESETS, reproduction_plan, run_reproduction
from kae_zoo.store.results import CellResult, ResultFileError, read_reproduction, read_result_file, write_results

CHEAP = ["attractor_contractivity", "data_free_probe"]  # one attractor/digits smoke experiment: a few seconds


@pytest.mark.parametrize("preset", REPRODUCTION_PRESETS)
def test_every_plan_validates_and_covers_every_claim(preset):
    plan = reproduction_plan(preset)
    for experiment in plan.values():
        experiment.spec.validate()
        assert experiment.conditions
    for claim in CLAIMS:
        assert set(claim.experiments) <= set(plan), claim.key


def test_default_plan_says_where_it_departs_from_the_paper():
    default, paper = reproduction_plan("default"), reproduction_plan("paper")
    assert "20 of the paper's 100 epochs" in default["kae_mnist"].conditions
    assert default["kae_mnist"].departures == "1 of 5 seeds, 20 of 100 epochs, 7k training images (paper: 60k)"
    assert paper["kae_yinyang"].departures == "" and paper["sae_fno_smooth"].departures == ""
    assert default["kae_mnist"].spec.overrides == {"koopman": {"n_epochs": 20}}
    assert paper["kae_mnist"].spec.seeds == (0, 1, 2, 3, 4) and paper["kae_mnist"].spec.overrides == {}
    assert paper["attractor_digits"].spec.preset == "paper"


def test_reproduce_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "repro"
    assert main(["reproduce", "--preset", "smoke", "--claim", ",".join(CHEAP), "--out", str(out), "--quiet"]) == 0
    assert "attractor_contractivity" in capsys.readouterr().out
    table = read_reproduction(out / "reproduction.nc")
    assert list(table["claim"].values) == CHEAP
    assert set(table["verdict"].values) <= {"holds", "holds partly", "does not hold"}
    assert np.isfinite(table["measured_mean"].values).all() and (table["n_seeds"].values == 1).all()
    text = (out / "reproduction.md").read_text()
    assert "| claim | paper | measured | verdict | departs from the paper |" in text and "Smoke preset" in text
    assert set(table["departures"].values) == {"smoke sizes, digits, not MNIST/CIFAR-10"}
    for line in text.splitlines():  # every embedded figure exists
        if line.startswith("!["):
            assert (out / line.split("](")[1].rstrip(")")).is_file()
    assert main(["show", str(out / "reproduction.nc")]) == 0
    assert "data_free_probe" in capsys.readouterr().out


def test_a_rerun_reuses_finished_experiments_unless_overwrite(tmp_path):
    run_reproduction(tmp_path, "smoke", claims=CHEAP[:1], progress=False)
    run_file = tmp_path / "runs" / "attractor_digits.nc"
    stamp = run_file.stat().st_mtime_ns
    table = run_reproduction(tmp_path, "smoke", claims=CHEAP[:1], progress=False)
    assert run_file.stat().st_mtime_ns == stamp
    assert '"reused": ["attractor_digits"]' in table.attrs["config"]
    run_reproduction(tmp_path, "smoke", claims=CHEAP[:1], overwrite=True, progress=False)
    assert run_file.stat().st_mtime_ns != stamp


def test_worker_processes_give_the_same_numbers(tmp_path):
    claims = ["attractor_contractivity", "memorization_regime"]  # two experiments: run in two processes
    parallel = run_reproduction(tmp_path / "two", "smoke", claims=claims, workers=2, progress=False)
    serial = run_reproduction(tmp_path / "one", "smoke", claims=claims, workers=1, progress=False)
    assert '"workers": 2' in parallel.attrs["config"]
    np.testing.assert_array_equal(parallel["measured_mean"].values, serial["measured_mean"].values)
    for name in ("attractor_digits", "memorization"):
        a, b = (read_result_file(tmp_path / run / "runs" / f"{name}.nc") for run in ("two", "one"))
        np.testing.assert_array_equal(a["convergence_fraction"].values, b["convergence_fraction"].values)


def test_bad_reproduce_arguments_exit_2(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    for argv, message in ((["--out", str(tmp_path / "taken")], "is a file"),
                          (["--out", str(tmp_path / "r"), "--claim", "nope"], "unknown claim 'nope'"),
                          (["--out", str(tmp_path / "r"), "--workers", "0"], "workers must be a positive integer")):
        assert main(["reproduce", *argv]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # argparse rejects a preset outside the choices
        main(["reproduce", "--out", str(tmp_path / "r"), "--preset", "huge"])
    assert exit_info.value.code == 2 and "invalid choice: 'huge'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_run_file_is_not_a_reproduction_file(tmp_path):
    write_results(tmp_path / "run.nc", [CellResult("koopman", "yinyang", 0, scalars={"accuracy": 0.9})], {}, "cpu")
    with pytest.raises(ResultFileError, match="not a kae-zoo reproduction file"):
        read_reproduction(tmp_path / "run.nc")


def test_an_experiment_with_a_failed_cell_is_run_again(tmp_path, monkeypatch):
    from kae_zoo.paper import reproduce as module

    calls = []
    real = module.ExperimentJob.__call__

    def counting(job):
        calls.append(job.path.name)
        return real(job)

    monkeypatch.setattr(module.ExperimentJob, "__call__", counting)
    run_file = tmp_path / "runs" / "attractor_digits.nc"
    spec = reproduction_plan("smoke")["attractor_digits"].spec
    failed = CellResult("attractor", "digits", 0, status="failed", error="FileNotFoundError: no data")
    write_results(run_file, [failed], spec.to_dict(), "cpu")  # the plan's own spec, but the cell failed
    run_reproduction(tmp_path, "smoke", claims=CHEAP[:1], progress=False)
    run_reproduction(tmp_path, "smoke", claims=CHEAP[:1], progress=False)  # now finished: reused
    assert calls == ["attractor_digits.nc"]
    assert (read_result_file(run_file)["status"] == "ok").all()
