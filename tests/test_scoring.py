"""The scorer registry: scorers run where their needs are met, return only what they declare, and a plugin family
that declares a capability gets that capability's scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from helpers import tiny_model
from torch import Tensor, nn
from torch.nn import functional as F

from kae_zoo.core.config import TrainingConfig
from kae_zoo.core.surrogate import Surrogate, TrainReport
from kae_zoo.core.types import Batch
from kae_zoo.experiments.runner import RunSpec, run_cell, run_matrix
from kae_zoo.families import FAMILIES, create_surrogate, register_family
from kae_zoo.metrics import METRICS, MetricSpec
from kae_zoo.scoring import (
    SCORERS,
    Scorer,
    ScorerError,
    ScoringContext,
    applicable_scorers,
    get_scorer,
    register_scorer,
    score,
)
from kae_zoo.store.results import read_results
from kae_zoo.tasks import get_task

REPORT = TrainReport(n_epochs_run=1, n_steps=1, best_epoch=1, best_val_loss=0.0, stopped_early=False, seconds=0.0)


@pytest.fixture
def registered():
    """Register scorers (and families) for one test and remove them, with their metrics, afterwards."""
    added: list[tuple[object, str]] = []

    def add_scorer(scorer: Scorer) -> Scorer:
        register_scorer(scorer)
        added.append((SCORERS, scorer.name))
        added.extend((METRICS, spec.name) for spec in scorer.metrics)
        return scorer

    yield add_scorer, added
    for registry, name in added:
        registry._entries.pop(name, None)


@pytest.fixture(scope="module")
def yinyang_autoencode():
    return get_task("yinyang")().load(0, "smoke", "autoencode", torch.device("cpu"), progress=False)


@pytest.fixture(scope="module")
def sparse_vec():
    return get_task("sparse_vec")().load(0, "smoke", "autoencode", torch.device("cpu"), progress=False)


def names(scorers: list[Scorer]) -> list[str]:
    return [scorer.name for scorer in scorers]


def test_scorers_run_where_their_needs_are_met(yinyang_autoencode, sparse_vec):
    sae, attractor = tiny_model("sae"), tiny_model("attractor")
    on_labels = names(applicable_scorers(sae, yinyang_autoencode))
    on_sparse = names(applicable_scorers(sae, sparse_vec))
    on_labels_attractor = names(applicable_scorers(attractor, yinyang_autoencode))
    assert "topology" in on_labels_attractor and "topology" not in names(applicable_scorers(attractor, sparse_vec))
    assert "topology" not in on_labels  # labels, but sae's advance is the identity: no latent path to score
    assert "sparsity" in on_labels and "sparsity" not in on_labels_attractor  # sae's latents are codes
    assert "dictionary_recovery" in on_sparse and "dictionary_recovery" not in on_labels  # needs a true dictionary
    assert "attractors" not in on_labels and "attractors" in names(applicable_scorers(attractor, yinyang_autoencode))
    assert "spectrum" not in on_labels  # sae has no linear operator
    for common in ("prediction", "isometry", "throughput", "training_record"):
        assert common in on_labels and common in on_sparse


def test_a_scorer_must_declare_known_capabilities_and_metric_specs():
    spec = MetricSpec("probe_value", "a probe", "1", higher_is_better=True)
    with pytest.raises(ValueError, match="needs unknown capabilities \\['labelz'\\]"):
        Scorer("probe", lambda context: ({}, {}), (spec,), task_needs={"labelz"})
    with pytest.raises(TypeError, match="metrics must be one or more MetricSpec"):
        Scorer("probe", lambda context: ({}, {}), ("probe_value",))


def test_score_refuses_an_undeclared_metric_and_wrong_curve_dims(registered, yinyang_autoencode):
    add, _ = registered
    spec = MetricSpec("probe_curve", "a probe curve", "1", higher_is_better=None, dims=("probe_step",))
    model = create_surrogate("sae", yinyang_autoencode.spec, preset="smoke", seed=0)
    add(Scorer("zz_probe", lambda context: ({"probe_undeclared": 1.0}, {}), (spec,)))
    with pytest.raises(ScorerError, match="scorer 'zz_probe' returned scalar 'probe_undeclared'"):
        score(ScoringContext(model, yinyang_autoencode, REPORT, 0))
    SCORERS._entries.pop("zz_probe")
    curve = (("other_dim",), {"other_dim": [0, 1]}, np.zeros(2))
    add(Scorer("zz_probe", lambda context: ({}, {"probe_curve": curve}), (spec,)))
    with pytest.raises(ScorerError, match="returned curve 'probe_curve' over \\('other_dim',\\)"):
        score(ScoringContext(model, yinyang_autoencode, REPORT, 0))


def test_a_metric_belongs_to_one_scorer(registered):
    add, _ = registered
    with pytest.raises(ValueError, match="metric 'accuracy' is already measured by scorer 'classification'"):
        add(Scorer("zz_thief", lambda context: ({}, {}), (get_scorer("classification").metrics[0],)))
    assert "zz_thief" not in SCORERS


def test_a_failing_scorer_fails_the_cell_with_its_name(registered):
    add, _ = registered

    def broken(context: ScoringContext) -> tuple[dict, dict]:
        raise ZeroDivisionError("probe")

    add(Scorer("zz_broken", broken, (MetricSpec("broken_value", "never written", "1", higher_is_better=None),)))
    cell = run_cell("sae", "sparse_vec", 0, preset="smoke", device="cpu", overrides={"n_epochs": 1}, progress=False)
    assert cell.status == "failed" and "scorer 'zz_broken': ZeroDivisionError: probe" in cell.error


@dataclass(frozen=True)
class OperatorProbeConfig(TrainingConfig):
    width: int = 8


class OperatorProbe(Surrogate):
    """A plugin-like family with a linear latent operator: z -> K z with K = exp(G), no relation to KoopmanAE."""

    config_class = OperatorProbeConfig
    capabilities = frozenset({"linear_operator"})
    presets = {"smoke": {"n_epochs": 3}, "default": {}, "paper": {}}

    def __init__(self, config: OperatorProbeConfig, spec) -> None:
        super().__init__(config, spec)
        self.encoder = nn.Linear(spec.state_dim, config.width)
        self.decoder = nn.Linear(config.width, spec.state_dim)
        self.generator = nn.Parameter(torch.zeros(config.width, config.width))
        self.register_buffer("edit", torch.zeros(config.width, config.width))

    def operator(self, t: float = 1.0) -> Tensor:
        return torch.linalg.matrix_exp(t * self.generator) + t * self.edit

    def add_operator_edit(self, edit: Tensor) -> None:
        with torch.no_grad():
            self.edit += edit.to(self.edit)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x.flatten(1))

    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        return z @ self.operator(t).T

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z).reshape(len(z), *self.spec.state_shape)

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        total = F.mse_loss(self(batch["source"]), batch["target"])
        return {"total": total}


def test_a_family_declaring_a_linear_operator_gets_spectrum_and_editing_scores():
    register_family("zz_operator_probe")(OperatorProbe)
    try:
        cell = run_cell("zz_operator_probe", "yinyang", 0, preset="smoke", device="cpu", progress=False)
    finally:
        FAMILIES._entries.pop("zz_operator_probe")
    assert cell.status == "ok", cell.error
    assert cell.scalars["spectral_radius"] > 0 and cell.curves["eigenvalue_real"][2].shape == (8,)
    assert cell.scalars["unlearned_class"] == 2.0  # yinyang: 3 classes, the last one
    for name in ("forgotten_accuracy_before", "forgotten_accuracy_after", "retained_accuracy_after"):
        assert 0.0 <= cell.scalars[name] <= 1.0
    assert "attractor_count" not in cell.scalars and "dictionary_recovery" not in cell.scalars


def test_an_undeclared_capability_gets_no_scores_and_an_unknown_one_is_refused():
    with pytest.raises(ValueError, match="declares unknown capabilities \\['operator'\\]"):
        register_family("zz_bad_capability")(type("Bad", (OperatorProbe,), {"capabilities": frozenset({"operator"})}))
    assert "zz_bad_capability" not in FAMILIES


def test_a_scorer_curve_over_a_new_dim_lands_in_the_result_file(registered, tmp_path):
    add, _ = registered
    spec = MetricSpec("zz_latent_profile", "mean absolute latent by latent coordinate", "1", higher_is_better=None,
                      dims=("latent_coordinate",), version=2)

    def profile(context: ScoringContext) -> tuple[dict, dict]:
        with torch.no_grad():
            latents = context.model.encode(context.data.splits["test"]["source"]).abs().mean(dim=0)
        values = latents.double().numpy()
        return {}, {"zz_latent_profile": (("latent_coordinate",), {"latent_coordinate": list(range(len(values)))},
                                          values)}

    add(Scorer("zz_profile", profile, (spec,)))
    cells = run_matrix(RunSpec(("sae",), ("sparse_vec",), (0, 1), preset="smoke", device="cpu",
                               overrides={"sae": {"n_epochs": 1}}), out=tmp_path / "r.nc", progress=False)
    assert [cell.status for cell in cells] == ["ok", "ok"], [cell.error for cell in cells]
    dataset = read_results(tmp_path / "r.nc")
    curve = dataset["zz_latent_profile"]
    assert curve.dims == ("family", "task", "seed", "latent_coordinate")
    assert curve.sizes["latent_coordinate"] == cells[0].family_config["n_atoms"]
    np.testing.assert_array_equal(curve.sel(family="sae", task="sparse_vec", seed=1).values,
                                  cells[1].curves["zz_latent_profile"][2])
    assert curve.attrs["definition_version"] == 2 and curve.attrs["direction"] == "none"
