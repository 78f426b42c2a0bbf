"""Generators of the sparse tasks: random unit-norm dictionaries, sparse codes, and continuous periodic kernels.

Random streams: every cell seed gives independent generators `stream_rng(seed, name)` for the dictionary and
for each split, so train / val / test are disjoint draws (continuous amplitudes: a shared sample has
probability zero) and changing one split's size leaves the others unchanged.

Split sizes: smoke 2000 / 500 / 1000; default and paper 20000 / 2000 / 5000. 20000 training samples is what
the planning measurement of REFERENCE section 2 used (an unrolled-ISTA SAE recovers the 50 x 100 dictionary
from them in a few thousand steps); the papers publish no size for this benchmark (the earlier convention's
n = 500 suits full-batch alternating minimisation, not stochastic training), so paper = default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .base import SPLITS

SPLIT_SIZES = {
    "smoke": {"train": 2000, "val": 500, "test": 1000},
    "default": {"train": 20000, "val": 2000, "test": 5000},
    "paper": {"train": 20000, "val": 2000, "test": 5000},
}
STREAMS = {"dictionary": 0, "train": 1, "val": 2, "test": 3}
AMPLITUDE_RANGE = (1.0, 2.0)  # |amplitude| ~ U[1, 2], sign +-1 with probability 1/2 each
MIN_GRID = 32  # coarsest grid a function task may be sampled on (the spike's half-width is 1 / MIN_GRID)


def stream_rng(seed: int, stream: str) -> np.random.Generator:
    """The generator of one use of a cell's seed: "dictionary", "train", "val" or "test"."""
    return np.random.default_rng([seed, STREAMS[stream]])


def split_sizes(preset: str) -> dict[str, int]:
    """Samples per split at a preset."""
    if preset not in SPLIT_SIZES:
        raise ValueError(f"unknown preset {preset!r}; valid presets: {', '.join(SPLIT_SIZES)}")
    return SPLIT_SIZES[preset]


def describe_splits(sizes: dict[str, int]) -> str:
    """One line for the results' split_description."""
    counts = " / ".join(f"{name} {sizes[name]}" for name in SPLITS)
    return f"generated: {counts}, independent draws from the cell seed's streams (seed, 1 / 2 / 3)"


