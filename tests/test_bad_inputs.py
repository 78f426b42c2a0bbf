"""A battery of bad inputs at every CLI boundary: each exits 2 with one line on stderr and leaves every existing
result file, and the folder around it, exactly as it was (tests/test_cli.py and tests/test_matrix.py hold more)."""

import pytest
import xarray as xr

from kae_zoo.cli import main
from kae_zoo.results import CellResult, write_results

RUN = ["run", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--device", "cpu"]
SWEEP = ["sweep", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--device", "cpu"]
GOOD_MATRIX = 'preset = "smoke"\nseeds = [0]\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]\n'

# (arguments with {dir} for the folder and {ref} for the existing result file, matrix text or None, message part)
BAD_INPUTS = [
    # run: options
    (RUN + ["--out", "{ref}", "--executor", "local", "--workers", "2"], None, "need --executor dask"),
    (RUN + ["--out", "{ref}", "--executor", "dask", "--workers", "0"], None, "workers must be a positive integer"),
    (RUN + ["--out", "{ref}", "--executor", "dask", "--workers", "2", "--scheduler", "tcp://x:1"], None, "not both"),
    (RUN + ["--out", "{ref}", "--executor", "spark"], None, "invalid choice: 'spark'"),
    (RUN + ["--out", "{ref}", "--precision", "tf32"], None, "'tf32' needs a CUDA device"),
    (RUN + ["--out", "{ref}", "--precision", "fp8"], None, "invalid choice: 'fp8'"),
    (RUN + ["--out", "{ref}", "--set", "koopman.observable_dim=0"], None, "observable_dim"),
    (RUN + ["--out", "{ref}", "--set", "koopman.n_epochs=[1"], None, "n_epochs = '[1' (str) is not valid"),
    (RUN + ["--out", "{ref}", "--set", "koopman.hidden_dims=-3"], None, "hidden_dims"),
    (RUN + ["--out", "{ref}", "--set", "koopman.activation=swish"], None, "one of 'leaky_relu'"),
    (RUN + ["--out", "{ref}", "--set", "koopman.unlearn_class=7"], None, "unlearn_class 7 is not a class of this task"),
    (RUN + ["--out", "{dir}"], None, "must be a .nc file"),
    (RUN + ["--out", "{dir}/r.csv"], None, "must be a .nc file"),
    (RUN + ["--out", "{dir}/junk.nc"], None, "pass overwrite"),
    (["run", "--task", "yinyang", "--out", "{ref}"], None, "needs --family and --task"),
    (RUN + ["--out", "{ref}", "--seed", "1.5"], None, "--seed '1.5'"),
    (RUN + ["--out", "{ref}", "--save-models", "{ref}"], None, "give a folder for the checkpoints"),
    # run: matrix files
    (["run", "--matrix", "{dir}/missing.toml", "--out", "{ref}"], None, "missing.toml"),
    (["run", "--matrix", "{dir}/m.toml", "--out", "{ref}"], "preset = smoke\n", "m.toml"),
    (["run", "--matrix", "{dir}/m.toml", "--out", "{ref}"], GOOD_MATRIX + "speed = 3\n", "speed"),
    (["run", "--matrix", "{dir}/m.toml", "--out", "{ref}"], GOOD_MATRIX.replace("[0]", "[]"), "seeds"),
    (["run", "--matrix", "{dir}/m.toml", "--out", "{ref}"], GOOD_MATRIX.replace('"smoke"', '"huge"'), "huge"),
    (["run", "--matrix", "{dir}/m.toml", "--out", "{ref}"], GOOD_MATRIX.replace('"koopman"', '"nope"'), "nope"),
    (["run", "--matrix", "{dir}/m.toml", "--out", "{ref}"], GOOD_MATRIX.replace("[0]", '["zero"]'), "seeds"),
    (["run", "--matrix", "{dir}/m.toml", "--family", "sae", "--out", "{ref}"], GOOD_MATRIX, "drop --family"),
    # sweep
    (SWEEP + ["--axis", "koopman.n_epochs=1,2", "--out", "{dir}"], None, "must be a .nc file"),
    (["sweep", "--family", "koopman,sae", "--task", "yinyang", "--axis", "koopman.n_epochs=1,2", "--out",
      "{dir}/s.nc"], None, "takes one --family"),
    (["sweep", "--named", "nope", "--out", "{dir}/s.nc"], None, "invalid choice: 'nope'"),
    (SWEEP + ["--axis", "koopman.n_epochs=1,2", "--set", "koopman.unlearn_class=5", "--out", "{dir}/s.nc"], None,
     "unlearn_class 5 is not a class"),
    # show, report, compare: result files
    (["show", "{dir}/missing.nc"], None, "missing.nc"),
    (["show", "{dir}/junk.nc"], None, "junk.nc"),
    (["show", "{dir}/foreign.nc"], None, "foreign.nc"),
    (["report", "{dir}/junk.nc", "--out", "{dir}/report"], None, "junk.nc"),
    (["report", "{ref}", "--out", "{ref}"], None, "is a file"),
    (["compare", "{ref}", "{dir}/junk.nc"], None, "junk.nc"),
    (["compare", "{dir}/missing.nc", "{ref}"], None, "missing.nc"),
    (["compare", "{ref}", "{ref}", "--tolerance", "-0.1"], None, "tolerance"),
    (["compare", "{ref}", "{ref}", "--tolerance", "x"], None, "invalid float value: 'x'"),
    # reproduce
    (["reproduce", "--claim", "nope", "--out", "{dir}/repro"], None, "unknown claim 'nope'"),
    (["reproduce", "--preset", "huge", "--out", "{dir}/repro"], None, "invalid choice: 'huge'"),
    (["reproduce", "--workers", "0", "--out", "{dir}/repro"], None, "workers must be a positive integer"),
    (["reproduce", "--out", "{ref}"], None, "is a file"),
    # no command, unknown command
    ([], None, "required"),
    (["train"], None, "invalid choice: 'train'"),
]


def snapshot(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize(("arguments", "matrix", "message"), BAD_INPUTS,
                         ids=[f"{index:02d}-{case[0][0] if case[0] else 'none'}" for index, case in
                              enumerate(BAD_INPUTS)])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(tmp_path, capsys, arguments, matrix, message):
    reference = tmp_path / "ref.nc"
    write_results(reference, [CellResult("koopman", "yinyang", 0, scalars={"accuracy": 0.9})], {}, "cpu")
    (tmp_path / "junk.nc").write_bytes(b"not netCDF")
    xr.Dataset({"x": ("i", [1.0, 2.0])}).to_netcdf(tmp_path / "foreign.nc", engine="h5netcdf")
    if matrix is not None:
        (tmp_path / "m.toml").write_text(matrix)
    before = snapshot(tmp_path)
    argv = [argument.format(dir=tmp_path, ref=reference) for argument in arguments]
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    error = capsys.readouterr().err
    assert code == 2, error
    assert error.count("\n") == 1 and error.startswith("kae-zoo: error:"), error
    assert message in error
    assert snapshot(tmp_path) == before


def test_the_battery_is_at_least_30_distinct_inputs():
    assert len({(tuple(arguments), matrix) for arguments, matrix, _ in BAD_INPUTS}) >= 30
