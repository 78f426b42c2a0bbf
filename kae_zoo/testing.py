"""The conformance check every surrogate family must pass: `check_family(cls)`, or `kae-zoo check NAME`.

Run it on a new variant (a plugin or a family in this repository) before benchmarking it; the built-in families run
it in the test suite. It takes the class as imported (a plugin needs no registered name: messages use its class
name) or a registered family, builds it at its smoke preset (plus optional config overrides) on its `example_spec`
with a seeded random batch and checks, in order (CHECKS): the class declarations, the encode -> advance -> decode
shapes, the trajectory shape, that a fresh model reports no divergence (`divergence_reason()` is None), that every
declared capability is known and implemented (`kae_zoo.core.capabilities`: its methods exist and give the right
shapes), a finite loss, gradients that reach every parameter, seeded determinism, the config's JSON round-trip at
every preset, and the checkpoint round-trip. `family_checks` yields each check's result (what `kae-zoo check`
prints); `check_family` raises FamilyCheckError naming the first check that failed and what was wrong.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping

import torch

from .core.batching import random_states
from .core.capabilities import MODEL_CAPABILITIES, MODEL_CAPABILITY_METHODS
from .core.config import PRESETS, TrainingConfig
from .core.surrogate import Surrogate
from .experiments.checkpoints import load, save
from .families import FAMILIES, create_surrogate

N_SAMPLES = 16
N_STEPS = 4


class FamilyCheckError(AssertionError):
    """A family broke one of the interface's rules."""


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome: "ok", "FAIL" (`detail` says what was wrong) or "skip" (`detail` names the failed check
    it builds on)."""

    check: str
    status: Literal["ok", "FAIL", "skip"]
    detail: str = ""
    error: BaseException | None = field(default=None, compare=False, repr=False)  # what the family's code raised

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _require(condition: bool, check: str, detail: str) -> None:
    if not condition:
        raise FamilyCheckError(f"{check}: {detail}")


def family_label(family: Any) -> str:
    """How messages name `family`: its registered (or declared) `name`, else its class name."""
    name = getattr(family, "name", None)
    return name if isinstance(name, str) else getattr(family, "__name__", repr(family))


def smoke_model(family: type[Surrogate], seed: int = 0, overrides: Mapping[str, Any] | None = None) -> Surrogate:
    """The family at its smoke preset (plus `overrides`) on its `example_spec`, its weights drawn from `seed`."""
    return create_surrogate(family, family.example_spec, preset="smoke", seed=seed, **dict(overrides or {}))


def random_batch(model: Surrogate, n_samples: int = N_SAMPLES, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random batch in the model's state shape ("target" = "source" for autoencoders), with labels."""
    return random_states(model.spec, model.data_view, n_samples, seed)


@contextlib.contextmanager
def registered(family: type[Surrogate]) -> Iterator[str]:
    """The family's registered name, for what goes through the registry (a checkpoint stores the name and `load`
    looks it up). A class imported but not registered (a plugin before `pip install`, or installed but imported
    before kae-zoo loaded its entry points) gets a temporary name, `check-CLASSNAME`, for the duration."""
    FAMILIES.names()  # load the installed plugins: an installed plugin class gets its entry point's name
    name = getattr(family, "name", None)
    if isinstance(name, str) and name in FAMILIES and FAMILIES.get(name) is family:
        yield name
        return
    temporary, declared = f"check-{family.__name__}", family.__dict__.get("name")
    FAMILIES.register(temporary, family)
    family.name = temporary
    try:
        yield temporary
    finally:
        FAMILIES.unregister(temporary)
        if declared is None:
            del family.name
        else:
            family.name = declared


