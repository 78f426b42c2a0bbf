"""A third-party surrogate family: a linear autoencoder with identity latent dynamics (the README's example)."""

from dataclasses import dataclass

from torch import Tensor, nn
from torch.nn import functional as F

from kae_zoo import DataSpec, Surrogate
from kae_zoo.config import TrainingConfig


@dataclass(frozen=True)
class LinearAutoencoderConfig(TrainingConfig):
    latent_dim: int = 8  # width of the linear bottleneck


class LinearAutoencoder(Surrogate):
    """Linear encoder and decoder; the latent state does not move (advance is the identity)."""

    config_class = LinearAutoencoderConfig
    presets = {"smoke": {"n_epochs": 2}, "default": {}, "paper": {}}

    def __init__(self, config: LinearAutoencoderConfig, spec: DataSpec) -> None:
        super().__init__(config, spec)
        self.encoder = nn.Linear(spec.state_dim, config.latent_dim)
        self.decoder = nn.Linear(config.latent_dim, spec.state_dim)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x.flatten(1))

    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        return z

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z).reshape(len(z), *self.spec.state_shape)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        error = F.mse_loss(self(batch["source"]), batch["target"])
        return {"state": error, "total": error}
