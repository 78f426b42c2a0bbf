"""The numbers `kae-zoo show`, compare, the report and the site print: one format, against hand-written strings."""

import numpy as np
import pytest

from kae_zoo.reporting.summary import fit_grid, format_mean_std, format_number, format_stat


@pytest.mark.parametrize("value, significant, text", [
    (0.98674, 4, "0.9867"), (0.5, 4, "0.5000"),  # trailing zeros kept: the same digits in every cell
    (180.63, 4, "180.6"), (4400.0, 4, "4400"), (12345.6, 4, "12350"),
    (0.012293, 4, "0.01229"), (9.99996, 4, "10.00"),  # rounding up to the next decade keeps 4 significant digits
    (4.082e6, 4, "4.082e+06"), (99999.9, 4, "1.000e+05"), (0.00047, 4, "4.700e-04"),  # outside [1e-3, 1e5)
    (175.3, 2, "180"), (0.0047258, 2, "0.0047"), (-0.9, 4, "-0.9000"), (0.0, 4, "0"), (np.nan, 4, "-"),
])
def test_format_number(value, significant, text):
    assert format_number(value, significant) == text


def test_format_stat_writes_the_std_in_the_mean_s_notation():
    assert format_stat(528.9, 175.3) == "528.9 ± 180"  # not "528.9 ± 1.8e+02"
    assert format_stat(0.9997, 4.7e-5) == "0.9997 ± 0.000047"
    assert format_stat(4.082e6, 8.7e5) == "4.082e+06 ± 8.7e+05"
    assert format_stat(229376.0, 0.0) == "2.294e+05 ± 0"
    assert format_stat(1.2, np.nan) == "1.200" and format_stat(np.nan, np.nan) == "-"
    # 0.983, 0.985, 0.992: mean 0.986667, sample std 0.0047258 (ddof 1); one value: no std; none: "-"
    assert format_mean_std(np.array([0.983, 0.985, 0.992])) == "0.9867 ± 0.0047"
    assert format_mean_std(np.array([0.5, np.nan])) == "0.5000" and format_mean_std(np.array([np.nan])) == "-"


def test_fit_grid_splits_columns_and_repeats_the_first():
    rows = [["name", "a" * 30, "b" * 30, "c" * 30], ["x", "1", "2", "3"]]
    lines = fit_grid(rows, 70)
    # name (4) + 2 + 30 + 2 + 30 = 68 <= 70; the third column goes to a second grid with the name again
    assert lines == ["name  " + "a" * 30 + "  " + "b" * 30, "x     1" + " " * 31 + "2", "",
                     "name  " + "c" * 30, "x     3"]
    assert max(len(line) for line in lines) <= 70


def test_baselines_follow_their_paper_family_task_by_task(tmp_path):
    from kae_zoo.reporting.summary import family_groups, format_baselines, pair_cells, select_results
    from kae_zoo.store.results import CellResult, cells_from_dataset, read_results, write_results

    links = {"sae_topk": "sae", "koopman": "", "dmd": "koopman", "sae": ""}  # file order: a baseline first
    cells = [CellResult(family, task, 0, scalars={"state_error": 0.1}, baseline_for=links[family])
             for family in links for task in ("t1", "t2")]
    path = tmp_path / "run.nc"
    write_results(path, cells, {"preset": "smoke"}, "cpu")
    dataset = read_results(path)
    assert [str(value) for value in dataset["baseline_for"].values] == ["sae", "", "koopman", ""]
    assert {cell.family: cell.baseline_for for cell in cells_from_dataset(dataset)} == links  # round trip
    # groups in the order their first member appears, the paper family first
    assert family_groups(dataset) == [["sae", "sae_topk"], ["koopman", "dmd"]]
    assert [(family, task) for family, task, _ in pair_cells(dataset)] == [
        ("sae", "t1"), ("sae_topk", "t1"), ("sae", "t2"), ("sae_topk", "t2"),
        ("koopman", "t1"), ("dmd", "t1"), ("koopman", "t2"), ("dmd", "t2")]
    assert [str(name) for name in select_results(dataset).family.values] == ["sae", "sae_topk", "koopman", "dmd"]
    assert format_baselines(dataset) == ("baselines, each row after its paper family's: sae_topk for sae; "
                                         "dmd for koopman")
    # without its paper family the baseline is named with it still (the newcomer's w1.nc said "pca for sae_topk")
    alone = select_results(dataset, families=["sae_topk", "dmd", "koopman"])
    assert format_baselines(alone) == ("baselines, each row after its paper family's: sae_topk for sae (not in this "
                                       "file); dmd for koopman")
    # a file from before the coordinate: every family its own group, file order
    legacy = dataset.drop_vars("baseline_for")
    assert family_groups(legacy) == [["sae_topk"], ["koopman"], ["dmd"], ["sae"]] and format_baselines(legacy) == ""
