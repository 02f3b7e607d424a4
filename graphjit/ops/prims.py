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

from graphjit.ops.dispatch import ArrayLike, Value, astype
from graphjit.ops.registry import BINDERS

__all__ = [
    "astype",
    "broadcast_like",
    "equal",
    "exp",
    "log",
    "logical_and",
    "logical_not",
    "logical_or",
    "not_equal",
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
    "take_along_axis",
    "transpose",
    "where",
    "zeros_like",
    # shapes, joining, diagonals and gathers
    "broadcast_to",
    "concatenate",
    "diagonal",
    "einsum",
    "add_at",
    "add_along_axis",
]


def _bound(name: str) -> Any:
    return BINDERS[name]


# elementwise


def equal(a: ArrayLike, b: ArrayLike) -> Value:
    return _bound("equal")(a, b)


def exp(x: ArrayLike) -> Value:
    return _bound("exp")(x)


def logical_and(a: ArrayLike, b: ArrayLike) -> Value:
    return _bound("logical_and")(a, b)


def logical_or(a: ArrayLike, b: ArrayLike) -> Value:
    return _bound("logical_or")(a, b)


def logical_not(x: ArrayLike) -> Value:
    return _bound("logical_not")(x)


def not_equal(a: ArrayLike, b: ArrayLike) -> Value:
    return _bound("not_equal")(a, b)


def maximum(a: ArrayLike, b: ArrayLike) -> Value:
    return _bound("maximum")(a, b)


def multiply(a: ArrayLike, b: ArrayLike) -> Value:
    return _bound("multiply")(a, b)


def sqrt(x: ArrayLike) -> Value:
    return _bound("sqrt")(x)


def where(cond: Any, a: ArrayLike, b: ArrayLike) -> Value:
    return _bound("where")(cond, a, b)


# shape


def reshape(x: ArrayLike, shape: Any) -> Value:
    return _bound("reshape")(x, shape)


def reshape_like(x: ArrayLike, ref: ArrayLike) -> Value:
    return _bound("reshape_like")(x, ref)


def transpose(x: ArrayLike, axes: Any = None) -> Value:
    return _bound("transpose")(x, axes)


def swapaxes(x: ArrayLike, axis1: int, axis2: int) -> Value:
    return _bound("transpose")(x, axis1, axis2)  # transpose(x, d0, d1) swaps, as PyTorch's


def expand_dims(x: ArrayLike, axis: Any) -> Value:
    return _bound("expand_dims")(x, axis)


def squeeze(x: ArrayLike, axis: Any = None) -> Value:
    return _bound("squeeze")(x, axis)


def broadcast_like(x: ArrayLike, ref: ArrayLike) -> Value:
    return _bound("broadcast_like")(x, ref)


def full_like(x: ArrayLike, fill_value: Any, dtype: Any = None) -> Value:
    return _bound("full_like")(x, fill_value, dtype)


def zeros_like(x: ArrayLike, dtype: Any = None) -> Value:
    return _bound("full_like")(x, 0, dtype)


# reductions


def sum(x: ArrayLike, axis: Any = None, keepdims: bool = False) -> Value:
    return _bound("sum")(x, axis, keepdims)


def size_of(x: ArrayLike, axes: Any = None, dtype: Any = "float64") -> Value:
    return _bound("size_of")(x, axes, dtype)


def expand_reduced(g: ArrayLike, axes: tuple[int, ...], keepdims: bool) -> Value:
    """``g`` (a reduction's result or cotangent) with the reduced ``axes`` back as size-1 dims,
    so it broadcasts against the reduction's input."""
    return g if keepdims or not axes else expand_dims(g, axes)


# slicing


def slice_axes(x: ArrayLike, slices: Sequence[Any]) -> Value:
    return _bound("slice_axes")(x, slices)


def exactly_shaped(c: Any, x: ArrayLike) -> Value:
    """``c`` with exactly ``x``'s static shape (a cotangent may know a size that ``x`` leaves as
    None, or the other way round; the call-time sizes agree)."""
    if tuple(c.shape) == tuple(x.shape):
        return c
    return reshape_like(c, x)


# gathers


def take(a: ArrayLike, indices: ArrayLike, axis: Any = None) -> Value:
    return _bound("take")(a, indices, axis)


# used by the scans and sorting families


def log(x: ArrayLike) -> Value:
    return _bound("log")(x)


# --------------------------------------------------------------------------------------------------
# shapes, joining, diagonals and gathers for the composites built on them (arrangement, stacking,
# einsum's repeated indices, multi-array getitem)


def broadcast_to(x: ArrayLike, shape: Any) -> Value:
    return _bound("broadcast_to")(x, shape)


def concatenate(xs: Sequence[Any], axis: int = 0) -> Value:
    return _bound("concatenate")(xs, axis)


def diagonal(x: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Value:
    return _bound("diagonal")(x, offset, axis1, axis2)


def einsum(subscripts: str, *operands: Any) -> Value:
    return _bound("einsum")(subscripts, *operands)


def take_along_axis(a: ArrayLike, indices: ArrayLike, axis: Any) -> Value:
    return _bound("take_along_axis")(a, indices, axis)


def add_at(a: ArrayLike, indices: ArrayLike, values: ArrayLike, axis: Any = 0) -> Value:
    return _bound("add_at")(a, indices, values, axis)


def add_along_axis(a: ArrayLike, indices: ArrayLike, values: ArrayLike, axis: Any) -> Value:
    return _bound("add_along_axis")(a, indices, values, axis)
