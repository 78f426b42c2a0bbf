"""`kae-zoo compare`: regressions in each metric's direction, beyond the tolerance and the seed noise, against
hand-worked values."""

import csv
import io
import json

import numpy as np
import pytest
from scipy import stats

from kae_zoo.cli import main
from kae_zoo.experiments.runner import RunSpec, run_matrix
from kae_zoo.reporting.compare import (
    Difference,
    Sample,
    changed_settings,
    compare_results,
    format_comparison,
    judge_change,
    regressions,
    welch_p_value,
)
from kae_zoo.store.results import CellResult, read_results, write_results


def judged(reference: Sample, new: Sample, *, higher_is_better: bool = True, **options: float) -> tuple[str, float]:
    """`judge_change` at the default 5 % tolerance."""
    return judge_change(reference, new, higher_is_better=higher_is_better, tolerance=0.05, **options)


def run_file(path, accuracy=(0.90, 0.92), state_error=(0.20, 0.22), seconds=(1.0, 1.0), failed=(), seeds=None,
             family="koopman", task="yinyang", preset="default"):
    seeds = seeds or range(len(accuracy))
    cells = [CellResult(family, task, seed, status="failed" if seed in failed else "ok",
                        scalars={} if seed in failed else {"accuracy": a, "state_error": e, "train_seconds": t},
                        provenance={"preset": preset, "precision": "fp32", "device": "cpu"})
             for seed, a, e, t in zip(seeds, accuracy, state_error, seconds)]
    write_results(path, cells, {}, "cpu")
    return read_results(path)


def test_welch_p_value_by_hand():
    # [1, 2, 3] against [4, 5, 6]: means 2 and 5, sample variances 1 and 1; standard error sqrt(1/3 + 1/3);
    # t = 3 / sqrt(2/3) = 3.674; Welch-Satterthwaite dof = (2/3)^2 / (2 (1/3)^2 / 2) = 4; P(T_4 > 3.674) = 0.01066.
    assert welch_p_value(np.array([1, 2, 3]), np.array([4, 5, 6]), "greater") == pytest.approx(0.010656, abs=1e-6)
    assert welch_p_value(np.array([1, 2, 3]), np.array([4, 5, 6]), "less") == pytest.approx(1 - 0.010656, abs=1e-6)
    rng = np.random.default_rng(0)  # and scipy's own Welch test on unequal sizes and spreads
    a, b = rng.normal(0, 1, 5), rng.normal(0.5, 3, 3)
    assert welch_p_value(a, b, "greater") == pytest.approx(
        stats.ttest_ind(b, a, equal_var=False, alternative="greater").pvalue)
    # no spread on either side: any difference is outside the noise, none is not
    assert welch_p_value(np.array([1.0, 1.0]), np.array([2.0, 2.0]), "greater") == 0.0
    assert welch_p_value(np.array([1.0, 1.0]), np.array([2.0, 2.0]), "less") == 1.0
    assert welch_p_value(np.array([1.0, 1.0]), np.array([1.0, 1.0]), "less") == 1.0
    with pytest.raises(ValueError, match=">= 2 values"):
        welch_p_value(np.array([1.0]), np.array([2.0, 3.0]), "less")


def test_judge_change_with_one_seed_is_the_tolerance_alone():
    # reference 0.91, tolerance 0.05: allowed 0.0455; 0.86 is 0.05 worse -> regressed; 0.87 is 0.04 worse -> same
    one = lambda value: Sample((value,))  # noqa: E731
    assert judged(one(0.91), one(0.86)) == ("regressed", pytest.approx(np.nan, nan_ok=True))
    assert judged(one(0.91), one(0.87))[0] == "same"
    assert judged(one(0.91), one(0.96))[0] == "improved"
    assert judged(one(0.21), one(0.23), higher_is_better=False)[0] == "regressed"  # lower is better: +0.02 > 0.0105
    assert judged(one(0.0), one(0.01), higher_is_better=False)[0] == "regressed"  # reference 0: the floor allows 5e-5
    assert judged(one(0.0), one(0.00001), higher_is_better=False)[0] == "same"
    assert judged(one(0.5), Sample(()))[0] == "missing"
    # one seed against three: still no spread to test one side against
    assert judged(Sample((0.91, 0.90, 0.92)), one(0.86))[0] == "regressed"


