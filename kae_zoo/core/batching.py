"""Batch helpers every layer shares: mini-batches drawn by a seeded shuffler (the trainer's, and a family's own fit,
so both see the same batches), the mean loss over a batch, a model function applied to a large batch in chunks
(chunking bounds memory on MNIST-sized test splits; callers put the model in eval mode), and tensors handed to the
numpy metrics."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor

from .surrogate import Surrogate
from .types import Batch, DataSpec

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


def batch_size_of(batch: Batch) -> int:
    return next(iter(batch.values())).shape[0]


def iterate_minibatches(batch: Batch, batch_size: int, generator: torch.Generator | None) -> list[Batch]:
    """Split `batch` into mini-batches, shuffled with `generator` (in order when it is None)."""
    n_samples = batch_size_of(batch)
    if generator is None:
        order = torch.arange(n_samples)
    else:
        order = torch.randperm(n_samples, generator=generator)
    chunks = order.split(batch_size)
    device = next(iter(batch.values())).device
    return [{key: value[chunk.to(device)] for key, value in batch.items()} for chunk in chunks]


@torch.no_grad()
def evaluate_loss(model: Surrogate, batch: Batch, batch_size: int) -> float:
    """Mean total loss over `batch`, weighted by mini-batch size, in eval mode."""
    model.eval()
    total, count = 0.0, 0
    for minibatch in iterate_minibatches(batch, batch_size, generator=None):
        n = batch_size_of(minibatch)
        total += float(model.loss(minibatch)["total"]) * n
        count += n
    return total / max(count, 1)


def random_states(spec: DataSpec, data_view: str, n_samples: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded batch of Gaussian states of `spec`'s shape, before any model is built ("target" = "source" for the
    autoencode view), labels below spec.n_classes, all drawn from `seed`: what the conformance check
    (`kae_zoo.testing.random_batch`) and the cost table (`kae_zoo.experiments.bench`) feed a model."""
    generator = torch.Generator().manual_seed(seed)
    shape = (n_samples, *spec.state_shape)
    source = torch.randn(shape, generator=generator)
    target = source if data_view == "autoencode" else torch.randn(shape, generator=generator)
    labels = torch.randint(0, max(spec.n_classes, 1), (n_samples,), generator=generator)
    return {"source": source, "target": target, "label": labels}
