"""Shared test helpers: tiny models and batches for any registered family."""

from __future__ import annotations

import torch

from kae_zoo.families import Surrogate, get_family
from kae_zoo.testing import random_batch  # noqa: F401  (re-exported for the tests: seeded batch of any family)


def tiny_model(family_name: str, seed: int = 0, **overrides) -> Surrogate:
    """A family's smoke-preset model on its example spec, seeded."""
    family = get_family(family_name)
    config = family.make_config("smoke", overrides=overrides or None)
    torch.manual_seed(seed)
    return family(config, family.example_spec)
