"""Optional speed settings of a run: reduced-precision matmuls (TF32, bf16 autocast) and torch.compile.

They are off by default (fp32, eager) so that every number is reproducible on any machine. With them on:
- "tf32": CUDA float32 matmuls and convolutions use TensorFloat-32 (CUDA only; CPU has no TF32 units);
- "bf16": the training forward pass and loss, and the timed forward pass behind `throughput`, run under
  `torch.autocast(dtype=bfloat16)` (mixed precision: weights, optimiser state and gradients stay float32);
- compile: the model is compiled in place (`nn.Module.compile`), so every call of it runs the compiled graph.
Scores other than throughput are computed in float32 in every case, so they stay comparable across settings.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

from .config import PRECISIONS


@dataclass(frozen=True)
class Acceleration:
    """How fast (and how exactly) a run computes: matmul precision and whether the model is compiled."""

    precision: str = "fp32"
    compile: bool = False

    def validate(self, device: torch.device) -> None:
        """ValueError on a precision that is unknown or that `device` cannot run."""
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.precision == "tf32" and device.type != "cuda":
            raise ValueError(f"precision 'tf32' needs a CUDA device, got {device.type!r}; use fp32 or bf16 on CPU")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be true or false, got {self.compile!r}")

    @contextlib.contextmanager
    def matmul_precision(self) -> Iterator[None]:
        """TF32 CUDA matmuls and convolutions inside the block when precision is "tf32"; restored after."""
        previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        tf32 = self.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32, tf32
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        """bfloat16 autocast on `device` when precision is "bf16", else a block that changes nothing."""
        if self.precision == "bf16":
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare(self, model: nn.Module) -> nn.Module:
        """The model, compiled in place when asked for; the methods it names in `eager_methods` then run eagerly
        (`torch.compiler.disable`, applied here rather than as a decorator: the decorator imports torch._dynamo,
        seconds at import, whether or not anything is compiled)."""
        if self.compile:
            for name in getattr(model, "eager_methods", ()):
                setattr(model, name, torch.compiler.disable(getattr(model, name)))
            model.compile()
        return model


FP32 = Acceleration()
