"""Sparse tasks: the generative models, their splits and seeds, and re-sampling functions on other grids."""

import numpy as np
import pytest
import torch

from kae_zoo.tasks import get_task, list_tasks
from kae_zoo.tasks.sparse_data import KERNELS, grid, select_kernels
from kae_zoo.tasks.sparse_fn import SparseFnConfig, SparseFnTask
from kae_zoo.tasks.sparse_truth import SparseGroundTruth
from kae_zoo.tasks.sparse_vec import SparseVecConfig

CPU = torch.device("cpu")


def load(name, seed=0):
    return get_task(name)().load(seed, "smoke", "autoencode", CPU, progress=False)


@pytest.fixture(scope="module")
def vec():
    return load("sparse_vec")


@pytest.fixture(scope="module")
def fn():
    return load("sparse_fn")


def test_both_tasks_are_registered_autoencode_only():
    assert {"sparse_vec", "sparse_fn"} <= set(list_tasks())
    for name in ("sparse_vec", "sparse_fn"):
        with pytest.raises(ValueError, match="no 'layer_pair' view"):
            get_task(name)().load(0, "smoke", "layer_pair", CPU)
        with pytest.raises(ValueError, match="valid presets: smoke, default, paper"):
            get_task(name)().load(0, "huge", "autoencode", CPU)


def test_sparse_vec_shapes_and_splits(vec):
    assert vec.spec.state_shape == (50,) and vec.spec.n_classes == 0 and vec.view == "autoencode"
    assert {name: tuple(batch["source"].shape) for name, batch in vec.splits.items()} == {
        "train": (2000, 50), "val": (500, 50), "test": (1000, 50)}
    for batch in vec.splits.values():
        assert set(batch) == {"source", "target"} and batch["source"] is batch["target"]
        assert batch["source"].dtype == torch.float32
    assert "train 2000 / val 500 / test 1000" in vec.split_description


def test_sparse_vec_dictionary_and_codes(vec):
    truth = vec.ground_truth
    assert truth.dictionary.shape == (50, 100) and not truth.shift_invariant and truth.atom_smooth is None
    assert np.allclose(np.linalg.norm(truth.dictionary, axis=0), 1.0)
    codes = truth.dense_test_codes()
    assert codes.shape == (1000, 100) and np.all(np.count_nonzero(codes, axis=1) == 5)  # s distinct atoms
    amplitudes = np.abs(codes[codes != 0])
    assert amplitudes.min() >= 1.0 and amplitudes.max() <= 2.0
    assert 0.45 < np.mean(codes[codes != 0] > 0) < 0.55  # random signs
    # the test vectors are D z of these codes (up to float32 rounding)
    assert np.allclose(vec.splits["test"]["source"].numpy(), codes @ truth.dictionary.T, atol=1e-5)


def test_sparse_vec_has_no_grid(vec):
    with pytest.raises(ValueError, match="no grid"):
        vec.ground_truth.sample("test", 64)
    with pytest.raises(ValueError, match="n_points must be None"):
        vec.ground_truth.dense_test_codes(64)


@pytest.mark.parametrize("name", ["sparse_vec", "sparse_fn"])
def test_seeded_determinism_and_disjoint_splits(name):
    first, again, other = load(name, seed=3), load(name, seed=3), load(name, seed=4)
    for split in ("train", "val", "test"):
        assert torch.equal(first.splits[split]["source"], again.splits[split]["source"])
        assert not torch.equal(first.splits[split]["source"], other.splits[split]["source"])
    assert np.array_equal(first.ground_truth.dictionary, again.ground_truth.dictionary)
    if name == "sparse_vec":  # the dictionary is random, so it changes with the seed; the kernels do not
        assert not np.allclose(first.ground_truth.dictionary, other.ground_truth.dictionary)
    rows = {split: {tuple(row) for row in batch["source"].reshape(len(batch["source"]), -1).numpy()}
            for split, batch in first.splits.items()}
    assert not rows["train"] & rows["val"] and not rows["train"] & rows["test"] and not rows["val"] & rows["test"]


def test_sparse_vec_config_is_validated():
    with pytest.raises(ValueError, match="n_active must be <= n_atoms = 100, got 101"):
        SparseVecConfig(n_active=101)
    with pytest.raises(ValueError, match="n_features must be a positive int, got 0"):
        SparseVecConfig(n_features=0)
    task = get_task("sparse_vec")(SparseVecConfig(n_features=8, n_atoms=12, n_active=2))
    data = task.load(1, "smoke", "autoencode", CPU)
    assert data.spec.state_shape == (8,) and np.all(np.count_nonzero(data.ground_truth.dense_test_codes(), 1) == 2)


def test_sparse_fn_shapes_and_truth(fn):
    assert fn.spec.state_shape == (1, 128) and fn.spec.n_classes == 0
    assert tuple(fn.splits["train"]["source"].shape) == (2000, 1, 128)
    assert set(fn.splits["test"]) == {"source", "target"}
    truth = fn.ground_truth
    assert truth.shift_invariant and truth.resolutions == (32, 64, 128, 256, 512)
    assert truth.atom_names == tuple(kernel.name for kernel in KERNELS)
    assert truth.atom_smooth == (True, True, True, False, False, False)
    assert truth.dictionary.shape == (128, 6) and np.allclose(np.linalg.norm(truth.dictionary, axis=0), 1.0)
    centres = np.arange(128) @ truth.dictionary / truth.dictionary.sum(axis=0)
    assert np.all(np.abs(centres - 64) <= 0.5 + 1e-6)  # every atom centred at index n // 2 (half-open boxes: 63.5)
    assert truth.test_atoms.shape == truth.test_shifts.shape == truth.test_amplitudes.shape == (1000, 3)
    amplitudes = np.abs(truth.test_amplitudes)
    assert amplitudes.min() >= 1.0 and amplitudes.max() <= 2.0 and 0.4 < np.mean(truth.test_amplitudes > 0) < 0.6
    assert truth.test_shifts.min() >= 0.0 and truth.test_shifts.max() < 1.0


