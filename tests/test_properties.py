"""Property-based tests (hypothesis) of the metrics and the results store.

Random result sets and sweep point sets round-trip exactly through the netCDF store; an orthogonal map has zero
isometry error and a scaling by c has error ||c| - 1|; Betti numbers are invariant to rotation, translation,
uniform scaling and the order of the points; the classification scores are invariant to a joint permutation of the
samples; the OOD AUROC is sklearn's, depends only on the order of the scores, and is the area under
`ood_roc_tpr`'s curve.
"""

import math
import struct

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import pdist
from sklearn.metrics import roc_auc_score

from kae_zoo.metrics import get_metric, list_metrics
from kae_zoo.metrics.classification import accuracy, agreement, macro_accuracy
from kae_zoo.metrics.geometry import isometry_error
from kae_zoo.metrics.ood import ood_auroc, ood_fpr95, ood_roc_tpr
from kae_zoo.metrics.topology import betti_numbers, class_betti_numbers
from kae_zoo.store.results import (
    CellResult,
    cells_from_dataset,
    points_from_sweep,
    read_results,
    read_sweep,
    write_results,
    write_sweep,
)


def random_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal matrix (rotations and reflections): QR of a Gaussian, signs fixed by diag(R)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


seeds = st.integers(0, 2**32 - 1)

# --- the results store: random result sets round-trip exactly ----------------------------------------------------

FAMILIES = ("koopman", "sae", "attractor")
TASKS = ("yinyang", "digits", "mnist")
SEEDS = (0, 1, 2, 42, 2**31 - 1)
SCALAR_METRICS = tuple(name for name in list_metrics() if not get_metric(name).dims)
# Curve metrics with their coordinate alphabets. No two of them share a dim except betti and betti_time, which
# the evaluator writes together on the same steps (betti first). Two curves sharing a dim on different coordinates
# are padded to the union by to_dataset; that case has its own regression test in test_results.py.
CURVES = {
    "betti": {"step": [0, 1, 2, 3, 4], "homology_dim": [0, 1]},
    "ood_auroc": {"ood_method": ["knn", "mahalanobis", "reconstruction"], "ood_set": ["noise", "fashion", "ünï"]},
    "eigenvalue_real": {"eigen": [0, 1, 2, 3]},
    "resolution_error": {"resolution": [0.5, 1.0, 2.0]},
}
# Every float64 but NaN: +-0.0, subnormals, the largest magnitudes and +-inf all round-trip bit for bit.
values = st.floats(allow_nan=False, width=64)
# netCDF (HDF5 variable-length UTF-8) strings take any text but lone surrogates and NUL, which the store writes as
# backslash escapes (results.storable, tested in test_results.py): every other character round-trips exactly.
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6)


@st.composite
def curves(draw):
    """A cell's curves: a random subset of CURVES, each on a random non-empty subset (in random order) of each
    dim's coordinates, with values from `values`; betti_time, when present, on the betti curve's steps."""
    chosen = {}
    for name, alphabets in CURVES.items():
        if not draw(st.booleans()):
            continue
        coords = {dim: draw(st.lists(st.sampled_from(alphabet), min_size=1, unique=True))
                  for dim, alphabet in alphabets.items()}
        shape = tuple(len(coords[dim]) for dim in alphabets)
        chosen[name] = (tuple(alphabets), coords, draw(hnp.arrays(np.float64, shape, elements=values)))
        if name == "betti" and draw(st.booleans()):
            steps = coords["step"]
            chosen["betti_time"] = (("step",), {"step": steps},
                                    draw(hnp.arrays(np.float64, len(steps), elements=values)))
    return chosen


@st.composite
def cell_results(draw):
    family, task, seed = draw(st.sampled_from(FAMILIES)), draw(st.sampled_from(TASKS)), draw(st.sampled_from(SEEDS))
    failed = draw(st.booleans())
    names = draw(st.lists(st.sampled_from(SCALAR_METRICS), unique=True, max_size=5))
    scalars = {name: draw(values | st.just(math.nan)) for name in names}
    config = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    return CellResult(family, task, seed, status="failed" if failed else "ok", error=draw(texts) if failed else "",
                      scalars=scalars, curves=draw(curves()), split_description=draw(texts), family_config=config)


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def same_float(read: float, written: float) -> bool:
    """Bitwise equality of two floats (so -0.0 differs from 0.0), any NaN matching any NaN."""
    return (math.isnan(read) and math.isnan(written)) or bits(read) == bits(written)


