"""Activation functions of ``gj.nn.functional``, with PyTorch's names and defaults, composed from
``gj`` ops so they run eagerly on tensors and build graph on nodes (gradients come from the ops)."""

from __future__ import annotations

import math
from typing import Any

from graphjit import ops
from graphjit.ir import Node
from graphjit.nn.functional.layers import graph_uniform
from graphjit.nn.module import operand
from graphjit.tensor.creation import rand

__all__ = [
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "softplus",
    "softsign",
    "hardtanh",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "glu",
    "prelu",
    "rrelu",
    "softmin",
    "threshold",
    "hardshrink",
    "softshrink",
    "tanhshrink",
]

# SELU's constants, as in Klambauer et al. and PyTorch
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _inplace_unsupported(inplace: bool, name: str) -> None:
    if inplace:
        raise NotImplementedError(f"{name}: inplace=True is not supported; assign the result")


def relu(input: Any, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "relu")
    return ops.relu(input)


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} is greater than max_val {max_val}")
    return ops.clip(input, min_val, max_val)


def relu6(input: Any, inplace: bool = False) -> Any:
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "leaky_relu")
    x = ops.lift(input)
    return ops.where(x > 0, x, x * negative_slope)


def _negative_expm1(x: Any, alpha: float, inner_scale: float = 1.0) -> Any:
    """``alpha * expm1(inner_scale * x)`` on the negative side; the positive side never reaches
    ``exp`` (a huge x would overflow there, and inf * 0 poisons the gradient of ``where``)."""
    return alpha * ops.expm1(ops.minimum(x, 0.0) * inner_scale)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "elu")
    x = ops.lift(input)
    return ops.where(x > 0, x, _negative_expm1(x, alpha))


def selu(input: Any, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "selu")
    x = ops.lift(input)
    return SELU_SCALE * ops.where(x > 0, x, _negative_expm1(x, SELU_ALPHA))


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "celu")
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    x = ops.lift(input)
    return ops.where(x > 0, x, _negative_expm1(x, alpha, 1.0 / alpha))


def gelu(input: Any, approximate: str = "none") -> Any:
    """``x * Phi(x)`` exactly (through erf), or PyTorch's tanh approximation."""
    x = ops.lift(input)
    if approximate == "none":
        return 0.5 * x * (1.0 + ops.erf(x * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))
        return 0.5 * x * (1.0 + ops.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Any, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "silu")
    x = ops.lift(input)
    return x * ops.sigmoid(x)


def mish(input: Any, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "mish")
    x = ops.lift(input)
    return x * ops.tanh(ops.softplus(x))


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    x = ops.lift(input)
    smooth = ops.softplus(x) if beta == 1.0 else ops.softplus(x * beta) / beta
    return ops.where(x * beta > threshold, x, smooth)


def softsign(input: Any) -> Any:
    x = ops.lift(input)
    return x / (1.0 + ops.abs(x))


def hardsigmoid(input: Any, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "hardsigmoid")
    return ops.clip(ops.lift(input) * (1.0 / 6.0) + 0.5, 0.0, 1.0)


def hardswish(input: Any, inplace: bool = False) -> Any:
    _inplace_unsupported(inplace, "hardswish")
    x = ops.lift(input)
    return x * ops.clip(x + 3.0, 0.0, 6.0) * (1.0 / 6.0)


def logsigmoid(input: Any) -> Any:
    return -ops.softplus(-ops.lift(input))


def sigmoid(input: Any) -> Any:
    return ops.sigmoid(input)


def tanh(input: Any) -> Any:
    return ops.tanh(input)


def _softmax_dim(ndim: int, dim: int | None, name: str) -> int:
    if dim is not None:
        if not -max(ndim, 1) <= dim < max(ndim, 1):
            raise IndexError(f"{name}: dim {dim} is out of range for a {ndim}-d input")
        return dim
    # PyTorch's implicit choice (it warns; graphjit documents it instead)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Any, dim: int | None = None, dtype: Any = None) -> Any:
    """Softmax along ``dim``; without ``dim``, PyTorch's implicit choice (0 for 0-, 1- and 3-d
    inputs, else 1). ``dtype`` casts the input first."""
    x = ops.lift(input)
    if dtype is not None:
        x = ops.astype(x, dtype)
    return ops.softmax(x, axis=_softmax_dim(x.ndim, dim, "softmax"))


