"""numpy's quantiles: ``quantile``, ``percentile``, ``nanquantile``, ``nanpercentile``, with
numpy's default ``method="linear"`` (numpy's other methods raise NotImplementedError, an unknown
method ValueError).

The slice is sorted (``gj.sort``: NaN last) and the two neighbours of the virtual index
``(n - 1) * q`` are gathered and interpolated with numpy's own formula, so the values agree with
numpy's bit for bit and the gradient flows to the two elements used. For the nan-variants ``n``
counts each slice's non-NaN elements when the graph runs, so they work in compiled graphs too.
``q`` must be known when the graph is built (a number, a list or an array).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit.dtypes import get_default_dtype, is_float
from graphjit.ir import Node
from graphjit.numpy_api.naming import reports_as_itself
from graphjit.ops import (
    broadcast,
    comparison,
    elementwise,
    floating,
    gather,
    joining,
    reductions,
    shape,
    sorting,
)
from graphjit.ops.dispatch import ArrayLike, Value, astype, is_tensor, lift, untracked_array
from graphjit.ops.shape_rules import normalize_axes

__all__ = ["quantile", "percentile", "nanquantile", "nanpercentile"]


# numpy's methods for quantiles; graphjit computes 'linear', its default
_METHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
            "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
            "normal_unbiased", "lower", "higher", "midpoint", "nearest")  # fmt: skip


def _concrete_q(name: str, q: Any, scale: float) -> np.ndarray:
    if isinstance(q, Node) or (is_tensor(q) and untracked_array(q) is None):
        raise TypeError(f"{name}: q must be known when the graph is built (a number or array)")
    raw = np.asarray(q.numpy() if is_tensor(q) else q)
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name}: q must be a number or an array of numbers, got {q!r:.60}")
    arr = raw.astype(np.float64)
    arr = np.true_divide(arr, scale) if scale != 1 else arr
    if not np.all((arr >= 0) & (arr <= 1)):
        if scale != 1:
            raise ValueError(f"{name}: Percentiles must be in the range [0, 100]")
        raise ValueError(f"{name}: Quantiles must be in the range [0, 1]")
    return arr


def _lerp(a: Any, b: Any, t: Any, dtype: str) -> Any:
    """numpy's ``_lerp``: ``a + (b - a) * t``, or ``b - (b - a) * (1 - t)`` where ``t >= 0.5``
    (exact at both ends); ``b - a`` in the elements' dtype, the rest in ``dtype``."""
    diff = b - a
    if dtype != a.dtype:
        a, b, diff = astype(a, dtype), astype(b, dtype), astype(diff, dtype)
    if isinstance(t, float):
        return b - diff * (1 - t) if t >= 0.5 else a + diff * t
    t = astype(t, dtype)
    return comparison.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _quantiles(
    name: str,
    a: Any,
    q: Any,
    axis: Any,
    out: Any,
    method: str,
    keepdims: bool,
    skip_nan: bool,
    scale: float,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    if out is not None:
        raise TypeError(f"{name}: out= is not supported (graph values are immutable)")
    if method not in _METHODS:
        raise ValueError(f"{name}: {method!r} is not a valid method; use one of {_METHODS}")
    if method != "linear":
        raise NotImplementedError(
            f"{name}: method={method!r} is not implemented; graphjit has numpy's default, "
            "method='linear'"
        )
    qs = _concrete_q(name, q, scale)
    x = lift(a)
    axis = dim if dim is not None else axis
    keep = bool(keepdims if keepdim is None else keepdim)
    if x.dtype == "bool":
        raise TypeError(f"{name}: not defined for bool arrays (numpy refuses boolean subtract)")
    if not is_float(x.dtype):
        x = astype(x, get_default_dtype())
    if isinstance(axis, (tuple, list)):
        axes = normalize_axes(axis, x.ndim, name)
        if len(axes) != 1:
            raise NotImplementedError(f"{name}: a tuple of axes is not supported; give one axis")
        axis = axes[0]
    kept_shape = None
    if axis is None:
        kept_shape = (1,) * x.ndim
        x = shape.reshape(x, (-1,))
        ax = 0
    else:
        ax = sorting.sort_axis(name, x, axis, None)[1]
        if x.ndim == 0:
            raise ValueError(f"{name}: axis {axis} is out of range for a 0-d array")
    n = x.shape[ax]
    if skip_nan and (n == 0 or not isinstance(n, int)):
        # numpy: the quantiles of no (non-NaN) elements are NaN. A NaN more at the end of each
        # slice changes no count and gives every slice, even an empty one, an element to read.
        x = joining.concatenate([x, reductions.sum(x, ax, True) + math.nan], ax)
        n = x.shape[ax]
    elif n == 0:
        raise ValueError(f"{name}: the slices along axis {ax} are empty")
    ordered = shape.moveaxis(sorting.sort(x, ax), ax, -1)  # NaN last
    if skip_nan or not isinstance(n, int):  # the count of each slice, when the graph runs
        full = (
            comparison.logical_not(floating.isnan(ordered))
            if skip_nan
            else broadcast.ones_like(ordered, "bool")
        )
        last: Any = reductions.sum(astype(full, "int64"), -1, True) - 1
    else:
        last = n - 1
    # numpy computes in x's dtype for a scalar q, in float64 (from x's dtype) for an array of q
    dtype = x.dtype if qs.ndim == 0 else "float64"
    results = []
    for qv in qs.reshape(-1) if qs.size else np.zeros(1):  # no q: one, dropped below
        if isinstance(last, int):
            virtual = last * float(qv)  # numpy's virtual index for 'linear': (n - 1) * q
            lo = math.floor(virtual)
            low, high = _at(ordered, lo), _at(ordered, min(lo + 1, last))
            t: Any = virtual - lo  # numpy's gamma
        else:
            virtual = astype(last, "float64") * float(qv)
            below = elementwise.floor(virtual)
            t = shape.squeeze(virtual - below, -1)
            lo_i = astype(below, "int64")
            hi_i = elementwise.minimum(lo_i + 1, last)
            # an all-NaN slice (last = -1) reads element 0 and is replaced by NaN below
            low = _along(ordered, elementwise.maximum(lo_i, 0))
            high = _along(ordered, elementwise.maximum(hi_i, 0))
        value = _lerp(low, high, t, dtype)
        if skip_nan:
            value = comparison.where(shape.squeeze(last, -1) < 0, math.nan, value)
        else:  # NaN sorts last: a slice holding one ends with it
            value = comparison.where(floating.isnan(_at(ordered, -1)), math.nan, value)
        results.append(value)
    result = results[0] if qs.ndim == 0 else joining.stack(results, 0)
    if qs.size == 0:
        result = joining.slice_axes(result, [slice(0, 0)] + [None] * (result.ndim - 1))
    if qs.ndim > 1:
        result = shape.reshape(
            result, qs.shape + tuple(-1 if d is None else d for d in result.shape[1:])
        )
    if keep:
        lead = qs.ndim
        if kept_shape is not None:
            result = shape.reshape(result, qs.shape + kept_shape)
        else:
            result = shape.expand_dims(result, lead + ax)
    return result


def _at(ordered: Any, i: int) -> Any:
    """Element ``i`` (negative: from the end) of each slice (the last axis)."""
    last = slice(i, i + 1 if i != -1 else None)
    return shape.squeeze(joining.slice_axes(ordered, [None] * (ordered.ndim - 1) + [last]), -1)


def _along(ordered: Any, idx: Any) -> Any:
    return shape.squeeze(gather.take_along_axis(ordered, idx, -1), -1)


@reports_as_itself
def quantile(
    a: ArrayLike,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
    interpolation: str | None = None,
) -> Value:
    """The ``q``-th quantiles (``0 <= q <= 1``) over ``axis`` (None: the flattened array), as
    numpy.quantile with ``method="linear"``; torch.quantile's ``dim=``/``keepdim=``/
    ``interpolation=`` too. A slice holding NaN gives NaN. The result has ``q``'s shape in front."""
    return _quantiles("quantile", a, q, axis, out, interpolation or method, keepdims, False, 1,
                      dim, keepdim)  # fmt: skip


@reports_as_itself
def percentile(
    a: ArrayLike,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
) -> Value:
    """The ``q``-th percentiles (``0 <= q <= 100``), as numpy.percentile: ``quantile(a, q/100)``."""
    return _quantiles("percentile", a, q, axis, out, method, keepdims, False, 100)


@reports_as_itself
def nanquantile(
    a: ArrayLike,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
    interpolation: str | None = None,
) -> Value:
    """Quantiles of the non-NaN elements, as numpy.nanquantile (an all-NaN slice gives NaN)."""
    return _quantiles("nanquantile", a, q, axis, out, interpolation or method, keepdims, True, 1,
                      dim, keepdim)  # fmt: skip


@reports_as_itself
def nanpercentile(
    a: ArrayLike,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
) -> Value:
    """Percentiles of the non-NaN elements, as numpy.nanpercentile."""
    return _quantiles("nanpercentile", a, q, axis, out, method, keepdims, True, 100)
