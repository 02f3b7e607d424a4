"""numpy's NaN-ignoring reductions and the other reductions numpy users reach for: ``amax``,
``amin``, ``nansum``, ``nanmean``, ``nanvar``, ``nanstd``, ``nanmax``, ``nanmin``, ``nanprod``,
``nanargmax``, ``nanargmin``, ``nancumsum``, ``nancumprod``, ``average``, ``ptp``,
``count_nonzero``.

Each is composed of graphjit's ops (a NaN is replaced by the value that leaves the reduction
unchanged, then the plain reduction runs), so it works on graph nodes and eager tensors and its
gradient is that of the ops it is made of: none reaches a NaN element.

All-NaN slices follow numpy: ``nanmax``/``nanmin``/``nanmean``/``nanvar``/``nanstd`` give NaN,
``nansum`` 0 and ``nanprod`` 1. ``nanargmax``/``nanargmin`` raise ValueError on an eager tensor
(numpy's error); a compiled graph cannot raise, so there an all-NaN slice gives -1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit.dtypes import as_dtype, get_default_dtype, is_float, result_dtype
from graphjit.ir import Node
from graphjit.numpy_api.naming import reports_as_itself
from graphjit.ops import (
    broadcast,
    comparison,
    elementwise,
    floating,
    reductions,
    scans,
    shape,
    statistics,
)
from graphjit.ops.dispatch import ArrayLike, Value, astype, lift, lift_together
from graphjit.ops.shape_rules import keepdims_arg, normalize_axes, reduction_axes

__all__ = ["amax", "amin", "nansum", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
           "nanprod", "nanargmax", "nanargmin", "nancumsum", "nancumprod", "average", "ptp",
           "count_nonzero"]  # fmt: skip


@reports_as_itself
def amax(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """The maximum over ``axis``, as numpy.amax (``gj.max`` under numpy's other name); PyTorch's
    ``dim=``/``keepdim=`` too. NaN propagates."""
    _no_out("amax", out)
    a = _nonempty("amax", _checked("amax", a, axis, dim), axis, dim, "maximum")
    return reductions.max(a, axis, keepdims, dim=dim, keepdim=keepdim)


@reports_as_itself
def amin(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """The minimum over ``axis``, as numpy.amin (``gj.min``); PyTorch's spellings too."""
    _no_out("amin", out)
    a = _nonempty("amin", _checked("amin", a, axis, dim), axis, dim, "minimum")
    return reductions.min(a, axis, keepdims, dim=dim, keepdim=keepdim)


def _checked(name: str, a: Any, axis: Any, dim: Any = None) -> Any:
    """``a`` lifted, after checking ``axis`` (or ``dim``) against it under ``name`` (the
    reduction it delegates to would name itself)."""
    x = lift(a)
    ax = dim if dim is not None else axis
    if ax is not None and not (x.ndim == 0 and dim is not None):
        normalize_axes(ax, x.ndim, name)
    return x


def _nonempty(name: str, x: Any, axis: Any, dim: Any, what: str) -> Any:
    """``x``, after refusing a reduction with no identity (``what``: numpy's word for it) over
    an axis of size 0 known when the graph is built (numpy's ValueError)."""
    ax = dim if dim is not None else axis
    if x.ndim == 0:
        return x
    axes = normalize_axes(ax, x.ndim, name)
    if any(x.shape[i] == 0 for i in axes):
        raise ValueError(f"{name}: zero-size array to reduction operation {what} which has no "
                         "identity")  # fmt: skip
    return x


def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise TypeError(f"{name}: out= is not supported (graph values are immutable)")


def _nan_replaced(x: Any, fill: Any) -> Any:
    """``x`` with its NaNs replaced by ``fill`` (ints and bools have none: themselves)."""
    if not is_float(x.dtype):
        return x
    return comparison.where(floating.isnan(x), fill, x)


def _valid_count(x: Any, axes: tuple[int, ...], keep: bool) -> Any:
    """The number of non-NaN elements of the float ``x`` on ``axes``, in ``x``'s dtype."""
    return reductions.sum(astype(comparison.logical_not(floating.isnan(x)), x.dtype), axes, keep)


def _static_count(x: Any, axes: tuple[int, ...]) -> Any:
    dims = [x.shape[a] for a in axes]
    if all(isinstance(d, int) for d in dims):
        return math.prod(dims)
    return reductions.size_of(x, axes, "float64")


def _prepare(name: str, a: Any, axis: Any, dim: Any, keepdims: Any, keepdim: Any) -> Any:
    x = lift(a)
    axes, keep = reduction_axes(name, x, axis, dim, keepdims, keepdim)
    return x, axes, keep


@reports_as_itself
def nansum(
    a: ArrayLike,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Sum over ``axis`` treating NaN as 0, as numpy.nansum (and torch.nansum's ``dim``,
    ``keepdim``): an all-NaN slice sums to 0. Ints and bools sum as ``gj.sum`` does."""
    _no_out("nansum", out)
    x, axes, keep = _prepare("nansum", a, axis, dim, keepdims, keepdim)
    return reductions.sum(_nan_replaced(x, 0), axes, keep, dtype=dtype)


@reports_as_itself
def nanprod(
    a: ArrayLike,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Product over ``axis`` treating NaN as 1, as numpy.nanprod (an all-NaN slice gives 1)."""
    _no_out("nanprod", out)
    x, axes, keep = _prepare("nanprod", a, axis, dim, keepdims, keepdim)
    x = _nan_replaced(x, 1)
    return reductions.prod(x, axes, keep, dtype=dtype)


def _float(name: str, x: Any, dtype: Any) -> Any:
    if dtype is not None:
        if is_float(x.dtype) and not is_float(as_dtype(dtype)):
            raise TypeError(f"{name}: if a is inexact, then dtype must be inexact, got {dtype!r}")
        return astype(x, dtype)
    return x if is_float(x.dtype) else astype(x, get_default_dtype())


@reports_as_itself
def nanmean(
    a: ArrayLike,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Mean of the non-NaN elements over ``axis``, as numpy.nanmean (torch.nanmean's ``dim``,
    ``keepdim`` too): an all-NaN slice gives NaN; ints and bools give float64."""
    _no_out("nanmean", out)
    x, axes, keep = _prepare("nanmean", a, axis, dim, keepdims, keepdim)
    x = _float("nanmean", x, dtype)
    total = reductions.sum(_nan_replaced(x, 0), axes, keep)
    return total / _valid_count(x, axes, keep)


@reports_as_itself
def nanvar(
    a: ArrayLike,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int | float = 0,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
    correction: int | float | None = None,
) -> Value:
    """Variance of the non-NaN elements over ``axis``, as numpy.nanvar: ``sum((x - m)**2) / (n
    - ddof)`` over the n non-NaN elements, NaN where ``n - ddof <= 0`` (an all-NaN slice)."""
    return _variance("nanvar", a, axis, dtype, out, ddof, keepdims, dim, keepdim, correction)


def _variance(
    name: str,
    a: Any,
    axis: Any,
    dtype: Any,
    out: Any,
    ddof: Any,
    keepdims: Any,
    dim: Any,
    keepdim: Any,
    correction: Any,
) -> Any:
    _no_out(name, out)
    if correction is not None:
        ddof = correction
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: ddof must be a number, got {ddof!r}")
    x, axes, keep = _prepare(name, a, axis, dim, keepdims, keepdim)
    x = _float(name, x, dtype)
    valid = comparison.logical_not(floating.isnan(x))
    count = reductions.sum(astype(valid, x.dtype), axes, True)
    centered = x - reductions.sum(_nan_replaced(x, 0), axes, True) / count
    centered = comparison.where(valid, centered, 0)
    squares = reductions.sum(centered * centered, axes, True)
    dof = count - ddof
    var = comparison.where(dof > 0, squares / comparison.where(dof > 0, dof, 1), math.nan)
    return var if keep or not axes else shape.squeeze(var, axes)


@reports_as_itself
def nanstd(
    a: ArrayLike,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int | float = 0,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
    correction: int | float | None = None,
) -> Value:
    """``sqrt(nanvar(...))``, as numpy.nanstd."""
    var = _variance("nanstd", a, axis, dtype, out, ddof, keepdims, dim, keepdim, correction)
    return elementwise.sqrt(var)


def _nan_extreme(name: str, a: Any, axis: Any, keepdims: Any, dim: Any, keepdim: Any) -> Any:
    x, axes, keep = _prepare(name, a, axis, dim, keepdims, keepdim)
    _nonempty(name, x, axis, dim, "maximum" if name == "nanmax" else "minimum")
    reduce = reductions.max if name == "nanmax" else reductions.min
    if not is_float(x.dtype):
        return reduce(x, axes, keep)
    nan = floating.isnan(x)
    fill = -math.inf if name == "nanmax" else math.inf
    out = reduce(comparison.where(nan, fill, x), axes, keep)
    return comparison.where(_all(nan, axes, keep), math.nan, out)


def _all(x: Any, axes: tuple[int, ...], keep: bool) -> Any:
    return reductions.min(astype(x, "int8"), axes, keep) > 0


@reports_as_itself
def nanmax(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """The maximum ignoring NaN, as numpy.nanmax: an all-NaN slice gives NaN (numpy warns). The
    gradient is ``gj.max``'s (ties share it); none reaches a NaN."""
    _no_out("nanmax", out)
    return _nan_extreme("nanmax", a, axis, keepdims, dim, keepdim)


@reports_as_itself
def nanmin(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """The minimum ignoring NaN, as numpy.nanmin: an all-NaN slice gives NaN."""
    _no_out("nanmin", out)
    return _nan_extreme("nanmin", a, axis, keepdims, dim, keepdim)


def _nan_arg(name: str, a: Any, axis: Any, keepdims: Any, dim: Any, keepdim: Any) -> Any:
    x = _checked(name, a, axis, dim)
    ax = dim if dim is not None else axis
    if isinstance(ax, (tuple, list)):
        raise TypeError(f"{name}: axis must be an int or None, got {ax!r}")
    if x.ndim and 0 in [x.shape[i] for i in normalize_axes(ax, x.ndim, name)]:
        raise ValueError(f"{name}: attempt to get {name[3:]} of an empty sequence")
    arg = reductions.argmax if name == "nanargmax" else reductions.argmin
    if not is_float(x.dtype):
        return arg(x, axis, keepdims, dim=dim, keepdim=keepdim)
    nan = floating.isnan(x)
    if not isinstance(x, Node):
        found = np.asarray(nan.cpu().numpy())
        ax = dim if dim is not None else axis
        if found.size and np.all(found, axis=None if ax is None else ax).any():
            raise ValueError(f"{name}: All-NaN slice encountered")
    fill = -math.inf if name == "nanargmax" else math.inf
    out = arg(comparison.where(nan, fill, x), axis, keepdims, dim=dim, keepdim=keepdim)
    keep = keepdims_arg(keepdims, keepdim)
    ax = dim if dim is not None else axis
    axes = tuple(range(x.ndim)) if ax is None else normalize_axes(ax, x.ndim, name)
    return comparison.where(_all(nan, axes, keep), -1, out)


@reports_as_itself
def nanargmax(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    *,
    keepdims: bool = False,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """The index of the maximum ignoring NaN, as numpy.nanargmax. An all-NaN slice raises
    ValueError on an eager tensor, as numpy; in a graph it gives -1."""
    _no_out("nanargmax", out)
    return _nan_arg("nanargmax", a, axis, keepdims, dim, keepdim)


@reports_as_itself
def nanargmin(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    *,
    keepdims: bool = False,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """The index of the minimum ignoring NaN, as numpy.nanargmin (all-NaN: see nanargmax)."""
    _no_out("nanargmin", out)
    return _nan_arg("nanargmin", a, axis, keepdims, dim, keepdim)


@reports_as_itself
def nancumsum(
    a: ArrayLike, axis: Any = None, dtype: Any = None, out: Any = None, *, dim: Any = None
) -> Value:
    """Cumulative sum treating NaN as 0, as numpy.nancumsum (axis None: the flattened array)."""
    _no_out("nancumsum", out)
    x = _nan_replaced(_checked("nancumsum", a, axis, dim), 0)
    return scans.cumsum(x, axis, dtype, dim=dim)


@reports_as_itself
def nancumprod(
    a: ArrayLike, axis: Any = None, dtype: Any = None, out: Any = None, *, dim: Any = None
) -> Value:
    """Cumulative product treating NaN as 1, as numpy.nancumprod."""
    _no_out("nancumprod", out)
    x = _checked("nancumprod", a, axis, dim)
    return scans.cumprod(_nan_replaced(x, 1), axis, dtype, dim=dim)


@reports_as_itself
def ptp(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """The range ``max - min`` over ``axis``, as numpy.ptp (bools are refused, as numpy)."""
    _no_out("ptp", out)
    x = _nonempty("ptp", _checked("ptp", a, axis, dim), axis, dim, "maximum")
    if x.dtype == "bool":
        raise TypeError("ptp: not defined for bool arrays (numpy refuses boolean subtract)")
    hi = reductions.max(x, axis, keepdims, dim=dim, keepdim=keepdim)
    return hi - reductions.min(x, axis, keepdims, dim=dim, keepdim=keepdim)


@reports_as_itself
def count_nonzero(
    a: ArrayLike, axis: Any = None, *, keepdims: bool = False, dim: Any = None
) -> Value:
    """The number of non-zero (true) elements over ``axis`` (int64), as numpy.count_nonzero and
    torch.count_nonzero (``dim=``). NaN counts as non-zero."""
    x = lift(a)
    axes, keep = reduction_axes("count_nonzero", x, axis, dim, keepdims, None)
    nonzero = x if x.dtype == "bool" else comparison.not_equal(x, 0)
    return reductions.sum(astype(nonzero, "int64"), axes, keep)


@reports_as_itself
def average(
    a: ArrayLike,
    axis: Any = None,
    weights: ArrayLike = None,
    returned: bool = False,
    *,
    keepdims: bool = False,
) -> Any:
    """The weighted mean over ``axis``, as numpy.average: ``sum(a * w) / sum(w)``. ``weights``
    has ``a``'s shape, or is 1-D along the one ``axis``. With ``returned=True`` the pair
    ``(average, sum of weights)``, the second broadcast to the first's shape. Weights summing to
    0 raise ZeroDivisionError on eager tensors (numpy's error); in a graph they give NaN/inf."""
    x = _checked("average", a, axis)
    if weights is None:
        avg = statistics.mean(x, axis, keepdims=keepdims)
        if not returned:
            return avg
        axes = normalize_axes(axis, x.ndim, "average")
        count = _static_count(x, axes)
        return avg, elementwise.multiply(broadcast.ones_like(avg), count)
    w = lift_together(weights, x)[0]
    # numpy: an int or bool ``a`` averages in float64 (graphjit: the default float dtype)
    dtype = result_dtype([x, w], to_float=not is_float(x.dtype))
    axes = normalize_axes(axis, x.ndim, "average")
    if tuple(w.shape) != tuple(x.shape):
        if axis is None:
            raise TypeError("average: axis must be given when a and weights differ in shape")
        if w.ndim != 1:
            raise TypeError("average: 1-D weights expected when a and weights differ in shape")
        if len(axes) != 1:
            raise ValueError("average: 1-D weights need a single axis")
        if w.shape[0] != x.shape[axes[0]]:
            raise ValueError(
                f"average: {w.shape[0]} weights for an axis of size {x.shape[axes[0]]}"
            )
        w = shape.reshape(w, tuple(-1 if i == axes[0] else 1 for i in range(x.ndim)))
    x, w = astype(x, dtype), astype(w, dtype)
    scale = reductions.sum(elementwise.multiply(broadcast.ones_like(x), w), axes, keepdims)
    if not isinstance(scale, Node) and np.any(np.asarray(scale.detach().cpu().numpy()) == 0):
        raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
    avg = reductions.sum(elementwise.multiply(x, w), axes, keepdims) / scale
    return (avg, scale) if returned else avg
