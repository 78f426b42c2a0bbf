"""Numbers a reviewer can trust: per-cell provenance, no silent reuse after the data changed, no silent loss of
finished cells, missing data refused before anything runs, and the training record in every file."""

import numpy as np
import xarray as xr
from test_array_file import write_data

from kae_zoo.cli import main
from kae_zoo.core.provenance import PROVENANCE_FIELDS, cpu_model

RUN = ["--preset", "smoke", "--device", "cpu", "--quiet", "--set", "koopman.n_epochs=2"]


def read(path):
    with xr.open_dataset(path, engine="h5netcdf") as dataset:
        return dataset.load()


def test_every_cell_records_its_provenance_and_training(tmp_path, capsys):
    out = tmp_path / "r.nc"
    assert main(["run", "--family", "koopman", "--task", "digits", "--out", str(out), *RUN]) == 0
    cell = read(out).sel(family="koopman", task="digits", seed=0)
    for name in PROVENANCE_FIELDS:
        assert str(cell[name].item()), f"{name} is empty"
    assert cell["machine"].item() == cpu_model() and cell["threads"].item() == "1"
    assert cell["precision"].item() == "fp32" and cell["preset"].item() == "smoke"
    assert len(cell["data_fingerprint"].item()) == 16
    # the loss curves at every validation check and the epoch whose weights were scored
    epochs = cell["val_loss"].dropna("epoch")["epoch"].values
    assert list(epochs) == [1, 2] and np.isfinite(cell["train_loss"].sel(epoch=epochs).values).all()
    assert cell["scored_epoch"].item() in (1, 2) and cell["loss_spike"].item() in (0, 1)
    assert "training (scored epoch / epochs run per seed" in capsys.readouterr().out


def test_an_edited_data_file_runs_its_cells_again(tmp_path, caplog):
    data, out = tmp_path / "d.npz", tmp_path / "r.nc"
    write_data(data, seed=0)
    command = ["run", "--family", "koopman", "--task", f"file:{data}", "--out", str(out), *RUN]
    assert main(command) == 0
    first = read(out)["data_fingerprint"].item()
    caplog.clear()
    assert main(command) == 0  # unchanged: kept, and said so (the CLI shows the runner's INFO lines)
    assert f"kept 1 finished cell(s) from {out}" in caplog.text
    assert read(out)["data_fingerprint"].item() == first
    write_data(data, seed=1)  # other numbers in the same file
    caplog.clear()
    assert main(command) == 0
    assert "running 1 again (the data changed)" in caplog.text
    assert read(out)["data_fingerprint"].item() != first


def test_a_run_with_other_cells_keeps_the_files_cells(tmp_path, caplog):
    out = tmp_path / "r.nc"
    assert main(["run", "--family", "koopman", "--task", "yinyang", "--out", str(out), *RUN]) == 0
    before = read(out).sel(family="koopman", task="yinyang", seed=0)
    assert main(["run", "--family", "koopman", "--task", "digits", "--out", str(out), *RUN]) == 0
    assert "carried 1 cell(s) outside this run unchanged" in caplog.text
    after = read(out)
    assert after["task"].values.tolist() == ["yinyang", "digits"]
    kept = after.sel(family="koopman", task="yinyang", seed=0)
    for name in ("state_error", "accuracy", "created", "data_fingerprint"):
        assert kept[name].item() == before[name].item()  # the same cell, not a rerun
    assert (after["status"] == "ok").all()
    # --overwrite replaces the file with the new run's cells alone, and says what it dropped
    caplog.clear()
    assert main(["run", "--family", "koopman", "--task", "digits", "--out", str(out), "--overwrite", *RUN]) == 0
    assert read(out)["task"].values.tolist() == ["digits"]
    assert f"overwrite: replacing {out}, dropping 1 cell(s) outside this run (koopman/yinyang)" in caplog.text


def test_missing_mnist_files_are_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAE_ZOO_DATA", str(tmp_path / "nothing"))
    out = tmp_path / "r.nc"
    code = main(["run", "--family", "koopman", "--task", "mnist", "--out", str(out), *RUN])
    error = capsys.readouterr().err
    assert code == 2 and error.count("\n") == 1 and "MNIST test split: missing" in error
    assert list(tmp_path.iterdir()) == []  # nothing written, no lock left behind