def log_softmax(input: Any, dim: int | None = None, dtype: Any = None) -> Any:
    x = ops.lift(input)
    if dtype is not None:
        x = ops.astype(x, dtype)
    return ops.log_softmax(x, axis=_softmax_dim(x.ndim, dim, "log_softmax"))


def glu(input: Any, dim: int = -1) -> Any:
    """``a * sigmoid(b)`` with ``a, b`` the two halves of ``input`` along ``dim``."""
    x = ops.lift(input)
    if x.ndim and not -x.ndim <= dim < x.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for a {x.ndim}-d input")
    size = tuple(x.shape)[dim] if x.ndim else None
    if not isinstance(size, int) or size % 2:
        raise ValueError(f"glu: dim {dim} must have an even, known size, got {size}")
    a, b = ops.split(x, 2, axis=dim)
    return a * ops.sigmoid(b)


def prelu(input: Any, weight: Any) -> Any:
    """``x`` where ``x > 0``, ``weight * x`` elsewhere; ``weight`` holds one slope or one per
    channel (dim 1 of the input; an input of fewer than 2 dims has one channel)."""
    x = ops.lift(input)
    w = ops.lift(operand(weight, x))
    shape = tuple(x.shape)
    n = math.prod(tuple(w.shape)) if all(isinstance(d, int) for d in w.shape) else None
    channels = shape[1] if x.ndim >= 2 else 1
    if w.ndim > 1 or n not in (1, channels) or (n != 1 and not isinstance(channels, int)):
        raise ValueError(
            f"prelu: expected a weight of 1 element or of {channels} (the channels, dim 1 of the "
            f"input), got weight shape {tuple(w.shape)} for input shape {shape}"
        )
    slope = ops.reshape(w, (-1,) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else ops.reshape(w, ())
    return ops.where(x > 0, x, slope * x)


def softmin(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    """``softmax(-input)`` along ``dim`` (PyTorch's implicit choice without it)."""
    x = ops.lift(input)
    if dtype is not None:
        x = ops.astype(x, dtype)
    return ops.softmax(-x, axis=_softmax_dim(x.ndim, dim, "softmin"))


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Any:
    """``value`` where ``x <= threshold``, else ``x`` (so a nan input stays nan, as PyTorch's)."""
    _inplace_unsupported(inplace, "threshold")
    x = ops.lift(input)
    return ops.where(x <= threshold, ops.astype(ops.full_like(x, value), x.dtype), x)


def hardshrink(input: Any, lambd: float = 0.5) -> Any:
    """``x`` where ``|x| > lambd``, else 0."""
    x = ops.lift(input)
    return ops.where(ops.abs(x) > lambd, x, 0.0)


def softshrink(input: Any, lambd: float = 0.5) -> Any:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    x = ops.lift(input)
    return ops.where(x > lambd, x - lambd, ops.where(x < -lambd, x + lambd, 0.0))


def tanhshrink(input: Any) -> Any:
    x = ops.lift(input)
    return x - ops.tanh(x)


def rrelu(
    input: Any,
    lower: float = 1.0 / 8.0,
    upper: float = 1.0 / 3.0,
    training: bool = False,
    inplace: bool = False,
) -> Any:
    """Randomized leaky ReLU: in training each negative element is scaled by a slope drawn
    uniformly in [lower, upper] (eagerly from the generator ``gj.manual_seed`` seeds, on graphs
    from the graph generator, as ``dropout``); otherwise by ``(lower + upper) / 2``."""
    _inplace_unsupported(inplace, "rrelu")
    if not 0.0 <= lower <= upper:
        raise ValueError(f"rrelu: expected 0 <= lower <= upper, got lower={lower}, upper={upper}")
    x = ops.lift(input)
    if not training:
        return ops.where(x >= 0, x, x * ((lower + upper) / 2.0))
    if isinstance(x, Node):
        u: Any = graph_uniform(x)
    else:
        u = rand(*tuple(x.shape), dtype="float64").numpy()
        if getattr(x, "is_cuda", False):  # drawn on the host, joining x on the GPU
            u = ops.lift(u).to(x.device)
    slope = ops.astype(u * (upper - lower) + lower, x.dtype)
    return ops.where(x >= 0, x, x * slope)
