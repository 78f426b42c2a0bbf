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
