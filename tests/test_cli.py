"""The command line: list, run, show, and one-line errors with exit code 2 that write nothing."""

import csv
import dataclasses
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kae_zoo.cli import build_parser, main, sweep_spec
from kae_zoo.experiments.sweep import MEMORIZATION_SWEEP
from kae_zoo.store.results import CellResult, read_results, read_sweep, write_sweep


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


# --- kae-zoo show --format / --metrics / --family / --task -----------------------------------------------------------

DEFAULT = Path(__file__).parents[1] / "results" / "reference" / "default.nc"
# the default matrix ran these 31 (family, task) pairs (benches/matrix/default.toml's groups, written out)
FIELD_SAES = ("sae_topk", "sae_batchtopk", "sae_jumprelu", "sae_gated", "sae_matryoshka")
DEFAULT_PAIRS = {
    *((family, task) for family in ("koopman", "dmd", "edmd", "mlp_map") for task in ("yinyang", "digits")),
    *((family, "sparse_vec") for family in ("sae", "lifted_sae", "sklearn_dict", *FIELD_SAES)),
    *((family, "digits_acts") for family in ("sae", "lifted_sae", "sklearn_dict", *FIELD_SAES, "pca", "attractor")),
    *((family, task) for family in ("sae_cnn", "sae_fno") for task in ("sparse_fn_smooth", "sparse_fn_nonsmooth")),
    ("attractor", "digits")}


def shown(capsys, *arguments: str) -> str:
    assert main(["show", str(DEFAULT), *arguments]) == 0
    return capsys.readouterr().out


def test_show_metric_tables_fit_120_columns_with_direction_and_unit(capsys):
    text = shown(capsys)
    # the metric tables run from the first titled grid to the legend
    tables = text[text.index("\n\n") + 2:text.index("kae-zoo list describes every metric")]
    widths = [len(line) for line in tables.splitlines()]
    assert max(widths) <= 120 and max(widths) > 80, max(widths)  # split, not merely short
    assert max(len(line) for line in text.splitlines()) <= 120  # the other sections wrap too
    lines = tables.splitlines()
    header = next(line for line in lines if "accuracy ↑" in line)
    units = lines[lines.index(header) + 1]
    assert header.startswith("family") and units.split() == ["[1]"] * 4  # accuracy, macro, base, agreement
    assert "train_seconds ↓" in tables and "[s]" in tables and "[samples/s]" in tables
    # spectral_radius has no better side: no arrow (jacobian_spectral_radius, lower is better, has one)
    assert re.search(r"\bspectral_radius\b", tables) and not re.search(r"\bspectral_radius [↑↓]", tables)
    # koopman/yinyang accuracy 0.983, 0.985, 0.992: mean 0.98667, sample std 0.0047258 (by hand in the CSV test)
    block = tables[tables.index(header):].split("\n\n")[0].splitlines()
    row = next(line for line in block if line.split()[:2] == ["koopman", "yinyang"])
    assert "0.9867 ± 0.0047" in row
    # the classification table holds only the pairs it scored (those with a head), each baseline after its paper
    # family on the same task: the layer maps, then the representation task (attractor/digits has no head)
    assert [tuple(line.split()[:2]) for line in block[3:]] == [
        *((family, task) for task in ("yinyang", "digits") for family in ("koopman", "dmd", "edmd", "mlp_map")),
        *((family, "digits_acts") for family in ("sae", "sklearn_dict", *FIELD_SAES, "pca", "lifted_sae",
                                                 "attractor"))]


def test_show_csv_is_one_row_per_pair_that_ran_with_mean_std_n(capsys):
    rows = list(csv.DictReader(io.StringIO(shown(capsys, "--format", "csv"))))
    assert {(row["family"], row["task"]) for row in rows} == DEFAULT_PAIRS and len(rows) == 31
    row = next(row for row in rows if (row["family"], row["task"]) == ("koopman", "yinyang"))
    # accuracy of seeds 0, 1, 2: 0.983, 0.985, 0.992. Mean 2.960 / 3 = 0.986667; deviations -0.003667, -0.001667,
    # +0.005333, squares 1.3444e-5 + 2.778e-6 + 2.8444e-5 = 4.4667e-5, / (3 - 1) = 2.2333e-5, sqrt = 0.0047258
    assert float(row["accuracy_mean"]) == pytest.approx(0.986667, abs=1e-6)
    assert float(row["accuracy_std"]) == pytest.approx(0.0047258, abs=1e-7)
    assert row["accuracy_n"] == "3" and row["ok"] == "3" and row["cells"] == "3"
    # mfu is NaN on a CPU (no peak FLOP/s): empty fields, n 0; sae has no accuracy at all
    assert (row["mfu_mean"], row["mfu_std"], row["mfu_n"]) == ("", "", "0")
    sae = next(row for row in rows if row["family"] == "sae")
    assert sae["accuracy_mean"] == "" and sae["accuracy_n"] == "0"


