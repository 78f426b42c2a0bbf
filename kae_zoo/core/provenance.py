"""Where a number came from: the code, the machine and the settings one cell ran with.

Every cell of a result file carries these strings (`PROVENANCE_FIELDS`), so a file that grows over several runs,
commits or machines still says, per cell, what made each number; a resumed run keeps a stored cell only when its
data fingerprint and run settings match the new run's (`kae_zoo.experiments.runner.plan_resume`).
"""

from __future__ import annotations

import functools
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import torch

from .version import __version__

# Per-cell provenance, in the order result files store it. Strings, "" where a cell lacks one (files from before
# per-cell provenance, or a cell that failed before its data was known).
PROVENANCE_FIELDS = ("data_fingerprint", "preset", "device", "machine", "threads", "precision", "compile",
                     "kae_zoo_version", "git_sha", "torch_version", "created")
# The fields a resumed run compares: a stored cell is kept only when all of them equal the new run's.
RESUME_FIELDS = ("data_fingerprint", "preset", "device", "threads", "precision", "compile")


@functools.lru_cache(maxsize=None)
def git_sha() -> str:
    """The commit of the kae-zoo source tree this process runs, with "-dirty" when the package's files differ from
    it; "unknown" outside a git checkout.

    Read once per process: the code a process imported does not change when the checkout does (a commit made while
    a long run goes on must not be credited with cells the old code computed), so the runner reads it when a run
    starts."""
    package = Path(__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=package, capture_output=True, text=True, timeout=5)
        status = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=package, capture_output=True,
                                text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("-dirty" if status.returncode == 0 and status.stdout.strip() else "")


@functools.lru_cache(maxsize=None)
def cpu_model() -> str:
    """The CPU's model name ("model name" in /proc/cpuinfo on Linux), else what `platform` knows, else "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")) and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_name(device: torch.device) -> str:
    """The processor that ran a cell: the GPU's name on CUDA, the CPU model otherwise."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def kae_zoo_version() -> str:
    return __version__


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def cell_provenance(*, data_fingerprint: str, preset: str, device: torch.device, precision: str,
                    compile: bool) -> dict[str, str]:
    """The provenance of a cell run now in this process (threads: torch's current CPU thread count)."""
    return {
        "data_fingerprint": data_fingerprint,
        "preset": preset,
        "device": str(device),
        "machine": machine_name(device),
        "threads": str(torch.get_num_threads()),
        "precision": precision,
        "compile": str(bool(compile)).lower(),
        "kae_zoo_version": kae_zoo_version(),
        "git_sha": git_sha(),
        "torch_version": str(torch.__version__),
        "created": now(),
    }
