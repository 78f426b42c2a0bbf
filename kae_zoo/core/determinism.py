"""What makes a cell's numbers repeatable: seeding every generator from the cell's seed, and a fixed thread count."""

from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from threadpoolctl import threadpool_limits


@contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Run the block with `n_threads` CPU threads for torch and for NumPy's BLAS / OpenMP pools (threadpoolctl),
    then restore the previous counts.

    CPU results depend on the thread count (it changes the order of float reductions), so a run fixes it rather
    than inheriting the machine's core count: the same seed then gives the same numbers on any machine, and in a
    Dask worker (whose BLAS pools Dask sets to one thread) the same as in this process.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        torch.set_num_threads(previous)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch from the cell's seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
