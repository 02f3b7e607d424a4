"""Shape rules shared by the op families: broadcasting, axes, reduced shapes, slice triples.

Broadcasting is decided when the graph is built. Only a dim that is statically 1 broadcasts; a
``None`` or named dim never stretches, so a ``None`` dim meeting a size ``n`` must be ``n`` at call
time (PyTensor's rule). This keeps gradient graphs exact: which axes a gradient sums over is known
before the graph runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.dtypes import check_number_fits, is_float
from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops.registry import DimBuilder


def broadcast_dims(a: Dim, b: Dim) -> Dim:
    """The broadcast of two dims, or ValueError. Returns ``a`` when the dims must simply agree."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if isinstance(a, int) and isinstance(b, int):
        raise ValueError(f"sizes {a} and {b} do not broadcast")
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, int):  # a named dim meeting a size: the size wins, the name must match it
        return a
    if isinstance(b, int):
        return b
    return a


def broadcast_shapes(*shapes: Sequence[Dim], op: str = "broadcast") -> tuple[Dim, ...]:
    """numpy broadcasting of several shapes (with ``None`` and named dims), as a tuple."""
    ndim = max((len(s) for s in shapes), default=0)
    result: list[Dim] = [1] * ndim
    for s in shapes:
        pad = [1] * (ndim - len(s)) + list(s)
        for i, d in enumerate(pad):
            try:
                result[i] = broadcast_dims(result[i], d)
            except ValueError:
                shown = " and ".join(format_shape(x) for x in shapes)
                raise ValueError(
                    f"{op}: shapes {shown} cannot be broadcast together (axis {i - ndim}: "
                    f"{result[i]} vs {d})"
                ) from None
    return tuple(result)


