"""Inference helpers every scorer shares: apply a model function (or the whole surrogate) to a large batch in
chunks, and hand tensors to numpy metrics. Chunking bounds memory on MNIST-sized test splits; callers put the
model in eval mode."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .families.base import Surrogate

CHUNK_SIZE = 4096  # samples per call


@torch.no_grad()
def in_chunks(function: Callable[[Tensor], Tensor], inputs: Tensor, batch_size: int = CHUNK_SIZE) -> Tensor:
    """function(inputs) computed `batch_size` rows at a time, without gradients, concatenated along dim 0."""
    return torch.cat([function(chunk) for chunk in inputs.split(batch_size)])


def predict(model: Surrogate, source: Tensor) -> Tensor:
    """forward() over `source` in chunks, in eval mode: the surrogate's predicted target states."""
    model.eval()
    return in_chunks(model, source)


def to_numpy(tensor: Tensor) -> np.ndarray:
    """A detached float64 CPU copy for the numpy metrics."""
    return tensor.detach().double().cpu().numpy()
