"""Conformance of every registered family to the one interface, at tiny sizes."""

import json
import re

import pytest
import torch

from helpers import random_batch, tiny_model
from kae_zoo.families import get_family, list_families

FAMILIES = list_families()


@pytest.mark.parametrize("name", FAMILIES)
def test_shapes(name):
    model = tiny_model(name)
    batch = random_batch(model)
    latents = model.encode(batch["source"])
    assert latents.ndim == 2 and latents.shape[0] == 16
    assert model.advance(latents).shape == latents.shape
    assert model(batch["source"]).shape == batch["target"].shape
    assert model.trajectory(batch["source"], n_steps=4).shape == (5, *batch["source"].shape)
    assert len(model.trajectory_times(4)) == 5


@pytest.mark.parametrize("name", FAMILIES)
def test_loss_is_finite_and_gradients_reach_every_parameter(name):
    model = tiny_model(name)
    terms = model.loss(random_batch(model))
    assert "total" in terms and terms["total"].ndim == 0 and torch.isfinite(terms["total"])
    terms["total"].backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{parameter_name} gets no gradient"
        assert parameter.grad.abs().sum() > 0, f"{parameter_name} gets a zero gradient"


@pytest.mark.parametrize("name", FAMILIES)
def test_seeded_determinism(name):
    first, second = tiny_model(name, seed=3), tiny_model(name, seed=3)
    batch = random_batch(first)
    assert torch.equal(first.loss(batch)["total"], second.loss(batch)["total"])
    assert not torch.equal(first(batch["source"]), tiny_model(name, seed=4)(batch["source"]))


@pytest.mark.parametrize("name", FAMILIES)
def test_config_round_trip(name):
    family = get_family(name)
    for preset in ("smoke", "default", "paper"):
        config = family.make_config(preset)
        assert family.config_class.from_dict(json.loads(config.to_json())) == config


@pytest.mark.parametrize("name", FAMILIES)
def test_unknown_config_field_lists_valid_ones(name):
    with pytest.raises(ValueError, match="unknown .* field.*valid:"):
        get_family(name).make_config("smoke", overrides={"no_such_field": 1})


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # one epoch on 16 random samples
def test_fits_itself_says_who_trains_the_family(name, monkeypatch):
    # A family that fits itself returns a report without the shared trainer; every other one is trained by it
    # (fit returns None, or calls training.train itself, e.g. attractor on a training subset).
    from kae_zoo import training

    def shared_trainer(*args, **kwargs):
        raise LookupError("shared trainer")

    monkeypatch.setattr(training, "train", shared_trainer)
    model = tiny_model(name, n_epochs=1)
    batch = random_batch(model)
    try:
        report = model.fit(batch, batch, seed=0, progress=False)
    except LookupError:
        report = None
    assert (report is not None) == model.fits_itself


@pytest.mark.parametrize(("override", "message"), [
    ({"n_epochs": "[1"}, "n_epochs = '[1' (str) is not valid; it takes int"),
    ({"n_epochs": True}, "n_epochs = True (bool) is not valid; it takes int"),
    ({"learning_rate": "fast"}, "it takes float"),
    ({"hidden_dims": -3}, "it takes a list of int"),
    ({"hidden_dims": [3, "x"]}, "it takes a list of int"),
    ({"activation": "swish"}, "it takes one of 'leaky_relu', 'relu', 'tanh', 'gelu'"),
    ({"unlearn_class": "four"}, "it takes int or null"),
])
def test_overrides_of_the_wrong_type_are_named(override, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        get_family("koopman").make_config("smoke", "yinyang", override)


def test_overrides_of_the_right_type_pass():
    config = get_family("koopman").make_config("smoke", "yinyang", {"learning_rate": 1, "hidden_dims": [3, 4],
                                                                     "unlearn_class": None, "activation": "tanh"})
    assert config.learning_rate == 1 and config.hidden_dims == (3, 4) and config.unlearn_class is None


def test_trajectory_rejects_zero_steps():
    model = tiny_model("koopman")
    with pytest.raises(ValueError, match="n_steps"):
        model.trajectory(random_batch(model)["source"], n_steps=0)
