"""Task `digits`: scikit-learn's 8x8 digits (1797 images, 10 classes), stratified 60/20/20 split."""

from __future__ import annotations

import numpy as np

from . import register_task
from .base import ClassificationTask, RawSplits, stratified_split
from .base_network import BaseNetworkConfig

SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
SPLIT_SEED = 0  # fixed, so every cell seed is scored on the same held-out images
_BASE = BaseNetworkConfig(width=64, n_blocks=4, n_epochs=100, batch_size=64)


@register_task("digits")
class DigitsTask(ClassificationTask):
    description = "scikit-learn 8x8 digits, 10 classes, pixels / 16; stratified train/val/test 60/20/20 %"
    n_classes = 10
    n_components = 64
    n_features = 64  # 8 x 8 pixels
    base_network = {"smoke": BaseNetworkConfig(width=64, n_blocks=4, n_epochs=10, batch_size=64),
                    "default": _BASE, "paper": _BASE}

    def raw_splits(self) -> tuple[RawSplits, str]:
        from sklearn.datasets import load_digits  # on use: keeps CLI start-up fast
        bunch = load_digits()
        features = (bunch.data / 16.0).astype(np.float32)
        labels = bunch.target.astype(np.int64)
        indices = stratified_split(labels, SPLIT_FRACTIONS, SPLIT_SEED)
        splits = {name: (features[index], labels[index]) for name, index in indices.items()}
        sizes = "/".join(str(len(index)) for index in indices.values())
        return splits, f"sklearn digits, stratified train/val/test {sizes} (split seed {SPLIT_SEED})"
