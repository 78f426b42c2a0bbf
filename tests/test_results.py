"""The results store: its schema, exact round-trips, atomic writes and clear errors on bad files."""

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from kae_zoo.metrics import get_metric
from kae_zoo.store.results import (
    CellResult,
    ResultFileError,
    cells_from_dataset,
    is_sweep,
    read_result_file,
    read_results,
    read_sweep,
    storable,
    write_results,
    write_sweep,
)


def cells() -> list[CellResult]:
    betti = np.array([[4.0, 2.0], [3.0, 1.0], [3.0, 0.0]])
    return [
        CellResult("koopman", "yinyang", 0, scalars={"accuracy": 0.99, "state_error": 0.1},
                   curves={"betti": (("step", "homology_dim"), {"step": [0, 1, 2], "homology_dim": [0, 1]}, betti)},
                   split_description="reference splits", family_config={"observable_dim": 20}),
        CellResult("koopman", "yinyang", 1, status="failed", error="DivergenceError: loss term 'total' became nan"),
        CellResult("koopman", "digits", 0, scalars={"accuracy": 0.95},
                   curves={"betti": (("step", "homology_dim"), {"step": [0, 1], "homology_dim": [0, 1]},
                                     betti[:2])}),
    ]


def test_schema(tmp_path):
    path = tmp_path / "r.nc"
    write_results(path, cells(), {"preset": "smoke"}, device="cpu")
    dataset = read_results(path)
    assert dataset["accuracy"].dims == ("family", "task", "seed")
    assert dataset["betti"].dims == ("family", "task", "seed", "step", "homology_dim")
    assert list(dataset.task.values) == ["yinyang", "digits"] and list(dataset.seed.values) == [0, 1]
    for name in ("accuracy", "state_error", "betti"):
        spec = get_metric(name)
        attrs = dataset[name].attrs
        assert (attrs["units"], attrs["long_name"], attrs["direction"], attrs["definition_version"]) == (
            spec.units, spec.long_name, spec.direction, spec.version)
        assert attrs["split"] == "test"
    assert dataset["accuracy"].attrs["direction"] == "higher" and dataset["betti"].attrs["direction"] == "none"
    for attr in ("kae_zoo_version", "git_sha", "torch_version", "device", "created", "config"):
        assert attr in dataset.attrs
    assert json.loads(dataset.attrs["config"]) == {"preset": "smoke"}
    assert dataset["status"].sel(task="yinyang").values.tolist() == [["ok", "failed"]]
    assert dataset["status"].sel(task="digits", seed=1).item() == "missing"
    assert "nan" in dataset["error"].sel(task="yinyang", seed=1).item()
    assert json.loads(dataset["family_config"].sel(task="yinyang", seed=0).item()) == {"observable_dim": 20}
    # A shorter curve is padded with NaN, never with made-up numbers.
    assert np.isnan(dataset["betti"].sel(task="digits", seed=0, step=2).values).all()
    assert np.isnan(dataset["accuracy"].sel(task="yinyang", seed=1).item())


def test_settings_are_coordinates_and_provenance_is_per_cell(tmp_path):
    provenance = {"data_fingerprint": "abc123", "preset": "smoke", "device": "cpu", "machine": "Some CPU",
                  "threads": "1", "precision": "fp32", "compile": "false", "kae_zoo_version": "0.1.0",
                  "git_sha": "f" * 40, "torch_version": "2.13.0", "created": "2026-12-02T00:00:00+00:00"}
    cells = [CellResult("koopman", "digits", 0, scalars={"accuracy": 0.9, "unlearned_class": 4.0},
                        provenance=provenance),
             CellResult("attractor", "digits", 0, scalars={"memorization": 0.5, "n_train_used": 150.0})]
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    dataset = read_results(tmp_path / "r.nc")
    assert "unlearned_class" in dataset.coords and "unlearned_class" not in dataset.data_vars
    assert dataset["unlearned_class"].sel(family="koopman", seed=0).item() == 4.0
    assert "direction" not in dataset["n_train_used"].attrs  # a setting is never a score
    assert dataset["machine"].sel(family="koopman", seed=0).item() == "Some CPU"
    assert dataset["data_fingerprint"].sel(family="attractor", seed=0).item() == ""  # none on record
    back = {(cell.family, cell.seed): cell for cell in cells_from_dataset(dataset)}
    assert back["koopman", 0].provenance == provenance
    assert back["koopman", 0].scalars["unlearned_class"] == 4.0 and back["attractor", 0].scalars["n_train_used"] == 150


