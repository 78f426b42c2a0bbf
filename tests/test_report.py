"""Figures and the Markdown report: written for the variables a file has, skipped for those it lacks."""

import numpy as np

from kae_zoo.cli import main
from kae_zoo.plots import plot_accuracy, plot_betti_curves, plot_recovery, plot_resolution
from kae_zoo.results import CellResult, read_results, write_results

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BETTI = (("step", "homology_dim"), {"step": [0, 1, 2], "homology_dim": [0, 1]},
         np.array([[4.0, 2.0], [4.0, 1.0], [3.0, 0.0]]))
BASE = (("layer", "homology_dim"), {"layer": ["input", "block_1"], "homology_dim": [0, 1]},
        np.array([[4.0, 2.0], [3.0, 0.0]]))


def write(path, with_curves: bool = True):
    cells = [CellResult("koopman", "yinyang", seed,
                        scalars={"accuracy": 0.98 + seed / 100, "base_accuracy": 0.99},
                        curves={"betti": BETTI, "base_betti": BASE} if with_curves else {})
             for seed in (0, 1)]
    write_results(path, cells, {}, device="cpu")
    return read_results(path)


def test_figures_are_pngs(tmp_path):
    dataset = write(tmp_path / "r.nc")
    betti = plot_betti_curves(dataset, tmp_path / "figures")
    accuracy = plot_accuracy(dataset, tmp_path / "figures")
    assert [path.name for path in betti] == ["betti_yinyang.png"] and [path.name for path in accuracy] == ["accuracy.png"]
    for path in betti + accuracy:
        assert path.read_bytes()[:8] == PNG_MAGIC
    assert sorted(path.name for path in (tmp_path / "figures").iterdir()) == ["accuracy.png", "betti_yinyang.png"]


def test_no_curves_no_betti_figure(tmp_path):
    assert plot_betti_curves(write(tmp_path / "r.nc", with_curves=False), tmp_path / "figures") == []


def test_report_command(tmp_path, capsys):
    write(tmp_path / "r.nc")
    assert main(["report", str(tmp_path / "r.nc"), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "![betti_yinyang](betti_yinyang.png)" in text and "![accuracy](accuracy.png)" in text
    assert "koopman" in text and "accuracy" in text


def test_report_refuses_a_file_as_folder(tmp_path, capsys):
    write(tmp_path / "r.nc")
    (tmp_path / "taken").write_text("x")
    assert main(["report", str(tmp_path / "r.nc"), "--out", str(tmp_path / "taken")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_recovery_figure(tmp_path):
    curve = (("train_step",), {"train_step": [0, 50, 100]}, np.array([0.1, 0.6, 0.95]))
    write_results(tmp_path / "r.nc", [CellResult("sae", "sparse_vec", 0, curves={"recovery": curve})], {}, "cpu")
    dataset = read_results(tmp_path / "r.nc")
    [path] = plot_recovery(dataset, tmp_path)
    assert path.name == "recovery_sparse_vec.png" and path.read_bytes()[:8] == PNG_MAGIC
    assert plot_betti_curves(dataset, tmp_path) == [] and plot_accuracy(dataset, tmp_path) == []


def test_resolution_figure(tmp_path):
    cells = [CellResult(family, "sparse_fn", seed, scalars={"resolution_native": native},
                        curves={"resolution_error": (("resolution",), {"resolution": [64, 128, 256, 512]},
                                                     np.array([0.2, 0.1, 0.15, 0.3]) + seed / 100)})
             for family, native in (("sae_cnn", 0.0), ("sae_fno", 1.0)) for seed in (0, 1)]
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    dataset = read_results(tmp_path / "r.nc")
    [path] = plot_resolution(dataset, tmp_path)
    assert path.name == "resolution_sparse_fn.png" and path.read_bytes()[:8] == PNG_MAGIC
    assert plot_resolution(write(tmp_path / "k.nc"), tmp_path / "none") == []
