"""`kae-zoo compare`: regressions in each metric's direction, against hand-worked tolerances."""

from kae_zoo.cli import main
from kae_zoo.compare import compare_results, judge_change, regressions
from kae_zoo.results import CellResult, read_results, write_results


def run_file(path, accuracy=(0.90, 0.92), state_error=(0.20, 0.22), seconds=(1.0, 1.0), failed=()):
    cells = [CellResult("koopman", "yinyang", seed, status="failed" if seed in failed else "ok",
                        scalars={} if seed in failed else {"accuracy": a, "state_error": e, "train_seconds": t})
             for seed, (a, e, t) in enumerate(zip(accuracy, state_error, seconds))]
    write_results(path, cells, {}, "cpu")
    return read_results(path)


def test_judge_change_by_hand():
    # reference 0.91, tolerance 0.05: allowed 0.0455; 0.86 is 0.05 worse -> regressed; 0.87 is 0.04 worse -> same
    assert judge_change(0.91, 0.86, True, 0.05) == "regressed"
    assert judge_change(0.91, 0.87, True, 0.05) == "same"
    assert judge_change(0.91, 0.96, True, 0.05) == "improved"
    assert judge_change(0.21, 0.23, False, 0.05) == "regressed"  # lower is better: +0.02 > 0.0105
    assert judge_change(0.0, 0.01, False, 0.05) == "regressed"  # reference 0: the floor 1e-3 allows 5e-5 only
    assert judge_change(0.0, 0.00001, False, 0.05) == "same"
    assert judge_change(0.5, float("nan"), True, 0.05) == "missing"


def test_identical_files_exit_0(tmp_path, capsys):
    run_file(tmp_path / "a.nc")
    run_file(tmp_path / "b.nc")
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]) == 0
    assert "0 regressed" in capsys.readouterr().out


def test_an_accuracy_drop_beyond_tolerance_exits_1(tmp_path, capsys):
    run_file(tmp_path / "a.nc")  # mean accuracy 0.91
    run_file(tmp_path / "b.nc", accuracy=(0.85, 0.87))  # mean 0.86: 0.05 below, allowed 0.0455
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc")]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[2].startswith("regressed") and "accuracy" in out.splitlines()[2]
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "b.nc"), "--tolerance", "0.1"]) == 0


def test_timings_are_left_out_unless_asked(tmp_path):
    reference = run_file(tmp_path / "a.nc")
    slower = run_file(tmp_path / "b.nc", seconds=(3.0, 3.0))
    assert regressions(compare_results(reference, slower)) == []
    assert [d.metric for d in regressions(compare_results(reference, slower, timings=True))] == ["train_seconds"]


def test_a_failed_cell_is_a_regression(tmp_path):
    reference = run_file(tmp_path / "a.nc")
    new = run_file(tmp_path / "b.nc", failed=(1,))
    found = regressions(compare_results(reference, new))
    assert [(d.metric, d.reference, d.new) for d in found] == [("finished cells", 2, 1)]


def test_bad_tolerance_and_bad_file_exit_2(tmp_path, capsys):
    run_file(tmp_path / "a.nc")
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "a.nc"), "--tolerance", "-1"]) == 2
    assert "tolerance must be a number >= 0" in capsys.readouterr().err
    (tmp_path / "junk.nc").write_text("x")
    assert main(["compare", str(tmp_path / "a.nc"), str(tmp_path / "junk.nc")]) == 2
    assert "not a readable netCDF" in capsys.readouterr().err