def test_a_file_from_before_provenance_reads_in_todays_schema(tmp_path):
    # the schema of files written before per-cell provenance and versioned definitions (results/reference at
    # 6dbc5f9): `higher_is_better` attrs, settings as scores, provenance only in the global attrs
    shape = (1, 1, 1)
    legacy = xr.Dataset(
        {"status": (("family", "task", "seed"), np.full(shape, "ok", dtype=object)),
         "error": (("family", "task", "seed"), np.full(shape, "", dtype=object)),
         "split_description": (("family", "task", "seed"), np.full(shape, "", dtype=object)),
         "family_config": (("family", "task", "seed"), np.full(shape, "{}", dtype=object)),
         "accuracy": (("family", "task", "seed"), np.full(shape, 0.9),
                      {"units": "1", "long_name": "a", "higher_is_better": 1, "split": "test"}),
         "unlearned_class": (("family", "task", "seed"), np.full(shape, 2.0),
                             {"units": "1", "long_name": "c", "higher_is_better": 1, "split": ""})},
        coords={"family": ["koopman"], "task": ["digits"], "seed": [0]},
        attrs={"kae_zoo_version": "0.1.0", "git_sha": "abc", "torch_version": "2.13.0", "device": "cpu",
               "torch_num_threads": 1, "created": "2026-11-01T00:00:00+00:00",
               "config": json.dumps({"preset": "smoke", "threads": 1})})
    legacy.to_netcdf(tmp_path / "old.nc", engine="h5netcdf")
    dataset = read_results(tmp_path / "old.nc")
    assert dataset["accuracy"].attrs["direction"] == "higher"
    assert dataset["accuracy"].attrs["definition_version"] == 0  # unversioned: compare reports any mismatch
    assert "unlearned_class" in dataset.coords
    cell = cells_from_dataset(dataset)[0]
    assert cell.provenance["git_sha"] == "abc" and cell.provenance["preset"] == "smoke"
    assert cell.provenance["data_fingerprint"] == ""  # unknown: a resume never keeps such a cell


def test_unregistered_metric_is_refused(tmp_path):
    with pytest.raises(Exception, match="unknown metric 'made_up'"):
        write_results(tmp_path / "r.nc", [CellResult("koopman", "yinyang", 0, scalars={"made_up": 1.0})], {}, "cpu")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "r.nc"
    write_results(path, cells(), {}, "cpu")
    before = path.read_bytes()
    with pytest.raises(Exception):
        write_results(path, [CellResult("koopman", "yinyang", 0, scalars={"made_up": 1.0})], {}, "cpu")
    assert path.read_bytes() == before
    assert [item.name for item in tmp_path.iterdir()] == ["r.nc"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a netcdf file at all", "not a readable netCDF"),
        (None, "does not exist"),
    ],
)
def test_bad_files_raise_result_file_error(tmp_path, content, message):
    path = tmp_path / "bad.nc"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ResultFileError, match=message):
        read_results(path)


def test_truncated_and_foreign_files(tmp_path):
    path = tmp_path / "r.nc"
    write_results(path, cells(), {}, "cpu")
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ResultFileError, match="not a readable netCDF"):
        read_results(truncated)
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("time", [1.0, 2.0])}).to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(ResultFileError, match="not a kae-zoo result file: missing family"):
        read_results(foreign)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.tuples(finite, finite), min_size=1, max_size=4),
       error=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30))
def test_round_trip_is_exact(tmp_path_factory, values, error):
    written = [
        CellResult("koopman", "yinyang", seed, status="failed" if seed == 0 else "ok", error=error if seed == 0 else "",
                   scalars={"accuracy": a, "state_error": b})
        for seed, (a, b) in enumerate(values)
    ]
    path = tmp_path_factory.mktemp("roundtrip") / "r.nc"
    write_results(path, written, {"note": error}, "cpu")
    dataset = read_results(path)
    for cell in written:
        selected = dataset.sel(family="koopman", task="yinyang", seed=cell.seed)
        assert selected["accuracy"].item() == cell.scalars["accuracy"]
        assert selected["state_error"].item() == cell.scalars["state_error"]
        assert selected["error"].item() == cell.error
    assert json.loads(dataset.attrs["config"]) == {"note": error}