def check_capabilities(model: Surrogate, latents: torch.Tensor) -> None:
    """Every capability the family declares is known and implemented (`kae_zoo.core.capabilities`)."""
    declared = type(model).capabilities
    _require(isinstance(declared, frozenset), "capabilities", f"capabilities must be a frozenset, got {declared!r}")
    for capability in sorted(declared):
        _require(capability in MODEL_CAPABILITIES, "capabilities",
                 f"unknown capability {capability!r}; valid: {', '.join(MODEL_CAPABILITIES)}")
        for method in MODEL_CAPABILITY_METHODS[capability]:
            _require(callable(getattr(model, method, None)), "capabilities",
                     f"capability {capability!r} needs a method {method}()")
    state_dim = model.spec.state_dim
    if "dictionary" in declared:
        atoms = model.dictionary()
        _require(atoms.ndim == 2 and atoms.shape[0] <= state_dim, "capabilities",
                 f"dictionary() gave {tuple(atoms.shape)}; expected (atom_length <= {state_dim}, n_atoms)")
    if "linear_operator" in declared:
        operator = model.operator(1.0)
        _require(operator.ndim == 2 and operator.shape[0] == operator.shape[1], "capabilities",
                 f"operator(1.0) gave {tuple(operator.shape)}; expected a square (p, p) matrix")
    if "latent_map" in declared:
        mapped = model.latent_map(latents)
        _require(mapped.shape == latents.shape, "capabilities",
                 f"latent_map changed the latent shape {tuple(latents.shape)} to {tuple(mapped.shape)}")


class _Checked:
    """What the checks build and pass on: the model, its batch, latents and loss (absent until a check built it)."""

    def __init__(self, family: type[Surrogate], overrides: Mapping[str, Any] | None) -> None:
        self.family, self.overrides = family, overrides
        self.label = family_label(family)
        self.model: Surrogate | None = None
        self.batch: dict[str, torch.Tensor] | None = None
        self.latents: torch.Tensor | None = None
        self.total: torch.Tensor | None = None


def _check_class(state: _Checked) -> None:
    family, label = state.family, state.label
    _require(isinstance(family, type) and issubclass(family, Surrogate), "class",
             f"{label} is not a subclass of kae_zoo.Surrogate")
    _require(isinstance(getattr(family, "config_class", None), type)
             and issubclass(family.config_class, TrainingConfig), "class",
             f"{label}.config_class must subclass kae_zoo.core.config.TrainingConfig")
    missing = sorted(set(PRESETS) - set(family.presets))
    _require(not missing, "class", f"{label}.presets lacks {missing}")


def _check_shapes(state: _Checked) -> None:
    state.model = model = smoke_model(state.family, 0, state.overrides)
    state.batch = batch = random_batch(model)
    source, target = batch["source"], batch["target"]
    with torch.no_grad():
        state.latents = latents = model.encode(source)
        _require(latents.ndim == 2 and latents.shape[0] == N_SAMPLES, "shapes",
                 f"encode gave {tuple(latents.shape)}; expected (batch={N_SAMPLES}, latent_dim)")
        advanced = model.advance(latents)
        _require(advanced.shape == latents.shape, "shapes",
                 f"advance changed the latent shape {tuple(latents.shape)} to {tuple(advanced.shape)}")
        predicted = model(source)
        _require(predicted.shape == target.shape, "shapes",
                 f"forward gave {tuple(predicted.shape)}; the target states are {tuple(target.shape)}")


def _check_trajectory(state: _Checked) -> None:
    model, source = state.model, state.batch["source"]
    with torch.no_grad():
        times = list(model.trajectory_times(N_STEPS))
        _require(len(times) == N_STEPS + 1 and all(time >= 0 for time in times), "trajectory",
                 f"trajectory_times({N_STEPS}) gave {len(times)} times {times}; it must give n_steps + 1 = "
                 f"{N_STEPS + 1} latent times >= 0 (repeats allowed), one per state trajectory(x, {N_STEPS}) decodes")
        path = model.trajectory(source, N_STEPS)
        _require(path.shape == (N_STEPS + 1, *source.shape), "trajectory",
                 f"trajectory(x, {N_STEPS}) gave {tuple(path.shape)}; expected {(N_STEPS + 1, *source.shape)}")


def _check_divergence(state: _Checked) -> None:
    reason = state.model.divergence_reason()
    _require(reason is None, "divergence", f"a freshly built model reports divergence: {reason!r}")


def _check_capabilities(state: _Checked) -> None:
    with torch.no_grad():
        check_capabilities(state.model, state.latents)


def _check_loss(state: _Checked) -> None:
    terms = state.model.loss(state.batch)
    _require(isinstance(terms, dict) and "total" in terms, "loss", "loss(batch) must return a dict with 'total'")
    total = terms["total"]
    _require(total.ndim == 0 and bool(torch.isfinite(total)), "loss", f"'total' must be a finite scalar, got {total}")
    state.total = total


