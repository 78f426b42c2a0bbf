"""The `file:PATH.npz` task on a user's own arrays: splits, standardisation, re-checking, and a whole run.

Every way a file can be refused is in tests/test_bad_inputs.py (BAD_DATA_FILES)."""

import numpy as np
import pytest
import xarray as xr

from kae_zoo.cli import main
from kae_zoo.tasks import DataFileError, get_task
from kae_zoo.tasks.array_file import read_array_file, split_indices


def write_data(path, n_per_class=(40, 40, 40), n_features=6, split=None, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(n_per_class)), n_per_class)
    features = rng.normal(loc=3.0, scale=2.0, size=(len(labels), n_features)) + labels[:, None]
    arrays = {"features": features, "labels": labels}
    if split is not None:
        arrays["split"] = split
    np.savez(path, **arrays)
    return features, labels


def test_default_split_is_stratified_disjoint_and_standardised_with_training_statistics(tmp_path):
    path = tmp_path / "d.npz"
    features, labels = write_data(path)
    task_class = get_task(f"file:{path}")
    assert task_class.n_classes == 3 and task_class.name == f"file:{path}"
    raw, description = task_class().raw_splits()
    assert "stratified 60/20/20 %" in description and "72/24/24" in description
    indices = split_indices(path, read_array_file(path))
    assert sorted(np.concatenate(list(indices.values())).tolist()) == list(range(len(labels)))  # disjoint, complete
    for name, expected in (("train", 24), ("val", 8), ("test", 8)):  # 60/20/20 % of every class of 40
        assert np.bincount(raw[name][1]).tolist() == [expected] * 3
        np.testing.assert_array_equal(raw[name][1], labels[indices[name]])
    train = features[indices["train"]]
    mean, std = train.mean(axis=0), train.std(axis=0)
    for name in ("train", "val", "test"):  # every split standardised with the training split's statistics
        np.testing.assert_allclose(raw[name][0], (features[indices[name]] - mean) / std, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(raw["train"][0].std(axis=0), 1.0, atol=1e-5)


def test_the_files_own_split_is_used_as_given(tmp_path):
    split = np.tile([0, 0, 0, 0, 1, 2], 20)  # 80 / 20 / 20
    features, labels = write_data(tmp_path / "d.npz", split=split)
    raw, description = get_task(f"file:{tmp_path / 'd.npz'}")().raw_splits()
    assert "the file's split" in description and "80/20/20" in description
    for code, name in enumerate(("train", "val", "test")):
        np.testing.assert_array_equal(raw[name][1], labels[split == code])


def test_a_changed_file_is_checked_again(tmp_path):
    path = tmp_path / "d.npz"
    write_data(path)
    assert get_task(f"file:{path}").n_classes == 3
    write_data(path, n_per_class=(40, 40, 40, 3))  # class 3 now too small for the stratified split
    with pytest.raises(DataFileError, match="class 3 has 3 samples"):
        get_task(f"file:{path}")


def test_a_run_on_a_data_file_scores_every_family_view(tmp_path, capsys):
    """Both views: Koopman on the base network's layers, the attractor AE on the features themselves."""
    path, out = tmp_path / "d.npz", tmp_path / "r.nc"
    write_data(path)
    code = main(["run", "--family", "koopman,attractor", "--task", f"file:{path}", "--preset", "smoke",
                 "--device", "cpu", "--quiet", "--out", str(out), "--set", "koopman.n_epochs=3"])
    assert code == 0, capsys.readouterr().err
    with xr.open_dataset(out, engine="h5netcdf") as dataset:
        assert dataset["task"].values.tolist() == [f"file:{path}"]
        assert (dataset["status"].values == "ok").all()
        assert "stratified 60/20/20 %" in str(dataset["split_description"].sel(family="koopman").values.item())
        assert 0 <= float(dataset["base_accuracy"].sel(family="koopman").item()) <= 1
        assert np.isfinite(dataset["ood_auroc"].sel(family="attractor").values).all()