# --- sweep files ----------------------------------------------------------------------------------------------


def sweep_points() -> list:
    """Points of a 2 x 2 sweep (latent_dim x architecture) over seeds 0, 1; one failed, one never run."""
    points = []
    for latent_dim in (4, 16):
        for architecture in ("mlp", "conv"):
            for seed in (0, 1):
                if (latent_dim, architecture, seed) == (16, "conv", 1):
                    continue  # a point that never ran: "missing"
                cell = CellResult("attractor", "digits", seed, scalars={"memorization": latent_dim / 100 + seed},
                                  curves={"betti": (("step", "homology_dim"), {"step": [0], "homology_dim": [0, 1]},
                                                    np.ones((1, 2)))},
                                  family_config={"latent_dim": latent_dim, "architecture": architecture})
                if (latent_dim, architecture, seed) == (4, "conv", 0):
                    cell.status, cell.error, cell.scalars = "failed", "DivergenceError: nan", {}
                points.append(({"latent_dim": latent_dim, "architecture": architecture}, cell))
    return points


def test_sweep_round_trip(tmp_path):
    path = tmp_path / "s.nc"
    axes = {"latent_dim": (4, 16), "architecture": ("mlp", "conv")}
    write_sweep(path, sweep_points(), axes, {"preset": "smoke"}, "cpu")
    dataset = read_sweep(path)
    assert is_sweep(dataset) and dataset.attrs["kind"] == "sweep"
    assert (dataset.attrs["family"], dataset.attrs["task"]) == ("attractor", "digits")
    assert json.loads(dataset.attrs["axes"]) == ["latent_dim", "architecture"]
    assert json.loads(dataset.attrs["config"]) == {"preset": "smoke"}
    for attr in ("kae_zoo_version", "git_sha", "torch_version", "device", "created", "torch_num_threads"):
        assert attr in dataset.attrs
    assert dataset["memorization"].dims == ("latent_dim", "architecture", "seed")
    assert dataset["memorization"].attrs["long_name"] == get_metric("memorization").long_name
    assert dataset.latent_dim.values.tolist() == [4, 16] and dataset.architecture.values.tolist() == ["mlp", "conv"]
    assert dataset["memorization"].sel(latent_dim=16, architecture="mlp", seed=1).item() == 1.16
    assert "betti" not in dataset  # curves are not kept in sweep files
    status = dataset["status"]
    assert status.sel(latent_dim=4, architecture="conv", seed=0).item() == "failed"
    assert status.sel(latent_dim=16, architecture="conv", seed=1).item() == "missing"
    assert np.isnan(dataset["memorization"].sel(latent_dim=4, architecture="conv", seed=0).item())
    assert "DivergenceError" in dataset["error"].sel(latent_dim=4, architecture="conv", seed=0).item()
    assert json.loads(dataset["family_config"].sel(latent_dim=16, architecture="mlp", seed=0).item()) == \
        {"latent_dim": 16, "architecture": "mlp"}
    assert is_sweep(read_result_file(path))


def test_sweep_points_must_match_the_axes(tmp_path):
    with pytest.raises(ValueError, match="the axes are"):
        write_sweep(tmp_path / "s.nc", sweep_points(), {"latent_dim": (4, 16)}, {}, "cpu")
    other_task = [(values, CellResult("attractor", task, 0)) for values, task in
                  (({"latent_dim": 4}, "digits"), ({"latent_dim": 16}, "mnist"))]
    with pytest.raises(ValueError, match="one family and one task"):
        write_sweep(tmp_path / "s.nc", other_task, {"latent_dim": (4, 16)}, {}, "cpu")
    assert not list(tmp_path.iterdir())


