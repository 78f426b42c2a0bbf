"""The family registry, the one model factory (`create_surrogate`) and the built-in surrogate families.

`register_family("name")` decorates a `Surrogate` subclass; every module of this package is imported (so a new
built-in family is one new file), and third-party packages add families through the entry-point group
`kae_zoo.families` (the entry point names the class, or a module that registers on import).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ..core.capabilities import check_model_capabilities
from ..core.config import TrainingConfig
from ..core.determinism import seed_everything
from ..core.registry import Registry, import_submodules
from ..core.surrogate import Surrogate
from ..core.types import DataSpec

SurrogateT = TypeVar("SurrogateT", bound=type[Surrogate])


def register_family(name: str) -> Callable[[SurrogateT], SurrogateT]:
    """Class decorator: register a `Surrogate` subclass as family `name` (and set its `name`)."""

    def wrap(cls: SurrogateT) -> SurrogateT:
        if not (isinstance(cls, type) and issubclass(cls, Surrogate)):
            raise TypeError(f"family {name!r} must be a subclass of kae_zoo.Surrogate, got {cls!r}")
        check_model_capabilities(name, cls.capabilities)
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


def create_surrogate(name: str | type[Surrogate], data_spec: DataSpec, *, preset: str = "default",
                     task: str | None = None, seed: int | None = None, config: TrainingConfig | None = None,
                     **overrides: Any) -> Surrogate:
    """The one way a model is built: family `name` for data of `data_spec`, its config resolved from `preset` (and
    the `task`'s own presets) with `overrides` (config field -> value), or given whole as `config` (a checkpoint's);
    with `seed`, every generator is seeded from it first, so the initial weights are the cell's. `name` may also be
    a Surrogate subclass itself (the conformance check builds classes before, or without, registering them).

        model = kae_zoo.create_surrogate("koopman", kae_zoo.DataSpec((10,), n_classes=3), preset="smoke", seed=0,
                                         n_epochs=2)
    """
    if isinstance(name, str):
        family = get_family(name)
    elif isinstance(name, type) and issubclass(name, Surrogate):
        family = name
    else:
        raise TypeError(f"create_surrogate takes a family name or a Surrogate subclass, got {name!r}")
    if config is None:
        config = family.make_config(preset, task, overrides)
    elif overrides:
        raise ValueError(f"give family {family.__name__} a config or overrides, not both (got overrides "
                         f"{sorted(overrides)})")
    if seed is not None:
        seed_everything(seed)
    return family(config, data_spec)


import_submodules(__name__)  # built-in families register themselves on import

__all__ = ["register_family", "list_families", "get_family", "create_surrogate", "FAMILIES"]
