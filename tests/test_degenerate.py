"""Degenerate scores: NaN with the reason recorded (a probe whose k reaches the data's dimension, memorization whose
reference leaves no room below 1), kept through the result file, shown by `kae-zoo show` and named by compare."""

import math

import numpy as np
import pytest

from kae_zoo.metrics.attractor import (
    MEMORIZATION_MIN_ROOM,
    data_dimension,
    memorization_degenerate_reason,
    probe_degenerate_reason,
    probe_reconstruction,
)
from kae_zoo.reporting.compare import compare_results, format_comparison, regressions
from kae_zoo.reporting.summary import format_results
from kae_zoo.scoring.base import Scorer, ScorerError, check_output, specs
from kae_zoo.store.results import (
    CellResult,
    cells_from_dataset,
    degenerate_scores,
    read_results,
    to_dataset,
    write_results,
)

# Yinyang's features (x, y, 1 - x, 1 - y) of three points: centred, the last two columns are minus the first two,
# so the data span a plane of R^4 (dimension 2), stored as float32 like every task's states.
YINYANG_LIKE = np.array([[0.2, 0.3, 0.8, 0.7], [0.6, 0.1, 0.4, 0.9], [0.5, 0.5, 0.5, 0.5]], dtype=np.float32)
PROBE_REASON = "k = 2 noise attractors >= 2, the dimension"


def test_data_dimension_by_hand():
    assert data_dimension(YINYANG_LIKE) == 2  # float32 rounding of 1 - x must not count as a third direction
    assert data_dimension(YINYANG_LIKE.astype(np.float64)) == 2  # nor once converted to float64
    assert data_dimension(np.eye(3)) == 2  # three points of R^3 span a plane once centred
    assert data_dimension(np.ones((4, 3))) == 0  # one point repeated: no direction at all
    with pytest.raises(ValueError, match="examples must be a non-empty finite 2-D array"):
        data_dimension(np.array([[np.nan, 1.0]]))


def test_a_probe_with_k_at_the_data_dimension_is_degenerate_and_below_it_is_not():
    assert probe_degenerate_reason(1, 2, 4) == ""  # k 1 < 2: the probe compares one-vector dictionaries
    assert probe_degenerate_reason(2, 2, 4).startswith(PROBE_REASON)
    assert "(4 features)" in probe_degenerate_reason(3, 2, 4)
    with pytest.raises(ValueError, match="need k >= 1"):
        probe_degenerate_reason(0, 2, 4)
    # why: at k = 2 the top-2 principal axes span the plane, so the probe is exact to float32 rounding (the report.s
    # 1e-16), while at k = 1 the best axis leaves a real error
    centred = YINYANG_LIKE.astype(np.float64) - YINYANG_LIKE.mean(axis=0)
    axes = np.linalg.svd(centred)[2]
    assert probe_reconstruction(centred, axes[:2]) < 1e-6
    assert probe_reconstruction(centred, axes[:1]) > 0.1


def test_memorization_is_degenerate_when_the_reference_leaves_no_room():
    # 1 degree of arc: 1 - cos(pi / 180) = 1.523e-4
    assert MEMORIZATION_MIN_ROOM == pytest.approx(1.523e-4, rel=1e-3)
    assert memorization_degenerate_reason(0.96) == ""  # digits: fresh data at 0.961, room for memorization above
    assert memorization_degenerate_reason(0.9998) == ""  # room 2e-4 >= 1.52e-4
    reason = memorization_degenerate_reason(0.999964)  # yinyang's reference at the smoke preset
    assert "1 - reference = 3.6e-05 < 0.00015" in reason and "cannot be told from generalization" in reason
    assert memorization_degenerate_reason(1.0) != ""
    with pytest.raises(ValueError, match="reference must be a finite cosine"):
        memorization_degenerate_reason(float("nan"))