def curve_table(curve) -> dict:
    """A curve as {coordinate tuple: value bits}: independent of the order of its coordinates."""
    dims, coords, array = curve
    grid = np.meshgrid(*[np.asarray(coords[dim], dtype=object) for dim in dims], indexing="ij")
    return {tuple(point[index] for point in grid): bits(float(array[index])) for index in np.ndindex(array.shape)}


@settings(max_examples=30, deadline=None)
@given(written=st.lists(cell_results(), min_size=1, max_size=6, unique_by=lambda cell: (cell.family, cell.task,
                                                                                         cell.seed)))
def test_round_trip_of_random_result_sets(tmp_path_factory, written):
    """write_results -> read_results -> cells_from_dataset gives back the cells written, bit for bit.

    What legitimately does not come back as written: the order (cells come back family x task in order of first
    appearance, seeds ascending; a curve's coordinates come back in the file's order, so curves are compared as
    {coordinates: value}); and a scalar a cell lacks comes back as NaN when another cell has it (the file is a
    dense family x task x seed grid), indistinguishable from a written NaN. Curves here hold no NaN: a
    coordinate whose values are all NaN is dropped on reading, as padding is. Family configs go through JSON.
    """
    path = tmp_path_factory.mktemp("properties") / "r.nc"
    write_results(path, written, {"preset": "property"}, "cpu")
    read = cells_from_dataset(read_results(path))

    families = list(dict.fromkeys(cell.family for cell in written))
    tasks = list(dict.fromkeys(cell.task for cell in written))
    expected = sorted(written, key=lambda cell: (families.index(cell.family), tasks.index(cell.task), cell.seed))
    assert [(cell.family, cell.task, cell.seed) for cell in read] == \
        [(cell.family, cell.task, cell.seed) for cell in expected]
    scalar_names = {name for cell in written for name in cell.scalars}
    for got, cell in zip(read, expected):
        assert (got.status, got.error, got.split_description) == (cell.status, cell.error, cell.split_description)
        assert got.family_config == cell.family_config
        assert set(got.scalars) == scalar_names
        for name in scalar_names:
            assert same_float(got.scalars[name], cell.scalars.get(name, math.nan)), name
        assert set(got.curves) == set(cell.curves)
        for name, curve in cell.curves.items():
            assert got.curves[name][0] == curve[0]
            assert curve_table(got.curves[name]) == curve_table(curve), name


SWEEP_AXES = {"latent_dim": [2, 4, 8, 16], "encoder": ["ista", "relu", "tökk"], "lr": [1e-3, 0.1, 2.5]}


@st.composite
def sweep_point_sets(draw):
    """One family on one task; 1-3 axes (int, str, float values), a random subset of the axes x seeds grid, each
    point a cell with random scalars, strings and config."""
    axes = {name: draw(st.lists(st.sampled_from(alphabet), min_size=1, unique=True))
            for name, alphabet in SWEEP_AXES.items() if draw(st.booleans())}
    assume(axes)
    grid = [dict(zip(axes, combination)) for combination in np.ndindex(*(len(values) for values in axes.values()))]
    chosen = draw(st.lists(st.tuples(st.sampled_from(grid), st.sampled_from(SEEDS)), min_size=1, max_size=6,
                           unique_by=lambda pair: (tuple(pair[0].items()), pair[1])))
    points = []
    for indices, seed in chosen:
        cell = draw(cell_results())
        cell = CellResult("sae", "sparse_vec", seed, status=cell.status, error=cell.error, scalars=cell.scalars,
                          split_description=cell.split_description, family_config=cell.family_config)
        points.append(({name: axes[name][index] for name, index in indices.items()}, cell))
    return axes, points


@settings(max_examples=30, deadline=None)
@given(drawn=sweep_point_sets())
def test_round_trip_of_random_sweep_point_sets(tmp_path_factory, drawn):
    """write_sweep -> read_sweep -> points_from_sweep gives back the points written (what a resumed sweep keeps),
    bit for bit, in the grid's order; a scalar a point lacks comes back as NaN when another point has it."""
    axes, written = drawn
    path = tmp_path_factory.mktemp("properties") / "s.nc"
    write_sweep(path, written, axes, {"preset": "property"}, "cpu")
    read = points_from_sweep(read_sweep(path))

    def order(point):
        values, cell = point
        return (*[axes[name].index(values[name]) for name in axes], SEEDS.index(cell.seed))

    expected = sorted(written, key=order)
    assert [(values, cell.seed) for values, cell in read] == [(values, cell.seed) for values, cell in expected]
    assert all(type(got) is type(value) for (values, _), (wanted, _) in zip(read, expected)
               for got, value in zip(values.values(), wanted.values()))  # 2 stays int, 0.1 float, "relu" str
    scalar_names = {name for _, cell in written for name in cell.scalars}
    for (_, got), (_, cell) in zip(read, expected):
        assert (got.status, got.error, got.split_description) == (cell.status, cell.error, cell.split_description)
        assert got.family_config == cell.family_config
        assert set(got.scalars) == scalar_names
        for name in scalar_names:
            assert same_float(got.scalars[name], cell.scalars.get(name, math.nan)), name


