"""Configuration shared by every family: the training fields, preset resolution and JSON round-trip.

A family's config is a frozen dataclass that subclasses `TrainingConfig` and adds its model fields. Presets are
small override dicts (nanoGPT style): `smoke` (seconds, for tests), `default` (the benchmark), `paper` (the
published hyperparameters). Resolution order: dataclass defaults <- preset <- task-specific preset <- user
overrides.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Mapping, TypeVar

from .registry import did_you_mean

PRESETS = ("smoke", "default", "paper")
PresetName = Literal["smoke", "default", "paper"]
# how a run computes (`kae_zoo.core.acceleration`): fp32, TF32 matmuls on CUDA, or bfloat16 autocast
PRECISIONS = ("fp32", "tf32", "bf16")

ConfigT = TypeVar("ConfigT", bound="TrainingConfig")


@dataclass(frozen=True)
class TrainingConfig:
    """Fields the shared trainer reads; every family config inherits them."""

    learning_rate: float = 1e-3  # peak learning rate of AdamW
    weight_decay: float = 5e-4  # AdamW decoupled weight decay
    n_epochs: int = 100  # upper bound; early stopping may end sooner
    batch_size: int = 256
    lr_schedule: Literal["constant", "cosine", "triangular"] = "constant"
    # triangular: cyclic between learning_rate * min_lr_fraction and learning_rate, one cycle every
    # `cycle_epochs` epochs (the KAE paper's "triangular cyclic schedule"); cosine decays to the same floor.
    min_lr_fraction: float = 0.01
    cycle_epochs: int = 100
    early_stopping_patience: int = 0  # validation checks without improvement before stopping; 0 = never stop early
    eval_every_epochs: int = 1  # how often the validation loss is computed
    gradient_clip_norm: float = 0.0  # 0 disables clipping

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (JSON-serialisable)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls: type[ConfigT], values: Mapping[str, Any]) -> ConfigT:
        """Build a config from a dict; unknown keys fail with the valid ones listed."""
        return cls(**check_fields(cls, values))

    def validate(self) -> None:
        """Raise ValueError naming the first out-of-range training field."""
        positive = ("learning_rate", "n_epochs", "batch_size", "cycle_epochs", "eval_every_epochs")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if self.weight_decay < 0 or self.early_stopping_patience < 0 or self.gradient_clip_norm < 0:
            raise ValueError("weight_decay, early_stopping_patience and gradient_clip_norm must be >= 0")
        if not 0 < self.min_lr_fraction <= 1:
            raise ValueError(f"min_lr_fraction must be in (0, 1], got {self.min_lr_fraction!r}")
        if self.lr_schedule not in ("constant", "cosine", "triangular"):
            raise ValueError(
                f"lr_schedule {self.lr_schedule!r} is not one of 'constant', 'cosine', 'triangular'"
            )


def check_fields(config_class: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return `values` as a dict after checking every key is a field of `config_class`."""
    valid = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ValueError(
            f"unknown {config_class.__name__} field(s) {', '.join(unknown)}; "
            f"{''.join(did_you_mean(name, sorted(valid)) for name in unknown)}valid: {', '.join(sorted(valid))}"
        )
    return dict(values)


def _accepts(expected: Any, value: Any) -> bool:
    """Whether `value` (as JSON or TOML gives it) is of the annotated field type `expected`."""
    origin, arguments = typing.get_origin(expected), typing.get_args(expected)
    if origin is Literal:
        return value in arguments
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(argument, value) for argument in arguments)
    if origin is tuple:  # tuple[X, ...]: a list or tuple of X
        return isinstance(value, (list, tuple)) and all(_accepts(arguments[0], item) for item in value)
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected in (int, float):  # an int field takes ints; a float field ints or floats; never booleans
        return isinstance(value, (int, float) if expected is float else int) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    return True  # a type this check does not know: left to the config's validate()


def _describe(expected: Any) -> str:
    origin, arguments = typing.get_origin(expected), typing.get_args(expected)
    if origin is Literal:
        return "one of " + ", ".join(repr(argument) for argument in arguments)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(argument) for argument in arguments)
    if origin is tuple:
        return f"a list of {_describe(arguments[0])}"
    return "null" if expected is type(None) else getattr(expected, "__name__", str(expected))


def check_field_types(config_class: type, values: Mapping[str, Any]) -> None:
    """ValueError naming the first of `values` that is not of its field's annotated type (e.g. a string given to
    an int field by `--set koopman.n_epochs=[1`), before the config is built."""
    hints = typing.get_type_hints(config_class)
    for name, value in values.items():
        if name in hints and not _accepts(hints[name], value):
            raise ValueError(f"{config_class.__name__} field {name} = {value!r} ({type(value).__name__}) is not "
                             f"valid; it takes {_describe(hints[name])}")


def resolve_config(
    config_class: type[ConfigT],
    presets: Mapping[str, Mapping[str, Any]],
    task_presets: Mapping[str, Mapping[str, Mapping[str, Any]]],
    preset: str,
    task: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ConfigT:
    """The config for `preset` (and `task`, where the family has task-specific presets), plus overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; {did_you_mean(preset, PRESETS)}valid presets: "
                         f"{', '.join(PRESETS)}")
    values: dict[str, Any] = {}
    values.update(presets.get(preset, {}))
    if task is not None:
        values.update(task_presets.get(task, {}).get(preset, {}))
    check_field_types(config_class, overrides or {})
    values.update(overrides or {})
    config = config_class.from_dict(values)
    config.validate()
    return config
