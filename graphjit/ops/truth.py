"""Truth reductions: any and all, with numpy's ``axis``/``keepdims`` and PyTorch's ``dim`` and
``keepdim``.

Both count the true (non-zero) elements with ``sum`` (through :mod:`graphjit.ops.prims`) and
compare the count: bool results, no gradient. PyTorch's ``dim`` 0 or -1 is accepted on a 0-d
input (see :func:`graphjit.ops.shape_rules.reduction_axes`).
"""

from __future__ import annotations

import builtins
import math
from typing import Any

from graphjit.ops.dispatch import ArrayLike, Value, astype, lift, write_out
from graphjit.ops.prims import equal, size_of, where
from graphjit.ops.prims import sum as reduce_sum
from graphjit.ops.shape_rules import reduction_axes

__all__ = ["any", "all"]


def _true_count(name: str, a: Any, axis: Any, dim: Any, keepdims: Any, keepdim: Any) -> Any:
    x = lift(a)
    axes, keep = reduction_axes(name, x, axis, dim, keepdims, keepdim)
    return x, axes, reduce_sum(astype(x, "bool"), axes, keep)


def any(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Whether any element along ``axis`` (None: all) is true (non-zero), as numpy.any and
    torch.any (``dim``, ``keepdim``)."""
    _, _, count = _true_count("any", a, axis, dim, keepdims, keepdim)
    return write_out(where(equal(count, 0), False, True), out, "any")


def all(
    a: ArrayLike,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Whether every element along ``axis`` (None: all) is true (non-zero), as numpy.all and
    torch.all (``dim``, ``keepdim``). True for an empty slice."""
    x, axes, count = _true_count("all", a, axis, dim, keepdims, keepdim)
    dims = [x.shape[i] for i in axes]
    known = builtins.all(isinstance(d, int) for d in dims)
    size = math.prod(dims) if known else size_of(x, axes, "int64")
    return write_out(equal(count, size), out, "all")
