"""The base network whose representations the surrogates model: a residual MLP, trained once and cached.

Architecture as in the KAE paper's code: an input layer Linear -> BatchNorm -> ReLU to `width`, then `n_blocks`
residual blocks x -> ReLU(x + BN(Linear(ReLU(BN(Linear(x)))))), then a linear head. Its representations are the
input layer's output and every block's output. Trained with SGD (momentum 0.9, lr 1e-2, weight decay 5e-4) and
cached under `$KAE_ZOO_CACHE` (default `datasets/cache/`), keyed by a hash of everything that determines it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from ..core.atomic import atomic_path

logger = logging.getLogger(__name__)

# Bump when the architecture or training loop changes, so stale cached networks are not reused.
BASE_NETWORK_CODE_VERSION = 1


@dataclass(frozen=True)
class BaseNetworkConfig:
    """Residual MLP size and its SGD training schedule."""

    width: int = 10  # width of the input layer and every residual block
    n_blocks: int = 5  # number of residual blocks
    n_epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-2  # peak SGD learning rate, cosine-decayed to zero
    momentum: float = 0.9
    weight_decay: float = 5e-4


class ResidualBlock(nn.Module):
    """x -> ReLU(x + BN(Linear(ReLU(BN(Linear(x))))))."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width), nn.BatchNorm1d(width)
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.branch(x))


class ResidualMLP(nn.Module):
    """Input layer, residual blocks, linear head; exposes every intermediate representation."""

    def __init__(self, in_dim: int, n_classes: int, width: int, n_blocks: int) -> None:
        super().__init__()
        self.input_layer = nn.Sequential(nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.ReLU())
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in range(n_blocks))
        self.head = nn.Linear(width, n_classes)

    def representations(self, x: Tensor) -> list[Tensor]:
        """[input layer output, block 1 output, ..., block n output], each (batch, width)."""
        states = [self.input_layer(x)]
        for block in self.blocks:
            states.append(block(states[-1]))
        return states

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.representations(x)[-1])

    @property
    def layer_names(self) -> list[str]:
        return ["input_layer"] + [f"block_{index + 1}" for index in range(len(self.blocks))]


def cache_dir() -> Path:
    """Where trained base networks are cached: `$KAE_ZOO_CACHE`, else `datasets/cache`."""
    return Path(os.environ.get("KAE_ZOO_CACHE", "datasets/cache"))


def fingerprint(*arrays: np.ndarray) -> str:
    """A short content hash of arrays, so a cached network is tied to the exact data it was trained on."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def train_base_network(
    features: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    config: BaseNetworkConfig,
    seed: int,
    *,
    progress: bool = True,
) -> ResidualMLP:
    """Train a ResidualMLP with SGD from `seed`; returns it in eval mode on the CPU."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = ResidualMLP(features.shape[1], n_classes, config.width, config.n_blocks)
    inputs, targets = torch.from_numpy(features), torch.from_numpy(labels)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay
    )
    n_batches = -(-len(inputs) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.n_epochs * n_batches)
    model.train()
    for _ in tqdm(range(config.n_epochs), desc="base network", disable=not progress, leave=False):
        order = torch.randperm(len(inputs), generator=generator)
        for chunk in order.split(config.batch_size):
            if len(chunk) < 2:  # BatchNorm needs two samples
                continue
            loss = F.cross_entropy(model(inputs[chunk]), targets[chunk])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
    return model.eval()


def cached_base_network(
    task_name: str,
    features: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    config: BaseNetworkConfig,
    seed: int,
    *,
    progress: bool = True,
) -> tuple[ResidualMLP, str]:
    """The trained base network for this exact data, config and seed, from the cache or trained now.

    Returns the network and its cache key. The key includes torch's CPU thread count, since training on another
    count gives other weights (float reductions in another order): a network trained with 2 threads is never reused
    by a 1-thread run. The cache file is written atomically.
    """
    key_source = {
        "task": task_name,
        "data": fingerprint(features, labels),
        "config": dataclasses.asdict(config),
        "seed": seed,
        "threads": torch.get_num_threads(),
        "code_version": BASE_NETWORK_CODE_VERSION,
    }
    key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()[:16]
    safe_name = re.sub(r"[^A-Za-z0-9_-]+", "_", task_name)[-40:]  # a file task's name holds a path
    path = cache_dir() / f"base_{safe_name}_{key}.pt"
    model = ResidualMLP(features.shape[1], n_classes, config.width, config.n_blocks)
    if path.exists():
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            logger.info("loaded cached base network %s", path)
            return model.eval(), key
        except (RuntimeError, OSError, EOFError) as error:
            logger.warning("ignoring unreadable cached base network %s: %s", path, error)
    model = train_base_network(features, labels, n_classes, config, seed, progress=progress)
    with atomic_path(path) as temporary:
        torch.save(model.state_dict(), temporary)
    return model, key
