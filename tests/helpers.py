"""Shared test helpers: tiny models and batches for any registered family."""

from __future__ import annotations

from kae_zoo.core.surrogate import Surrogate
from kae_zoo.families import get_family
from kae_zoo.testing import random_batch, smoke_model  # noqa: F401  (random_batch re-exported for the tests)


def tiny_model(family_name: str, seed: int = 0, **overrides) -> Surrogate:
    """A family's smoke-preset model on its example spec, seeded (`kae_zoo.testing.smoke_model` by name)."""
    return smoke_model(get_family(family_name), seed, overrides or None)
