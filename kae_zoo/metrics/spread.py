"""The spread of a score over seeds: the one mean and standard deviation kae-zoo prints and stores (show, compare,
reproduce). A pure function of an array, computed when results are summarised, not stored."""

from __future__ import annotations

import numpy as np


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1: the spread of seeds as draws from the seed distribution) of the
    finite values; the std is NaN for fewer than two values and both are NaN for none. Every "±" kae-zoo prints or
    stores (show, compare, reproduce) is this std."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return float("nan"), float("nan")
    return float(finite.mean()), float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
