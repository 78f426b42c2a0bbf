"""A battery of bad inputs at every CLI boundary: each exits 2 with one line on stderr and leaves every existing
result file, and the folder around it, exactly as it was (tests/test_cli.py and tests/test_matrix.py hold more)."""

import numpy as np
import pytest
import xarray as xr

from kae_zoo.cli import main
from kae_zoo.store.results import CellResult, write_results

RUN = ["run", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--device", "cpu"]
SWEEP = ["sweep", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--device", "cpu"]
GOOD_MATRIX = 'preset = "smoke"\nseeds = [0]\n[[cells]]\nfamilies = ["koopman"]\ntasks = ["yinyang"]\n'

# (arguments with {dir} for the folder and {ref} for the existing result file, matrix text or None, message part)
BAD_INPUTS = [
    # run: options
    (RUN + ["--out", "{ref}", "--executor", "local", "--workers", "2"], None, "--workers 2 needs --executor process"),
    (RUN + ["--out", "{ref}", "--executor", "process", "--scheduler", "tcp://x:1"], None, "needs --executor dask"),
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
    (["run", "--family", "koopman,sae", "--task", "sparse_vec", "--out", "{ref}"], None,
     "family 'koopman' trains on the 'layer_pair' view, which task 'sparse_vec' does not offer"),
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
    (["sweep", "--named", "nope", "--out", "{dir}/s.nc"], None, "--named 'nope' is not a named sweep"),
    (SWEEP + ["--axis", "koopman.n_epochs=1,2", "--out", "{ref}"], None, "is not a kae-zoo sweep file"),
    (["sweep", "--family", "koopman", "--task", "sparse_fn", "--axis", "koopman.n_epochs=1,2", "--out", "{dir}/s.nc"],
     None, "task 'sparse_fn' does not offer (it offers autoencode)"),
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
    (RUN[:4] + ["file:"] + RUN[5:] + ["--out", "{ref}"], None, "names no file; write file:PATH.npz"),
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
    assert len({message for _, _, message in BAD_DATA_FILES}) == len(BAD_DATA_FILES)


def good_arrays(n_per_class=60, n_features=5):
    """A valid user data set: two classes, enough samples for the default split and the base network's PCA."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], n_per_class)
    return {"features": rng.normal(size=(len(labels), n_features)) + labels[:, None], "labels": labels}


def changed(**arrays):
    """good_arrays() with some arrays replaced (None removes one)."""
    result = {**good_arrays(), **arrays}
    return {name: value for name, value in result.items() if value is not None}


def with_value(index, value):
    features = good_arrays()["features"].copy()
    features[index] = value
    return features


GOOD = good_arrays()
# (file name, its arrays as a dict or raw bytes, message part): `kae-zoo run --task file:{dir}/NAME` refuses each.
BAD_DATA_FILES = [
    ("data.csv", GOOD, "must be a .npz file"),
    ("absent.npz", None, "does not exist"),
    ("data.npz", b"PK not a zip", "is not a readable .npz file"),
    ("truncated.npz", "truncated", "(not a zip archive)"),
    ("data.npz", changed(features=np.array([{"a": 1}] * 120, dtype=object)), "without pickle"),
    ("data.npz", changed(labels=None), "has no array 'labels'"),
    ("data.npz", changed(weights=np.ones(120)), "unknown array 'weights'; valid arrays: features, labels, split"),
    ("data.npz", changed(features=GOOD["features"].reshape(120, 5, 1)), "flatten images"),
    ("data.npz", changed(features=GOOD["features"][:, 0]), "must be 2-D"),
    ("data.npz", changed(features=GOOD["features"].astype(str)), "must be real numbers"),
    ("data.npz", changed(features=GOOD["features"] + 1j), "got dtype complex128"),
    ("data.npz", changed(features=np.zeros((0, 5)), labels=np.zeros(0, dtype=int)), "is empty"),
    ("data.npz", changed(features=with_value((7, 2), np.nan)), "the first nan at sample 7, feature 2"),
    ("data.npz", changed(features=with_value((3, 0), -np.inf)), "the first -inf at sample 3, feature 0"),
    ("data.npz", changed(features=with_value((3, 0), 1e300)), "overflow float32"),
    ("data.npz", changed(labels=GOOD["labels"][:-1]), "has 119 entries but features has 120 samples"),
    ("data.npz", changed(labels=GOOD["labels"].reshape(60, 2)), "labels must be 1-D"),
    ("data.npz", changed(labels=GOOD["labels"].astype(float)), "must be integers 0..K-1, got dtype float64"),
    ("data.npz", changed(labels=GOOD["labels"] - 1), "negative label -1"),
    ("data.npz", changed(labels=GOOD["labels"] * 2), "have no sample of class 1, though the largest label 2"),
    ("data.npz", changed(labels=np.zeros(120, dtype=int)), "a single class"),
    ("data.npz", changed(labels=np.r_[GOOD["labels"][:-3], [2, 2, 2]]), "class 2 has 3 samples"),
    ("data.npz", changed(split=np.tile([0, 0, 0, 1, 2, 3], 20)), "only the integers 0 (train), 1 (val), 2 (test)"),
    ("data.npz", changed(split=np.tile([0, 0, 0, 0, 2], 24)), "has no val sample"),
    ("data.npz", changed(split=np.zeros(7, dtype=int)), "must have shape (120,)"),
    ("data.npz", changed(split=np.tile([0, 1, 2], 40)), "the training split has 40 samples"),
    ("data.npz", changed(features=np.repeat(GOOD["features"][:60], 2, axis=0)), "is an exact copy of training"),
]


@pytest.mark.parametrize(("file_name", "content", "message"), BAD_DATA_FILES,
                         ids=[f"{index:02d}-{case[2].split()[0]}" for index, case in enumerate(BAD_DATA_FILES)])
def test_bad_data_file_exits_2_with_one_line_and_changes_nothing(tmp_path, capsys, file_name, content, message):
    reference = tmp_path / "ref.nc"
    write_results(reference, [CellResult("koopman", "yinyang", 0, scalars={"accuracy": 0.9})], {}, "cpu")
    data = tmp_path / file_name
    if isinstance(content, bytes):
        data.write_bytes(content)
    elif content == "truncated":
        np.savez(data, **GOOD)
        data.write_bytes(data.read_bytes()[:-100])
    elif content is not None:
        with open(data, "wb") as handle:  # np.savez would append .npz to data.csv
            np.savez(handle, **content)
    before = snapshot(tmp_path)
    code = main(RUN[:4] + [f"file:{data}"] + RUN[5:] + ["--out", str(reference)])
    error = capsys.readouterr().err
    assert code == 2, error
    assert error.count("\n") == 1 and error.startswith("kae-zoo: error:"), error
    assert message in error and str(data) in error
    assert snapshot(tmp_path) == before


def test_a_good_data_file_passes_the_same_checks(tmp_path):
    """The battery's base arrays are valid: each refusal above comes from the one change made to them."""
    from kae_zoo.tasks import get_task

    np.savez(tmp_path / "data.npz", **GOOD)
    assert get_task(f"file:{tmp_path / 'data.npz'}").n_classes == 2