def test_judge_change_with_seeds_needs_the_test_too():
    # reference 0.90, 0.92, 0.91 (mean 0.91); new 0.80, 0.95, 0.83 (mean 0.86): 0.05 worse, beyond the allowed
    # 0.0455, but the new seeds spread widely: Welch's one-sided p = 0.195 >= 0.05 -> within noise.
    verdict, p_value = judged(Sample((0.90, 0.92, 0.91)), Sample((0.80, 0.95, 0.83)))
    assert verdict == "within noise" and p_value == pytest.approx(0.1946, abs=1e-4)
    # new 0.85, 0.87 against 0.90, 0.92: the same 0.05 drop with a tight spread: p = 0.0358 < 0.05 -> regressed
    verdict, p_value = judged(Sample((0.90, 0.92)), Sample((0.85, 0.87)))
    assert verdict == "regressed" and p_value == pytest.approx(0.03576, abs=1e-5)
    # the same numbers with alpha 0.01: within noise
    assert judged(Sample((0.90, 0.92)), Sample((0.85, 0.87)), alpha=0.01)[0] == "within noise"
    # lower is better and the new errors rose by a lot with no spread: p = 0 -> regressed
    assert judged(Sample((0.2, 0.2)), Sample((0.3, 0.3)), higher_is_better=False) == ("regressed", 0.0)
    # within the tolerance no test is made, whatever the spread
    assert judged(Sample((0.90, 0.92)), Sample((0.89, 0.91)))[0] == "same"


def test_identical_files_exit_0(tmp_path, capsys):
    run_file(tmp_path / "a.nc")
    run_file(tmp_path / "b.nc")
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]) == 0
    out = capsys.readouterr().out
    # mean ± sample std (ddof 1) and n: 0.90, 0.92 -> 0.91 ± 0.01414, the mean to 4 significant digits
    assert "0 regressed" in out and "0.9100 ± 0.014 (n=2)" in out


def test_an_accuracy_drop_beyond_tolerance_and_noise_exits_1(tmp_path, capsys):
    run_file(tmp_path / "a.nc")  # accuracy 0.90, 0.92
    run_file(tmp_path / "b.nc", accuracy=(0.85, 0.87))  # 0.05 below, p = 0.036
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "koopman / yinyang:"  # a block per pair, its regressions first
    assert lines[3].startswith("  regressed  accuracy ↑") and "0.0358" in lines[3]
    assert max(len(line) for line in lines) <= 120
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc"), "--tolerance", "0.1"]) == 0
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc"), "--alpha", "0.01"]) == 0


def test_disjoint_seeds_are_compared(tmp_path):
    reference = run_file(tmp_path / "a.nc", accuracy=(0.90, 0.92), seeds=(0, 1))
    new = run_file(tmp_path / "b.nc", accuracy=(0.85, 0.87), seeds=(3, 4))
    found = regressions(compare_results(reference, new))
    assert [(d.metric, d.reference.n, d.new.n) for d in found] == [("accuracy", 2, 2)]


def test_timings_are_left_out_unless_asked(tmp_path):
    reference = run_file(tmp_path / "a.nc")
    slower = run_file(tmp_path / "b.nc", seconds=(3.0, 3.0))
    assert regressions(compare_results(reference, slower)) == []
    assert [d.metric for d in regressions(compare_results(reference, slower, timings=True))] == ["train_seconds"]


def test_a_failed_cell_is_a_regression(tmp_path):
    reference = run_file(tmp_path / "a.nc")
    new = run_file(tmp_path / "b.nc", failed=(1,))
    found = regressions(compare_results(reference, new))
    assert [(d.metric, d.note) for d in found] == [("failed cells", "0/2 -> 1/2 failed")]


def test_pairs_one_file_lacks_are_missing_unless_required(tmp_path, capsys):
    reference = run_file(tmp_path / "a.nc")
    other = run_file(tmp_path / "b.nc", task="digits")  # a run of another task only
    differences = compare_results(reference, other)
    assert regressions(differences) == []
    assert [(d.task, d.verdict, d.note) for d in differences] == [
        ("yinyang", "missing", "ran only in the reference"), ("digits", "missing", "ran only in the new file")]
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]) == 0
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc"), "--require-all"]) == 1
    found = regressions(compare_results(reference, other, require_all=True))
    assert [(d.task, d.metric) for d in found] == [("yinyang", "cells")]


