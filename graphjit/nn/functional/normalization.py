"""Normalisation functions of ``gj.nn.functional``: layer_norm, group_norm, instance_norm,
batch_norm, rms_norm and local_response_norm (PyTorch's functional forms). Statistics use the
biased variance; running statistics are updated with the unbiased one, as PyTorch does."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.autodiff.tape import no_grad
from graphjit.ir import Node
from graphjit.nn.module import mark_modified
from graphjit.ops.dispatch import is_tensor

__all__ = [
    "layer_norm",
    "group_norm",
    "instance_norm",
    "batch_norm",
    "rms_norm",
    "local_response_norm",
]


def _normalize_over(x: Any, axes: tuple[int, ...], eps: float) -> Any:
    mean = ops.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = ops.mean(centred * centred, axis=axes, keepdims=True)
    return centred / ops.sqrt(var + eps)


def _check_param(name: str, what: str, value: Any, expected: tuple[Any, ...]) -> None:
    """Raise unless ``value`` (None for none) has the shape ``expected`` (None matches any)."""
    if value is None:
        return
    shape = tuple(ops.lift(value).shape)
    if len(shape) != len(expected) or any(
        isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(shape, expected)
    ):
        raise ValueError(f"{name}: expected {what} of shape {expected}, got shape {shape}")


def _check_channel_params(name: str, x: Any, **params: Any) -> None:
    """Each of ``params`` (weight, bias, running statistics) must hold one value per channel."""
    for what, value in params.items():
        _check_param(name, what, value, (tuple(x.shape)[1],))


def _per_channel(param: Any, ndim: int) -> Any:
    """A (C,) parameter shaped to broadcast over (N, C, *spatial)."""
    return ops.reshape(ops.lift(param), (-1,) + (1,) * (ndim - 2))


def _affine(y: Any, weight: Any, bias: Any, ndim: int) -> Any:
    if weight is not None:
        y = y * _per_channel(weight, ndim)
    if bias is not None:
        y = y + _per_channel(bias, ndim)
    return y


def layer_norm(
    input: Any,
    normalized_shape: Any,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Any:
    """Normalise over the trailing dims ``normalized_shape``, then scale and shift."""
    x = ops.lift(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    tail = tuple(x.shape)[x.ndim - len(shape) :]
    if len(shape) > x.ndim or any(isinstance(d, int) and d != s for d, s in zip(tail, shape)):
        raise ValueError(
            f"layer_norm: normalized_shape {shape} does not match the trailing dims of the "
            f"input, shape {tuple(x.shape)}"
        )
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    y = _normalize_over(x, tuple(range(x.ndim - len(shape), x.ndim)), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _trailing_axes(x: Any, normalized_shape: Any, name: str) -> tuple[int, ...]:
    """The axes of ``x`` that ``normalized_shape`` names: its trailing dims, checked."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    tail = tuple(x.shape)[x.ndim - len(shape) :]
    if len(shape) > x.ndim or any(isinstance(d, int) and d != s for d, s in zip(tail, shape)):
        raise ValueError(
            f"{name}: normalized_shape {shape} does not match the trailing dims of the "
            f"input, shape {tuple(x.shape)}"
        )
    return tuple(range(x.ndim - len(shape), x.ndim))


