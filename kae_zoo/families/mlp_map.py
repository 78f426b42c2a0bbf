"""Koopman peer `mlp_map`: a direct MLP from layer i to layer j, the accuracy a surrogate reaches with no linear
latent.

It is the Koopman AE with K taken out: an MLP with the widths of the KAE's encoder and decoder back to back
(d -> hidden -> p -> hidden -> d, the task's Koopman preset), trained by the shared trainer on the MSE of the
predicted target states only. To fit the interface, the latent is the MLP's last hidden layer, advance is the
identity and decode is its last linear layer. It has no latent path (advance(z, t) does not depend on t), so the
topology scorer leaves its Betti curve missing rather than scoring an invented path, and no linear operator (no
spectrum, no operator editing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from torch import Tensor, nn
from torch.nn import functional as F

from ..core.config import TrainingConfig
from ..core.surrogate import Surrogate
from ..core.types import Batch, DataSpec
from . import register_family
from .blocks import make_activation, mlp
from .koopman import KoopmanAE, KoopmanConfig


@dataclass(frozen=True)
class MLPMapConfig(TrainingConfig):
    """Direct-map MLP; the defaults are the Koopman AE's Yin-Yang setting (encoder 30, p = 20, decoder 30)."""

    hidden_dims: tuple[int, ...] = (30, 20, 30)  # hidden widths; the last one is the latent
    activation: Literal["leaky_relu", "relu", "tanh", "gelu"] = "leaky_relu"
    learning_rate: float = 0.1
    n_epochs: int = 1000
    batch_size: int = 1024
    lr_schedule: Literal["constant", "cosine", "triangular"] = "triangular"
    cycle_epochs: int = 200

    def __post_init__(self) -> None:
        # JSON and TOML give lists; keep the frozen config hashable and comparable.
        object.__setattr__(self, "hidden_dims", tuple(int(width) for width in self.hidden_dims))

    def validate(self) -> None:
        super().validate()
        if not self.hidden_dims or any(width < 1 for width in self.hidden_dims):
            raise ValueError(f"hidden_dims must be one or more widths >= 1, got {list(self.hidden_dims)}")


# the Koopman AE's config fields that mean the same for a direct map (the rest are K's: p, k, the loss weights)
SHARED_FIELDS = ("activation", "learning_rate", "n_epochs", "batch_size", "lr_schedule", "cycle_epochs",
                 "early_stopping_patience")


def kae_widths(observable_dim: int, hidden: int) -> tuple[int, int, int]:
    """The Koopman AE's encoder and decoder widths back to back: hidden, p, hidden."""
    return (hidden, observable_dim, hidden)


def without_operator(koopman_fields: dict[str, Any]) -> dict[str, Any]:
    """A Koopman AE preset's overrides as mlp_map's: its training fields, and its widths back to back (p and the
    first hidden width, KoopmanConfig's defaults where the preset keeps them)."""
    fields = {name: value for name, value in koopman_fields.items() if name in SHARED_FIELDS}
    if "observable_dim" in koopman_fields or "hidden_dims" in koopman_fields:
        defaults = KoopmanConfig()
        fields["hidden_dims"] = kae_widths(koopman_fields.get("observable_dim", defaults.observable_dim),
                                           koopman_fields.get("hidden_dims", defaults.hidden_dims)[0])
    return fields


@register_family("mlp_map")
class MLPMap(Surrogate):
    """source -> MLP -> target; latent = last hidden layer, advance = identity."""

    config_class = MLPMapConfig
    data_view = "layer_pair"
    baseline_for = "koopman"
    presets = {"smoke": {"n_epochs": 20, "cycle_epochs": 10}, "default": {}, "paper": {}}
    # the Koopman AE's task presets (kae_zoo.families.koopman): its training settings and widths, without K's terms
    task_presets = {task: {preset: without_operator(fields) for preset, fields in by_preset.items()}
                    for task, by_preset in KoopmanAE.task_presets.items()}

    def __init__(self, config: MLPMapConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        *hidden, latent_dim = config.hidden_dims
        self.body = nn.Sequential(mlp(spec.state_dim, hidden, latent_dim, config.activation),
                                  make_activation(config.activation))  # d -> ... -> last hidden layer
        self.head = nn.Linear(latent_dim, spec.state_dim)  # the last linear layer: decode

    def encode(self, x: Tensor) -> Tensor:
        return self.body(x.flatten(1))

    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        return z  # the map is all in encode and decode: no latent dynamics

    def decode(self, z: Tensor) -> Tensor:
        return self.head(z).reshape(z.shape[0], *self.spec.state_shape)

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        state = F.mse_loss(self(batch["source"]), batch["target"])
        return {"state": state, "total": state}
