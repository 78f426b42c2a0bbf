"""The command line: list, run, show, and one-line errors with exit code 2 that write nothing."""

import dataclasses
import subprocess
import sys

import pytest

from kae_zoo.cli import build_parser, main, sweep_spec
from kae_zoo.experiments.sweep import MEMORIZATION_SWEEP
from kae_zoo.store.results import read_results, read_sweep


def exit_code(arguments: list[str]) -> int:
    """main()'s return value, or the code argparse exits with."""
    try:
        return main(arguments)
    except SystemExit as exit:
        return exit.code


FAST = ["--preset", "smoke", "--quiet", "--set", "koopman.n_epochs=2"]


def test_list(capsys):
    assert main(["list"]) == 0
    output = capsys.readouterr().out
    for expected in ("families:", "koopman", "tasks:", "yinyang", "digits", "mnist", "metrics:", "betti",
                     "isometry_error", "presets: smoke, default, paper"):
        assert expected in output


def test_run_then_show(tmp_path, capsys):
    out = tmp_path / "yy.nc"
    assert main(["run", "--family", "koopman", "--task", "yinyang", "--seed", "0,1", *FAST, "--out", str(out)]) == 0
    dataset = read_results(out)
    assert list(dataset.seed.values) == [0, 1] and (dataset["status"] == "ok").all()
    assert dataset["betti"].dims == ("family", "task", "seed", "step", "homology_dim")
    assert dataset["base_betti"].sizes["layer"] == 6
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "koopman" in shown and "accuracy" in shown and "2/2" in shown and "beta_0 + beta_1" in shown


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run", "--family", "nope", "--task", "yinyang"], "unknown family 'nope'"),
        (["run", "--family", "koopman", "--task", "nope"], "unknown task 'nope'"),
        (["run", "--family", "koopman", "--task", "yinyang", "--seed", "x"], "--seed 'x'"),
        (["run", "--family", "koopman", "--task", "yinyang", "--seed", "-1"], "--seed '-1'"),
        (["run", "--family", "koopman", "--task", "yinyang", "--preset", "huge"], "invalid choice: 'huge'"),
        (["run", "--family", "koopman", "--task", "yinyang", "--device", "tpu"], "invalid choice: 'tpu'"),
        (["run", "--family", "koopman", "--task", "yinyang", "--set", "n_epochs=2"], "FAMILY.FIELD=VALUE"),
        (["run", "--family", "koopman", "--task", "yinyang", "--set", "koopman.wings=2"], "unknown KoopmanConfig"),
        (["run", "--family", "koopman", "--task", "yinyang", "--set", "koopman.n_epochs=0"], "n_epochs must be > 0"),
        (["run", "--family", "koopman", "--task", "yinyang", "--set", "sae.n_epochs=2"], "not in this run"),
        (["run", "--family", ",", "--task", "yinyang"], "at least one value"),
        (["run", "--family", "koopman", "--task", "yinyang", "--threads", "0"], "threads 0 must be a positive"),
        (["run", "--family", "koopman", "--task", "yinyang", "--threads", "two"], "invalid int value: 'two'"),
    ],
)
def test_bad_run_arguments(tmp_path, capsys, arguments, message):
    out = tmp_path / "r.nc"
    assert exit_code([*arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("kae-zoo: error:")
    if message:
        assert message in error
    assert not out.exists() and not list(tmp_path.iterdir())


def test_out_must_be_netcdf(tmp_path, capsys):
    assert main(["run", "--family", "koopman", "--task", "yinyang", "--out", str(tmp_path / "r.csv")]) == 2
    assert "must be a .nc file" in capsys.readouterr().err


def test_existing_results_survive_a_bad_run(tmp_path, capsys):
    out = tmp_path / "r.nc"
    out.write_bytes(b"previous results")
    assert main(["run", "--family", "nope", "--task", "yinyang", "--out", str(out)]) == 2
    assert out.read_bytes() == b"previous results"


@pytest.mark.parametrize("content", [None, b"garbage"])
def test_show_bad_file(tmp_path, capsys, content):
    path = tmp_path / "r.nc"
    if content:
        path.write_bytes(content)
    assert main(["show", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "r.nc" in error


# --- sweep --------------------------------------------------------------------------------------------------------

SWEEP = ["sweep", "--family", "attractor", "--task", "digits", "--preset", "smoke", "--quiet"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--axis", "attractor.wings=1,2"], "axis 'wings' is not a AttractorConfig field"),
        (["--axis", "attractor.latent_dim=a,b"], "axis 'latent_dim' value 'a' is a str; the field takes int values"),
        (["--axis", "attractor.latent_dim=4,0"], "latent_dim must be >= 1, got 0"),
        (["--axis", "attractor.latent_dim=4,,8"], "without empty ones"),
        (["--axis", "latent_dim=4,8"], "not of the form FAMILY.FIELD=VALUE"),
        (["--axis", "koopman.latent_dim=4,8"], "--axis names family 'koopman', but the sweep's --family is"),
        (["--axis", "attractor.latent_dim=4", "--axis", "attractor.latent_dim=8"], "names attractor.latent_dim twice"),
        (["--axis", "attractor.latent_dim=4,8", "--set", "attractor.latent_dim=4"], "both a sweep axis and a fixed"),
        (["--axis", "attractor.latent_dim=4,8", "--set", "sae.n_epochs=2"], "--set names family 'sae'"),
        ([], "needs at least one --axis"),
        (["--axis", "attractor.latent_dim=4,8", "--seed", "x"], "--seed 'x'"),
        (["--axis", "attractor.latent_dim=4,8", "--named", "memorization"], "drop --family"),
    ],
)
def test_bad_sweep_arguments(tmp_path, capsys, arguments, message):
    out = tmp_path / "s.nc"
    assert exit_code([*SWEEP, *arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("kae-zoo: error:")
    assert message in error
    assert not list(tmp_path.iterdir())


def test_a_sweep_takes_one_family_and_task(tmp_path, capsys):
    arguments = ["sweep", "--family", "attractor,koopman", "--task", "digits", "--axis", "attractor.latent_dim=4,8",
                 "--out", str(tmp_path / "s.nc")]
    assert exit_code(arguments) == 2
    assert "one --family and one --task" in capsys.readouterr().err


def test_the_documented_sweep_line_and_the_named_sweep_are_the_memorization_sweep():
    line = ["sweep", "--family", "attractor", "--task", "digits", "--seed", "0,1,2", "--axis",
            "attractor.latent_dim=4,16,64", "--axis", "attractor.n_train_samples=150,300,600,0", "--out", "s.nc"]
    assert sweep_spec(build_parser().parse_args(line)) == MEMORIZATION_SWEEP
    named = sweep_spec(build_parser().parse_args(["sweep", "--named", "memorization", "--out", "s.nc"]))
    assert named == MEMORIZATION_SWEEP
    quick = sweep_spec(build_parser().parse_args(["sweep", "--named", "memorization", "--preset", "smoke",
                                                  "--out", "s.nc"]))
    assert quick == dataclasses.replace(MEMORIZATION_SWEEP, preset="smoke")  # the same design at another preset


def test_sweep_then_show_and_report(tmp_path, capsys):
    out = tmp_path / "s.nc"
    arguments = [*SWEEP, "--axis", "attractor.n_train_samples=60,120,0", "--set", "attractor.n_noise_starts=16",
                 "--out", str(out)]
    assert main(arguments) == 0
    dataset = read_sweep(out)
    assert dataset["n_train_used"].values[:, 0].tolist() == [60, 120, 1078]
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "sweep of attractor on digits (preset smoke, n_noise_starts=16)" in shown
    assert "memorization vs n_train_used, all points and seeds: rho" in shown
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "![memorization_sweep](memorization_sweep.png)" in report and "Spearman" in report


HEAVY_LIBRARIES = ("torch", "xarray", "matplotlib", "dask", "distributed", "neuralop", "scipy", "sklearn", "pandas")


def imported_libraries(code: str) -> set[str]:
    """The top-level packages of HEAVY_LIBRARIES that `code` imports, run in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{name.split('.')[0] for name in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return set(result.stdout.split()) & set(HEAVY_LIBRARIES)


def test_help_imports_no_heavy_library_and_list_only_torch():
    # what `kae-zoo --help` and `kae-zoo list` import (their time is benches/test_startup.py's and asv's job)
    assert imported_libraries("import kae_zoo; from kae_zoo.cli import build_parser; build_parser().format_help()") \
        == set()
    assert imported_libraries("from kae_zoo.cli import command_list; command_list()") == {"torch"}
    # a name of the lazy package imports the module that defines it on first use
    assert "xarray" in imported_libraries("import kae_zoo; kae_zoo.read_results")


def test_package_exports_resolve_lazily():
    import kae_zoo
    from kae_zoo.experiments.runner import run_matrix

    assert kae_zoo.run_matrix is run_matrix
    assert all(getattr(kae_zoo, name) is not None for name in kae_zoo.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'run_matrx'"):
        kae_zoo.run_matrx
