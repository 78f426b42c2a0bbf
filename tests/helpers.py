"""Shared test helpers: tiny models and batches for any registered family."""

from __future__ import annotations

import torch

from kae_zoo.families import Surrogate, get_family


def tiny_model(family_name: str, seed: int = 0, **overrides) -> Surrogate:
    """A family's smoke-preset model on its example spec, seeded."""
    family = get_family(family_name)
    config = family.make_config("smoke", overrides=overrides or None)
    torch.manual_seed(seed)
    return family(config, family.example_spec)


def random_batch(model: Surrogate, n_samples: int = 16, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random batch in the model's state shape."""
    generator = torch.Generator().manual_seed(seed)
    shape = (n_samples, *model.spec.state_shape)
    source = torch.randn(shape, generator=generator)
    target = source if model.data_view == "autoencode" else torch.randn(shape, generator=generator)
    labels = torch.randint(0, max(model.spec.n_classes, 1), (n_samples,), generator=generator)
    return {"source": source, "target": target, "label": labels}