def normalize_axis(axis: Any, ndim: int, op: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for an array of {ndim} dims")
    return axis % ndim if ndim else 0


def normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (None, int, or a sequence of ints, negatives allowed) as a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple([a % ndim if type(a) is int and -ndim <= a < ndim else
                      normalize_axis(a, ndim, op) for a in axis])  # fmt: skip
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: repeated axis in {tuple(axis)!r}")
        return tuple(sorted(axes))
    return (normalize_axis(axis, ndim, op),)


def same_dim(a: Dim, b: Dim) -> bool:
    """True unless the two dims are known to differ."""
    return a is None or b is None or a == b or not (isinstance(a, int) and isinstance(b, int))


def elementwise_type(op: str, *types: TensorType, dtype: str | None = None) -> TensorType:
    shape = broadcast_shapes(*(t.shape for t in types), op=op)
    return TensorType(shape, dtype or types[0].dtype)


# --------------------------------------------------------------------------------------------------
# argument normalisation shared by the families


def fresh_copy(a: Any) -> np.ndarray:
    if type(a) is np.ndarray:  # np.array's copy, without its argument parsing (a third of it)
        return a.copy(order="K")
    return np.array(a, copy=True)


def broadcast_copy(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``fresh_copy(np.broadcast_to(x, shape))``: a new array of ``x`` broadcast to ``shape``.

    A one-element ``x`` (a reduction's cotangent spread out again, the common case) is copied
    into a new C-ordered array directly: the very array numpy's copy of the broadcast view gives
    (that view has only zero strides, so its copy is C-ordered), without ``np.broadcast_to``,
    which costs ten times the copy on small arrays."""
    if x.size == 1:
        out = np.empty(shape, x.dtype)
        out[...] = x
        return out
    return fresh_copy(np.broadcast_to(x, shape))


def is_static_dim(d: Dim) -> bool:
    return isinstance(d, int)


def axis_or_dim(name: str, axis: Any, dim: Any, default: Any = None) -> Any:
    if dim is not None:
        if axis is not None and axis is not default:
            raise TypeError(f"{name}: give axis or dim, not both")
        return dim
    return axis


def int_tuple(name: str, what: str, value: Any) -> tuple[int, ...]:
    if type(value) is tuple:  # already a tuple of python ints, the common case: itself
        for v in value:
            if type(v) is not int:
                break
        else:
            return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return (int(value),)
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(
            f"{name}: {what} must be an int or a sequence of ints, got {value!r}"
        ) from None
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name}: {what} must hold ints, got {value!r}")
    return tuple(int(v) for v in items)


def scalar_fill(name: str, value: Any, dtype: str) -> Any:
    arr = np.asarray(value)
    if arr.ndim != 0 or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: the fill value must be a real scalar, got {value!r}")
    if dtype == "bool":
        return bool(arr)
    if np.dtype(dtype).kind in "iu":
        if arr.dtype.kind == "f" and not np.isfinite(arr):
            raise ValueError(f"{name}: cannot fill a {dtype} array with {value!r}")
        number = int(arr)  # a float is truncated, as numpy's cast
        check_number_fits(number, np.dtype(dtype), name)
        return number
    return float(arr)


def check_axes(name: str, x: TensorType, axes: Any) -> tuple[int, ...]:
    ok = (
        isinstance(axes, tuple)
        and all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
        and list(axes) == sorted(set(axes))
        and all(0 <= a < x.ndim for a in axes)
    )
    if not ok:
        raise ValueError(
            f"{name}: axes must be a sorted tuple of distinct axes of an array of {x.ndim} dims, "
            f"got {axes!r}"
        )
    return tuple(axes)


def reduced_shape(shape: tuple[Any, ...], axes: tuple[int, ...], keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def float_reduce_infer(name: str) -> Any:
    def infer(x: TensorType, *, axes: tuple[int, ...], keepdims: bool) -> TensorType:
        if not is_float(x.dtype):
            raise TypeError(f"{name}: expected a float input, got {x.dtype}")
        check_axes(name, x, axes)
        return TensorType(reduced_shape(x.shape, axes, keepdims), x.dtype)

    return infer


def keepdims_arg(keepdims: Any, keepdim: Any) -> bool:
    return bool(keepdims if keepdim is None else keepdim)


# A slice triple: (start, stop, step), python-slice semantics; step is never 0 or None once stored.
Triple = tuple[Any, Any, Any]
FULL_SLICE: Triple = (None, None, 1)


def slice_triple(s: Any, name: str) -> Triple:
    """A user slice (slice object, (start, stop, step) or None) as a checked triple."""
    if s is None:
        return FULL_SLICE
    if isinstance(s, slice):
        raw = (s.start, s.stop, s.step)
    elif isinstance(s, (tuple, list)) and len(s) == 3:
        raw = tuple(s)
    else:
        raise TypeError(f"{name}: expected a slice or a (start, stop, step) triple, got {s!r}")
    out: list[int | None] = []
    for v in raw:
        if v is None:
            out.append(None)
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            out.append(int(v))
        else:
            raise TypeError(f"{name}: slice bounds and steps must be ints or None, got {s!r}")
    if out[2] == 0:
        raise ValueError(f"{name}: slice step cannot be zero")
    return (out[0], out[1], 1 if out[2] is None else out[2])


def canonical_slice(t: Triple, n: Dim) -> Triple:
    """One spelling per slice: resolved against a static size, so equal slices hash equal."""
    start, stop, step = t
    if is_static_dim(n):
        r = range(*slice(start, stop, step).indices(n))  # type: ignore[arg-type]
        if len(r) == 0:
            return (0, 0, 1)
        if r == range(n):  # type: ignore[arg-type]
            return FULL_SLICE
        last = r[-1]
        end = last + 1 if step > 0 else (last - 1 if last >= 1 else None)
        return (r[0], end, r.step)
    if step > 0 and start == 0:
        start = None
    return (start, stop, step)


def reduction_axes(
    name: str, x: Any, axis: Any, dim: Any, keepdims: Any, keepdim: Any
) -> tuple[tuple[int, ...], bool]:
    """A reduction's sorted axes and keepdims flag from numpy's (``axis``, ``keepdims``) or
    PyTorch's (``dim``, ``keepdim``) spelling. PyTorch's ``dim`` 0 or -1 of a 0-d input reduces
    nothing (numpy's ``axis`` 0 of a 0-d array is an error)."""
    if dim is not None and x.ndim == 0 and is_scalar_dim(dim):
        return (), keepdims_arg(keepdims, keepdim)
    axes = normalize_axes(axis_or_dim(name, axis, dim), x.ndim, name)
    return axes, keepdims_arg(keepdims, keepdim)


def is_scalar_dim(dim: Any) -> bool:
    """Whether ``dim`` is one PyTorch accepts for a 0-d tensor: 0 or -1 (or a tuple of them)."""
    items = dim if isinstance(dim, (tuple, list)) else (dim,)
    return all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d in (0, -1) for d in items
    )


def reduced_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    """Call-time dims of a reduction over ``axes`` (``keepdims`` keeps them as 1s)."""
    axes, keep = node.attrs["axes"], node.attrs["keepdims"]
    return ["1" if i in axes else d for i, d in enumerate(ins[0]) if keep or i not in axes]