def _check_gradients(state: _Checked) -> None:
    state.model.zero_grad(set_to_none=True)
    state.total.backward()
    for parameter_name, parameter in state.model.named_parameters():
        _require(parameter.grad is not None and bool(parameter.grad.abs().sum() > 0), "gradients",
                 f"parameter {parameter_name} gets no (or a zero) gradient from the loss")


def _check_determinism(state: _Checked) -> None:
    model, batch = state.model, state.batch
    again, other = smoke_model(state.family, 0, state.overrides), smoke_model(state.family, 1, state.overrides)
    _require(torch.equal(again.loss(batch)["total"], model.loss(batch)["total"]), "determinism",
             "two models built with the same seed give different losses")
    with torch.no_grad():
        _require(not torch.equal(other(batch["source"]), again(batch["source"])), "determinism",
                 "models built with different seeds give the same forward pass (is initialisation seeded?)")


def _check_config(state: _Checked) -> None:
    family = state.family
    for preset in PRESETS:
        config = family.make_config(preset, overrides=state.overrides)
        _require(family.config_class.from_dict(json.loads(config.to_json())) == config, "config",
                 f"the {preset} config does not survive its JSON round-trip")


def _check_checkpoint(state: _Checked) -> None:
    model, source = state.model, state.batch["source"]
    model.eval()
    with registered(state.family), tempfile.TemporaryDirectory() as folder:
        loaded = load(save(model, Path(folder) / "model.pt"))
    with torch.no_grad():
        _require(torch.equal(loaded(source), model(source)), "checkpoint",
                 "a saved and loaded model predicts differently from the original")


# (check, what it needs that an earlier check builds, the check) in the order they run
_CHECKS: tuple[tuple[str, tuple[str, ...], Callable[[_Checked], None]], ...] = (
    ("class", (), _check_class),
    ("shapes", (), _check_shapes),
    ("trajectory", ("model",), _check_trajectory),
    ("divergence", ("model",), _check_divergence),
    ("capabilities", ("latents",), _check_capabilities),
    ("loss", ("model",), _check_loss),
    ("gradients", ("total",), _check_gradients),
    ("determinism", ("model",), _check_determinism),
    ("config", (), _check_config),
    ("checkpoint", ("model",), _check_checkpoint),
)
CHECKS = tuple(check for check, _, _ in _CHECKS)
# which check builds each thing later checks need
_BUILT_BY = {"model": "shapes", "latents": "shapes", "total": "loss"}


def family_checks(family: type[Surrogate], overrides: Mapping[str, Any] | None = None) -> Iterator[CheckResult]:
    """Run every check of `family` (CHECKS, in order) and yield each one's result, as `kae-zoo check` prints them.

    A failing check does not stop the others, except those that need what it would have built (e.g. no model, no
    gradients): they are skipped. After a failed "class" check nothing else runs. An error a check raises (say a
    TypeError from the constructor) is that check's failure, with the error's type and message."""
    state = _Checked(family, overrides)
    for check, needs, run in _CHECKS:
        absent = [need for need in needs if getattr(state, need) is None]
        if absent:
            yield CheckResult(check, "skip", f"needs the {_BUILT_BY[absent[0]]} check to pass")
            continue
        try:
            run(state)
        except FamilyCheckError as error:
            yield CheckResult(check, "FAIL", str(error).removeprefix(f"{check}: "))
        except Exception as error:  # the family's own code raised: that is this check's failure
            yield CheckResult(check, "FAIL", f"{type(error).__name__}: {error}", error)
        else:
            yield CheckResult(check, "ok")
            continue
        if check == "class":
            return


def check_family(family: type[Surrogate], overrides: Mapping[str, Any] | None = None) -> None:
    """Raise FamilyCheckError unless `family` (a Surrogate subclass, registered or just imported) follows the
    interface (module docstring); the error names the first check that failed.

    `overrides` (config field -> value, as `--set` gives them) checks the family at other settings than its smoke
    preset's, e.g. each variant a config field switches between."""
    for result in family_checks(family, overrides):
        if result.status == "FAIL":
            raise FamilyCheckError(f"{result.check}: {result.detail}") from result.error
