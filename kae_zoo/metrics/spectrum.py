"""The spectrum of a Koopman operator K: its eigenvalues and spectral radius.

K = exp(G/k)^k is a real matrix, so its eigenvalues are real or come in complex-conjugate pairs. Read on the
unit circle: |lambda| < 1 is a decaying mode of the layer-to-layer map, |lambda| = 1 a preserved one, |lambda| > 1 a
growing one; the angle is the mode's rotation per application of K. Result files store the eigenvalues as two
curves over the dim `eigen` (real and imaginary parts: netCDF has no complex type), sorted by decreasing modulus
(then by angle), so eigen = 0 is the dominant mode.
"""

from __future__ import annotations

import numpy as np

from . import MetricSpec, metric, register_metric


def _square(operator: np.ndarray) -> np.ndarray:
    operator = np.asarray(operator, dtype=np.float64)
    if operator.ndim != 2 or operator.shape[0] != operator.shape[1] or operator.size == 0:
        raise ValueError(f"the operator must be a non-empty square matrix, got shape {operator.shape}")
    if not np.isfinite(operator).all():
        raise ValueError("the operator has NaN or infinite entries")
    return operator


def operator_eigenvalues(operator: np.ndarray) -> np.ndarray:
    """Eigenvalues of a square real matrix, complex, sorted by decreasing modulus and then increasing angle."""
    eigenvalues = np.linalg.eigvals(_square(operator))
    order = np.lexsort((np.angle(eigenvalues), -np.abs(eigenvalues)))  # last key sorts first
    return eigenvalues[order]


@metric("spectral_radius", "largest eigenvalue modulus of the Koopman operator K (t = 1)", "1",
        higher_is_better=None, split="")
def spectral_radius(operator: np.ndarray) -> float:
    """max |lambda| over the eigenvalues of K."""
    return float(np.abs(np.linalg.eigvals(_square(operator))).max())


register_metric(MetricSpec("eigenvalue_real", "real part of the eigenvalues of K, by decreasing modulus", "1",
                           higher_is_better=None, dims=("eigen",), split=""))
register_metric(MetricSpec("eigenvalue_imag", "imaginary part of the eigenvalues of K, by decreasing modulus", "1",
                           higher_is_better=None, dims=("eigen",), split=""))
