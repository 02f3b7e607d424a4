"""Statistics composed from reductions: mean, var and std (numpy's, with PyTorch's spellings).

They apply the reduction ops (``sum``, and ``size_of`` for a count known only at call time) through
:mod:`graphjit.ops.prims`, so their derivatives are those of the ops they are made of.

Conventions:

* bool or int inputs give float64, or the default float dtype when set (the input is cast first,
  like numpy's float64 accumulator);
  ``dtype=`` casts to that dtype instead.
* ``var``/``std`` use ``ddof=0`` by default (numpy; PyTorch's ``correction=``/``unbiased=`` are
  accepted). ``std`` has an infinite gradient where the variance is 0.
* ``mean`` of an axis whose size is only known at call time divides by ``size_of``.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

from graphjit.dtypes import as_dtype, get_default_dtype, is_float
from graphjit.ops import prims
from graphjit.ops.dispatch import ArrayLike, Value, astype, lift
from graphjit.ops.prims import maximum, size_of, sqrt
from graphjit.ops.shape_rules import reduction_axes

__all__ = ["mean", "var", "std"]


def _prepare(
    name: str, x: Any, axis: Any, dim: Any, keepdims: Any, keepdim: Any
) -> tuple[Any, tuple[int, ...], bool]:
    x = lift(x)
    return (x, *reduction_axes(name, x, axis, dim, keepdims, keepdim))


def _as_float(x: Any, dtype: Any) -> Any:
    if dtype is not None:
        return astype(x, dtype)
    return x if is_float(as_dtype(x.dtype)) else astype(x, get_default_dtype())


def _count(x: Any, axes: tuple[int, ...], dtype: str) -> Any:
    """The number of elements on ``axes``: a python int when known now, else a size_of node."""
    dims = [x.shape[a] for a in axes]
    if all(isinstance(d, int) for d in dims):
        return math.prod(dims)
    return size_of(x, axes, dtype)


def mean(
    x: ArrayLike,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dtype: Any = None,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Mean over ``axis``, as numpy.mean: ``sum / count`` (bool and int inputs give float64; an
    int ``dtype`` sums in that dtype and truncates the quotient to it, as numpy's).

    When an axis' size is only known at call time the count is a :func:`size_of` node."""
    x, axes, keep = _prepare("mean", x, axis, dim, keepdims, keepdim)
    if dtype is not None and not is_float(as_dtype(dtype)):
        total = astype(prims.sum(astype(x, dtype), axes, keep), dtype)
        return astype(total / _count(x, axes, "float64"), dtype)
    x = _as_float(x, dtype)
    total = prims.sum(x, axes, keep)
    return total / _count(x, axes, total.dtype)


def var(
    x: ArrayLike,
    axis: Any = None,
    *,
    ddof: int | float = 0,
    keepdims: bool = False,
    dtype: Any = None,
    dim: Any = None,
    keepdim: bool | None = None,
    correction: int | float | None = None,
    unbiased: bool | None = None,
) -> Value:
    """Variance over ``axis``, as numpy.var: ``sum((x - mean)**2) / max(n - ddof, 0)``.

    ``ddof`` defaults to 0 (numpy); PyTorch's ``correction=`` (same meaning) and ``unbiased=``
    (``ddof=1`` when true) are accepted too."""
    if correction is not None:
        ddof = correction
    if unbiased is not None:
        ddof = 1 if unbiased else 0
    x, axes, keep = _prepare("var", x, axis, dim, keepdims, keepdim)
    x = _as_float(x, dtype)
    centered = x - mean(x, axes, keepdims=True)
    total = prims.sum(centered * centered, axes, keep)
    n = _count(x, axes, total.dtype)
    denom = builtins.max(n - ddof, 0) if isinstance(n, int) else maximum(n - ddof, 0)
    return total / denom


def std(
    x: ArrayLike,
    axis: Any = None,
    *,
    ddof: int | float = 0,
    keepdims: bool = False,
    dtype: Any = None,
    dim: Any = None,
    keepdim: bool | None = None,
    correction: int | float | None = None,
    unbiased: bool | None = None,
) -> Value:
    """Standard deviation, ``sqrt(var(...))``, as numpy.std (``ddof=0`` by default)."""
    return sqrt(
        var(
            x,
            axis,
            ddof=ddof,
            keepdims=keepdims,
            dtype=dtype,
            dim=dim,
            keepdim=keepdim,
            correction=correction,
            unbiased=unbiased,
        )
    )
