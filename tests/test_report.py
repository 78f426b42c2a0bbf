"""Figures and the Markdown report: written for the variables a file has, skipped for those it lacks."""

import numpy as np
import pytest

from kae_zoo.cli import main
from kae_zoo.reporting.plots import (
    plot_accuracy,
    plot_betti_curves,
    plot_loss_curves,
    plot_ood,
    plot_ood_roc,
    plot_recovery,
    plot_resolution,
    plot_spectrum,
    plot_sweep,
    plot_sweep_figures,
)
from kae_zoo.reporting.summary import format_betti_curves, format_results
from kae_zoo.store.results import CellResult, read_results, read_sweep, write_results, write_sweep

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
    assert [path.name for path in betti] == ["betti_yinyang.png"]
    assert [path.name for path in accuracy] == ["accuracy.png"]
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


def test_loss_curve_figure_and_the_spike_in_show(tmp_path):
    epochs = {"epoch": [10, 20, 30]}
    cells = []
    for seed, val, spike in ((0, [1.0, 0.1, 50.0], 1.0), (1, [1.0, 0.5, 0.2], 0.0)):
        scalars = {"scored_epoch": 20.0 if seed == 0 else 30.0, "epochs_run": 30.0,
                   "loss_spike_ratio": val[2] / 0.1 if seed == 0 else 1.0, "loss_spike": spike}
        curves = {"val_loss": (("epoch",), epochs, np.array(val)),
                  "train_loss": (("epoch",), epochs, np.array(val) * 1.1)}
        cells.append(CellResult("koopman", "yinyang", seed, scalars=scalars, curves=curves))
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    dataset = read_results(tmp_path / "r.nc")
    [path] = plot_loss_curves(dataset, tmp_path)
    assert path.name == "loss_koopman_yinyang.png" and path.read_bytes()[:8] == PNG_MAGIC
    assert plot_loss_curves(write(tmp_path / "k.nc"), tmp_path / "none") == []
    text = format_results(dataset)
    assert "koopman/yinyang: 20/30, 30/30; LOSS SPIKE after the scored epoch on seed 0 (validation loss up to " \
           "500x its best)" in text
    assert "scored_epoch" not in text.split("training (")[0]  # the record is not a table column


def test_figure_names_of_a_file_task_are_safe(tmp_path):
    # a file: task's name holds a path; its figures must land in the folder itself, with names a link can use
    cells = [CellResult("koopman", "file:/data/my set.npz", 0, curves={"betti": BETTI, "base_betti": BASE})]
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    [path] = plot_betti_curves(read_results(tmp_path / "r.nc"), tmp_path / "figures")
    assert path == tmp_path / "figures" / "betti_file__data_my_set.npz.png" and path.is_file()


def test_spectrum_figure(tmp_path):
    eigen = {"eigen": [0, 1, 2]}
    cells = [CellResult("koopman", "digits", seed, scalars={"spectral_radius": 1.0},
                        curves={"eigenvalue_real": (("eigen",), eigen, np.array([1.0, 0.0, 0.0])),
                                "eigenvalue_imag": (("eigen",), eigen, np.array([0.0, 0.5, -0.5]))})
             for seed in (0, 1)]
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    [path] = plot_spectrum(read_results(tmp_path / "r.nc"), tmp_path)
    assert path.name == "spectrum_digits.png" and path.read_bytes()[:8] == PNG_MAGIC
    assert plot_spectrum(write(tmp_path / "k.nc"), tmp_path / "none") == []


def test_resolution_figure(tmp_path):
    grids = {"resolution": [64, 128, 256, 512]}
    cells = [CellResult(family, "sparse_fn", seed, scalars={"resolution_native": native},
                        curves={"resolution_error": (("resolution",), grids,
                                                     np.array([0.2, 0.1, 0.15, 0.3]) + seed / 100),
                                "resolution_error_direct": (("resolution",), grids, np.array([0.9, 0.1, 0.5, 0.7]))})
             for family, native in (("sae_cnn", 0.0), ("sae_fno", 1.0)) for seed in (0, 1)]
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    dataset = read_results(tmp_path / "r.nc")
    [path] = plot_resolution(dataset, tmp_path)
    assert path.name == "resolution_sparse_fn.png" and path.read_bytes()[:8] == PNG_MAGIC
    assert plot_resolution(write(tmp_path / "k.nc"), tmp_path / "none") == []


# --- sweep files ----------------------------------------------------------------------------------------------

# memorization per (latent_dim, n_train_samples 100, 300, 0 = all 1078): decreasing with the training-set size
MEMORIZATION = {4: [0.9, 0.85, 0.8], 16: [0.95, 0.75, 0.7]}
SIZES = {100: 100.0, 300: 300.0, 0: 1078.0}


def write_sweep_file(path, seeds=(0, 1)):
    points = []
    for latent_dim, values in MEMORIZATION.items():
        for (size, used), value in zip(SIZES.items(), values):
            for seed in seeds:
                scalars = {"memorization": value + seed / 1000, "noise_memorization": value - 0.05,
                           "memorization_reference": 0.9 + used / 1e5, "attractor_count": used / 10 + latent_dim,
                           "n_train_used": used, "state_error": 0.1}
                points.append(({"latent_dim": latent_dim, "n_train_samples": size},
                               CellResult("attractor", "digits", seed, scalars=scalars)))
    write_sweep(path, points, {"latent_dim": (4, 16), "n_train_samples": tuple(SIZES)}, {"preset": "smoke"}, "cpu")
    return read_sweep(path)