def test_show_json_parses_with_provenance_units_and_null_for_nan(capsys):
    document = json.loads(shown(capsys, "--format", "json"))
    assert document["kind"] == "run" and len(document["rows"]) == 31
    assert document["provenance"]["git_sha"].startswith("302bdb7") and document["provenance"]["config"]["seeds"] == [
        0, 1, 2]
    assert document["metrics"]["train_seconds"]["units"] == "s"
    assert document["metrics"]["accuracy"]["direction"] == "higher"
    assert document["metrics"]["betti_simplification"]["definition_version"] == 2
    koopman = next(row for row in document["rows"] if (row["family"], row["task"]) == ("koopman", "yinyang"))
    assert koopman["metrics"]["accuracy"]["mean"] == pytest.approx(0.986667, abs=1e-6)
    assert koopman["metrics"]["mfu"] == {"mean": None, "std": None, "n": 0}


def test_show_selection_and_bad_names(capsys):
    rows = list(csv.DictReader(io.StringIO(shown(
        capsys, "--format", "csv", "--metrics", "accuracy", "--metrics", "state_error", "--family", "koopman,sae"))))
    assert [(row["family"], row["task"]) for row in rows] == [("koopman", "yinyang"), ("koopman", "digits"),
                                                              ("sae", "sparse_vec"), ("sae", "digits_acts")]
    assert list(rows[0]) == ["family", "task", "ok", "cells", "accuracy_mean", "accuracy_std", "accuracy_n",
                             "state_error_mean", "state_error_std", "state_error_n"]
    text = shown(capsys, "--task", "digits", "--metrics", "accuracy")
    assert "attractor/digits: 300/300" in text and "sae/sparse_vec" not in text  # every section follows --task
    for option, bad, valid in (("--metrics", "acuracy", "accuracy"), ("--family", "koopmann", "koopman"),
                               ("--task", "yingyang", "yinyang")):
        assert exit_code(["show", str(DEFAULT), option, bad]) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1 and repr(bad) in error and valid in error.split("valid:")[1]
    assert exit_code(["show", str(DEFAULT), "--format", "xml"]) == 2


def test_show_markdown_is_a_github_table(capsys):
    text = shown(capsys, "--format", "markdown", "--metrics", "accuracy,train_seconds")
    lines = text.splitlines()
    # a table per score group, as in the terminal; a group's rows are the pairs with a value in it
    start = lines.index("| family | task | ok/cells | accuracy ↑ |")
    assert lines[start - 2] == "#### classification" and lines[start + 1] == "|---|---|---|---|"
    body = lines[start + 2:lines.index("", start)]
    assert body[:5] == ["| koopman | yinyang | 3/3 | 0.9867 ± 0.0047 |", "| dmd | yinyang | 3/3 | 0.8030 ± 0.0089 |",
                        "| edmd | yinyang | 3/3 | 0.9640 ± 0.0070 |", "| mlp_map | yinyang | 3/3 | 0.9927 ± 0.0015 |",
                        "| koopman | digits | 3/3 | 0.9898 ± 0.0042 |"] and len(body) == 18
    start = lines.index("| family | task | ok/cells | train_seconds ↓ |")
    assert lines[start - 2] == "#### training_record"
    body = lines[start + 2:lines.index("", start)]
    assert len(body) == 31 and all(line.count("|") == 5 for line in body)
    assert "| train_seconds | s | lower ↓ | train |" in text  # the legend: unit, better side, split
    assert "### training" in text  # the other sections follow


def test_show_sweep_formats(tmp_path, capsys):
    points = [({"latent_dim": dim}, CellResult("attractor", "digits", seed, scalars={
        "memorization": 0.9 + dim / 100 + seed / 10, "n_train_used": 150.0})) for dim in (4, 16) for seed in (0, 1)]
    write_sweep(tmp_path / "s.nc", points, {"latent_dim": (4, 16)}, {"preset": "smoke"}, "cpu")
    assert main(["show", str(tmp_path / "s.nc"), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    # latent_dim 16: memorization 1.06 and 1.16: mean 1.11, sample std 0.1 / sqrt(2) = 0.070711
    assert [row["latent_dim"] for row in rows] == ["4", "16"] and rows[1]["family"] == "attractor"
    assert float(rows[1]["memorization_mean"]) == pytest.approx(1.11)
    assert float(rows[1]["memorization_std"]) == pytest.approx(0.070711, abs=1e-6)
    assert rows[1]["n_train_used_mean"] == "150.0" and rows[1]["cells"] == "2"
    assert main(["show", str(tmp_path / "s.nc"), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kind"] == "sweep" and document["provenance"]["axes"] == ["latent_dim"]
    assert exit_code(["show", str(tmp_path / "s.nc"), "--family", "koopman"]) == 2
    assert "valid: attractor" in capsys.readouterr().err