def test_a_metric_only_one_file_holds_is_listed_with_its_side_not_judged(tmp_path, capsys):
    reference = run_file(tmp_path / "a.nc")
    # the new code measures a score the reference's did not (a scorer added since): explained_variance, higher
    cells = [CellResult("koopman", "yinyang", seed, scalars={"accuracy": 0.91, "state_error": 0.21,
                                                             "explained_variance": 0.8 + seed / 100})
             for seed in range(2)]
    write_results(tmp_path / "b.nc", cells, {}, "cpu")
    new = read_results(tmp_path / "b.nc")
    added = [d for d in compare_results(reference, new) if d.metric == "explained_variance"]
    assert [(d.verdict, d.note, d.new.n, d.reference.n) for d in added] == [("missing", "only in the new file", 2, 0)]
    assert regressions(compare_results(reference, new)) == []
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]) == 0
    assert "only in the new file" in capsys.readouterr().out
    removed = [d for d in compare_results(new, reference) if d.metric == "explained_variance"]
    assert [(d.verdict, d.note) for d in removed] == [("missing", "only in the reference file")]


def test_a_changed_definition_is_reported_not_judged(tmp_path):
    reference = run_file(tmp_path / "a.nc")
    new = run_file(tmp_path / "b.nc", accuracy=(0.5, 0.5))  # far worse, but computed by another formula
    new["accuracy"].attrs["definition_version"] = 2
    differences = {d.metric: d for d in compare_results(reference, new)}
    assert differences["accuracy"].verdict == "definition changed"
    assert differences["accuracy"].note == "definition version 1 -> 2"
    assert regressions(list(differences.values())) == []


def test_metrics_without_direction_are_not_judged(tmp_path):
    reference = run_file(tmp_path / "a.nc")
    metrics = {d.metric for d in compare_results(reference, reference)}
    assert metrics == {"failed cells", "accuracy", "state_error"}  # train_seconds is a timing
    cells = [CellResult("koopman", "yinyang", 0, scalars={"spectral_radius": 1.0, "scored_epoch": 5.0})]
    write_results(tmp_path / "c.nc", cells, {}, "cpu")
    spectral = read_results(tmp_path / "c.nc")
    assert {d.metric for d in compare_results(spectral, spectral)} == {"failed cells"}


def test_bad_tolerance_alpha_and_bad_file_exit_2(tmp_path, capsys):
    run_file(tmp_path / "a.nc")
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "a.nc"), "--tolerance", "-1"]) == 2
    assert "tolerance must be a number >= 0" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "a.nc"), "--alpha", "1.5"]) == 2
    assert "alpha must be a number in (0, 1)" in capsys.readouterr().err
    (tmp_path / "junk.nc").write_text("x")
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "junk.nc")]) == 2
    assert "not a readable netCDF" in capsys.readouterr().err


def test_the_same_code_on_disjoint_seeds_is_noise_and_a_degraded_model_regresses(tmp_path):
    """Real runs, not made-up numbers: Koopman on digits (smoke) at seeds 0, 1, 2 against seeds 3, 4, 5 of the same
    code does not regress; against seeds 3, 4, 5 trained for one epoch instead of ten, it does."""
    def run(seeds, **overrides):
        spec = RunSpec(("koopman",), ("digits",), seeds, preset="smoke", device="cpu", threads=1,
                       overrides={"koopman": overrides})
        run_matrix(spec, out=tmp_path / f"{seeds}{overrides}.nc", progress=False)
        return read_results(tmp_path / f"{seeds}{overrides}.nc")

    reference, same_code = run((0, 1, 2)), run((3, 4, 5))
    assert regressions(compare_results(reference, same_code)) == []
    found = {d.metric for d in regressions(compare_results(reference, run((3, 4, 5), n_epochs=1)))}
    assert {"accuracy", "state_error"} <= found


