"""The family registry and the built-in surrogate families.

`register_family("name")` decorates a `Surrogate` subclass; third-party packages add families through the
entry-point group `kae_zoo.families` (the entry point names the class, or a module that registers on import).
"""

from __future__ import annotations

from typing import Callable, TypeVar

from ..registry import Registry
from .base import Batch, DataSpec, Surrogate

SurrogateT = TypeVar("SurrogateT", bound=type[Surrogate])


def register_family(name: str) -> Callable[[SurrogateT], SurrogateT]:
    """Class decorator: register a `Surrogate` subclass as family `name` (and set its `name`)."""

    def wrap(cls: SurrogateT) -> SurrogateT:
        if not (isinstance(cls, type) and issubclass(cls, Surrogate)):
            raise TypeError(f"family {name!r} must be a subclass of kae_zoo.Surrogate, got {cls!r}")
        cls.name = name
        return FAMILIES.register(name, cls)

    return wrap


FAMILIES: Registry[type[Surrogate]] = Registry(
    "family", entry_point_group="kae_zoo.families", adopt=lambda name, cls: register_family(name)(cls)
)


def list_families() -> list[str]:
    """Names of every registered family, built-in and plugin."""
    return FAMILIES.names()


def get_family(name: str) -> type[Surrogate]:
    """The family class called `name`; an unknown name raises an error listing the known families."""
    return FAMILIES.get(name)


# Built-in families register themselves on import.
from . import attractor, koopman, lifted_sae, sae, sae_cnn, sae_fno, sklearn_dict  # noqa: E402,F401

__all__ = ["Batch", "DataSpec", "Surrogate", "register_family", "list_families", "get_family", "FAMILIES"]