def test_sparse_fn_samples_the_same_functions_on_every_grid(fn):
    truth = fn.ground_truth
    assert torch.equal(truth.sample("test", 128), fn.splits["test"]["source"])
    samples = {n: truth.sample("test", n) for n in (32, 64, 128, 256, 512)}
    for n in (32, 64, 128, 256):  # grids are nested: u_i = i / n is point 2i of the 2n grid
        assert samples[n].shape == (1000, 1, n)
        assert torch.equal(samples[2 * n][..., ::2], samples[n])
    # a non-power-of-two grid is the same function too: 48 points are every other point of 96
    assert torch.equal(truth.sample("val", 96)[..., ::2], truth.sample("val", 48))


def test_sparse_fn_signal_is_the_sum_of_its_events(fn):
    truth = fn.ground_truth
    # sample 0 by hand: x(u) = sum_k a_k kernel_{j_k}(u - shift_k) on the 32-point grid
    points = np.arange(32) / 32
    expected = sum(amplitude * KERNELS[atom](points - shift) for atom, shift, amplitude
                   in zip(truth.test_atoms[0], truth.test_shifts[0], truth.test_amplitudes[0]))
    assert np.allclose(truth.sample("test", 32)[0, 0].numpy(), expected, atol=1e-5)


def test_kernels_have_unit_l2_norm_and_resolve_at_32_points():
    fine = grid(2**16)
    for kernel in KERNELS:  # int_0^1 k(u)^2 du by the midpoint rule
        assert np.mean(kernel(fine - 0.3) ** 2) == pytest.approx(1.0, rel=1e-3), kernel.name
    shifts = np.random.default_rng(0).random(200)
    coarse = grid(32)[None, :] - shifts[:, None]
    spike, box_narrow, box_wide = (next(k for k in KERNELS if k.name == name)
                                   for name in ("spike", "box_narrow", "box_wide"))
    peak = spike(np.array(0.0))
    # the spike's two nearest samples add up to its peak: it never falls between grid points
    assert np.allclose(np.sort(spike(coarse), axis=1)[:, -2:].sum(axis=1), peak)
    # a box of width w covers exactly w * n points wherever it sits (w * n = 2 and 4 at n = 32)
    assert np.all(np.count_nonzero(box_narrow(coarse), axis=1) == 2)
    assert np.all(np.count_nonzero(box_wide(coarse), axis=1) == 4)


@pytest.mark.parametrize(("subset", "smooth"), [("smooth", True), ("nonsmooth", False)])
def test_sparse_fn_kernel_subsets(subset, smooth):
    data = SparseFnTask(SparseFnConfig(kernels=subset)).load(0, "smoke", "autoencode", CPU)
    truth = data.ground_truth
    assert truth.atom_smooth == (smooth,) * 3 and truth.dictionary.shape == (128, 3)
    assert truth.atom_names == tuple(kernel.name for kernel in select_kernels(subset))
    assert set(np.unique(truth.test_atoms)) == {0, 1, 2}


def test_sparse_fn_bad_config_and_arguments(fn):
    with pytest.raises(ValueError, match="unknown kernel subset 'rough'; valid subsets: all, smooth, nonsmooth"):
        SparseFnConfig(kernels="rough")
    with pytest.raises(ValueError, match="must be ints >= 32, got 16"):
        SparseFnConfig(n_grid=16)
    with pytest.raises(ValueError, match="n_active must be a positive int, got 0"):
        SparseFnConfig(n_active=0)
    with pytest.raises(ValueError, match="unknown split 'dev'; valid splits: train, val, test"):
        fn.ground_truth.sample("dev", 64)
    with pytest.raises(ValueError, match="n_points must be >= 32"):
        fn.ground_truth.sample("test", 16)


def test_dense_function_codes_by_hand():
    # one signal with events (atom 1, shift 0.26, +1.5) and (atom 0, shift 0.99, -2): on 8 points the first
    # sits at round(0.26 * 8) = round(2.08) = 2, the second at round(7.92) % 8 = 8 % 8 = 0.
    truth = SparseGroundTruth(
        dictionary=np.eye(8)[:, :2], test_atoms=np.array([[1, 0]]), test_amplitudes=np.array([[1.5, -2.0]]),
        test_shifts=np.array([[0.26, 0.99]]), shift_invariant=True, atom_names=("a", "b"), atom_smooth=(True, False),
    )
    codes = truth.dense_test_codes(8)
    expected = np.zeros((1, 2, 8))
    expected[0, 1, 2], expected[0, 0, 0] = 1.5, -2.0
    assert np.array_equal(codes, expected)
    with pytest.raises(ValueError, match="need a grid"):
        truth.dense_test_codes()



@pytest.mark.parametrize(("task", "smooth"), [("sparse_fn_smooth", True), ("sparse_fn_nonsmooth", False)])
def test_sparse_fn_subset_tasks(task, smooth):
    data = get_task(task)().load(0, "smoke", "autoencode", torch.device("cpu"))
    assert data.task == task and data.ground_truth.atom_smooth and set(data.ground_truth.atom_smooth) == {smooth}
