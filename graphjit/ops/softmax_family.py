"""The softmax family: ``logsumexp``, ``softmax`` and ``log_softmax``, numerically stable.

Conventions (those of :mod:`graphjit.ops.reductions`):

* ``axes`` is a sorted tuple of distinct non-negative axes; the public functions normalise numpy's
  ``axis`` (int, tuple, negative or None) and accept PyTorch's ``dim=`` (and ``keepdim=`` for
  ``logsumexp``).
* The slice maximum is subtracted before ``exp`` (as scipy.special): an all -inf slice gives -inf
  for ``logsumexp`` and NaN for ``softmax``. Int inputs give float64.
* ``softmax``/``log_softmax`` default to the last axis and keep the shape of their input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ir import Node, TensorType
from graphjit.ops import prims
from graphjit.ops.dispatch import ArrayLike, Value, apply, lift
from graphjit.ops.prims import expand_reduced
from graphjit.ops.registry import DimBuilder, OpDef, defop
from graphjit.ops.shape_rules import (
    axis_or_dim,
    check_axes,
    float_reduce_infer,
    is_scalar_dim,
    normalize_axes,
    reduced_call_dims,
    reduction_axes,
)

__all__ = ["logsumexp", "softmax", "log_softmax"]


# --------------------------------------------------------------------------------------------------
# shape rules


def _softmax_infer(name: str) -> Any:
    def infer(x: TensorType, *, axes: tuple[int, ...]) -> TensorType:
        if not is_float(x.dtype):
            raise TypeError(f"{name}: expected a float input, got {x.dtype}")
        check_axes(name, x, axes)
        return x

    return infer


# --------------------------------------------------------------------------------------------------
# derivative helpers (written with gj functions: they build graph or compute eagerly)


def _logsumexp_vjp(g: Any, out: Any, x: Any, *, axes: tuple[int, ...], keepdims: bool) -> tuple:
    return (expand_reduced(g, axes, keepdims) * apply(SOFTMAX, x, axes=axes),)


def _logsumexp_jvp(
    tangents: Any, out: Any, x: Any, *, axes: tuple[int, ...], keepdims: bool
) -> Any:
    (t,) = tangents
    if t is None:
        return None
    return prims.sum(t * apply(SOFTMAX, x, axes=axes), axes, keepdims)


def _softmax_vjp(g: Any, out: Any, x: Any, *, axes: tuple[int, ...]) -> tuple:
    gs = g * out
    return (gs - out * prims.sum(gs, axes, True),)


def _softmax_jvp(tangents: Any, out: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    (t,) = tangents
    if t is None:
        return None
    ts = t * out
    return ts - out * prims.sum(ts, axes, True)


def _log_softmax_vjp(g: Any, out: Any, x: Any, *, axes: tuple[int, ...]) -> tuple:
    return (g - apply(SOFTMAX, x, axes=axes) * prims.sum(g, axes, True),)


def _log_softmax_jvp(tangents: Any, out: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    (t,) = tangents
    if t is None:
        return None
    return t - prims.sum(apply(SOFTMAX, x, axes=axes) * t, axes, True)


# --------------------------------------------------------------------------------------------------
# numpy references


def _shift(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """The slice maxima (keepdims), with non-finite maxima replaced by 0 (so -inf/inf slices give
    numpy's -inf/inf/nan rather than inf - inf). A slice holding +inf then sums to inf, which
    softmax and log_softmax answer with NaN for the whole slice, as PyTorch and scipy do."""
    m = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, np.zeros((), x.dtype))


def _logsumexp_impl(x: np.ndarray, *, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = _shift(x, axes)
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axes)
    return np.asarray(out, dtype=x.dtype)


def _softmax_impl(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = np.exp(x - _shift(x, axes))
        total = np.sum(e, axis=axes, keepdims=True)  # inf: the slice holds +inf
        return np.asarray(np.where(total < np.inf, e / total, np.nan), dtype=x.dtype)


def _log_softmax_impl(x: np.ndarray, *, axes: tuple[int, ...]) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        shifted = x - _shift(x, axes)
        log_total = np.log(np.sum(np.exp(shifted), axis=axes, keepdims=True))
        out = np.where(log_total < np.inf, shifted - log_total, np.nan)
    return np.asarray(out, dtype=x.dtype)


# --------------------------------------------------------------------------------------------------
# the ops

LOGSUMEXP: OpDef = defop(
    "logsumexp",
    infer=float_reduce_infer("logsumexp"),
    impl=_logsumexp_impl,
    vjp=_logsumexp_vjp,
    jvp=_logsumexp_jvp,
    kind="reduction",
    call_dims=reduced_call_dims,
    to_float=True,
    doc="log(sum(exp(x))) over axes, computed with the slice maximum subtracted",
)


def _softmax_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return list(ins[0])


SOFTMAX: OpDef = defop(
    "softmax",
    infer=_softmax_infer("softmax"),
    impl=_softmax_impl,
    vjp=_softmax_vjp,
    jvp=_softmax_jvp,
    kind="reduction",
    call_dims=_softmax_call_dims,
    to_float=True,
    doc="exp(x) / sum(exp(x)) over axes (same shape as x), computed stably",
)
LOG_SOFTMAX: OpDef = defop(
    "log_softmax",
    infer=_softmax_infer("log_softmax"),
    impl=_log_softmax_impl,
    vjp=_log_softmax_vjp,
    jvp=_log_softmax_jvp,
    kind="reduction",
    call_dims=_softmax_call_dims,
    to_float=True,
    doc="x - logsumexp(x) over axes (same shape as x), computed stably",
)


# --------------------------------------------------------------------------------------------------
# public functions


def logsumexp(
    x: ArrayLike,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """``log(sum(exp(x)))`` over ``axis``, stable as scipy.special.logsumexp (all -inf slices give
    -inf). Int inputs give float64. The gradient is ``softmax(x)`` over the same axes."""
    x = lift(x)
    axes, keep = reduction_axes("logsumexp", x, axis, dim, keepdims, keepdim)
    return apply(LOGSUMEXP, x, axes=axes, keepdims=keep)


def softmax(x: ArrayLike, axis: Any = -1, *, dim: Any = None) -> Value:
    """``exp(x) / sum(exp(x))`` over ``axis`` (default the last; a tuple or None also work),
    computed stably. A slice of all -inf gives NaN, as scipy.special.softmax. A 0-d ``x``
    (with axis 0, -1 or None) is its own slice, as in PyTorch."""
    x = lift(x)
    if x.ndim == 0:
        return _as_vector(softmax, x, "softmax", axis if dim is None else dim)
    axes = normalize_axes(
        axis_or_dim("softmax", axis if dim is None else None, dim), x.ndim, "softmax"
    )
    return apply(SOFTMAX, x, axes=axes)


def log_softmax(x: ArrayLike, axis: Any = -1, *, dim: Any = None) -> Value:
    """``x - logsumexp(x, axis, keepdims=True)`` (default the last axis), computed stably."""
    x = lift(x)
    if x.ndim == 0:
        return _as_vector(log_softmax, x, "log_softmax", axis if dim is None else dim)
    axes = normalize_axes(
        axis_or_dim("log_softmax", axis if dim is None else None, dim), x.ndim, "log_softmax"
    )
    return apply(LOG_SOFTMAX, x, axes=axes)


def _as_vector(fn: Any, x: Any, name: str, axis: Any) -> Value:
    """``fn`` of a 0-d ``x`` along the only axis PyTorch lets it have (0 or -1, or None)."""
    if axis is not None and not is_scalar_dim(axis):
        raise ValueError(f"{name}: axis {axis!r} is out of range for a 0-d array")
    return prims.reshape(fn(prims.reshape(x, (1,)), 0), ())
