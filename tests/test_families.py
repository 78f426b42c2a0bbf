"""Conformance of every registered family to the one interface, at tiny sizes."""

import re

import pytest
import torch
from helpers import random_batch, tiny_model

from kae_zoo.core.surrogate import FitSettings
from kae_zoo.families import get_family, list_families
from kae_zoo.families.koopman import KoopmanAE
from kae_zoo.testing import FamilyCheckError, check_family

FAMILIES = list_families()


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # sklearn_dict's lasso, random data
def test_every_family_passes_the_conformance_check(name):
    check_family(get_family(name))  # shapes, trajectory, gradients, determinism, config and checkpoint round-trips


# the variants a config field switches between, beyond each family's smoke preset
VARIANTS = [("sae", {"encoder": "relu"}), ("sae", {"encoder": "topk"}), ("lifted_sae", {"lifting": "orthogonal"}),
            ("sae_fno", {"modes": "all"}), ("sae_cnn", {"solver": "fista", "code_gradient": "detached"}),
            ("attractor", {"architecture": "conv"}), ("koopman", {"activation": "tanh", "hidden_dims": [5, 7]}),
            ("sklearn_dict", {"solver": "lars"})]


@pytest.mark.parametrize(("name", "overrides"), VARIANTS, ids=[f"{name}-{'-'.join(map(str, overrides.values()))}"
                                                               for name, overrides in VARIANTS])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_every_variant_passes_the_conformance_check(name, overrides):
    check_family(get_family(name), overrides)


class WrongShape(KoopmanAE):
    """Decodes one state too few: forward's shape no longer matches the targets."""

    def decode(self, z):
        return super().decode(z)[:-1]


class FrozenEncoder(KoopmanAE):
    """Detaches its latents: no gradient reaches the encoder."""

    def encode(self, x):
        return super().encode(x).detach()


class StepTimes(KoopmanAE):
    """Returns its own step times k/K instead of n_steps + 1 times: trajectory's length no longer matches."""

    def trajectory_times(self, n_steps):
        return [step / 7 for step in range(8)]


class Unseeded(KoopmanAE):
    """Draws its decoder weights from a generator the seed does not reach."""

    def __init__(self, config, spec):
        super().__init__(config, spec)
        with torch.no_grad():
            for parameter in self.decoder.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=torch.Generator().manual_seed(len(BUILT))))
        BUILT.append(self)


BUILT = []


class ClaimsADictionary(KoopmanAE):
    """Declares the dictionary capability without a dictionary() method."""

    capabilities = frozenset({"linear_operator", "dictionary"})


class ShrinkingLatentMap(KoopmanAE):
    """Declares a latent map that drops a latent coordinate."""

    capabilities = frozenset({"linear_operator", "latent_map"})

    def latent_map(self, z):
        return z[:, :-1]


@pytest.mark.parametrize(("broken", "message"), [
    (WrongShape, "shapes: forward gave"),
    (FrozenEncoder, "gradients: parameter encoder"),
    (StepTimes, r"trajectory: trajectory_times\(4\) gave 8 times .*; it must give n_steps \+ 1 = 5 latent times"),
    (Unseeded, "determinism: two models built with the same seed give different losses"),
    (ClaimsADictionary, r"capabilities: capability 'dictionary' needs a method dictionary\(\)"),
    (ShrinkingLatentMap, r"capabilities: latent_map changed the latent shape \(16, 20\) to \(16, 19\)"),
    (torch.nn.Linear, "class: Linear is not a subclass of kae_zoo.Surrogate"),
])
def test_the_conformance_check_catches_broken_families(broken, message):
    if broken is not torch.nn.Linear:
        broken.name = "broken"
    with pytest.raises(FamilyCheckError, match=message):
        check_family(broken)


@pytest.mark.parametrize("name", FAMILIES)
def test_unknown_config_field_lists_valid_ones(name):
    with pytest.raises(ValueError, match="unknown .* field.*valid:"):
        get_family(name).make_config("smoke", overrides={"no_such_field": 1})


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # one epoch on 16 random samples
def test_fits_itself_says_who_trains_the_family(name, monkeypatch):
    # A family that fits itself returns a report without the shared trainer; every other one is trained by it
    # (fit returns None: the runner then trains it with the shared trainer; families never call the trainer).
    from kae_zoo import training

    def shared_trainer(*args, **kwargs):
        raise LookupError("a family called the shared trainer")

    monkeypatch.setattr(training, "train", shared_trainer)
    monkeypatch.setattr(training.trainer, "train", shared_trainer)
    model = tiny_model(name, n_epochs=1)
    batch = random_batch(model)
    report = model.fit(batch, batch, FitSettings(seed=0, progress=False))
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
