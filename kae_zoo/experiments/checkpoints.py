"""Checkpoints of trained surrogates: weights with everything needed to rebuild the model for analysis.

A checkpoint is one `torch.save` file (written atomically) holding the family name, its config, the data spec
(state shape, number of classes), the state dict, where it came from (task, seed) and the kae-zoo version and
checkpoint format that wrote it. `load` rebuilds the model from the family registry, so a plugin family loads
like a built-in one once its package is installed. It reads with `weights_only=True`: a checkpoint cannot run code.

Compatibility: a checkpoint loads when its format equals `CHECKPOINT_FORMAT`; any other format (an older or
newer kae-zoo that stored models differently) is refused with both versions named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..core.atomic import atomic_path
from ..core.surrogate import Surrogate
from ..core.types import DataSpec
from ..core.version import __version__
from ..families import create_surrogate, get_family

CHECKPOINT_FORMAT = 1  # bump when the stored fields or their meaning change
REQUIRED_KEYS = ("format", "kae_zoo_version", "family", "config", "state_shape", "n_classes", "state_dict")


class CheckpointError(ValueError):
    """A file that is not a kae-zoo checkpoint this version can load."""


def save(model: Surrogate, path: str | Path, task: str | None = None, seed: int | None = None) -> Path:
    """Write `model` (any registered family) to `path` with its config, data spec and provenance; returns the path."""
    if not isinstance(model, Surrogate):
        raise TypeError(f"save takes a kae-zoo Surrogate, got {type(model).__name__}")
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "kae_zoo_version": __version__,
        "family": model.name,
        "config": model.config.to_dict(),
        "state_shape": list(model.spec.state_shape),
        "n_classes": model.spec.n_classes,
        "task": task,
        "seed": seed,
        "state_dict": {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()},
    }
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)
    return Path(path)


def load(path: str | Path, device: str | torch.device = "cpu") -> Surrogate:
    """The surrogate saved at `path`, rebuilt from the family registry, in eval mode on `device`.

    CheckpointError (one line, naming the file) for a missing or unreadable file, a file that is not a checkpoint,
    or one of another checkpoint format."""
    payload = read_payload(path)
    family = get_family(payload["family"])
    config = family.config_class.from_dict(payload["config"])
    model = create_surrogate(payload["family"], DataSpec(tuple(payload["state_shape"]), payload["n_classes"]),
                             config=config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path}: its weights do not fit a {family.name} model ({first_line})") \
            from None
    return model.to(device).eval()


def read_payload(path: str | Path) -> dict[str, Any]:
    """The checkpoint's stored fields, checked for completeness and format (no model is built)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for foreign or truncated files
        raise CheckpointError(f"{path} is not a readable kae-zoo checkpoint ({type(error).__name__})") from None
    if not isinstance(payload, dict) or any(key not in payload for key in REQUIRED_KEYS):
        raise CheckpointError(f"{path} is not a kae-zoo checkpoint (it lacks the fields {', '.join(REQUIRED_KEYS)})")
    if payload["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} was written by kae-zoo {payload['kae_zoo_version']} in checkpoint format "
            f"{payload['format']}; this kae-zoo {__version__} reads format {CHECKPOINT_FORMAT} only: load it with "
            f"kae-zoo {payload['kae_zoo_version']}, or train the model again")
    return payload