def test_sweep_table_and_spearman_by_hand(tmp_path):
    text = format_results(write_sweep_file(tmp_path / "s.nc", seeds=(0,)))
    assert "sweep of attractor on digits (preset smoke): latent_dim (2) x n_train_samples (3) x seeds 0" in text
    row = next(line for line in text.splitlines() if line.startswith("16          0 "))
    assert "1/1" in row and "0.7" in row and "1078" in row
    # Over all six points: x = n_train_used ranks 1.5, 3.5, 5.5 twice (centred -2, 0, 2), memorization ranks
    # 5, 4, 3, 6, 2, 1 (centred 1.5, 0.5, -0.5, 2.5, -1.5, -2.5): products -14, squares 16 and 17.5 ->
    # rho = -14 / sqrt(280) = -0.837. Within each latent_dim memorization falls as the size grows: -1.
    assert "memorization vs n_train_used, all points and seeds: rho -0.837" in text
    assert "latent_dim = 4: rho -1.000" in text and "latent_dim = 16: rho -1.000" in text
    # n_train_used changes along n_train_samples, so there is no per-n_train_samples line
    assert "n_train_samples = " not in text


def test_no_rank_correlation_when_the_size_never_changes(tmp_path):
    points = [({"latent_dim": dim}, CellResult("attractor", "digits", seed, scalars={
        "memorization": 0.9 + dim / 100 + seed / 10, "n_train_used": 150.0})) for dim in (4, 16) for seed in (0, 1)]
    dataset = write_sweep(tmp_path / "s.nc", points, {"latent_dim": (4, 16)}, {}, "cpu")
    assert "Spearman" not in format_results(dataset)


def test_sweep_figures(tmp_path):
    dataset = write_sweep_file(tmp_path / "s.nc")
    paths = plot_sweep_figures(dataset, tmp_path / "figures")
    assert [path.name for path in paths] == ["memorization_sweep.png", "sweep_state_error.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC
    # one axis: one column; scores the file lacks are left out, and nothing is drawn when none is left
    one_axis = write_sweep(tmp_path / "one.nc", [({"latent_dim": dim}, CellResult("attractor", "digits", 0,
                                                                                    scalars={"state_error": 0.1}))
                                                 for dim in (4, 8)], {"latent_dim": (4, 8)}, {}, "cpu")
    assert [path.name for path in plot_sweep_figures(one_axis, tmp_path / "one")] == ["sweep_state_error.png"]
    assert plot_sweep(one_axis, tmp_path, [("memorization",)], "none.png") == []
    with pytest.raises(ValueError, match="at most 3 scores"):
        plot_sweep(dataset, tmp_path, [("memorization", "noise_memorization", "state_error", "attractor_count")],
                   "full.png")


def test_report_of_a_sweep_file(tmp_path, capsys):
    write_sweep_file(tmp_path / "s.nc")
    assert main(["report", str(tmp_path / "s.nc"), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert text.startswith("# kae-zoo sweep: s.nc")
    assert "![memorization_sweep](memorization_sweep.png)" in text and "Spearman rank correlation" in text
    assert (tmp_path / "report" / "memorization_sweep.png").read_bytes()[:8] == PNG_MAGIC


def test_ood_figure_per_family_and_task(tmp_path):
    auroc = (("ood_method", "ood_set"), {"ood_method": ["trajectory", "knn"], "ood_set": ["mnist", "noise"]},
             np.array([[0.6, 0.5], [0.99, 0.97]]))
    cells = [CellResult("attractor", "digits", seed, curves={"ood_auroc": auroc}) for seed in (0, 1)]
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    paths = plot_ood(read_results(tmp_path / "r.nc"), tmp_path / "figures")
    assert [path.name for path in paths] == ["ood_attractor_digits.png"] and paths[0].read_bytes()[:8] == PNG_MAGIC
    assert plot_ood(write(tmp_path / "k.nc"), tmp_path / "none") == []  # no OOD scores: no figure


def test_ood_roc_figure_per_family_and_task(tmp_path):
    coords = {"ood_method": ["trajectory", "knn"], "ood_set": ["mnist", "noise"], "fpr": [0.0, 0.5, 1.0]}
    roc = (("ood_method", "ood_set", "fpr"), coords, np.array([[[0, .5, 1], [0, .5, 1]], [[.9, 1, 1], [.8, .9, 1]]]))
    cells = [CellResult("attractor", "digits", seed, curves={"ood_roc_tpr": roc}) for seed in (0, 1)]
    write_results(tmp_path / "r.nc", cells, {}, "cpu")
    paths = plot_ood_roc(read_results(tmp_path / "r.nc"), tmp_path / "figures")
    assert [path.name for path in paths] == ["ood_roc_attractor_digits.png"] and paths[0].read_bytes()[:8] == PNG_MAGIC
    assert plot_ood_roc(write(tmp_path / "k.nc"), tmp_path / "none") == []  # no ROC curves: no figure


def test_betti_lines_only_for_pairs_with_curves(tmp_path):
    cells = [CellResult("koopman", "yinyang", 0, curves={"betti": BETTI, "base_betti": BASE}),
             CellResult("sae", "sparse_vec", 0, scalars={"state_error": 0.1})]  # no classes: no Betti curves
    write_results(tmp_path / "r.nc", cells, {}, device="cpu")
    lines = format_betti_curves(read_results(tmp_path / "r.nc")).splitlines()
    assert len(lines) == 2 and lines[1].startswith("  koopman/yinyang: ")  # header + the one pair with curves
    assert format_betti_curves(read_results(tmp_path / "r.nc").drop_sel(family="koopman")) == ""
