"""The peer baseline `sklearn_dict`: its own fit instead of the shared trainer, sae's lambda, seeded results."""

import numpy as np
import pytest
import torch
from helpers import random_batch, tiny_model
from sklearn.decomposition import MiniBatchDictionaryLearning

import kae_zoo.experiments.runner
from kae_zoo.cli import main
from kae_zoo.core.surrogate import FitSettings
from kae_zoo.families.sparse_coding import soft_threshold
from kae_zoo.store.results import read_results

# lasso_cd on random tiny data may stop short of its tolerance; that is sklearn's warning, not a failure here
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def fitted(seed: int = 0):
    """A tiny sklearn_dict model fitted on a random batch for 3 epochs of 4 steps."""
    model = tiny_model("sklearn_dict", n_epochs=3, batch_size=16)
    model.fit(random_batch(model, 64), random_batch(model, 32, seed=1), FitSettings(seed=seed, progress=False))
    return model


def test_neural_families_leave_fitting_to_the_shared_trainer():
    model = tiny_model("sae")
    assert model.fit(random_batch(model), random_batch(model, seed=1), FitSettings(seed=0, progress=False)) is None


def test_fit_steps_and_tracks_in_minibatch_steps():
    model = tiny_model("sklearn_dict", n_epochs=3, batch_size=16, eval_every_epochs=2)
    calls = []
    settings = FitSettings(seed=0, progress=False, on_step=lambda step, watched: calls.append(step),
                           track_every_steps=5)
    report = model.fit(random_batch(model, 64), random_batch(model, 32, seed=1), settings)
    assert report.n_steps == 12 and calls == [0, 5, 10, 12]
    assert report.n_epochs_run == report.best_epoch == 3 and report.check_epochs == [2, 3]  # every 2nd and the last
    assert report.best_val_loss == report.val_history[-1] and report.seconds > 0
    assert report.seconds > report.validation_seconds > 0 and report.watcher_seconds > 0


def test_starts_from_the_initial_dictionary_of_sae():
    assert torch.allclose(tiny_model("sklearn_dict", seed=5).dictionary(), tiny_model("sae", seed=5).dictionary())


def test_dictionary_shape_and_unit_columns_after_fitting():
    model = tiny_model("sklearn_dict")
    before = model.dictionary().detach().clone()
    after = fitted().dictionary().detach()
    assert after.shape == (8, 100) and not torch.allclose(before, after)
    assert torch.allclose(after.norm(dim=0), torch.ones(100), atol=1e-5)


def test_same_seed_same_dictionary():
    first, second, other = fitted(seed=0), fitted(seed=0), fitted(seed=1)
    assert torch.equal(first.components, second.components)
    assert not torch.equal(first.components, other.components)


def test_lambda_is_sae_lambda():
    # Orthonormal atoms: the lasso code of x is shrink(D^T x, lambda), sae's threshold, so alpha = lambda.
    model = tiny_model("sklearn_dict", n_atoms=8, sparsity_weight=0.3)
    with torch.no_grad():
        model.components.copy_(torch.eye(8))
    code = torch.tensor([[2.0, 0.0, -1.5, 0.2, 0.0, 0.0, 0.0, 1.0]])
    assert torch.allclose(model.encode(code), soft_threshold(code, 0.3), atol=1e-6)


def test_encode_is_sklearn_transform():
    model = fitted()
    batch = random_batch(model, 32, seed=2)["source"]
    estimator = MiniBatchDictionaryLearning(n_components=100, alpha=0.3, max_iter=1, transform_algorithm="lasso_cd",
                                            transform_alpha=0.3, random_state=0)
    estimator.fit(random_batch(model, 64)["source"].double().numpy())  # fitted, then given our atoms
    estimator.components_ = model.components.detach().double().numpy()
    expected = estimator.transform(batch.double().numpy())
    assert np.allclose(model.encode(batch).double().numpy(), expected, atol=1e-6)


def test_smoke_cell_uses_the_fit_hook_and_records_recovery(monkeypatch):
    def no_shared_trainer(*args, **kwargs):
        raise AssertionError("the shared trainer must not run for sklearn_dict")

    monkeypatch.setattr(kae_zoo.experiments.runner, "train", no_shared_trainer)
    result = kae_zoo.run_cell("sklearn_dict", "sparse_vec", 0, preset="smoke", device="cpu", progress=False)
    assert result.status == "ok", result.error
    dims, coords, values = result.curves["recovery"]
    assert dims == ("train_step",) and coords["train_step"] == [0, 50, 80]
    assert values[-1] > values[0]  # it learns
    for name in ("dictionary_recovery", "steps_to_recovery", "train_seconds", "sparsity"):
        assert np.isfinite(result.scalars[name]), name
    assert result.scalars["train_seconds"] > 0 and result.scalars["steps_to_recovery"] <= 80


def test_cli_runs_the_peer_beside_sae(tmp_path, capsys):
    out = tmp_path / "peer.nc"
    arguments = ["run", "--family", "sae,sklearn_dict", "--task", "sparse_vec", "--preset", "smoke", "--quiet",
                 "--set", "sae.n_epochs=10", "--set", "sklearn_dict.n_epochs=10"]  # 40 steps each
    assert main([*arguments, "--out", str(out)]) == 0
    dataset = read_results(out)
    assert list(dataset.family.values) == ["sae", "sklearn_dict"] and (dataset["status"] == "ok").all()
    assert np.isfinite(dataset["dictionary_recovery"].values).all()
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "sae" in shown and "sklearn_dict" in shown and "dictionary_recovery" in shown
