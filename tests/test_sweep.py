"""Sweeps: spec validation, a tiny end-to-end sweep, a failed point that does not stop the sweep, the named
memorization sweep, and the Spearman rank correlation by hand."""

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from kae_zoo.core.registry import UnknownNameError
from kae_zoo.experiments.runner import run_cell
from kae_zoo.experiments.sweep import MEMORIZATION_SWEEP, NAMED_SWEEPS, SweepSpec, run_sweep
from kae_zoo.families import get_family
from kae_zoo.metrics.correlation import spearman_correlation
from kae_zoo.reporting.summary import format_results
from kae_zoo.store.results import CellResult, read_sweep, write_results


def spec(**changes) -> SweepSpec:
    """A valid smoke sweep with some fields changed."""
    fields = {"family": "attractor", "task": "digits", "seeds": (0,), "axes": {"latent_dim": (4, 8)},
              "preset": "smoke", "device": "cpu", **changes}
    return SweepSpec(**fields)


# --- the spec -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"axes": {}}, "at least one axis"),
    ({"axes": {"wings": (1, 2)}}, "axis 'wings' is not a AttractorConfig field; valid: .*latent_dim"),
    ({"axes": {"latent_dim": ("a", "b")}}, "axis 'latent_dim' value 'a' is a str; the field takes int values"),
    ({"axes": {"latent_dim": (4.0, 8.0)}}, "value 4.0 is a float; the field takes int values"),
    ({"axes": {"latent_dim": (True,)}}, "value True is not a number or a string"),
    ({"axes": {"hidden_dims": ([8], [16])}}, r"value \[8\] is not a number or a string"),
    ({"axes": {"hidden_dims": (8, 16)}}, "field 'hidden_dims' takes tuple values"),
    ({"axes": {"latent_dim": (4, 4)}}, "each once"),
    ({"axes": {"latent_dim": ()}}, "at least one value"),
    ({"axes": {"latent_dim": (4, 0)}}, "latent_dim must be >= 1, got 0"),
    ({"axes": {"architecture": ("mlp", "rnn")}}, "architecture = 'rnn' .* it takes one of 'mlp', 'conv'"),
    ({"overrides": {"latent_dim": 4}}, "both a sweep axis and a fixed override"),
    ({"overrides": {"wings": 4}}, "unknown AttractorConfig field"),
    ({"seeds": ()}, "at least one seed"),
    ({"seeds": (0, 0)}, "each once"),
    ({"seeds": (-1,)}, "seed -1 must be a non-negative integer"),
    ({"threads": 0}, "threads 0 must be a positive integer"),
    ({"preset": "huge"}, "unknown preset 'huge'"),
])
def test_bad_specs_are_refused_before_running(changes, message):
    with pytest.raises(ValueError, match=message):
        spec(**changes).validate()


def test_unknown_family_or_task_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown family 'nope'"):
        spec(family="nope").validate()
    with pytest.raises(UnknownNameError, match="unknown task 'nope'"):
        spec(task="nope").validate()


def test_points_are_the_product_and_the_spec_round_trips_through_json():
    swept = spec(axes={"latent_dim": [4, 8], "learning_rate": [1e-3, 1]}, seeds=[0, 1])  # a float field takes ints
    swept.validate()
    assert swept.points() == [{"latent_dim": 4, "learning_rate": 1e-3}, {"latent_dim": 4, "learning_rate": 1},
                              {"latent_dim": 8, "learning_rate": 1e-3}, {"latent_dim": 8, "learning_rate": 1}]
    assert SweepSpec(**json.loads(json.dumps(swept.to_dict()))) == swept


def test_the_named_memorization_sweep_is_the_issues_design():
    MEMORIZATION_SWEEP.validate()
    assert NAMED_SWEEPS["memorization"] is MEMORIZATION_SWEEP
    assert (MEMORIZATION_SWEEP.family, MEMORIZATION_SWEEP.task, MEMORIZATION_SWEEP.preset) == \
        ("attractor", "digits", "default")
    assert len(MEMORIZATION_SWEEP.seeds) >= 3
    assert len(MEMORIZATION_SWEEP.axes["latent_dim"]) >= 3 and len(MEMORIZATION_SWEEP.axes["n_train_samples"]) >= 4
    assert 0 in MEMORIZATION_SWEEP.axes["n_train_samples"]  # up to the whole split