def test_compare_formats_and_selection(tmp_path, capsys):
    run_file(tmp_path / "a.nc")  # accuracy 0.90, 0.92; state_error 0.20, 0.22
    run_file(tmp_path / "b.nc", accuracy=(0.85, 0.87))  # accuracy regressed (p = 0.0358), state_error the same
    files = [str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]
    assert main(["compare", *files, "--format", "csv"]) == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    accuracy = next(row for row in rows if row["metric"] == "accuracy")
    # new 0.85, 0.87: mean 0.86, sample std sqrt(2 * 0.01^2 / 1) = 0.014142; change 0.86 - 0.91 = -0.05
    assert accuracy["verdict"] == "regressed" and accuracy["direction"] == "higher"
    assert float(accuracy["new_mean"]) == pytest.approx(0.86) and float(accuracy["new_std"]) == pytest.approx(
        0.0141421, abs=1e-6)
    assert accuracy["new_n"] == "2" and float(accuracy["change"]) == pytest.approx(-0.05)
    assert float(accuracy["p_value"]) == pytest.approx(0.03576, abs=1e-5)
    same = next(row for row in rows if row["metric"] == "state_error")
    assert same["verdict"] == "same" and same["p_value"] == ""  # no test made: an empty field
    assert main(["compare", *files, "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["counts"]["regressed"] == 1 and document["tolerance"] == 0.05
    assert document["reference"]["device"] == "cpu"
    assert next(d for d in document["differences"] if d["metric"] == "state_error")["p_value"] is None
    assert main(["compare", *files, "--format", "markdown"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| verdict | family | task | metric | reference | new | change | p | note |"
    assert lines[2].startswith("| regressed | koopman | yinyang | accuracy ↑ | 0.9100 ± 0.014 (n=2) |")
    # selecting state_error alone leaves out the regressed accuracy: exit 0
    assert main(["compare", *files, "--metrics", "state_error"]) == 0
    out = capsys.readouterr().out
    assert "state_error ↓" in out and "accuracy" not in out and "failed cells" in out
    assert main(["compare", *files, "--metrics", "acuracy"]) == 2
    error = capsys.readouterr().err
    assert "'acuracy'" in error and "valid: accuracy, state_error" in error
    assert main(["compare", *files, "--task", "digits"]) == 2
    assert "valid: yinyang" in capsys.readouterr().err


def test_comparison_table_fits_120_columns_with_notes_under_rows():
    long_note = "degenerate in the new file: " + "a reason that goes on and on " * 8
    differences = [
        Difference("accuracy", "koopman", "yinyang", Sample((0.9, 0.92)), Sample((0.85, 0.87)), "higher", "regressed",
                   0.0358),
        Difference("memorization", "attractor", "yinyang", Sample((0.5,)), Sample(()), "lower", "missing",
                   note=long_note),
        Difference("a_metric_name_so_long_that_no_grid_of_this_pair_can_fit_in_the_width_of_a_terminal_at_all",
                   "sae", "sparse_vec", Sample((1.0,)), Sample((2.0,)), "lower", "regressed"),
    ]
    lines = format_comparison(differences, 0.05).splitlines()
    assert max(len(line) for line in lines) <= 120
    # pairs with the worst verdict first: both regressed pairs (by name), then the missing one
    assert [line for line in lines if line.endswith(":")] == ["koopman / yinyang:", "sae / sparse_vec:",
                                                              "attractor / yinyang:"]
    # the long note is wrapped under its row, not in a column
    row = next(index for index, line in enumerate(lines) if "missing  memorization" in line)
    assert lines[row + 1].startswith("      degenerate in the new file: a reason")
    assert lines[row + 2].startswith("      a reason")
    # a pair whose grid cannot fit gives each metric two lines: verdict and metric, then the numbers
    wide = next(index for index, line in enumerate(lines) if line == "sae / sparse_vec:")
    assert lines[wide + 1].startswith("  regressed  a_metric_name_so_long") and "verdict" not in lines[wide + 1]
    assert "reference 1.000 (n=1), new 2.000 (n=1), change +1.000, p -" in " ".join(lines[wide + 2:wide + 4])


def test_changed_settings_are_named_and_warned(tmp_path, capsys):
    same = run_file(tmp_path / "a.nc"), run_file(tmp_path / "b.nc")
    assert changed_settings(*same) == []
    smoke = run_file(tmp_path / "smoke.nc", preset="smoke")
    assert changed_settings(same[0], smoke) == ["koopman/yinyang: preset default -> smoke"]
    main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "smoke.nc")])
    error = capsys.readouterr().err
    assert error.startswith("kae-zoo: warning: 1 pair(s) ran with other settings") and "default -> smoke" in error
