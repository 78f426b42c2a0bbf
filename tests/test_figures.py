"""What each figure must show honestly: axis labels per trajectory kind with tick labels, accuracy points on a
labelled non-zero axis, ROC labels apart, the OOD legend clear of the bars, one colour per seed, sweep scores that
stay visible when equal."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Rectangle

from kae_zoo.reporting import plots
from kae_zoo.store.results import CellResult, sweep_to_dataset, to_dataset


@pytest.fixture
def figures(monkeypatch):
    """Every Figure the plot functions save, by file name (written as usual)."""
    saved = {}
    real_save = plots._save

    def keep(figure, out_dir, name):
        saved[name] = figure
        return real_save(figure, out_dir, name)

    monkeypatch.setattr(plots, "_save", keep)
    return saved


def drawn(figure):
    FigureCanvasAgg(figure).draw()
    return figure.canvas.get_renderer()


def betti_cells():
    steps = {"step": [0, 1, 2], "homology_dim": [0, 1]}
    betti = (("step", "homology_dim"), steps, np.array([[3.0, 1], [2, 0], [1, 0]]))
    layers = (("layer", "homology_dim"), {"layer": ["input", "hidden", "output"], "homology_dim": [0, 1]},
              np.array([[3.0, 1], [3, 0], [1, 0]]))
    cells = []
    for family, times in (("koopman", [0.0, 0.5, 1.0]), ("attractor", [0.0, 2.0, 4.0])):
        curves = {"betti": betti, "betti_time": (("step",), {"step": [0, 1, 2]}, np.array(times)),
                  "base_betti": layers}
        cells.append(CellResult(family, "yinyang", 0, scalars={"accuracy": 0.98, "base_accuracy": 0.99},
                                curves=curves))
    return to_dataset(cells, {}, "cpu")


def test_betti_axes_say_what_they_are_with_tick_labels(tmp_path, figures):
    plots.plot_betti_curves(betti_cells(), tmp_path)
    figure = figures["betti_yinyang.png"]
    drawn(figure)
    time_row, iteration_row = figure.axes[0], figure.axes[2]
    assert time_row.get_xlabel() == "trajectory time t"
    assert iteration_row.get_xlabel() == "iteration of the latent map f (steps)"
    assert [label.get_text() for label in time_row.get_xticklabels()] == ["0", "0.5", "1"]
    assert [label.get_text() for label in iteration_row.get_xticklabels()] == ["0", "2", "4"]
    top = [child for axis in figure.axes for child in axis.child_axes
           if child.get_xlabel().startswith("base network layer")]
    assert top and [label.get_text() for label in top[0].get_xticklabels()] == ["input", "hidden", "output"]


def test_accuracy_is_points_on_an_axis_that_says_where_it_starts(tmp_path, figures):
    plots.plot_accuracy(betti_cells(), tmp_path)
    axis = figures["accuracy.png"].axes[0]
    assert not [patch for patch in axis.patches if isinstance(patch, Rectangle)]  # no bars
    low = axis.get_ylim()[0]
    assert 0 < low < 0.98 and f"axis starts at {low:.3f}, not 0" in axis.get_ylabel()
    assert [text.get_text() for text in axis.get_xticklabels()] == ["yinyang"]  # tasks without accuracy left out


def ood_cells(n_sets=3):
    methods, sets = ["trajectory", "knn", "mahalanobis", "reconstruction"], ["mnist", "noise", "corrupted"][:n_sets]
    coords = {"ood_method": methods, "ood_set": sets}
    auroc = np.full((4, n_sets), 0.99)
    tpr = np.tile(np.linspace(0, 1, 5), (4, n_sets, 1))
    curves = {"ood_auroc": (("ood_method", "ood_set"), coords, auroc),
              "ood_roc_tpr": (("ood_method", "ood_set", "fpr"), {**coords, "fpr": list(np.linspace(0, 1, 5))}, tpr)}
    return to_dataset([CellResult("attractor", "digits", 0, curves=curves)], {}, "cpu")


def test_ood_legend_does_not_cover_the_bars(tmp_path, figures):
    plots.plot_ood(ood_cells(), tmp_path)  # bars of 0.99 reach the top, where the legend used to sit
    figure = figures["ood_attractor_digits.png"]
    renderer = drawn(figure)
    axis = figure.axes[0]
    legend = axis.get_legend().get_window_extent(renderer)
    bars = [patch.get_window_extent(renderer) for patch in axis.patches if isinstance(patch, Rectangle)]
    assert len(bars) == 12 and not any(legend.overlaps(bar) for bar in bars)


def test_roc_panel_labels_do_not_run_into_each_other(tmp_path, figures):
    plots.plot_ood_roc(ood_cells(), tmp_path)
    figure = figures["ood_roc_attractor_digits.png"]
    renderer = drawn(figure)
    boxes = [[text.get_window_extent(renderer) for text in [*axis.get_xticklabels(), axis.xaxis.label]
              if text.get_text()] for axis in figure.axes]
    for left, right in zip(boxes, boxes[1:]):
        assert not any(a.overlaps(b) for a in left for b in right)
    assert "digits test split" in figure.get_supxlabel()


def test_spectrum_seeds_have_their_own_colours(tmp_path, figures):
    cells = [CellResult("koopman", "digits", seed, curves={
        "eigenvalue_real": (("eigen",), {"eigen": [0, 1]}, np.array([0.5, 0.9]) + seed / 10),
        "eigenvalue_imag": (("eigen",), {"eigen": [0, 1]}, np.array([0.1, -0.1]))}) for seed in range(3)]
    plots.plot_spectrum(to_dataset(cells, {}, "cpu"), tmp_path)
    colours = {tuple(np.round(collection.get_facecolor()[0], 3)) for collection in
               figures["spectrum_digits.png"].axes[0].collections}
    assert len(colours) == 3


def test_equal_sweep_scores_stay_visible(tmp_path, figures):
    points = [({"latent_dim": size}, CellResult("attractor", "digits", 0, scalars={
        "memorization": 0.9, "noise_memorization": 0.9, "memorization_reference": 0.95})) for size in (2, 4)]
    dataset = sweep_to_dataset(points, {"latent_dim": [2, 4]}, {}, "cpu")
    plots.plot_sweep(dataset, tmp_path, [("memorization", "noise_memorization", "memorization_reference")], "s.png")
    lines = {line.get_label(): line for line in figures["s.png"].axes[0].get_lines()}
    under, over = lines["memorization"], lines["noise_memorization"]
    assert under.get_marker() != over.get_marker() and under.get_linestyle() != over.get_linestyle()
    # the one drawn first (underneath) is larger and wider, so the later one on top cannot hide it
    assert under.get_markersize() > over.get_markersize() and under.get_linewidth() > over.get_linewidth()
    assert over.get_markerfacecolor() == "none"
