"""Tasks: data generators and splits, the base network pipeline, and the head that scores predictions."""

import gzip
import hashlib
import struct

import numpy as np
import pytest
import torch

from kae_zoo.core.determinism import torch_threads
from kae_zoo.tasks import get_task, list_tasks, mnist, mnist_files
from kae_zoo.tasks.base import stratified_split
from kae_zoo.tasks.yinyang_data import make_yinyang, yinyang_class


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.75, 0.5), 2),  # right dot centre
        ((0.25, 0.5), 2),  # left dot centre
        ((0.5, 0.9), 1),  # upper half, far from the right dot: yin
        ((0.5, 0.1), 0),  # lower half, far from both dots: yang
        ((0.25, 0.65), 1),  # within 0.25 of the left dot but outside it: yin
        ((0.75, 0.35), 0),  # within 0.25 of the right dot but outside it, lower half: yang
    ],
)
def test_yinyang_class_rule_by_hand(point, expected):
    assert yinyang_class(*point) == expected


def test_yinyang_standard_splits_are_balanced_and_disjoint():
    train_features, train_labels = make_yinyang(5000, 42)
    test_features, test_labels = make_yinyang(1000, 40)
    assert train_features.shape == (5000, 4) and test_features.shape == (1000, 4)
    assert np.allclose(train_features[:, 2:], 1 - train_features[:, :2])
    assert np.all(np.abs(np.bincount(train_labels) / 5000 - 1 / 3) < 0.03)
    assert not set(map(tuple, train_features)) & set(map(tuple, test_features))
    radius = np.hypot(train_features[:, 0] - 0.5, train_features[:, 1] - 0.5)
    assert radius.max() <= 0.5
    assert np.array_equal(make_yinyang(100, 42)[1], train_labels[:100])  # the reference random stream


def test_stratified_split_is_disjoint_covering_and_stratified():
    labels = np.repeat(np.arange(4), 50)
    parts = stratified_split(labels, (0.6, 0.2, 0.2), seed=0)
    joined = np.concatenate(list(parts.values()))
    assert len(joined) == 200 and len(np.unique(joined)) == 200
    for index in parts.values():
        assert np.all(np.bincount(labels[index]) == len(index) // 4)
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(labels, (0.5, 0.2, 0.2), seed=0)


def test_digits_splits():
    splits, description = get_task("digits")().raw_splits()
    sizes = {name: len(labels) for name, (_, labels) in splits.items()}
    assert sum(sizes.values()) == 1797 and sizes["train"] > sizes["test"] > 300
    assert splits["train"][0].max() <= 1.0 and "stratified" in description


def test_mnist_with_only_the_test_files_is_split_and_says_so(shared_mnist):
    splits, description = get_task("mnist")().raw_splits()
    sizes = {name: len(labels) for name, (_, labels) in splits.items()}
    assert sum(sizes.values()) == 10000  # per-digit rounding moves a sample or two between splits
    assert abs(sizes["train"] - 7000) <= 10 and abs(sizes["val"] - 1000) <= 10 and abs(sizes["test"] - 2000) <= 10
    assert "10k test split only" in description
    assert splits["train"][0].shape[1] == 784
    assert abs(splits["train"][0].mean()) < 0.2  # standardised with MNIST's mean and std


def test_mnist_with_the_training_files_uses_the_canonical_test_split(monkeypatch, tmp_path):
    """Synthetic IDX files for both splits: validation is a stratified draw from train, test is the test file."""
    root = tmp_path / "mnist"
    root.mkdir()
    rng = np.random.default_rng(0)
    checksums = {}
    for split, n_images in (("train", 300), ("test", 50)):
        labels = (np.arange(n_images) % 10).astype(np.uint8)
        images = rng.integers(0, 256, size=(n_images, 28, 28), dtype=np.uint8)
        for name, array in zip(mnist_files.MNIST_FILES[split], (images, labels)):
            header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
            data = gzip.compress(header + array.tobytes())
            (root / name).write_bytes(data)
            checksums[name] = hashlib.md5(data).hexdigest()
    monkeypatch.setenv("KAE_ZOO_DATA", str(tmp_path))
    monkeypatch.setattr(mnist_files, "MNIST_MD5", checksums)
    monkeypatch.setattr(mnist, "N_VALIDATION_FULL", 50)
    splits, description = get_task("mnist")().raw_splits()
    train_labels, val_labels, test_labels = (splits[name][1] for name in ("train", "val", "test"))
    assert (len(train_labels), len(val_labels), len(test_labels)) == (250, 50, 50)
    assert np.bincount(val_labels).tolist() == [5] * 10  # stratified: 5 of each digit
    np.testing.assert_array_equal(test_labels, np.arange(50) % 10)  # the test file, in order
    train_rows = {row.tobytes() for row in splits["train"][0]}
    assert not any(row.tobytes() in train_rows for row in splits["val"][0])  # disjoint
    assert "MNIST full: train 250 / val 50" in description and "canonical 50" in description


def test_mnist_missing_file_says_where_to_put_it(monkeypatch, tmp_path):
    monkeypatch.setenv("KAE_ZOO_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "mnist")):
        get_task("mnist")().raw_splits()


def test_yinyang_layer_pair_data_and_head(tmp_path, monkeypatch):
    monkeypatch.setenv("KAE_ZOO_CACHE", str(tmp_path))
    data = get_task("yinyang")().load(seed=0, preset="smoke", view="layer_pair", device=torch.device("cpu"),
                                       progress=False)
    assert data.spec.state_shape == (10,) and data.spec.n_classes == 3
    assert {name: len(batch["label"]) for name, batch in data.splits.items()} == {
        "train": 5000, "val": 1000, "test": 1000}
    assert data.layer_names == ["input_layer", "block_1", "block_2", "block_3", "block_4", "block_5"]
    assert len(data.test_layer_states) == 6
    # The preprocessing is invertible at full rank: the head applied to the true target states reproduces the
    # base network's own test predictions exactly.
    test = data.splits["test"]
    assert torch.equal(data.head(test["target"]).argmax(1), data.base_test_logits.argmax(1))
    assert np.allclose(data.test_layer_states[-1], test["target"].numpy(), atol=1e-5)
    # The second load comes from the cache and is identical.
    again = get_task("yinyang")().load(0, "smoke", "layer_pair", torch.device("cpu"), progress=False)
    assert torch.equal(again.splits["train"]["source"], data.splits["train"]["source"])
    assert len(list(tmp_path.glob("base_yinyang_*.pt"))) == 1


def test_a_base_network_trained_on_another_thread_count_is_not_reused(tmp_path, monkeypatch):
    """Two threads sum in another order and give other weights: their network has its own cache entry."""
    monkeypatch.setenv("KAE_ZOO_CACHE", str(tmp_path))
    loaded = {}
    for threads in (1, 2, 1):
        with torch_threads(threads):
            data = get_task("yinyang")().load(0, "smoke", "layer_pair", torch.device("cpu"), progress=False)
        loaded.setdefault(threads, []).append(data)
    assert len(list(tmp_path.glob("base_yinyang_*.pt"))) == 2
    one, two = loaded[1][0], loaded[2][0]
    assert one.notes["base_network_cache_key"] != two.notes["base_network_cache_key"]
    assert torch.equal(loaded[1][1].splits["train"]["target"], one.splits["train"]["target"])  # reused at 1 thread


def test_every_task_is_listed_with_a_description():
    assert {"yinyang", "digits", "mnist"} <= set(list_tasks())
    for name in list_tasks():
        assert get_task(name).description
