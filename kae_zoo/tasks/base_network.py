"""The base network whose representations the surrogates model: a residual MLP, trained once and cached.

Architecture as in the KAE paper's code: an input layer Linear -> BatchNorm -> ReLU to `width`, then `n_blocks`
residual blocks x -> ReLU(x + BN(Linear(ReLU(BN(Linear(x)))))), then a linear head. Its representations are the
input layer's output and every block's output. Trained with SGD (momentum 0.9, lr 1e-2, weight decay 5e-4) and
cached in kae-zoo's cache folder (`kae_zoo.core.cache`: `$KAE_ZOO_CACHE`, else the user's cache folder), keyed by a
hash of everything that determines it, so every working directory and worker process shares it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..core.cache import building, entry_path, write_entry
from ..core.logs import Heartbeat, progress_bar

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

    def forward_from(self, layer_index: int, state: Tensor) -> Tensor:
        """Logits from the representation at `layer_index` of `representations` (0: the input layer's output, i:
        block i's): the blocks after it, then the head. The downstream of a representation task."""
        if not 0 <= layer_index <= len(self.blocks):
            raise IndexError(f"layer index {layer_index} is outside 0..{len(self.blocks)} "
                             f"({', '.join(self.layer_names)})")
        for block in self.blocks[layer_index:]:
            state = block(state)
        return self.head(state)

    @property
    def layer_names(self) -> list[str]:
        return layer_names(len(self.blocks))


def layer_names(n_blocks: int) -> list[str]:
    """The names of a ResidualMLP's representations, in order: input_layer, block_1, ..., block_{n_blocks}."""
    return ["input_layer"] + [f"block_{index + 1}" for index in range(n_blocks)]


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
    description: str = "base network",
) -> ResidualMLP:
    """Train a ResidualMLP with SGD from `seed`; returns it in eval mode on the CPU. `description` names it on its
    progress bar (a terminal) or in a log line every 30 s (otherwise)."""
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
    bar = progress_bar(range(1, config.n_epochs + 1), description=description, enabled=progress, leave=False)
    heartbeat = Heartbeat()  # without a bar (stderr redirected), a line now and then
    for epoch in bar:
        order = torch.randperm(len(inputs), generator=generator)
        for chunk in order.split(config.batch_size):
            if len(chunk) < 2:  # BatchNorm needs two samples
                continue
            loss = F.cross_entropy(model(inputs[chunk]), targets[chunk])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        if bar.disable and heartbeat.due():
            logger.info("%s: epoch %d/%d", description, epoch, config.n_epochs)
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
    preset: str = "",
) -> tuple[ResidualMLP, str]:
    """The trained base network for this exact data, config and seed, from the cache or trained now.

    Returns the network and its cache key. The key includes torch's CPU thread count, since training on another
    count gives other weights (float reductions in another order): a network trained with 2 threads is never reused
    by a 1-thread run. The cache file is written atomically, and a process that wants a network another process is
    training waits for it (`core.cache.building`) instead of training it too. `preset` (not part of the key: the
    config is) is recorded for `kae-zoo cache list`.
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
    path = entry_path("base", task_name, key, ".pt")
    model = ResidualMLP(features.shape[1], n_classes, config.width, config.n_blocks)
    with building(path):
        if path.exists():
            try:
                model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
                logger.debug("loaded cached base network %s", path)
                return model.eval(), key
            except (RuntimeError, OSError, EOFError) as error:
                logger.warning("ignoring unreadable cached base network %s: %s", path, error)
        logger.info("training the base network of %s (seed %d, %d epochs); it is cached for later runs", task_name,
                    seed, config.n_epochs)
        start = time.perf_counter()
        model = train_base_network(features, labels, n_classes, config, seed, progress=progress,
                                   description=f"base network of {task_name}")
        about = {"what": "base network", **({"preset": preset} if preset else {}), **key_source}
        write_entry(path, lambda temporary: torch.save(model.state_dict(), temporary), about)
        logger.info("trained the base network of %s in %.1f s: %s", task_name, time.perf_counter() - start, path)
    return model, key
