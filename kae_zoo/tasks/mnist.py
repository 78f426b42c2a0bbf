"""Task `mnist`: MNIST through the paper's 4-block width-784 base network.

With the full data (60k train + 10k test files) the canonical test split is the test set and 5,000 training
images (a stratified, seeded draw) are the validation set. With only the 10k test files present (as in CI), those
10k images are split stratified 70/10/20 % into train/val/test, and the results record that.
"""

from __future__ import annotations

import numpy as np

from . import register_task
from .base import ClassificationTask, DataUnavailableError, RawSplits, stratified_split
from .base_network import BaseNetworkConfig
from .mnist_files import available_splits, load_mnist_split, missing_files_message, mnist_root

MEAN, STD = 0.1307, 0.3081  # the paper's input normalisation
TEST_ONLY_FRACTIONS = (0.7, 0.1, 0.2)
SPLIT_SEED = 0
N_VALIDATION_FULL = 5000
_BASE = BaseNetworkConfig(width=784, n_blocks=4, n_epochs=20, batch_size=128)


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) -> float32 (n, 784), standardised with MNIST's mean and std."""
    return ((images.reshape(len(images), -1) / 255.0 - MEAN) / STD).astype(np.float32)


@register_task("mnist")
class MnistTask(ClassificationTask):
    description = "MNIST from $KAE_ZOO_DATA/mnist (IDX gzip, md5-checked); full 60k/10k or the 10k test split alone"
    n_classes = 10
    n_components = 784
    n_features = 784  # 28 x 28 pixels
    base_network = {"smoke": BaseNetworkConfig(width=784, n_blocks=4, n_epochs=2, batch_size=128),
                    "default": _BASE, "paper": _BASE}

    def check_available(self) -> None:
        """The test split's files must be there (the training files are optional: without them the task splits
        the 10k test images); md5 sums are checked when they are read."""
        message = missing_files_message(mnist_root(), "test")
        if message:
            raise DataUnavailableError(message)

    def raw_splits(self) -> tuple[RawSplits, str]:
        root = mnist_root()
        test_images, test_labels = load_mnist_split(root, "test")  # a missing file says where to put it
        if "train" in available_splits(root):
            train_images, train_labels = load_mnist_split(root, "train")
            features = normalise(train_images)
            from sklearn.model_selection import train_test_split  # on use: keeps CLI start-up fast
            train_index, val_index = train_test_split(
                np.arange(len(train_labels)), test_size=N_VALIDATION_FULL, stratify=train_labels,
                random_state=SPLIT_SEED,
            )
            train_index, val_index = np.sort(train_index), np.sort(val_index)
            splits = {
                "train": (features[train_index], train_labels[train_index]),
                "val": (features[val_index], train_labels[val_index]),
                "test": (normalise(test_images), test_labels),
            }
            return splits, (f"MNIST full: train {len(train_index)} / val {len(val_index)} from the "
                            f"{len(train_labels)} training images (stratified, split seed {SPLIT_SEED}), "
                            f"test = the canonical {len(test_labels)}")
        features = normalise(test_images)
        indices = stratified_split(test_labels, TEST_ONLY_FRACTIONS, SPLIT_SEED)
        splits = {name: (features[index], test_labels[index]) for name, index in indices.items()}
        sizes = "/".join(str(len(index)) for index in indices.values())
        return splits, (f"MNIST 10k test split only, stratified into train/val/test {sizes} "
                        f"(split seed {SPLIT_SEED}); not comparable to the paper's 60k/10k protocol")
