"""The known generative model behind a sparse task, which model-recovery scores compare a family against.

Both sparse tasks draw every sample as a sum of `n_active` code entries ("events"), each an atom index and an
amplitude, plus (for shift-invariant tasks) the continuous position on [0, 1) where the kernel's centre sits:

    sparse_vec: x = sum_k amplitude_k * dictionary[:, atom_k]
    sparse_fn:  x(u) = sum_k amplitude_k * kernel_{atom_k}(u - shift_k)   (periodic on [0, 1))

The test split's events are kept exactly (not rounded to a grid), so they are valid at every resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

Sampler = Callable[[str, int], torch.Tensor]


@dataclass(frozen=True)
class SparseGroundTruth:
    """The true dictionary, the test split's true codes, and (for function tasks) re-sampling on any grid."""

    # (atom_length, n_atoms) float64 with unit-norm columns; atom j is dictionary[:, j] (the (m, p) convention
    # of x = D z). sparse_fn: kernel j sampled on the training grid, centred at index atom_length // 2.
    dictionary: np.ndarray
    test_atoms: np.ndarray  # (n_test, n_active) int64: the atom of each active code entry
    test_amplitudes: np.ndarray  # (n_test, n_active) float64: its amplitude, sign included
    # (n_test, n_active) float64 in [0, 1): where the kernel's centre sits; None for vector tasks
    test_shifts: np.ndarray | None
    shift_invariant: bool  # True when atoms act by circular convolution (sparse_fn), so matching ignores shifts
    atom_names: tuple[str, ...]  # one per atom, e.g. "gauss_narrow"; "atom_17" for random dictionaries
    atom_smooth: tuple[bool, ...] | None  # per atom: smooth (Gaussian) or not (box, spike); None for vectors
    resolutions: tuple[int, ...] = ()  # grid sizes the resolution scores use; () for vector tasks
    sampler: Sampler | None = None  # (split, n_points) -> signals; None for vector tasks

    @property
    def n_atoms(self) -> int:
        return self.dictionary.shape[1]

    @property
    def n_active(self) -> int:
        """Number of active code entries per sample (the true L0 of every code)."""
        return self.test_atoms.shape[1]

    def sample(self, split: str, n_points: int) -> torch.Tensor:
        """Split `split`'s signals, (n, 1, n_points) float32, point-sampled at u_i = i / n_points.

        The same functions as the task's training-grid data; only function (shift-invariant) tasks have a grid.
        """
        if self.sampler is None:
            raise ValueError("this task's samples are vectors with no grid: sample() needs a function task "
                             "such as sparse_fn")
        return self.sampler(split, n_points)

    def dense_test_codes(self, n_points: int | None = None) -> np.ndarray:
        """The test codes as a dense array: (n_test, n_atoms) for vectors; (n_test, n_atoms, n_points) for functions.

        For functions, an entry sits at the grid index nearest its shift, round(shift * n_points) mod n_points,
        i.e. the code map z_j with x = sum_j kernel_j (circularly convolved with) z_j; events that round to the
        same index add up.
        """
        n_test = len(self.test_atoms)
        rows = np.repeat(np.arange(n_test), self.n_active)
        atoms, amplitudes = self.test_atoms.ravel(), self.test_amplitudes.ravel()
        if not self.shift_invariant:
            if n_points is not None:
                raise ValueError(f"vector codes have no grid: n_points must be None, got {n_points}")
            codes = np.zeros((n_test, self.n_atoms))
            np.add.at(codes, (rows, atoms), amplitudes)
            return codes
        if n_points is None or n_points < 1:
            raise ValueError(f"function codes need a grid: n_points must be a positive int, got {n_points}")
        positions = np.rint(self.test_shifts.ravel() * n_points).astype(np.int64) % n_points
        codes = np.zeros((n_test, self.n_atoms, n_points))
        np.add.at(codes, (rows, atoms, positions), amplitudes)
        return codes
