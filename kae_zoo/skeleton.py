"""`kae-zoo new-family NAME`: write a working plugin package for a new surrogate family.

The package (pyproject.toml with the entry point, the family module, a conformance test) installs with
`pip install -e .`, appears in `kae-zoo list`, runs with `kae-zoo run --family NAME ...` and passes
`kae_zoo.testing.check_family` (and `kae-zoo check NAME`) as written; the README shows the files it writes. Its
family is a small real variant to edit: MLP encoder and decoder around a learned linear latent flow exp(t G).
"""

from __future__ import annotations

import keyword
import os
import re
import secrets
import shutil
from pathlib import Path

from .families import list_families

PYPROJECT = '''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "kae-zoo-{dashed}"
version = "0.1.0"
description = "The {name} surrogate family for kae-zoo"
requires-python = ">=3.10"
dependencies = ["kae-zoo"]

[tool.setuptools]
py-modules = ["{name}"]

[project.entry-points."kae_zoo.families"]  # how kae-zoo finds the family: NAME = "module:Class"
{name} = "{name}:{cls}"
'''

MODULE = '''"""{name}: a kae-zoo surrogate family (written by `kae-zoo new-family {name}`; edit freely).

An MLP encoder lifts a state into `latent_dim` coordinates, a learned linear flow exp(t G) advances them, and an
MLP decoder maps them back. `advance(z, t)` must accept any real t >= 0: t = 1 is the full step that `forward` and
the scores use, and `trajectory(x, n_steps)` (Betti curves) decodes the latents at `trajectory_times(n_steps)`,
by default t = 0, 1/n_steps, ..., 1. Dynamics defined only at discrete steps override `trajectory_times` to
return n_steps + 1 times they support (e.g. each snapped to the nearest k/K; repeats are allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from kae_zoo import DataSpec, Surrogate
from kae_zoo.core.config import TrainingConfig


@dataclass(frozen=True)
class {cls}Config(TrainingConfig):
    """Hyperparameters; the shared trainer reads the inherited fields (n_epochs, learning_rate, batch_size, ...)."""

    latent_dim: int = 8  # width of the latent space the flow acts on
    hidden_dim: int = 32  # hidden width of the encoder and decoder MLPs
    recon_weight: float = 1.0  # weight of the reconstruction term decode(encode(x)) ~ x

    def validate(self) -> None:
        """Checked before a run starts, so a bad --set value is a one-line error (exit 2), not a failed cell."""
        super().validate()
        if self.latent_dim < 1 or self.hidden_dim < 1 or self.recon_weight < 0:
            raise ValueError(f"latent_dim and hidden_dim must be >= 1 and recon_weight >= 0, got "
                             f"{{self.latent_dim}}, {{self.hidden_dim}}, {{self.recon_weight}}")


class {cls}(Surrogate):
    """MLP encoder and decoder around a learned linear latent flow exp(t G)."""

    config_class = {cls}Config
    data_view = "layer_pair"  # a base network's layer i -> layer j map; "autoencode": the task's inputs themselves
    # exp(t G) between the layers is a path, so the topology scores decode it (kae_zoo.core.capabilities)
    capabilities = frozenset({{"latent_path"}})
    presets = {{"smoke": {{"n_epochs": 2}}, "default": {{"n_epochs": 200}}, "paper": {{"n_epochs": 200}}}}

    def __init__(self, config: {cls}Config, spec: DataSpec) -> None:
        super().__init__(config, spec)
        width, hidden, latent = spec.state_dim, config.hidden_dim, config.latent_dim
        self.encoder = nn.Sequential(nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, width))
        self.generator = nn.Parameter(torch.zeros(latent, latent))  # G = 0: the flow starts as the identity

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x.flatten(1))

    def advance(self, z: Tensor, t: float = 1.0) -> Tensor:
        return z @ torch.linalg.matrix_exp(t * self.generator).T  # row vectors: (exp(tG) z^T)^T

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z).reshape(len(z), *self.spec.state_shape)

    def loss(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        latents = self.encode(batch["source"])
        state = F.mse_loss(self.decode(self.advance(latents)), batch["target"])
        recon = F.mse_loss(self.decode(latents), batch["source"])
        return {{"state": state, "recon": recon, "total": state + self.config.recon_weight * recon}}
'''

TEST = '''"""The {name} family passes kae-zoo's conformance check: `python -m pytest` in this folder (or, once
installed, `kae-zoo check {name}`)."""

from kae_zoo.testing import check_family
from {name} import {cls}


def test_{name}_conforms() -> None:
    check_family({cls})  # the class as imported: no registered name needed


def test_{name}_conforms_with_other_settings() -> None:
    check_family({cls}, overrides={{"latent_dim": 3, "recon_weight": 0.0}})
'''


def class_name(name: str) -> str:
    """my_flow -> MyFlow."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def check_family_name(name: str, *, taken: bool = True) -> None:
    """ValueError unless `name` can be a family, module and entry-point name (and, with `taken`, no family has it
    yet)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ValueError(f"family name {name!r} is invalid: use lower-case letters, digits and '_', starting with a "
                         "letter (it is also the module's name)")
    if taken and name in list_families():
        raise ValueError(f"family {name!r} already exists; choose another name")


def skeleton_files(name: str, *, check_taken: bool = True) -> dict[str, str]:
    """File name -> text of the plugin package for family `name` (`check_taken`: refuse a name a registered family,
    built-in or installed, already has)."""
    check_family_name(name, taken=check_taken)
    fields = {"name": name, "cls": class_name(name), "dashed": name.replace("_", "-")}
    return {"pyproject.toml": PYPROJECT.format(**fields), f"{name}.py": MODULE.format(**fields),
            f"test_{name}.py": TEST.format(**fields)}


def write_family_skeleton(name: str, folder: str | Path | None = None) -> Path:
    """Write the plugin package of family `name` into `folder` (default ./kae-zoo-NAME, with dashes) and return it.

    The folder must not exist; the package is written in a temporary sibling and renamed, so a failure leaves
    nothing behind."""
    files = skeleton_files(name)
    folder = Path(folder) if folder is not None else Path(f"kae-zoo-{name.replace('_', '-')}")
    if folder.exists():
        raise ValueError(f"{str(folder)!r} already exists; give a new folder with --out")
    if not folder.parent.is_dir():
        raise ValueError(f"{str(folder.parent)!r} is not a folder; the package folder is created inside one")
    temporary = folder.parent / f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    temporary.mkdir()  # (not tempfile.mkdtemp: its mode 0o700 would stay on the renamed folder)
    try:
        for file_name, text in files.items():
            (temporary / file_name).write_text(text)
        temporary.rename(folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return folder
