"""One binder per primitive, for code in one op family that applies an op of another.

A derivative rule of ``sum`` broadcasts (a shape op), the vjp of ``matmul`` sums (a reduction):
the op families need each other's ops, but never import each other. They call these binders,
each of which forwards to the public function its family registered with
:func:`graphjit.ops.registry.binds` next to the op. Every family is imported by
:mod:`graphjit.ops` before any rule can run, so a binder is always there when called.

The signatures are those of the public ``gj.*`` functions (numpy's), so a rule reads the same as
user code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphjit.ops.dispatch import astype
from graphjit.ops.registry import BINDERS

__all__ = [
    "astype",
    "broadcast_like",
    "equal",
    "expand_dims",
    "exactly_shaped",
    "expand_reduced",
    "full_like",
    "maximum",
    "multiply",
    "reshape",
    "reshape_like",
    "size_of",
    "slice_axes",
    "sqrt",
    "squeeze",
    "sum",
    "swapaxes",
    "take",
    "transpose",
    "where",
    "zeros_like",
]


def _bound(name: str) -> Any:
    return BINDERS[name]


# elementwise


def equal(a: Any, b: Any) -> Any:
    return _bound("equal")(a, b)


def maximum(a: Any, b: Any) -> Any:
    return _bound("maximum")(a, b)


def multiply(a: Any, b: Any) -> Any:
    return _bound("multiply")(a, b)


def sqrt(x: Any) -> Any:
    return _bound("sqrt")(x)


def where(cond: Any, a: Any, b: Any) -> Any:
    return _bound("where")(cond, a, b)


# shape


def reshape(x: Any, shape: Any) -> Any:
    return _bound("reshape")(x, shape)


def reshape_like(x: Any, ref: Any) -> Any:
    return _bound("reshape_like")(x, ref)


def transpose(x: Any, axes: Any = None) -> Any:
    return _bound("transpose")(x, axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    return _bound("transpose")(x, axis1, axis2)  # transpose(x, d0, d1) swaps, as PyTorch's


def expand_dims(x: Any, axis: Any) -> Any:
    return _bound("expand_dims")(x, axis)


def squeeze(x: Any, axis: Any = None) -> Any:
    return _bound("squeeze")(x, axis)


def broadcast_like(x: Any, ref: Any) -> Any:
    return _bound("broadcast_like")(x, ref)


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Any:
    return _bound("full_like")(x, fill_value, dtype)


def zeros_like(x: Any, dtype: Any = None) -> Any:
    return _bound("full_like")(x, 0, dtype)


# reductions


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _bound("sum")(x, axis, keepdims)


def size_of(x: Any, axes: Any = None, dtype: Any = "float64") -> Any:
    return _bound("size_of")(x, axes, dtype)


def expand_reduced(g: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """``g`` (a reduction's result or cotangent) with the reduced ``axes`` back as size-1 dims,
    so it broadcasts against the reduction's input."""
    return g if keepdims or not axes else expand_dims(g, axes)


# slicing


def slice_axes(x: Any, slices: Sequence[Any]) -> Any:
    return _bound("slice_axes")(x, slices)


def exactly_shaped(c: Any, x: Any) -> Any:
    """``c`` with exactly ``x``'s static shape (a cotangent may know a size that ``x`` leaves as
    None, or the other way round; the call-time sizes agree)."""
    if tuple(c.shape) == tuple(x.shape):
        return c
    return reshape_like(c, x)


# gathers


def take(a: Any, indices: Any, axis: Any = None) -> Any:
    return _bound("take")(a, indices, axis)
