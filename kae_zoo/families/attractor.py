"""Latent-attractor autoencoder (arXiv 2505.22785; REFERENCE section 3).

A plain autoencoder x -> z = E(x) -> D(z), trained on reconstruction alone. Its latent dynamics are the iterates
of f(z) = E(D(z)): `advance(z, t)` applies f t times (t a whole number of steps). Trained autoencoders tend to
make f contractive, so iterating it from any start converges to an attractor (a fixed point z* = f(z*)); the
attractor search, its stopping and merging rules and the scores built on it are `kae_zoo.scoring.attractor_search` and
`kae_zoo.scoring.attractors`, whose settings are fields of this config (so `--set attractor.max_steps=500` works).
The interface's forward(x) = decode(advance(encode(x))) is D(f(E(x))), two encode-decode passes (so is the common
state_error); the plain reconstruction D(E(x)) is advance with t = 0, and it is what the loss trains.

Architectures: an MLP, or a convolutional AE for image tasks, whose flat states (digits 64 = 8 x 8, MNIST
784 = 28 x 28) are reshaped to square one-channel images inside the model.

Training-set size: `n_train_samples` > 0 trains on a seeded, class-stratified subset of the train split (the
memorization sweep's second axis). The `training_examples` hook draws it; the runner trains on it and every score
that refers to training data (`kae_zoo.scoring.attractors`) calls it with the cell seed, so they see the same
examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..core.capabilities import LATENT_MAP, LATENT_PATH
from ..core.config import TrainingConfig
from ..core.surrogate import Surrogate
from ..core.types import Batch, DataSpec
from ..metrics.ood import CovarianceEstimator
from . import register_family
from .blocks import Activation, make_activation, mlp

Architecture = Literal["mlp", "conv"]
NoiseSpace = Literal["input", "latent"]
SetDistance = Literal["nearest", "mean"]  # the trajectory OOD score's distance to the attractor set
SUBSET_STREAM = 4  # the training subset is drawn from default_rng([seed, 4]); streams 0-3 are the OOD sets and probe


@dataclass(frozen=True)
class AttractorConfig(TrainingConfig):
    """Autoencoder, attractor-search and OOD-score settings; the defaults are REFERENCE's planning check.

    That check: an MLP 64-256-16 AE on digits, 300 epochs. The paper: Adam lr 5e-4, weight decay 1e-4, 500 epochs.
    "Weight decay" with Adam is read as torch.optim.Adam(weight_decay=...), a coupled L2 penalty; the shared
    trainer's AdamW decay is decoupled (and at lr 5e-4 a far weaker regulariser), so the penalty is a loss term
    here (`l2_penalty`) and the trainer's `weight_decay` is 0. Adam + L2 and AdamW(0) + the L2 term are the same
    update.
    """

    architecture: Architecture = "mlp"  # conv: square one-channel images; the state size must be a square
    latent_dim: int = 16  # bottleneck width (the paper sweeps 2..512)
    hidden_dims: tuple[int, ...] = (256,)  # mlp: hidden widths of the encoder (the decoder mirrors them)
    conv_channels: tuple[int, ...] = (16, 32)  # conv: channels of each stride-2 3x3 layer (the decoder mirrors them)
    activation: Activation = "leaky_relu"
    l2_penalty: float = 1e-4  # coupled weight decay: loss + l2_penalty / 2 * sum of squared parameters
    # training examples: a seeded class-stratified subset of this many from the train split; 0 = the whole split
    n_train_samples: int = 0
    # Attractor search (REFERENCE: 1e-6 and 3000; 1e-5 and 500 for large models)
    convergence_tolerance: float = 1e-6  # stop when ||z_{k} - z_{k-1}||^2 < this
    max_steps: int = 3000  # map applications before a start counts as not converged
    merge_cosine: float = 0.99  # end points with cosine similarity above this are one attractor
    merge_distance: float = 0.0  # ... and so are end points this close (Euclidean); 0 = the paper's cosine rule only
    n_noise_starts: int = 1000  # data-free starts for the probe and the noise attractor scores
    # where the noise starts are drawn: standard Gaussian inputs, encoded ("input", needs no data statistics), or
    # standard Gaussian latents ("latent")
    noise_space: NoiseSpace = "input"
    # map applications between the points `trajectory` decodes: the Betti curve's 10 steps (EvaluationConfig) then
    # span 500 iterations, past the median convergence of the training latents on digits (~360)
    trajectory_stride: int = 50
    # OOD scores
    ood_knn_k: int = 1  # knn baseline: distance to the k-th nearest training latent
    ood_covariance: CovarianceEstimator = "ledoit_wolf"  # Mahalanobis baseline: covariance of training latents
    # trajectory score: mean over z_0..z_T of the distance to the training attractors, "nearest" (point-to-set
    # distance, the paper's) or the "mean" distance to every attractor (a second reading of "distance to the set")
    ood_set_distance: SetDistance = "nearest"
    learning_rate: float = 5e-4
    weight_decay: float = 0.0  # the trainer's decoupled decay; the paper's decay is `l2_penalty`
    n_epochs: int = 300
    batch_size: int = 128

    def __post_init__(self) -> None:
        # JSON and TOML give lists; keep the frozen config hashable and comparable.
        object.__setattr__(self, "hidden_dims", tuple(int(width) for width in self.hidden_dims))
        object.__setattr__(self, "conv_channels", tuple(int(width) for width in self.conv_channels))

    def validate(self) -> None:
        super().validate()
        choices = {"architecture": ("mlp", "conv"), "noise_space": ("input", "latent"),
                   "ood_covariance": ("ledoit_wolf", "empirical"), "ood_set_distance": ("nearest", "mean")}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name} {getattr(self, name)!r} is not one of {', '.join(map(repr, valid))}")
        counts = {"latent_dim": self.latent_dim, "max_steps": self.max_steps, "n_noise_starts": self.n_noise_starts,
                  "trajectory_stride": self.trajectory_stride, "ood_knn_k": self.ood_knn_k}
        for name, value in counts.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value!r}")
        if any(width < 1 for width in (*self.hidden_dims, *self.conv_channels)) or not self.conv_channels:
            raise ValueError(f"hidden_dims and conv_channels must be positive widths (conv_channels non-empty), got "
                             f"{self.hidden_dims} and {self.conv_channels}")
        if self.n_train_samples < 0:
            raise ValueError(f"n_train_samples must be >= 0 (0 = the whole train split), got {self.n_train_samples!r}")
        if self.convergence_tolerance <= 0 or self.l2_penalty < 0 or self.merge_distance < 0:
            raise ValueError(f"convergence_tolerance must be > 0, l2_penalty and merge_distance >= 0, got "
                             f"{self.convergence_tolerance}, {self.l2_penalty}, {self.merge_distance}")
        if not -1 <= self.merge_cosine <= 1:
            raise ValueError(f"merge_cosine must be in [-1, 1], got {self.merge_cosine!r}")


def stratified_subset(n_samples: int, labels: np.ndarray | None, n_available: int, seed: int) -> np.ndarray:
    """Sorted indices of `n_samples` of `n_available` examples, drawn from default_rng([seed, SUBSET_STREAM]).

    0 = all of them. With labels, each class gets its share n_samples * n_class / n_available rounded down, and the
    remaining examples go one each to the classes with the largest fractional shares (ties: the lower label), so
    the subset keeps the class proportions; each class's members are a seeded random draw. Without labels, a seeded
    random draw.
    """
    if n_samples > n_available:
        raise ValueError(f"n_train_samples {n_samples} is larger than the train split ({n_available} samples)")
    if n_samples in (0, n_available):
        return np.arange(n_available)
    rng = np.random.default_rng([seed, SUBSET_STREAM])
    if labels is None:
        return np.sort(rng.permutation(n_available)[:n_samples])
    labels = np.asarray(labels)
    if labels.shape != (n_available,):
        raise ValueError(f"labels must be ({n_available},), got shape {labels.shape}")
    classes, counts = np.unique(labels, return_counts=True)
    shares = counts * n_samples / n_available
    quotas = np.floor(shares).astype(int)
    remainder = n_samples - int(quotas.sum())
    quotas[np.argsort(-(shares - quotas), kind="stable")[:remainder]] += 1
    chosen = [rng.permutation(np.flatnonzero(labels == label))[:quota] for label, quota in zip(classes, quotas)]
    return np.sort(np.concatenate(chosen))


def image_side(state_dim: int, n_halvings: int) -> int:
    """Side of the square image a flat state of `state_dim` values is, checked to halve `n_halvings` times."""
    side = math.isqrt(state_dim)
    if side * side != state_dim or side % 2**n_halvings:
        raise ValueError(f"architecture 'conv' needs square images whose side divides by 2^{n_halvings} "
                         f"(one per conv layer); a state of {state_dim} values is not one; use architecture 'mlp'")
    return side


class ConvEncoder(nn.Module):
    """(batch, side * side) -> (batch, latent_dim): stride-2 3x3 convolutions, then a linear layer."""

    def __init__(self, side: int, channels: tuple[int, ...], latent_dim: int, activation: str) -> None:
        super().__init__()
        self.side = side
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip((1, *channels[:-1]), channels):
            layers += [nn.Conv2d(fan_in, fan_out, kernel_size=3, stride=2, padding=1), make_activation(activation)]
        self.convolutions = nn.Sequential(*layers)
        reduced = side // 2 ** len(channels)
        self.linear = nn.Linear(channels[-1] * reduced * reduced, latent_dim)

    def forward(self, x: Tensor) -> Tensor:
        images = x.reshape(len(x), 1, self.side, self.side)  # (batch, 1, side, side)
        return self.linear(self.convolutions(images).flatten(1))  # (batch, C * r * r) -> (batch, latent_dim)


class ConvDecoder(nn.Module):
    """(batch, latent_dim) -> (batch, side * side): a linear layer, then stride-2 4x4 transposed convolutions."""

    def __init__(self, side: int, channels: tuple[int, ...], latent_dim: int, activation: str) -> None:
        super().__init__()
        self.reduced = side // 2 ** len(channels)
        self.channels = channels[-1]
        self.linear = nn.Sequential(nn.Linear(latent_dim, channels[-1] * self.reduced**2), make_activation(activation))
        widths = (*channels[::-1], 1)
        layers: list[nn.Module] = []
        for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.ConvTranspose2d(fan_in, fan_out, kernel_size=4, stride=2, padding=1))  # doubles the side
            if index < len(widths) - 2:
                layers.append(make_activation(activation))
        self.deconvolutions = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        maps = self.linear(z).reshape(len(z), self.channels, self.reduced, self.reduced)  # (batch, C, r, r)
        return self.deconvolutions(maps).flatten(1)  # (batch, 1, side, side) -> (batch, side * side)


@register_family("attractor")
class LatentAttractorAE(Surrogate):
    """Autoencoder whose latent dynamics iterate f = E(D(z)) towards its attractors (advance(z, t) = f^t(z))."""

    config_class = AttractorConfig
    data_view = "autoencode"
    capabilities = frozenset({LATENT_MAP, LATENT_PATH})
    example_spec = DataSpec(state_shape=(16,), n_classes=3)  # 4 x 4 images, so "conv" is testable too
    presets = {
        "smoke": {"latent_dim": 4, "hidden_dims": (16,), "conv_channels": (4, 8), "n_epochs": 5, "max_steps": 200,
                  "n_noise_starts": 32, "trajectory_stride": 2},
        "default": {},
        "paper": {"architecture": "conv", "n_epochs": 500},
    }
    task_presets = {
        # Paper setting (conv AEs on MNIST); bottleneck 32 from its 2..512 sweep. Default: 100 epochs (5.5k steps
        # on the 7k-image split); paper: 500.
        "mnist": {
            "smoke": {"architecture": "conv", "latent_dim": 8, "conv_channels": (4, 8), "n_epochs": 1,
                      "max_steps": 100, "n_noise_starts": 32, "trajectory_stride": 2},
            "default": {"architecture": "conv", "latent_dim": 32, "conv_channels": (32, 64), "n_epochs": 100},
            "paper": {"architecture": "conv", "latent_dim": 32, "conv_channels": (32, 64), "n_epochs": 500},
        },
        # Hidden states are no images: the paper preset keeps the MLP (a conv AE would see a width-64 state as an
        # 8 x 8 picture, and yinyang_acts' width 10 is no square).
        **{task: {"paper": {"architecture": "mlp", "n_epochs": 500}}
           for task in ("yinyang_acts", "digits_acts", "mnist_acts")},
    }

    def __init__(self, config: AttractorConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        if config.architecture == "conv":
            side = image_side(spec.state_dim, len(config.conv_channels))
            self.encoder: nn.Module = ConvEncoder(side, config.conv_channels, config.latent_dim, config.activation)
            self.decoder: nn.Module = ConvDecoder(side, config.conv_channels, config.latent_dim, config.activation)
        else:
            self.encoder = mlp(spec.state_dim, config.hidden_dims, config.latent_dim, config.activation)
            self.decoder = mlp(config.latent_dim, config.hidden_dims[::-1], spec.state_dim, config.activation)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x.reshape(len(x), -1))

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z).reshape(len(z), *self.spec.state_shape)

    def latent_map(self, z: Tensor) -> Tensor:
        """f(z) = E(D(z)), the map whose fixed points are the attractors."""
        return self.encode(self.decode(z))

    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        """f applied t times; t must be a whole number >= 0 (f is a discrete map)."""
        n_steps = round(t)
        if n_steps < 0 or abs(t - n_steps) > 1e-9:
            raise ValueError(f"the attractor map advances in whole steps t >= 0, got t = {t!r}")
        for _ in range(n_steps):
            z = self.latent_map(z)
        return z

    def trajectory_times(self, n_steps: int) -> list[float]:
        """Steps 0, stride, 2 stride, ..., n_steps * stride of the map (stride = config.trajectory_stride)."""
        return [float(step * self.config.trajectory_stride) for step in range(n_steps + 1)]

    def training_examples(self, train_batch: Batch, seed: int) -> Batch:
        """The `n_train_samples` examples of the train split this model trains on and is scored against
        (`stratified_subset`, by "label" when the batch has labels); the whole batch when n_train_samples is 0. The
        runner trains on them (for the same n_epochs, so fewer optimiser steps; the validation split stays whole),
        and the attractor scores call them the training examples."""
        n_available = len(train_batch["source"])
        labels = train_batch["label"].cpu().numpy() if "label" in train_batch else None
        indices = stratified_subset(self.config.n_train_samples, labels, n_available, seed)
        if len(indices) == n_available:
            return train_batch
        chosen = torch.from_numpy(indices).to(train_batch["source"].device)
        return {key: value[chosen] for key, value in train_batch.items()}

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        source = batch["source"]
        terms = {
            "recon": F.mse_loss(self.decode(self.encode(source)), source),
            "l2": sum(parameter.pow(2).sum() for parameter in self.parameters()),
        }
        terms["total"] = terms["recon"] + 0.5 * self.config.l2_penalty * terms["l2"]
        return terms
