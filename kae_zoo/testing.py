"""The conformance check every surrogate family must pass: `check_family(cls)`.

Run it on a new variant (a plugin or a family in this repository) before benchmarking it; the built-in families run
it in the test suite. It builds the family at its smoke preset (plus optional config overrides) on its
`example_spec` with a seeded random batch and checks, in order: the class declarations, the encode -> advance ->
decode shapes, the trajectory shape, that a fresh model reports no divergence (`divergence_reason()` is None), that
every declared capability is known and implemented (`kae_zoo.core.capabilities`: its methods exist and give the
right shapes), a finite loss whose gradients reach every parameter, seeded determinism, the config's JSON
round-trip at every preset, and the checkpoint round-trip. The first failure raises FamilyCheckError naming the check
and what was wrong.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch

from .core.capabilities import MODEL_CAPABILITIES, MODEL_CAPABILITY_METHODS
from .core.config import PRESETS, TrainingConfig
from .core.surrogate import Surrogate
from .core.types import DataSpec
from .experiments.checkpoints import load, save
from .families import create_surrogate

N_SAMPLES = 16
N_STEPS = 4


class FamilyCheckError(AssertionError):
    """A family broke one of the interface's rules."""


def _require(condition: bool, check: str, detail: str) -> None:
    if not condition:
        raise FamilyCheckError(f"{check}: {detail}")


def smoke_model(family: type[Surrogate], seed: int = 0, overrides: Mapping[str, Any] | None = None) -> Surrogate:
    """The family at its smoke preset (plus `overrides`) on its `example_spec`, its weights drawn from `seed`."""
    return create_surrogate(family, family.example_spec, preset="smoke", seed=seed, **dict(overrides or {}))


def random_batch(model: Surrogate, n_samples: int = N_SAMPLES, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random batch in the model's state shape ("target" = "source" for autoencoders), with labels."""
    return random_states(model.spec, model.data_view, n_samples, seed)


def random_states(spec: DataSpec, data_view: str, n_samples: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """`random_batch` for a data spec and view, before any model is built: Gaussian states, labels below
    spec.n_classes, all drawn from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    shape = (n_samples, *spec.state_shape)
    source = torch.randn(shape, generator=generator)
    target = source if data_view == "autoencode" else torch.randn(shape, generator=generator)
    labels = torch.randint(0, max(spec.n_classes, 1), (n_samples,), generator=generator)
    return {"source": source, "target": target, "label": labels}


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


def check_family(family: type[Surrogate], overrides: Mapping[str, Any] | None = None) -> None:
    """Raise FamilyCheckError unless `family` (a Surrogate subclass) follows the interface (module docstring).

    `overrides` (config field -> value, as `--set` gives them) checks the family at other settings than its smoke
    preset's, e.g. each variant a config field switches between."""
    name = getattr(family, "__name__", repr(family))
    _require(isinstance(family, type) and issubclass(family, Surrogate), "class",
             f"{name} is not a subclass of kae_zoo.Surrogate")
    _require(isinstance(getattr(family, "name", None), str), "class", f"{name} has no `name` (register it)")
    _require(isinstance(family.config_class, type) and issubclass(family.config_class, TrainingConfig), "class",
             f"{name}.config_class must subclass kae_zoo.core.config.TrainingConfig")
    missing = sorted(set(PRESETS) - set(family.presets))
    _require(not missing, "class", f"{name}.presets lacks {missing}")

    model = smoke_model(family, 0, overrides)
    batch = random_batch(model)
    source, target = batch["source"], batch["target"]
    with torch.no_grad():
        latents = model.encode(source)
        _require(latents.ndim == 2 and latents.shape[0] == N_SAMPLES, "shapes",
                 f"encode gave {tuple(latents.shape)}; expected (batch={N_SAMPLES}, latent_dim)")
        advanced = model.advance(latents)
        _require(advanced.shape == latents.shape, "shapes",
                 f"advance changed the latent shape {tuple(latents.shape)} to {tuple(advanced.shape)}")
        predicted = model(source)
        _require(predicted.shape == target.shape, "shapes",
                 f"forward gave {tuple(predicted.shape)}; the target states are {tuple(target.shape)}")
        times = list(model.trajectory_times(N_STEPS))
        _require(len(times) == N_STEPS + 1 and all(time >= 0 for time in times), "trajectory",
                 f"trajectory_times({N_STEPS}) gave {len(times)} times {times}; it must give n_steps + 1 = "
                 f"{N_STEPS + 1} latent times >= 0 (repeats allowed), one per state trajectory(x, {N_STEPS}) decodes")
        path = model.trajectory(source, N_STEPS)
        _require(path.shape == (N_STEPS + 1, *source.shape), "trajectory",
                 f"trajectory(x, {N_STEPS}) gave {tuple(path.shape)}; expected {(N_STEPS + 1, *source.shape)}")
        reason = model.divergence_reason()
        _require(reason is None, "divergence", f"a freshly built model reports divergence: {reason!r}")
        check_capabilities(model, latents)

    terms = model.loss(batch)
    _require(isinstance(terms, dict) and "total" in terms, "loss", "loss(batch) must return a dict with 'total'")
    total = terms["total"]
    _require(total.ndim == 0 and bool(torch.isfinite(total)), "loss", f"'total' must be a finite scalar, got {total}")
    total.backward()
    for parameter_name, parameter in model.named_parameters():
        _require(parameter.grad is not None and bool(parameter.grad.abs().sum() > 0), "gradients",
                 f"parameter {parameter_name} gets no (or a zero) gradient from the loss")

    again, other = smoke_model(family, 0, overrides), smoke_model(family, 1, overrides)
    _require(torch.equal(again.loss(batch)["total"], model.loss(batch)["total"]), "determinism",
             "two models built with the same seed give different losses")
    with torch.no_grad():
        _require(not torch.equal(other(source), again(source)), "determinism",
                 "models built with different seeds give the same forward pass (is initialisation seeded?)")

    for preset in PRESETS:
        config = family.make_config(preset, overrides=overrides)
        _require(family.config_class.from_dict(json.loads(config.to_json())) == config, "config",
                 f"the {preset} config does not survive its JSON round-trip")

    model.eval()
    with tempfile.TemporaryDirectory() as folder:
        loaded = load(save(model, Path(folder) / "model.pt"))
    with torch.no_grad():
        _require(torch.equal(loaded(source), model(source)), "checkpoint",
                 "a saved and loaded model predicts differently from the original")