def rms_norm(
    input: Any, normalized_shape: Any, weight: Any = None, eps: float | None = None
) -> Any:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing dims ``normalized_shape``;
    ``eps=None`` is the machine epsilon of the input's dtype, as PyTorch's."""
    x = ops.lift(input)
    axes = _trailing_axes(x, normalized_shape, "rms_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    _check_param("rms_norm", "weight", weight, shape)
    if eps is None:
        eps = float(np.finfo(np.dtype(x.dtype)).eps)
    y = x * (1.0 / ops.sqrt(ops.mean(x * x, axis=axes, keepdims=True) + eps))
    return y if weight is None else y * weight


def local_response_norm(
    input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Any:
    """Each element divided by ``(k + alpha * mean(x**2 over size neighbouring channels)) **
    beta``; the window of channel ``c`` spans ``[c - size // 2, c + (size - 1) // 2]``, channels
    outside counting as zeros (PyTorch's)."""
    x = ops.lift(input)
    if x.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected an input (N, C, *) of 3 or more dims, got shape "
            f"{tuple(x.shape)}"
        )
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    channels = tuple(x.shape)[1]
    if not isinstance(channels, int):
        raise ValueError(f"local_response_norm: the channels (dim 1) must be known, got {x.shape}")
    sq = x * x
    widths = [(0, 0)] * x.ndim
    widths[1] = (size // 2, (size - 1) // 2)
    padded = ops.pad(sq, widths)
    window = ops.take(padded, np.arange(channels), axis=1)
    for j in range(1, size):
        window = window + ops.take(padded, np.arange(j, j + channels), axis=1)
    div = ops.power(window * (alpha / size) + k, beta)
    return x / div


def group_norm(
    input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Any:
    """Normalise (N, C, *) over each group of C // num_groups channels and the spatial dims."""
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    x = ops.lift(input)
    shape = tuple(x.shape)
    if x.ndim < 2 or not isinstance(shape[1], int) or shape[1] % num_groups:
        raise ValueError(
            f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, "
            f"got shape {shape}"
        )
    rest = shape[2:]
    if not all(isinstance(d, int) for d in rest):
        raise ValueError(f"group_norm: the spatial dims must be known, got shape {shape}")
    _check_channel_params("group_norm", x, weight=weight, bias=bias)
    per_group = shape[1] // num_groups * math.prod(rest)
    batch = -1 if shape[0] is None else shape[0]
    grouped = ops.reshape(x, (batch, num_groups, per_group))
    y = ops.reshape_like(_normalize_over(grouped, (2,), eps), x)
    return _affine(y, weight, bias, x.ndim)


def _update_running(stat: Any, value: Any, momentum: float, name: str) -> None:
    """PyTorch's in-place ``stat = (1 - momentum) * stat + momentum * value``: with numpy for a
    batch in host memory (``value`` a numpy array), with eager ops on the device for a batch on
    the GPU (``value`` a tensor there, and ``stat`` must be one too)."""
    if is_tensor(value):
        if not (is_tensor(stat) and stat.is_cuda):
            raise RuntimeError(
                f"{name}: the input is on cuda:0 but a running statistic is not; move the "
                "statistics (or the module) with .to('cuda')"
            )
        with no_grad():  # written into the statistic's device array (its version bumped)
            stat.mul_(1.0 - momentum).add_(momentum * value.astype(stat.dtype))
        return
    if is_tensor(stat) and stat.is_cuda:
        raise RuntimeError(
            f"{name}: a running statistic is on cuda:0 but the input is not; move the input "
            "with .to('cuda')"
        )
    arr = stat.numpy() if is_tensor(stat) else stat
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name}: running statistics must be tensors or arrays to update in place")
    arr *= 1.0 - momentum
    arr += momentum * value.astype(arr.dtype, copy=False)
    if is_tensor(stat):
        mark_modified(stat)


def _values(x: Any) -> np.ndarray:
    return np.asarray(x.detach().numpy() if is_tensor(x) else x)


def _batch_statistics(x: Any, axes: tuple[int, ...]) -> tuple[Any, Any]:
    """The mean and the unbiased variance of ``x`` over ``axes``: numpy arrays, or for a tensor
    on the GPU tensors computed there (nothing goes to the host)."""
    if is_tensor(x) and x.is_cuda:
        with no_grad():
            xd = x.detach()
            n = math.prod(xd.shape[a] for a in axes)
            centred = xd - ops.mean(xd, axis=axes, keepdims=True)
            var = ops.mean(centred * centred, axis=axes) * (n / max(n - 1, 1))
            return ops.mean(xd, axis=axes), var
    arr = _values(x)
    n = math.prod(arr.shape[a] for a in axes)
    return arr.mean(axis=axes), arr.var(axis=axes) * (n / max(n - 1, 1))


def _running_stats_update(
    x: Any,
    axes: tuple[int, ...],
    running_mean: Any,
    running_var: Any,
    momentum: float,
    name: str,
    reduce_first: bool = False,
) -> None:
    if isinstance(x, Node):
        raise NotImplementedError(
            f"{name}: on graphs the running statistics cannot be updated in place in training "
            "mode; pass running_mean=None and running_var=None, or use gj.nn.BatchNorm1d/2d, "
            "whose graph calls record the update for model.buffer_updates(loss)"
        )
    mean, var = _batch_statistics(x, axes)
    if reduce_first:  # instance norm: the per-instance statistics averaged over the batch
        mean, var = mean.mean(axis=0), var.mean(axis=0)
    if running_mean is not None:
        _update_running(running_mean, mean, momentum, name)
    if running_var is not None:
        _update_running(running_var, var, momentum, name)


def check_batch_size(x: Any, fn: str) -> None:
    """Training statistics need more than one value per channel (the unbiased variance of one
    value is nan); PyTorch refuses such a batch the same way. A graph's batch dim unknown until
    the call is not checked here."""
    values = [d for k, d in enumerate(x.shape) if k != 1]
    if all(isinstance(d, int) for d in values) and math.prod(values) == 1:
        raise ValueError(
            f"{fn}: expected more than 1 value per channel when training, got input shape "
            f"{tuple(x.shape)}"
        )


def batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Batch normalisation of (N, C, *) per channel. In training the batch statistics are used and
    the running statistics (tensors or arrays, when given) are updated in place; in evaluation the
    running statistics are used."""
    x = ops.lift(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C, *), got shape {tuple(x.shape)}")
    _check_channel_params(
        "batch_norm",
        x,
        running_mean=running_mean,
        running_var=running_var,
        weight=weight,
        bias=bias,
    )
    axes = (0, *range(2, x.ndim))
    if training:
        check_batch_size(x, "batch_norm")
        if running_mean is not None or running_var is not None:
            _running_stats_update(x, axes, running_mean, running_var, momentum, "batch_norm")
        y = _normalize_over(x, axes, eps)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
        y = (x - _per_channel(running_mean, x.ndim)) / ops.sqrt(
            _per_channel(running_var, x.ndim) + eps
        )
    return _affine(y, weight, bias, x.ndim)


def instance_norm(
    input: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    """Normalise (N, C, *) per instance and channel over the spatial dims."""
    x = ops.lift(input)
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected input (N, C, *), got shape {tuple(x.shape)}")
    _check_channel_params(
        "instance_norm", x, running_mean=running_mean, running_var=running_var, weight=weight,
        bias=bias,
    )  # fmt: skip
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    axes = tuple(range(2, x.ndim))
    spatial = tuple(x.shape)[2:]
    if all(isinstance(d, int) for d in spatial) and math.prod(spatial) == 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when normalising by the "
            f"input's statistics, got input shape {tuple(x.shape)}"
        )
    if running_mean is not None or running_var is not None:
        _running_stats_update(
            x, axes, running_mean, running_var, momentum, "instance_norm", reduce_first=True
        )
    return _affine(_normalize_over(x, axes, eps), weight, bias, x.ndim)
