"""Checkpoints: every family round-trips through save/load with its config and weights; bad or foreign files and
other checkpoint formats are refused with one clear line; `kae-zoo run --save-models` writes loadable models."""

import json

import pytest
import torch
from helpers import random_batch, tiny_model

import kae_zoo
from kae_zoo.cli import main
from kae_zoo.experiments.checkpoints import CHECKPOINT_FORMAT, CheckpointError, load, read_payload, save
from kae_zoo.families import list_families
from kae_zoo.store.results import read_results


@pytest.mark.parametrize("name", list_families())
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # sklearn_dict's lasso, random data
def test_every_family_round_trips(tmp_path, name):
    model = tiny_model(name, seed=2).eval()
    with torch.no_grad():
        for parameter in model.parameters():  # weights unlike a fresh model's, so loading them is what is tested
            parameter.add_(0.01 * torch.randn_like(parameter))
    path = save(model, tmp_path / f"{name}.pt", task="some_task", seed=7)
    loaded = kae_zoo.load(path)
    assert type(loaded) is type(model) and loaded.config == model.config and loaded.spec == model.spec
    assert not loaded.training
    for key, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key
    batch = random_batch(model)
    with torch.no_grad():
        assert torch.equal(loaded(batch["source"]), model(batch["source"]))
    payload = read_payload(path)
    assert (payload["task"], payload["seed"], payload["kae_zoo_version"]) == ("some_task", 7, kae_zoo.__version__)


def test_an_edited_operator_is_kept(tmp_path):
    model = tiny_model("koopman")
    with torch.no_grad():
        model.operator_edit.fill_(0.5)
    assert torch.equal(load(save(model, tmp_path / "k.pt")).operator_edit, model.operator_edit)


def test_another_checkpoint_format_is_refused_with_both_versions(tmp_path):
    path = save(tiny_model("sae"), tmp_path / "old.pt")
    payload = torch.load(path, weights_only=True)
    payload.update(format=CHECKPOINT_FORMAT + 1, kae_zoo_version="9.0.0")
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"written by kae-zoo 9\.0\.0 in checkpoint format 2; this kae-zoo "
                                              r"0\.1\.0 reads format 1 only"):
        load(path)


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"),
    (b"not a checkpoint", "is not a readable kae-zoo checkpoint"),
    ("tensor", "is not a kae-zoo checkpoint"),
])
def test_bad_files_are_refused(tmp_path, content, message):
    path = tmp_path / "c.pt"
    if content == "tensor":
        torch.save(torch.zeros(3), path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as error:
        load(path)
    assert "\n" not in str(error.value)


def test_weights_of_another_shape_are_refused(tmp_path):
    path = save(tiny_model("sae"), tmp_path / "s.pt")
    payload = torch.load(path, weights_only=True)
    payload["state_shape"] = [payload["state_shape"][0] + 1]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="its weights do not fit a sae model"):
        load(path)


def test_run_saves_every_trained_model(tmp_path, capsys):
    models = tmp_path / "models"
    code = main(["run", "--family", "koopman", "--task", "yinyang", "--preset", "smoke", "--device", "cpu",
                 "--set", "koopman.n_epochs=2", "--seed", "0,1", "--save-models", str(models),
                 "--out", str(tmp_path / "r.nc"), "--quiet"])
    assert code == 0
    assert sorted(path.name for path in models.iterdir()) == ["koopman_yinyang_0.pt", "koopman_yinyang_1.pt"]
    stored = read_results(tmp_path / "r.nc")["family_config"].sel(family="koopman", task="yinyang", seed=0).item()
    model = load(models / "koopman_yinyang_0.pt")
    assert model.config == type(model.config).from_dict(json.loads(stored))
