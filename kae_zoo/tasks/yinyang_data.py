"""The Yin-Yang data set of Kriener et al., generated exactly as the reference generator does.

Three classes (yin, yang, the two dots) in the unit disc of radius `r_big` centred at (r_big, r_big); each
sample draws its goal class first and rejection-samples a point of that class, so classes are balanced.
Features are (x, y, 1 - x, 1 - y). Standard splits: train 5000 (seed 42), val 1000 (seed 41), test 1000 (seed 40).
"""

from __future__ import annotations

import numpy as np

R_SMALL = 0.1
R_BIG = 0.5
STANDARD_SPLITS = {"train": (5000, 42), "val": (1000, 41), "test": (1000, 40)}


def yinyang_class(x: float, y: float, r_small: float = R_SMALL, r_big: float = R_BIG) -> int:
    """Class of point (x, y): 0 yang, 1 yin, 2 dot (the reference generator's rule)."""
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    is_yin = d_right <= r_small or r_small < d_left <= 0.5 * r_big or (y > r_big and d_right > 0.5 * r_big)
    if d_right < r_small or d_left < r_small:
        return 2
    return int(is_yin)


def make_yinyang(
    n_samples: int, seed: int, r_small: float = R_SMALL, r_big: float = R_BIG
) -> tuple[np.ndarray, np.ndarray]:
    """`n_samples` Yin-Yang points as float32 features (n, 4) = (x, y, 1-x, 1-y) and int64 labels (n,).

    Uses the reference generator's random stream (`np.random.RandomState(seed)`: goal class, then
    rejection sampling), so seeds 42 / 41 / 40 give the standard train / val / test sets.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    rng = np.random.RandomState(seed)
    features = np.empty((n_samples, 4), dtype=np.float32)
    labels = np.empty(n_samples, dtype=np.int64)
    for i in range(n_samples):
        goal = rng.randint(3)
        while True:
            x, y = rng.rand(2) * 2.0 * r_big
            if np.hypot(x - r_big, y - r_big) > r_big:
                continue
            if yinyang_class(x, y, r_small, r_big) == goal:
                break
        features[i] = (x, y, 1.0 - x, 1.0 - y)
        labels[i] = goal
    return features, labels