def random_amplitudes(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Amplitudes U[1, 2] with random signs."""
    return rng.uniform(*AMPLITUDE_RANGE, size=shape) * rng.choice((-1.0, 1.0), size=shape)


def random_dictionary(n_features: int, n_atoms: int, rng: np.random.Generator) -> np.ndarray:
    """D = randn(m, p) / sqrt(m) with columns scaled to unit norm: (n_features, n_atoms) float64."""
    dictionary = rng.standard_normal((n_features, n_atoms)) / np.sqrt(n_features)
    return dictionary / np.linalg.norm(dictionary, axis=0)


def vector_events(
    n_samples: int, n_atoms: int, n_active: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per sample `n_active` distinct atoms and their amplitudes: (n_samples, n_active) int64 and float64."""
    atoms = np.argsort(rng.random((n_samples, n_atoms)), axis=1)[:, :n_active]  # a random subset per row
    return atoms.astype(np.int64), random_amplitudes(rng, atoms.shape)


def vector_signals(dictionary: np.ndarray, atoms: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    """x = D z for codes given as events: (n_samples, n_features) float64."""
    return np.einsum("nk,nkm->nm", amplitudes, dictionary.T[atoms])


@dataclass(frozen=True)
class Kernel:
    """A concept of the functional model: a periodic function on [0, 1) centred at 0, unit L2 norm."""

    name: str
    shape: Literal["gaussian", "box", "triangle"]
    width: float  # gaussian: standard deviation; box: full width; triangle: half-width (support 2 * width)

    @property
    def smooth(self) -> bool:
        return self.shape == "gaussian"

    def __call__(self, offset: np.ndarray) -> np.ndarray:
        """Values at `offset` = u - centre (wrapped to [-1/2, 1/2)), scaled so that int_0^1 k(u)^2 du = 1."""
        distance = (np.asarray(offset, dtype=np.float64) + 0.5) % 1.0 - 0.5
        if self.shape == "gaussian":  # int exp(-d^2 / s^2) = s sqrt(pi); the tails past 1/2 are < 1e-17
            return np.exp(-0.5 * (distance / self.width) ** 2) / np.sqrt(self.width * np.sqrt(np.pi))
        if self.shape == "box":  # the exact indicator of [-w/2, w/2): point samples are 0 or 1 / sqrt(w)
            inside = (distance >= -self.width / 2) & (distance < self.width / 2)
            return inside / np.sqrt(self.width)
        return np.maximum(0.0, 1.0 - np.abs(distance) / self.width) / np.sqrt(2.0 * self.width / 3.0)


# Widths are chosen to be resolved at MIN_GRID points: the narrowest Gaussian keeps 1 % of its peak spectrum
# at the 32-point Nyquist frequency; box widths are multiples of 1/32, so on a grid of n = 32 * 2^k points a
# box covers exactly width * n points wherever it sits; the spike (a triangle of half-width 1/32) puts
# samples summing to its peak on the two nearest grid points at n = 32, so it never falls between them.
KERNELS = (
    Kernel("gauss_narrow", "gaussian", 0.03),
    Kernel("gauss_medium", "gaussian", 0.05),
    Kernel("gauss_wide", "gaussian", 0.08),
    Kernel("box_narrow", "box", 1 / 16),
    Kernel("box_wide", "box", 1 / 8),
    Kernel("spike", "triangle", 1 / MIN_GRID),
)
KERNEL_SUBSETS = {
    "all": KERNELS,
    "smooth": tuple(kernel for kernel in KERNELS if kernel.smooth),
    "nonsmooth": tuple(kernel for kernel in KERNELS if not kernel.smooth),
}


def select_kernels(subset: str) -> tuple[Kernel, ...]:
    """The kernels of a subset: "all", "smooth" (Gaussians) or "nonsmooth" (boxes and the spike)."""
    if subset not in KERNEL_SUBSETS:
        raise ValueError(f"unknown kernel subset {subset!r}; valid subsets: {', '.join(KERNEL_SUBSETS)}")
    return KERNEL_SUBSETS[subset]


def grid(n_points: int) -> np.ndarray:
    """The points u_i = i / n_points of [0, 1); grids of n and 2n points share every other point exactly."""
    if n_points < MIN_GRID:
        raise ValueError(f"n_points must be >= {MIN_GRID} (the spike's width is 1/{MIN_GRID}), got {n_points}")
    return np.arange(n_points) / n_points


def function_events(
    n_samples: int, n_kernels: int, n_active: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sample `n_active` (kernel, shift, amplitude): kernels uniform with replacement, shifts U[0, 1)."""
    atoms = rng.integers(n_kernels, size=(n_samples, n_active))
    shifts = rng.random((n_samples, n_active))
    return atoms, shifts, random_amplitudes(rng, atoms.shape)


def function_signals(
    kernels: tuple[Kernel, ...], atoms: np.ndarray, shifts: np.ndarray, amplitudes: np.ndarray, n_points: int
) -> np.ndarray:
    """x(u_i) = sum_k amplitude_k * kernel_{atom_k}(u_i - shift_k) point-sampled: (n_samples, n_points) float64."""
    points = grid(n_points)
    signals = np.zeros((len(atoms), n_points))
    for slot in range(atoms.shape[1]):  # within one slot every row appears once, so += is safe
        for index, kernel in enumerate(kernels):
            rows = np.flatnonzero(atoms[:, slot] == index)
            offsets = points[None, :] - shifts[rows, slot, None]
            signals[rows] += amplitudes[rows, slot, None] * kernel(offsets)
    return signals


def kernel_dictionary(kernels: tuple[Kernel, ...], n_points: int) -> np.ndarray:
    """Each kernel sampled on the grid, centred at index n_points // 2, unit norm: (n_points, n_kernels)."""
    points = grid(n_points)
    atoms = np.stack([kernel(points - points[n_points // 2]) for kernel in kernels], axis=1)
    return atoms / np.linalg.norm(atoms, axis=0)