# --- running ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """The smoke attractor on digits over latent_dim 4, 8 x n_train_samples 100, 0 (all) x seeds 0, 1."""
    out = tmp_path_factory.mktemp("sweep") / "sweep.nc"
    swept = spec(axes={"latent_dim": (4, 8), "n_train_samples": (100, 0)}, seeds=(0, 1),
                 overrides={"n_noise_starts": 16})
    returned = run_sweep(swept, out=out, progress=False)
    return swept, out, returned


def test_tiny_sweep_end_to_end(tiny_sweep):
    swept, out, returned = tiny_sweep
    dataset = read_sweep(out)
    assert dataset["memorization"].dims == ("latent_dim", "n_train_samples", "seed")
    assert dataset.latent_dim.values.tolist() == [4, 8] and dataset.n_train_samples.values.tolist() == [100, 0]
    assert (dataset["status"] == "ok").all()
    assert (dataset["n_train_used"].sel(n_train_samples=100) == 100).all()
    assert (dataset["n_train_used"].sel(n_train_samples=0) == 1078).all()  # digits' whole train split
    assert not any(name in dataset for name in ("betti", "ood_auroc", "probe_reconstruction"))  # curves dropped
    assert (dataset.attrs["kind"], dataset.attrs["family"], dataset.attrs["task"]) == ("sweep", "attractor", "digits")
    assert SweepSpec(**json.loads(dataset.attrs["config"])) == swept
    assert dataset.attrs["torch_num_threads"] == 1
    recorded = json.loads(str(dataset["family_config"].sel(latent_dim=8, n_train_samples=100, seed=1).item()))
    overrides = {"latent_dim": 8, "n_train_samples": 100, "n_noise_starts": 16}
    assert recorded == json.loads(get_family("attractor").make_config("smoke", "digits", overrides).to_json())
    np.testing.assert_array_equal(returned["memorization"].values, dataset["memorization"].values)
    # The reference depends on the training examples only: the same for both bottlenecks.
    reference = dataset["memorization_reference"]
    np.testing.assert_array_equal(reference.sel(latent_dim=4).values, reference.sel(latent_dim=8).values)


def test_a_sweep_point_is_the_cell_with_its_overrides(tiny_sweep):
    _, out, _ = tiny_sweep
    overrides = {"n_noise_starts": 16, "latent_dim": 8, "n_train_samples": 100}
    cell = run_cell("attractor", "digits", 1, preset="smoke", device="cpu", overrides=overrides, progress=False)
    point = read_sweep(out).sel(latent_dim=8, n_train_samples=100, seed=1)
    for name in ("memorization", "memorization_reference", "attractor_count", "state_error"):
        assert point[name].item() == cell.scalars[name], name


def test_a_failed_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    swept = spec(axes={"n_train_samples": (5000, 100)}, overrides={"n_noise_starts": 16})
    dataset = run_sweep(swept, out=tmp_path / "s.nc", progress=False)
    assert dataset["status"].values[:, 0].tolist() == ["failed", "ok"]
    assert "n_train_samples 5000 is larger than the train split (1078 samples)" in \
        str(dataset["error"].sel(n_train_samples=5000, seed=0).item())
    assert np.isnan(dataset["memorization"].sel(n_train_samples=5000, seed=0).item())
    assert "FAILED n_train_samples 5000, seed 0: ValueError: n_train_samples 5000" in format_results(dataset)