# --- isometry error -----------------------------------------------------------------------------------------------

coordinates = st.floats(-100, 100, allow_nan=False)


@st.composite
def point_sets(draw):
    """n in 2..40 points in 1..8 dims, coordinates in [-100, 100] (repeats, zeros and tiny values included)."""
    n, dim = draw(st.integers(2, 40)), draw(st.integers(1, 8))
    return draw(hnp.arrays(np.float64, (n, dim), elements=coordinates))


def well_conditioned(points: np.ndarray, shift: np.ndarray) -> bool:
    """Whether the cloud's diameter is at least 1e-3 of its coordinates and of the shift: then the rounding of
    x @ Q + b (~1e-16 of max(|x|, |b|) per distance) stays far below 1e-9 of the distances. The diameter must also
    exceed 1e-100, so that squared distances stay normal floats (points 2.2e-158 apart have a subnormal square,
    4.9e-316, with a few significant bits: the error came out 1 + 5e-9 for c = 2, found by hypothesis)."""
    magnitude = max(np.abs(points).max(), np.abs(shift).max())
    diameter = pdist(points).max()
    return bool(diameter > 1e-3 * magnitude and diameter > 1e-100)


@settings(max_examples=60, deadline=None)
@given(points=point_sets(), seed=seeds, extra=st.integers(0, 3), data=st.data())
def test_isometries_have_zero_isometry_error(points, seed, extra, data):
    """x -> x @ Q + b keeps every pairwise distance (Q orthogonal, or any isometric embedding into more dims,
    zero padding included), so the distortion is 0 up to rounding."""
    dim = points.shape[1]
    shift = data.draw(hnp.arrays(np.float64, dim + extra, elements=coordinates))
    assume(well_conditioned(points, shift))
    rng = np.random.default_rng(seed)
    embedding = random_orthogonal(dim + extra, rng)[:dim]  # orthonormal rows: |x Q| = |x|
    assert isometry_error(points, points @ embedding + shift) == pytest.approx(0.0, abs=1e-9)
    rotated = points @ random_orthogonal(dim, rng) + shift[:dim]
    padded = np.concatenate([rotated, np.zeros((len(points), extra))], axis=1)
    assert isometry_error(points, padded) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(points=point_sets(), seed=seeds, scale=st.floats(-1e3, 1e3, allow_nan=False), data=st.data())
def test_scaled_latents_have_isometry_error_abs_c_minus_1(points, seed, scale, data):
    """Latents c x Q + b have pairwise distances |c| d_ab, so the error is
    sqrt(sum (|c| d_ab - d_ab)^2 / sum d_ab^2) = sqrt((|c| - 1)^2) = ||c| - 1| (= |c - 1| for c > 0; c = -1 is a
    point reflection, an isometry, and c = 0 the collapse, error 1)."""
    shift = data.draw(hnp.arrays(np.float64, points.shape[1], elements=coordinates))
    assume(well_conditioned(points, shift))
    latents = scale * points @ random_orthogonal(points.shape[1], np.random.default_rng(seed)) + shift
    expected = abs(abs(scale) - 1)
    assert isometry_error(points, latents) == pytest.approx(expected, rel=1e-9, abs=1e-9 * max(1.0, abs(scale)))


# --- Betti numbers --------------------------------------------------------------------------------------------------


