"""Out-of-distribution sets for a task whose in-distribution (ID) samples are its held-out test split.

Every set has the task's state shape and feature scale, and is drawn with a generator seeded from the cell's seed
(and the set's name), so one seed gives the same sets on any machine:
- the other digit data set, brought to this task's input format: for `digits`, MNIST test-file images reduced
  28x28 -> 8x8 by area averaging, pixel/255 (the digits task's pixel/16 scale, 0..1); for `mnist`, scikit-learn
  digits enlarged 8x8 -> 28x28 by the same area resampling, pixel/16, then MNIST's standardisation. As many
  images as ID test samples (a draw without replacement; at most the 1,797 digits for the reverse direction);
- "noise": Gaussian noise with each feature's training mean and standard deviation (matches every pixel's
  marginal mean and spread, none of the correlations; features constant in training stay constant);
- "corrupted": a copy of the ID test split with additive Gaussian noise (`corruption_noise` x the training
  features' overall standard deviation) and pixel dropout (a `corruption_dropout` fraction of the features of
  each sample set to the training minimum, the background of both image tasks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import mnist
from .mnist_files import load_mnist_split, mnist_root

logger = logging.getLogger(__name__)

DIGITS_SIDE, MNIST_SIDE = 8, 28
DIGITS_MAX, MNIST_MAX = 16.0, 255.0  # raw pixel ranges: sklearn digits 0..16, MNIST 0..255


@dataclass(frozen=True)
class OODSetConfig:
    """How the noise and corrupted sets are made (evaluation protocol, not a family hyperparameter)."""

    corruption_noise: float = 0.5  # additive noise std, as a multiple of the training features' overall std
    corruption_dropout: float = 0.25  # fraction of each sample's features set to the training minimum

    def validate(self) -> None:
        if self.corruption_noise < 0 or not 0 <= self.corruption_dropout <= 1:
            raise ValueError(f"corruption_noise must be >= 0 and corruption_dropout in [0, 1], got "
                             f"{self.corruption_noise} and {self.corruption_dropout}")


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) box-filter weights: output cell i covers [i, i + 1) * n_in / n_out of the input pixels and
    averages them by overlap, so every row sums to 1 (exact area averaging, down or up, any ratio)."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"sizes must be >= 1, got {n_in} and {n_out}")
    scale = n_in / n_out
    starts, ends = np.arange(n_out) * scale, (np.arange(n_out) + 1) * scale
    pixels = np.arange(n_in)
    overlap = np.clip(np.minimum(ends[:, None], pixels[None, :] + 1) - np.maximum(starts[:, None], pixels[None, :]),
                      0.0, None)
    return overlap / scale


def area_resample(images: np.ndarray, side: int) -> np.ndarray:
    """Square images (n, s, s) -> (n, side, side) by area averaging along both axes."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must be (n, s, s), got shape {images.shape}")
    weights = area_weights(images.shape[1], side)
    return weights @ images @ weights.T  # (side, s) @ (n, s, s) @ (s, side) -> (n, side, side)


def mnist_as_digits(images: np.ndarray) -> np.ndarray:
    """MNIST uint8 images (n, 28, 28) -> digits-task features (n, 64): 8x8 area averages of pixel/255."""
    return area_resample(images / MNIST_MAX, DIGITS_SIDE).reshape(len(images), -1).astype(np.float32)


def digits_as_mnist(images: np.ndarray) -> np.ndarray:
    """sklearn digits (n, 8, 8), values 0..16 -> mnist-task features (n, 784): 28x28 area resampling of
    pixel/16, standardised with MNIST's mean and std as the mnist task does."""
    scaled = area_resample(images / DIGITS_MAX, MNIST_SIDE).reshape(len(images), -1)
    return ((scaled - mnist.MEAN) / mnist.STD).astype(np.float32)


def _draw(n_available: int, n_wanted: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.permutation(n_available)[: min(n_available, n_wanted)])


def mnist_set_for_digits(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """`n_samples` MNIST test-file images as digits-task features; needs the MNIST files (see datasets/mnist.md)."""
    images, _ = load_mnist_split(mnist_root(), "test")
    return mnist_as_digits(images[_draw(len(images), n_samples, rng)])


def digits_set_for_mnist(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `n_samples` scikit-learn digits as mnist-task features."""
    from sklearn.datasets import load_digits  # on use: keeps CLI start-up fast
    images = load_digits().images
    return digits_as_mnist(images[_draw(len(images), n_samples, rng)])


# task -> (name of the set, builder(n_samples, rng))
OTHER_DATASET: dict[str, tuple[str, Callable[[int, np.random.Generator], np.ndarray]]] = {
    "digits": ("mnist", mnist_set_for_digits),
    "mnist": ("digits", digits_set_for_mnist),
}


def gaussian_noise_set(train: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_samples, *feature_shape) Gaussian noise with every feature's training mean and standard deviation."""
    train = np.asarray(train, dtype=np.float64)
    noise = rng.standard_normal((n_samples, *train.shape[1:]))
    return (train.mean(axis=0) + noise * train.std(axis=0)).astype(np.float32)


def corrupted_set(test: np.ndarray, train: np.ndarray, rng: np.random.Generator,
                  config: OODSetConfig = OODSetConfig()) -> np.ndarray:
    """The test samples plus Gaussian noise, then a random `corruption_dropout` fraction of each sample's
    features set to the training minimum (exactly round(fraction x n_features) per sample)."""
    config.validate()
    test, train = np.asarray(test, dtype=np.float64), np.asarray(train, dtype=np.float64)
    flat = test.reshape(len(test), -1)
    noisy = flat + config.corruption_noise * train.std() * rng.standard_normal(flat.shape)
    n_dropped = int(round(config.corruption_dropout * flat.shape[1]))
    dropped = np.argsort(rng.random(flat.shape), axis=1)[:, :n_dropped]  # distinct features per sample
    np.put_along_axis(noisy, dropped, train.min(), axis=1)
    return noisy.reshape(test.shape).astype(np.float32)


def build_ood_sets(task: str, train: np.ndarray, test: np.ndarray, *, seed: int,
                   config: OODSetConfig = OODSetConfig()) -> dict[str, np.ndarray]:
    """Every OOD set of `task` for a cell seed: {name: features shaped like `test`}, in a fixed order.

    The other-data-set entry is left out, with a warning that says what to do, when its files are missing.
    """
    n_samples = len(test)
    sets: dict[str, np.ndarray] = {}
    if task in OTHER_DATASET:
        name, builder = OTHER_DATASET[task]
        try:
            sets[name] = builder(n_samples, np.random.default_rng([seed, 0])).reshape(-1, *test.shape[1:])
        except FileNotFoundError as error:
            logger.warning("OOD set %r left out: %s (set KAE_ZOO_DATA to the folder holding mnist/)", name, error)
    sets["noise"] = gaussian_noise_set(train, n_samples, np.random.default_rng([seed, 1]))
    sets["corrupted"] = corrupted_set(test, train, np.random.default_rng([seed, 2]), config)
    return sets