def test_a_killed_sweep_resumes_keeping_its_finished_points(tiny_sweep, tmp_path, monkeypatch):
    """The file is written after every point; a sweep killed after its second point, run again, runs only the
    missing points and ends with the uninterrupted sweep's numbers; a run extending an axis keeps them all."""
    swept, uninterrupted, _ = tiny_sweep
    out, calls = tmp_path / "sweep.nc", []

    def dying_run_cell(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt  # what a kill looks like from inside: the third point never finishes
        calls.append(kwargs["overrides"])
        return run_cell(*args, **kwargs)

    monkeypatch.setattr("kae_zoo.experiments.runner.run_cell", dying_run_cell)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(swept, out=out, progress=False)
    assert (read_sweep(out)["status"] == "ok").sum() == 2  # the two finished points are in the file

    calls.clear()
    monkeypatch.setattr("kae_zoo.experiments.runner.run_cell",
                        lambda *args, **kwargs: calls.append(kwargs["overrides"]) or
                        run_cell(*args, **kwargs))
    resumed = run_sweep(swept, out=out, progress=False)
    assert len(calls) == 6  # 8 points, 2 kept
    expected = read_sweep(uninterrupted)
    for name in ("memorization", "memorization_reference", "attractor_count", "convergence_fraction", "state_error"):
        np.testing.assert_array_equal(resumed[name].values, expected[name].values, err_msg=name)
    assert (resumed["status"] == "ok").all()

    calls.clear()
    extended = dataclasses.replace(swept, axes={"latent_dim": (4, 8, 2), "n_train_samples": (100, 0)})
    grown = run_sweep(extended, out=out, progress=False)
    assert len(calls) == 4 and all(point["latent_dim"] == 2 for point in calls)  # only the new axis value ran
    np.testing.assert_array_equal(grown["memorization"].sel(latent_dim=[4, 8]).values, expected["memorization"].values)

    calls.clear()
    narrowed = run_sweep(dataclasses.replace(swept, axes={"latent_dim": (4,), "n_train_samples": (100, 0)}), out=out,
                         progress=False)  # points outside this sweep are carried, not dropped
    assert calls == [] and narrowed["latent_dim"].values.tolist() == [4, 8, 2]
    np.testing.assert_array_equal(narrowed["memorization"].values, grown["memorization"].values)

    before = out.read_bytes()  # another setting: its points could not be kept, so the sweep is refused
    with pytest.raises(ValueError, match="holds a sweep with threads 1, this sweep has 2; its points would be lost"):
        run_sweep(dataclasses.replace(swept, threads=2), out=out, progress=False)
    assert out.read_bytes() == before and calls == []
    run_sweep(dataclasses.replace(swept, threads=2), out=out, progress=False, overwrite=True)
    assert len(calls) == 8


def test_a_sweep_refuses_to_resume_from_a_run_file(tmp_path):
    write_results(tmp_path / "r.nc", [CellResult("koopman", "yinyang", 0, scalars={"accuracy": 0.9})], {}, "cpu")
    with pytest.raises(ValueError, match="is not a kae-zoo sweep file.*; pass overwrite"):
        run_sweep(spec(), out=tmp_path / "r.nc", progress=False)


# --- Spearman -----------------------------------------------------------------------------------------------------


def test_spearman_by_hand_with_ties():
    # x ranks 1, 2.5, 2.5, 4 (centred -1.5, 0, 0, 1.5); y ranks 1..4 (centred -1.5, -0.5, 0.5, 1.5):
    # sum of products 4.5, sums of squares 4.5 and 5: rho = 4.5 / sqrt(22.5) = sqrt(0.9).
    result = spearman_correlation([1, 2, 2, 4], [10, 20, 30, 40])
    assert result.rho == pytest.approx(math.sqrt(0.9)) and result.n_pairs == 4
    # Ties on both sides: x ranks 1.5, 1.5, 3.5, 3.5, 5 (centred -1.5, -1.5, 0.5, 0.5, 2), y = 5, 4, 4, 2, 1 ranks
    # 5, 3.5, 3.5, 2, 1 (centred 2, 0.5, 0.5, -1, -2): products sum to -8, squares to 9 and 9.5.
    x, y = [1, 1, 2, 2, 3], [5, 4, 4, 2, 1]
    assert spearman_correlation(x, y).rho == pytest.approx(-8 / math.sqrt(9 * 9.5))
    assert spearman_correlation(x, y).rho == pytest.approx(spearmanr(x, y).statistic)
    # a pair with a missing score is dropped
    with_nan = spearman_correlation([*x, 7], [*y, math.nan])
    assert with_nan.rho == pytest.approx(-8 / math.sqrt(9 * 9.5)) and with_nan.n_pairs == 5


def test_spearman_edge_cases():
    assert math.isnan(spearman_correlation([1, 2, 3], [4, 4, 4]).rho)  # a constant variable has no ranking
    assert spearman_correlation([1, 2, 3], [3, 2, 1]).rho == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="at least 3 complete pairs, got 2"):
        spearman_correlation([1, 2, math.nan], [1, 2, 3])
    with pytest.raises(ValueError, match="differ in size"):
        spearman_correlation([1, 2, 3], [1, 2])