def point_cloud(shape: str, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blobs, a noisy circle or two noisy circles in the first two coordinates (small noise in the rest),
    randomly rotated: continuous distributions, so exact ties between distances have probability zero."""
    if shape == "blobs":
        centers = rng.normal(0.0, 6.0, (rng.integers(1, 4), dim))
        return centers[rng.integers(0, len(centers), n)] + rng.standard_normal((n, dim))
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = 1 + 0.05 * rng.standard_normal(n)
    points = 0.05 * rng.standard_normal((n, dim))
    points[:, 0] += radius * np.cos(angle)
    points[:, 1] += radius * np.sin(angle)
    if shape == "two circles":
        points[: n // 2, 0] += 4.0
    return points @ random_orthogonal(dim, rng)


@st.composite
def clouds(draw):
    shape = draw(st.sampled_from(["blobs", "circle", "two circles"]))
    n, dim = draw(st.integers(30, 200)), draw(st.integers(2, 5))
    return point_cloud(shape, n, dim, np.random.default_rng(draw(seeds)))


@settings(max_examples=60, deadline=None)
@given(points=clouds(), seed=seeds, exponent=st.integers(-20, 20), shift_scale=st.sampled_from([0.0, 1.0, 100.0]))
def test_betti_numbers_are_invariant_to_similarities_and_point_order(points, seed, exponent, shift_scale):
    """The counting rule uses only ratios of distances (module docstring) and homology does not depend on the order
    of the points, so betti_numbers(x) = betti_numbers(2^e x Q + b) = betti_numbers(x[permutation]). Scaling by a
    power of two is exact in floating point; Q and b move distances by ~1e-15, which changes the count only if a
    normalised distance lies within ~1e-15 of delta: probability ~1e-11 for these continuous clouds."""
    rng = np.random.default_rng(seed)
    dim = points.shape[1]
    shift = rng.normal(0.0, shift_scale, dim)
    counts = betti_numbers(points)
    assert betti_numbers(np.ldexp(points, exponent)).tolist() == counts.tolist()
    assert betti_numbers(points @ random_orthogonal(dim, rng) + shift).tolist() == counts.tolist()
    assert betti_numbers(np.ldexp(points, exponent) @ random_orthogonal(dim, rng) + shift).tolist() == counts.tolist()
    assert betti_numbers(points[rng.permutation(len(points))]).tolist() == counts.tolist()


@settings(max_examples=30, deadline=None)
@given(points=clouds(), seed=seeds, exponent=st.integers(-20, 20), n_classes=st.integers(1, 3))
def test_class_betti_numbers_are_invariant_to_similarities_and_relabelling(points, seed, exponent, n_classes):
    """Each class's cloud is moved by the same similarity, so each class's count and their sum are unchanged; the
    sum does not depend on the order of the samples or on what the classes are called either."""
    rng = np.random.default_rng(seed)
    dim = points.shape[1]
    labels = rng.integers(0, n_classes, len(points))
    counts = class_betti_numbers(points, labels)
    moved = np.ldexp(points, exponent) @ random_orthogonal(dim, rng) + rng.normal(0.0, 10.0, dim)
    assert class_betti_numbers(moved, labels).tolist() == counts.tolist()
    permutation = rng.permutation(len(points))
    names = np.array(["yin", "yang", "dot"])[rng.permutation(3)]  # a bijection of the class ids onto strings
    assert class_betti_numbers(points[permutation], names[labels[permutation]]).tolist() == counts.tolist()


# --- classification scores ------------------------------------------------------------------------------------------


@st.composite
def predictions(draw):
    """(predicted, labels, n_classes): 1..60 samples of 1..5 classes; predictions may name a class no label has."""
    n, n_classes = draw(st.integers(1, 60)), draw(st.integers(1, 5))
    labels = draw(hnp.arrays(np.int64, n, elements=st.integers(0, n_classes - 1)))
    predicted = draw(hnp.arrays(np.int64, n, elements=st.integers(0, n_classes)))
    return predicted, labels, n_classes


@settings(max_examples=100, deadline=None)
@given(pair=predictions(), seed=seeds)
def test_classification_scores_are_invariant_to_permuting_the_samples(pair, seed):
    """The scores are (means of) counts over samples, so applying one permutation to predicted and labels leaves
    them unchanged, bit for bit (sums of 0/1 are exact in any order; macro_accuracy's classes come sorted)."""
    predicted, labels, _ = pair
    permutation = np.random.default_rng(seed).permutation(len(labels))
    for score in (accuracy, macro_accuracy, agreement):
        assert score(predicted[permutation], labels[permutation]) == score(predicted, labels), score.__name__
        assert 0.0 <= score(predicted, labels) <= 1.0


@settings(max_examples=100, deadline=None)
@given(pair=predictions(), seed=seeds)
def test_classification_scores_of_perfect_and_renamed_predictions(pair, seed):
    """A perfect prediction scores 1; renaming the classes by a bijection (applied to both arrays) changes nothing
    (macro_accuracy up to rounding: its per-class means are summed in the new sorted order of the names)."""
    predicted, labels, n_classes = pair
    for score in (accuracy, macro_accuracy, agreement):
        assert score(labels, labels) == 1.0, score.__name__
    names = np.random.default_rng(seed).permutation(n_classes + 1) * 7 - 3
    assert accuracy(names[predicted], names[labels]) == accuracy(predicted, labels)
    assert agreement(names[predicted], names[labels]) == agreement(predicted, labels)
    assert macro_accuracy(names[predicted], names[labels]) == pytest.approx(macro_accuracy(predicted, labels),
                                                                            rel=1e-12)


# --- OOD detection ---------------------------------------------------------------------------------------------------

# Small integers (many ties) or general floats; scores are integer-valued where sklearn must take them.
tied_scores = st.lists(st.integers(-5, 5).map(float), min_size=1, max_size=40)
scores = st.lists(st.integers(-5, 5).map(float) | st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40)


@settings(max_examples=100, deadline=None)
@given(id_scores=tied_scores, ood_scores=tied_scores)
def test_auroc_is_sklearns_on_tied_scores(id_scores, ood_scores):
    """ood_auroc's Mann-Whitney formula (ties one half) is the ROC area sklearn computes with ID = 0, OOD = 1;
    swapping the two sets is 1 - AUROC."""
    labels = np.r_[np.zeros(len(id_scores)), np.ones(len(ood_scores))]
    auroc = ood_auroc(id_scores, ood_scores)
    assert auroc == pytest.approx(roc_auc_score(labels, id_scores + ood_scores), abs=1e-12)
    assert ood_auroc(ood_scores, id_scores) == pytest.approx(1 - auroc, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(id_scores=scores, ood_scores=scores)
def test_ood_metrics_depend_only_on_the_order_of_the_scores(id_scores, ood_scores):
    """AUROC, FPR95 and the ROC curve are functions of the pooled ranks (ties included), so a strictly increasing
    transform of all scores leaves them unchanged, bit for bit. f(s) = s^3 + 2s - 7 is strictly increasing; that its
    floating-point rounding kept the order (and the ties) of these scores is checked, not assumed."""
    pooled = np.r_[id_scores, ood_scores]
    transformed = pooled**3 + 2 * pooled - 7
    order = np.argsort(pooled, kind="stable")
    steps, new_steps = np.diff(pooled[order]), np.diff(transformed[order])
    assume(np.array_equal(steps > 0, new_steps > 0) and (new_steps >= 0).all())  # f kept the order on these scores
    new_id, new_ood = transformed[: len(id_scores)], transformed[len(id_scores):]
    assert ood_auroc(new_id, new_ood) == ood_auroc(id_scores, ood_scores)
    assert ood_fpr95(new_id, new_ood) == ood_fpr95(id_scores, ood_scores)
    assert np.array_equal(ood_roc_tpr(new_id, new_ood), ood_roc_tpr(id_scores, ood_scores))


@settings(max_examples=100, deadline=None)
@given(id_scores=tied_scores, ood_scores=tied_scores)
def test_roc_curve_area_is_the_auroc(id_scores, ood_scores):
    """The ROC curve is linear between the FPRs i / n_id (vertices only sit there; it jumps at vertical segments),
    so the midpoint rule on those intervals is its exact area, which is the AUROC. On a fine grid the trapezoid rule
    is within one grid step h of it: the curve is non-decreasing, so on each interval both the area and the
    trapezoid lie between h tpr(left) and h tpr(right), and these gaps add up to at most h (tpr(1) - tpr(0))."""
    auroc = ood_auroc(id_scores, ood_scores)
    n_id = len(id_scores)
    midpoints = (np.arange(n_id) + 0.5) / n_id
    assert np.mean(ood_roc_tpr(id_scores, ood_scores, midpoints)) == pytest.approx(auroc, abs=1e-12)
    grid = np.linspace(0.0, 1.0, 4001)
    tpr = ood_roc_tpr(id_scores, ood_scores, grid)
    assert (np.diff(tpr) >= -1e-12).all() and tpr[-1] == 1.0  # a ROC curve rises to (1, 1)
    assert np.sum((tpr[1:] + tpr[:-1]) / 2 * np.diff(grid)) == pytest.approx(auroc, abs=1 / 4000 + 1e-12)