def test_a_scorer_must_leave_a_degenerate_score_nan():
    scorer = Scorer("memo", lambda context: ({}, {}), specs("memorization", "probe_reconstruction"))
    check_output(scorer, {"memorization": float("nan")}, {}, {"memorization": "why"})
    nan_probe = (("probe_basis",), {"probe_basis": ["pca"]}, np.array([np.nan]))
    check_output(scorer, {}, {"probe_reconstruction": nan_probe}, {"probe_reconstruction": "why"})
    with pytest.raises(ScorerError, match="calls 'memorization' degenerate"):
        check_output(scorer, {"memorization": 0.9}, {}, {"memorization": "why"})  # a number and a reason
    with pytest.raises(ScorerError, match="calls 'memorization' degenerate"):
        check_output(scorer, {"memorization": float("nan")}, {}, {"memorization": ""})  # no reason
    with pytest.raises(ScorerError, match="calls 'accuracy' degenerate"):
        check_output(scorer, {}, {}, {"accuracy": "why"})  # not its metric


def run_file(tmp_path, name, memorization_values, notes):
    cells = [CellResult("attractor", "yinyang", seed, scalars={"memorization": value, "memorization_reference": 1.0},
                        degenerate=note) for seed, (value, note) in enumerate(zip(memorization_values, notes))]
    write_results(tmp_path / name, cells, {}, "cpu")
    return read_results(tmp_path / name)


def test_reasons_survive_the_netcdf_round_trip_and_show_names_them(tmp_path):
    notes = [{"memorization": "no room"}, {}]
    dataset = run_file(tmp_path, "a.nc", [float("nan"), 0.5], notes)
    assert [cell.degenerate for cell in cells_from_dataset(dataset)] == notes
    assert degenerate_scores(dataset) == [({"family": "attractor", "task": "yinyang", "seed": 0}, "memorization",
                                           "no room")]
    shown = format_results(dataset)
    assert "degenerate scores (NaN" in shown and "attractor/yinyang seed 0: memorization: no room" in shown
    # writing the read cells again gives the same strings
    again = to_dataset(cells_from_dataset(dataset), {}, "cpu")
    assert list(again["degenerate"].values.ravel()) == ['{"memorization": "no room"}', ""]


def test_files_from_before_the_degenerate_variable_read_without_reasons(tmp_path):
    dataset = run_file(tmp_path, "old.nc", [0.5], [{}]).drop_vars("degenerate")
    assert degenerate_scores(dataset) == [] and cells_from_dataset(dataset)[0].degenerate == {}
    assert "degenerate" not in format_results(dataset)


def test_compare_skips_nan_on_both_sides_and_names_the_reason_when_the_new_file_turns_nan(tmp_path):
    reason = {"memorization": "no room"}
    both_nan = compare_results(run_file(tmp_path, "r.nc", [math.nan] * 2, [reason] * 2),
                               run_file(tmp_path, "n.nc", [math.nan] * 2, [reason] * 2))
    assert not regressions(both_nan) and "memorization" not in [d.metric for d in both_nan]
    turned = compare_results(run_file(tmp_path, "r2.nc", [0.9, 0.91], [{}, {}]),
                             run_file(tmp_path, "n2.nc", [math.nan] * 2, [reason] * 2))
    (row,) = [d for d in turned if d.metric == "memorization"]
    assert row.verdict == "missing" and row.note == "degenerate in the new file: no room"  # listed, not a regression
    assert not regressions(turned) and "degenerate in the new file: no room" in format_comparison(turned, 0.05)


def test_show_names_the_metrics_of_one_reason_on_one_line(tmp_path):
    notes = [{"memorization": "no room", "noise_memorization": "no room", "probe_reconstruction": "k >= rank"}, {}]
    shown = format_results(run_file(tmp_path, "b.nc", [float("nan"), 0.5], notes))
    assert "attractor/yinyang seed 0: memorization, noise_memorization: no room" in shown
    assert "attractor/yinyang seed 0: probe_reconstruction: k >= rank" in shown