def test_run_and_sweep_readers_refuse_each_others_files(tmp_path):
    run, sweep = tmp_path / "run.nc", tmp_path / "sweep.nc"
    write_results(run, cells(), {}, "cpu")
    write_sweep(sweep, sweep_points(), {"latent_dim": (4, 16), "architecture": ("mlp", "conv")}, {}, "cpu")
    with pytest.raises(ResultFileError, match="not a kae-zoo sweep file: missing kind, family, task, axes"):
        read_sweep(run)
    with pytest.raises(ResultFileError, match="is a sweep file, not a run result file"):
        read_results(sweep)
    assert not is_sweep(read_result_file(run))
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("time", [1.0, 2.0])}, attrs={"kind": "sweep"}).to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(ResultFileError, match="not a kae-zoo sweep file: missing kae_zoo_version"):
        read_result_file(foreign)
    with pytest.raises(ResultFileError, match="not a readable netCDF"):
        (tmp_path / "garbage.nc").write_bytes(b"garbage")
        read_sweep(tmp_path / "garbage.nc")


def test_a_sweep_file_without_its_axis_dims_is_refused(tmp_path):
    path = tmp_path / "s.nc"
    dataset = write_sweep(path, sweep_points(), {"latent_dim": (4, 16), "architecture": ("mlp", "conv")}, {}, "cpu")
    dataset.attrs["axes"] = json.dumps(["latent_dim", "bottleneck"])
    broken = tmp_path / "broken.nc"
    dataset.to_netcdf(broken, engine="h5netcdf")
    with pytest.raises(ResultFileError, match="not a kae-zoo sweep file: missing bottleneck"):
        read_sweep(broken)


def test_cells_from_dataset_inverts_to_dataset():
    from kae_zoo.store.results import cells_from_dataset, to_dataset

    short = (("step", "homology_dim"), {"step": [0, 1], "homology_dim": [0, 1]}, np.array([[4.0, 2.0], [3.0, 0.0]]))
    long = (("step", "homology_dim"), {"step": [0, 1, 2], "homology_dim": [0, 1]},
            np.array([[5.0, 1.0], [4.0, 1.0], [3.0, 0.0]]))
    cells = [CellResult("koopman", "yinyang", 0, scalars={"accuracy": 0.9, "state_error": float("nan")},
                        curves={"betti": short}, family_config={"n_epochs": 2}, split_description="train 10"),
             CellResult("koopman", "yinyang", 2, scalars={"accuracy": 0.8}, curves={"betti": long}),
             CellResult("sae", "yinyang", 0, status="failed", error="RuntimeError: diverged")]  # (sae, 2) missing
    dataset = to_dataset(cells, {}, "cpu")
    again = cells_from_dataset(dataset)
    assert [(cell.family, cell.seed, cell.status) for cell in again] == [("koopman", 0, "ok"), ("koopman", 2, "ok"),
                                                                          ("sae", 0, "failed")]
    assert again[0].curves["betti"][1]["step"] == [0, 1]  # the padding to the longer curve is dropped
    assert again[0].family_config == {"n_epochs": 2} and again[2].error == "RuntimeError: diverged"
    rebuilt = to_dataset(again, {}, "cpu")
    for name in dataset.data_vars:
        assert rebuilt[name].equals(dataset[name]), name


def test_curves_sharing_a_dim_with_different_coordinates():
    # betti on steps 0..1, betti_time on steps 0..2 (same dim "step"): both padded to the union with NaN.
    from kae_zoo.store.results import to_dataset

    cells = [CellResult("koopman", "yinyang", 0, curves={
        "betti": (("step", "homology_dim"), {"step": [0, 1], "homology_dim": [0, 1]}, np.ones((2, 2))),
        "betti_time": (("step",), {"step": [0, 1, 2]}, np.arange(3.0))})]
    dataset = to_dataset(cells, {}, "cpu")
    assert dataset["step"].values.tolist() == [0, 1, 2]
    assert np.isnan(dataset["betti"].values[0, 0, 0, 2]).all() and dataset["betti_time"].values[0, 0, 0].tolist() == [
        0.0, 1.0, 2.0]


def test_error_text_netcdf_cannot_hold_is_stored_escaped(tmp_path):
    """A cell's error may quote anything (a NUL byte, a lone surrogate from a decoded path); the file must still be
    written, with those characters as backslash escapes and every other character kept."""
    assert storable("a\x00b") == "a\\x00b"
    assert storable("x\ud800y") == "x\\ud800y"
    assert storable("accents é and ✓ stay") == "accents é and ✓ stay"
    cells = [CellResult("koopman", "yinyang", 0, status="failed", error="ValueError: bad byte \x00 in x\ud800")]
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    assert read_results(tmp_path / "r.nc")["error"].item() == "ValueError: bad byte \\x00 in x\\ud800"
