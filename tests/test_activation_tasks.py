"""Representation tasks (`kae_zoo.tasks.activations`): a base network's hidden states at one layer, to autoencode."""

import math

import numpy as np
import pytest
import torch

from kae_zoo.cli import main
from kae_zoo.experiments.runner import RunSpec, run_cell
from kae_zoo.experiments.sweep import SweepSpec
from kae_zoo.families import get_family
from kae_zoo.tasks import DataUnavailableError, base_task_name, get_task
from kae_zoo.tasks.activations import activation_scale, hidden_states
from kae_zoo.tasks.base_network import ResidualMLP
from kae_zoo.tasks.digits import DigitsTask

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache folder of this module's own, so the test of shared entries counts only its networks."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KAE_ZOO_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def loaded(cache):
    """digits_acts (block_2) and digits_acts@block_1 at the smoke preset, seed 0."""
    return {name: get_task(name)().load(0, "smoke", "autoencode", CPU, progress=False)
            for name in ("digits_acts", "digits_acts@block_1")}


def test_splits_are_the_parents_with_the_layers_states(loaded):
    data = loaded["digits_acts"]
    raw, _ = DigitsTask().raw_splits()
    assert {name: len(batch["label"]) for name, batch in data.splits.items()} == {
        "train": 1078, "val": 359, "test": 360}  # digits' stratified 60/20/20 % of 1797
    assert data.spec.state_shape == (64,) and data.spec.n_classes == 10 and data.view == "autoencode"
    for name, batch in data.splits.items():
        assert torch.equal(batch["label"], torch.from_numpy(raw[name][1]))
        assert batch["source"] is batch["target"] and batch["source"].dtype == torch.float32
    # disjoint: no test or validation state is a training state
    train = {row.tobytes() for row in data.splits["train"]["source"].numpy()}
    assert not any(row.tobytes() in train for name in ("val", "test") for row in data.splits[name]["source"].numpy())
    assert data.layer_names == [] and data.test_layer_states == []  # no layer states: one layer is the data
    assert data.notes["layer"] == "block_2" and "block_2" in data.split_description


def test_the_scale_makes_the_training_mean_squared_norm_the_state_dimension(loaded):
    for data in loaded.values():
        squared_norms = {name: float((batch["source"].double() ** 2).sum(1).mean()) for name, batch in
                         data.splits.items()}
        assert squared_norms["train"] == pytest.approx(64, rel=1e-6)
        assert abs(squared_norms["test"] - 64) > 1e-3  # fitted on the training split only
    # the two layers have their own scales, recorded in the notes
    assert loaded["digits_acts"].notes["activation_scale"] != loaded["digits_acts@block_1"].notes["activation_scale"]


def test_activation_scale_by_hand():
    # rows (3, 4) and (0, 0): squared norms 25 and 0, mean 12.5; d = 2, so s = sqrt(2 / 12.5) = 0.4
    assert activation_scale(np.array([[3.0, 4.0], [0.0, 0.0]]), "x") == pytest.approx(0.4, rel=1e-12)
    # one row (1, 1, 1, 1): squared norm 4 = d, so s = 1
    assert activation_scale(np.ones((1, 4)), "x") == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(ValueError, match="layer block_3: every training state is zero"):
        activation_scale(np.zeros((5, 3)), "layer block_3")


def test_the_head_gives_the_base_networks_own_test_predictions(loaded):
    for data in loaded.values():
        test = data.splits["test"]
        logits = data.head(test["target"])
        assert torch.equal(logits.argmax(1), data.base_test_logits.argmax(1))
        assert torch.allclose(logits.float(), data.base_test_logits, atol=1e-4)
    # a state of another layer is not what the head expects: block_1's states through block_2's downstream
    block_1, block_2 = loaded["digits_acts@block_1"], loaded["digits_acts"]
    wrong = block_2.head(block_1.splits["test"]["target"]).argmax(1)
    assert not torch.equal(wrong, block_2.base_test_logits.argmax(1))


def test_forward_from_every_layer_is_the_rest_of_the_network():
    torch.manual_seed(0)
    network = ResidualMLP(in_dim=4, n_classes=3, width=6, n_blocks=3).eval()
    x = torch.randn(8, 4)
    with torch.no_grad():
        states = network.representations(x)
        for index, state in enumerate(states):
            assert torch.equal(network.forward_from(index, state), network(x))
        assert torch.equal(network.forward_from(3, states[3]), network.head(states[3]))  # after the last block
        with pytest.raises(IndexError, match="layer index 4 is outside 0..3"):
            network.forward_from(4, states[3])
    features = x.numpy()
    assert np.array_equal(hidden_states(network, features, 2), states[2].double().numpy())


def test_default_layers_and_names():
    assert get_task("yinyang_acts").layer_name() == "block_3"  # 5 blocks: ceil(5 / 2)
    assert get_task("digits_acts").layer_name() == "block_2"  # 4 blocks
    assert get_task("mnist_acts").layer_name() == "block_2"
    for name, default in (("yinyang_acts", "block_3"), ("digits_acts", "block_2"), ("mnist_acts", "block_2")):
        assert f"default {default}" in get_task(name).description
    bound = get_task("yinyang_acts@input_layer")
    assert bound.name == "yinyang_acts@input_layer" and bound.layer_name() == "input_layer"
    assert bound is get_task("yinyang_acts@input_layer") and bound.n_classes == 3
    assert get_task("yinyang_acts").name == "yinyang_acts"  # binding a layer leaves the registered class alone


