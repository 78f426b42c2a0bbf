"""Name -> object registries for surrogate families, tasks, scorers and metrics.

One small generic `Registry` serves them all: built-ins register themselves with a decorator at import,
third-party packages are discovered lazily through an entry-point group, and an unknown name fails with
the closest known names ("did you mean") and the list of all of them (timm's `_registry.py` pattern).
`did_you_mean` gives the same hint to every other place a name is checked (presets, claims, executors, ...).
"""

from __future__ import annotations

import difflib
import logging
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Callable, Generic, Iterable, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """"did you mean 'x'? " naming the known name closest to a misspelt `name` (those tied with it too: "'x' or
    'y'"), or "" when none is close (difflib's similarity ratio >= 0.6); an error message puts it before its list of
    valid names."""
    name = str(name)
    close = difflib.get_close_matches(name, [str(option) for option in known], n=3, cutoff=0.6)
    best = [option for option in close
            if difflib.SequenceMatcher(None, name, option).ratio() >= difflib.SequenceMatcher(None, name,
                                                                                              close[0]).ratio()]
    return f"did you mean {' or '.join(repr(option) for option in best)}? " if best else ""


class UnknownNameError(KeyError):
    """Raised for a name no registry entry has; its message lists the valid names."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to registered objects; optional plugins come from an entry-point group."""

    def __init__(
        self,
        kind: str,
        entry_point_group: str | None = None,
        adopt: Callable[[str, Any], Any] | None = None,
    ) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        # how an entry point that names an object (not a self-registering module) is registered
        self._adopt = adopt or self.register
        self._entries: dict[str, T] = {}
        self._plugins_loaded = False

    def register(self, name: str, obj: T, *, replace: bool = False) -> T:
        """Register `obj` under `name`; a second object with the same name is an error unless `replace`."""
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"{self.kind} name {name!r} is invalid: use letters, digits, '_' or '-'")
        if name in self._entries and self._entries[name] is not obj and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        """Remove the entry `name` (the conformance check registers an unregistered class for its checkpoint
        round-trip and removes it afterwards); an unknown name raises `UnknownNameError`."""
        self.get(name)
        del self._entries[name]

    def decorator(self, name: str) -> Callable[[T], T]:
        """`@registry.decorator("name")` registers the decorated object."""

        def wrap(obj: T) -> T:
            return self.register(name, obj)

        return wrap

    def _load_plugins(self) -> None:
        """Import every entry point of the group once; each plugin registers itself on import."""
        if self._plugins_loaded or self.entry_point_group is None:
            return
        self._plugins_loaded = True
        for entry in entry_points(group=self.entry_point_group):
            try:
                loaded = entry.load()
            except Exception as error:  # a broken plugin must not take the built-ins down with it
                logger.warning("could not load %s plugin %r: %s", self.kind, entry.name, error)
                continue
            # An entry point may name the object itself or just a module that registers on import.
            if entry.name not in self._entries and not isinstance(loaded, ModuleType):
                try:
                    self._adopt(entry.name, loaded)
                except (TypeError, ValueError) as error:
                    logger.warning("could not register %s plugin %r: %s", self.kind, entry.name, error)

    def registered(self) -> list[T]:
        """The entries registered so far, in registration order, without loading plugins."""
        return list(self._entries.values())

    def names(self) -> list[str]:
        """Sorted names of every registered entry, plugins included."""
        self._load_plugins()
        return sorted(self._entries)

    def get(self, name: str) -> T:
        """The entry called `name`; an unknown name raises `UnknownNameError` with the closest and all known names."""
        self._load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; {did_you_mean(name, self._entries)}known "
                                   f"{self.kind} names: {known}") from None

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries


def import_submodules(package: str) -> None:
    """Import every module of `package` (names not starting with "_"), so that built-ins that register themselves
    on import need no list to be added to: a new family, task or scorer is one new file."""
    import importlib
    import pkgutil

    for module in sorted(pkgutil.iter_modules(importlib.import_module(package).__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{package}.{module.name}")
