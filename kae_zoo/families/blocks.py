"""Building blocks shared by several families."""

from __future__ import annotations

from typing import Literal, Sequence

from torch import Tensor, nn

Activation = Literal["leaky_relu", "relu", "tanh", "gelu"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "leaky_relu": nn.LeakyReLU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}


def make_activation(name: str) -> nn.Module:
    """The activation module called `name`; an unknown name lists the valid ones."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(sorted(_ACTIVATIONS))}")
    return _ACTIVATIONS[name]()


def mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int, activation: str = "leaky_relu") -> nn.Sequential:
    """Linear layers in_dim -> *hidden_dims -> out_dim with `activation` between them (none after the last)."""
    dims = [in_dim, *hidden_dims, out_dim]
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(dims) - 2:
            layers.append(make_activation(activation))
    return nn.Sequential(*layers)


def tensor_state(*tensors: Tensor) -> tuple:
    """A key that changes whenever any of `tensors` does (another tensor, storage, in-place version, dtype or
    device: an optimiser step, an edit, `.to()`), for caching what is derived from them (an operator K^t)."""
    return tuple((id(tensor), tensor.data_ptr(), tensor._version, tensor.dtype, tensor.device) for tensor in tensors)