def test_the_data_is_named_by_the_full_task_name(loaded):
    assert loaded["digits_acts@block_1"].task == "digits_acts@block_1"
    assert loaded["digits_acts@block_1"].notes["layer"] == "block_1"


@pytest.mark.parametrize("name, message", [
    ("digits_acts@block_9", "task 'digits_acts' has no layer 'block_9'; valid layers: input_layer, block_1, "
                            "block_2, block_3, block_4"),
    ("digits_acts@", "task 'digits_acts' has no layer ''"),
    ("yinyang_acts@block_6", "valid layers: input_layer, block_1, block_2, block_3, block_4, block_5"),
    ("digits@block_1", "task 'digits' takes no @LAYER option (got 'digits@block_1'); tasks with layers: "
                       "digits_acts, mnist_acts, yinyang_acts"),
])
def test_a_bad_layer_is_one_line_naming_the_valid_ones(name, message):
    with pytest.raises(ValueError) as error:
        get_task(name)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_cli_refuses_a_bad_layer_before_any_work(tmp_path, capsys):
    out = tmp_path / "r.nc"
    assert main(["run", "--family", "sae", "--task", "digits_acts@block_9", "--preset", "smoke", "--out",
                 str(out)]) == 2
    error = capsys.readouterr().err
    assert "no layer 'block_9'" in error and error.count("\n") == 1 and not out.exists()


def test_the_fingerprint_changes_with_the_layer_and_seed(cache):
    def fingerprint(name, seed=0):
        return get_task(name)().fingerprint(seed, "smoke", "autoencode")

    assert fingerprint("digits_acts") == fingerprint("digits_acts@block_2")  # the default layer: the same data
    assert len({fingerprint("digits_acts"), fingerprint("digits_acts@block_1"),
                fingerprint("digits_acts@input_layer"), fingerprint("digits_acts", seed=1)}) == 4
    assert fingerprint("digits_acts") != DigitsTask().fingerprint(0, "smoke", "autoencode")


def test_one_cache_entry_serves_the_parent_and_every_layer(loaded, cache):
    pair = DigitsTask().load(0, "smoke", "layer_pair", CPU, progress=False)
    keys = {data.notes["base_network_cache_key"] for data in loaded.values()}
    assert keys == {pair.notes["base_network_cache_key"]}
    assert len(list(cache.glob("base_digits_*.pt"))) == 1


def test_mnist_acts_needs_the_mnist_files(monkeypatch, tmp_path):
    monkeypatch.setenv("KAE_ZOO_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError) as error:
        get_task("mnist_acts@block_1")().check_available()
    with pytest.raises(DataUnavailableError) as parents:
        get_task("mnist")().check_available()
    assert str(error.value) == str(parents.value) and str(tmp_path / "mnist") in str(error.value)


def test_base_task_name():
    assert base_task_name("digits_acts@block_1") == "digits_acts"
    assert base_task_name("digits_acts") == "digits_acts"
    assert base_task_name("file:runs@home/data.npz") == "file:runs@home/data.npz"


def test_family_task_presets_are_found_by_the_base_name(monkeypatch, cache):
    sae = get_family("sae")
    monkeypatch.setattr(sae, "task_presets", {"digits_acts": {"smoke": {"n_epochs": 0}}})  # invalid: refused
    with pytest.raises(ValueError, match="n_epochs"):
        RunSpec(families=("sae",), tasks=("digits_acts@block_1",), seeds=(0,), preset="smoke").validate()
    with pytest.raises(ValueError, match="n_epochs"):
        SweepSpec(family="sae", task="digits_acts@block_1", seeds=(0,), axes={"learning_rate": (1e-3,)},
                  preset="smoke").validate()


def test_a_smoke_cell_of_sae_on_digits_acts_has_accuracy_scores(monkeypatch, cache):
    monkeypatch.setattr(get_family("sae"), "task_presets", {"digits_acts": {"smoke": {"n_epochs": 3}}})
    result = run_cell("sae", "digits_acts@block_1", 0, preset="smoke", progress=False)
    assert result.status == "ok", result.error
    assert result.task == "digits_acts@block_1" and result.family_config["n_epochs"] == 3  # the task's preset
    assert 0 <= result.scalars["accuracy"] <= 1 and not math.isnan(result.scalars["agreement"])
    assert result.scalars["base_accuracy"] == pytest.approx(0.975, abs=0.05)  # digits' smoke network


def test_attractor_keeps_its_mlp_on_hidden_states_at_the_paper_preset():
    attractor = get_family("attractor")
    assert attractor.make_config("paper", "digits").architecture == "conv"  # images: the paper's conv AE
    for task in ("yinyang_acts", "digits_acts", "mnist_acts"):
        config = attractor.make_config("paper", base_task_name(f"{task}@block_1"))
        assert config.architecture == "mlp" and config.n_epochs == 500
