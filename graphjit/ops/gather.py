"""Gathers along one axis (take, take_along_axis) and their scatter-adds (add_at, add_along_axis).

``take`` and ``take_along_axis`` gather; ``add_at`` and ``add_along_axis`` scatter-add (numpy's
``np.add.at``: repeated indices accumulate). Each scatter-add is the other's transpose, so the vjp
of a gather is a scatter-add into zeros, the vjp of a scatter-add is a gather, and derivatives of
every order stay within these ops. Index arrays are int inputs (constant nodes when given as lists
or numpy arrays), never attributes. Negative indices count from the end; an out-of-range index
raises IndexError when the graph runs (or when it is built, if both the index and the size are
known then). ``x[...]`` is :mod:`graphjit.ops.indexing`, which gathers through these ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.dtypes import is_int
from graphjit.errors import IndexOutOfBoundsError
from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops import prims
from graphjit.ops.dispatch import ArrayLike, Value, apply, astype, is_tensor, lift, lift_like
from graphjit.ops.leaves import constant_value
from graphjit.ops.prims import reshape
from graphjit.ops.registry import OPS, DimBuilder, OpDef, binds, defop
from graphjit.ops.shape_rules import normalize_axis, same_dim

__all__ = ["take", "take_along_axis", "add_at", "add_along_axis", "put_along_axis"]


def _check_indices(op: str, idx: TensorType) -> None:
    if not is_int(idx.dtype):
        raise TypeError(f"{op}: indices must be int32 or int64, got {idx.dtype}")


def _check_axis(op: str, x: TensorType, axis: int) -> None:
    if not 0 <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for shape {format_shape(x.shape)}")


def _fits(op: str, what: str, shape: Sequence[Dim], want: Sequence[Dim]) -> None:
    """``shape`` must broadcast to exactly ``want`` (a static 1 stretches, nothing else)."""
    ok = len(shape) <= len(want) and all(
        d == 1 or same_dim(d, w) for d, w in zip(shape[::-1], want[::-1])
    )
    if not ok:
        raise ValueError(
            f"{op}: {what} has shape {format_shape(shape)}, expected one that "
            f"broadcasts to {format_shape(want)}"
        )


# --------------------------------------------------------------------------------------------------
# take / add_at


def _take_shape(x: TensorType, idx: TensorType, axis: int) -> tuple[Dim, ...]:
    return x.shape[:axis] + idx.shape + x.shape[axis + 1 :]


def _take_infer(x: TensorType, idx: TensorType, *, axis: int) -> TensorType:
    _check_indices("take", idx)
    _check_axis("take", x, axis)
    return TensorType(_take_shape(x, idx, axis), x.dtype)


def _out_of_bounds(op: str, x: np.ndarray, idx: np.ndarray, axis: int) -> Exception | None:
    """The IndexOutOfBoundsError for the first index out of bounds for ``x``'s ``axis``, or None
    when every index is in bounds (numpy's IndexError was about something else)."""
    size = x.shape[axis]
    bad = (idx < -size) | (idx >= size)
    if not bad.any():
        return None
    return IndexOutOfBoundsError(op, int(idx[bad].flat[0]), axis, size)


def _take_impl(x: np.ndarray, idx: np.ndarray, *, axis: int) -> np.ndarray:
    try:
        return np.asarray(np.take(x, idx, axis=axis))
    except IndexError as exc:
        raise (_out_of_bounds("take", x, idx, axis) or exc) from None


def _add_at_infer(x: TensorType, idx: TensorType, v: TensorType, *, axis: int) -> TensorType:
    _check_indices("add_at", idx)
    _check_axis("add_at", x, axis)
    _fits("add_at", "values", v.shape, _take_shape(x, idx, axis))
    return x


def _add_at_impl(x: np.ndarray, idx: np.ndarray, v: np.ndarray, *, axis: int) -> np.ndarray:
    out = np.array(x, copy=True)
    where: Any = (slice(None),) * axis + (idx,)
    try:
        np.add.at(out, where, v)
    except IndexError as exc:
        raise (_out_of_bounds("add_at", x, idx, axis) or exc) from None
    return out


def _add_at_jvp(tangents: Any, out: Any, x: Any, idx: Any, v: Any, *, axis: int) -> Any:
    tx, _, tv = tangents
    if tv is None:
        return tx
    return apply(ADD_AT, prims.zeros_like(x) if tx is None else tx, idx, tv, axis=axis)


def _take_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axis = node.attrs["axis"]
    return ins[0][:axis] + ins[1] + ins[0][axis + 1 :]


def _values_fit(table: DimBuilder, node: Node, vd: list[str], want: list[str]) -> None:
    """Call-time checks that the values (input 2, dims ``vd``) broadcast to ``want``."""
    v = node.inputs[2]
    lead = len(want) - len(vd)
    for i, d in enumerate(vd):
        if v.shape[i] != 1:
            table.require_equal(
                d,
                want[lead + i],
                f"{node.op.name}: the values' axis {i} has the wrong size at run time",
            )


TAKE: OpDef = defop(
    "take",
    infer=_take_infer,
    impl=_take_impl,
    vjps=(
        lambda g, out, x, idx, *, axis: apply(ADD_AT, prims.zeros_like(x), idx, g, axis=axis),
        None,
    ),
    jvp=lambda ts, out, x, idx, *, axis: (
        None if ts[0] is None else apply(TAKE, ts[0], idx, axis=axis)
    ),
    kind="index",
    call_dims=_take_call_dims,
    promote=None,
    doc="gather along one axis, as numpy.take: the index array's dims replace the axis",
)


def _add_at_broadcasts(node: Node, shapes: list[tuple[int, ...]]) -> dict[int, tuple[int, ...]]:
    axis = node.attrs["axis"]
    x, idx = shapes[0], shapes[1]
    return {2: x[:axis] + idx + x[axis + 1 :]}  # the values, to the gathered shape


def _add_at_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axis = node.attrs["axis"]
    _values_fit(table, node, ins[2], ins[0][:axis] + ins[1] + ins[0][axis + 1 :])
    return list(ins[0])


ADD_AT: OpDef = defop(
    "add_at",
    infer=_add_at_infer,
    impl=_add_at_impl,
    vjps=(
        lambda g, out, x, idx, v, *, axis: g,
        None,
        lambda g, out, x, idx, v, *, axis: apply(TAKE, g, idx, axis=axis),
    ),
    jvp=_add_at_jvp,
    kind="index",
    call_dims=_add_at_call_dims,
    broadcasts=_add_at_broadcasts,
    promote=(0, 2),
    doc="x with values added at indices along one axis (np.add.at: repeats accumulate)",
)


# --------------------------------------------------------------------------------------------------
# take_along_axis / add_along_axis


def _along_shape(op: str, x: TensorType, idx: TensorType, axis: int) -> tuple[Dim, ...]:
    _check_indices(op, idx)
    _check_axis(op, x, axis)
    if idx.ndim != x.ndim:
        raise ValueError(
            f"{op}: indices must have the array's {x.ndim} dims, got shape "
            f"{format_shape(idx.shape)}"
        )
    for k, (d, n) in enumerate(zip(idx.shape, x.shape)):
        if k != axis and not (d == 1 or same_dim(d, n)):
            raise ValueError(
                f"{op}: indices of shape {format_shape(idx.shape)} do not fit an array of shape "
                f"{format_shape(x.shape)} (axis {k}: {d} vs {n})"
            )
    return tuple(idx.shape[k] if k == axis else n for k, n in enumerate(x.shape))


def _take_along_infer(x: TensorType, idx: TensorType, *, axis: int) -> TensorType:
    return TensorType(_along_shape("take_along_axis", x, idx, axis), x.dtype)


def _take_along_impl(x: np.ndarray, idx: np.ndarray, *, axis: int) -> np.ndarray:
    shape = list(x.shape)
    shape[axis] = idx.shape[axis]
    try:
        return np.take_along_axis(x, np.broadcast_to(idx, shape), axis=axis)
    except IndexError as exc:
        raise (_out_of_bounds("take_along_axis", x, idx, axis) or exc) from None


def _add_along_infer(x: TensorType, idx: TensorType, v: TensorType, *, axis: int) -> TensorType:
    _fits("add_along_axis", "values", v.shape, _along_shape("add_along_axis", x, idx, axis))
    return x


def _add_along_impl(x: np.ndarray, idx: np.ndarray, v: np.ndarray, *, axis: int) -> np.ndarray:
    shape = list(x.shape)
    shape[axis] = idx.shape[axis]
    where = tuple(
        np.broadcast_to(idx, shape)
        if k == axis
        else np.arange(n).reshape([-1 if j == k else 1 for j in range(x.ndim)])
        for k, n in enumerate(x.shape)
    )
    out = np.array(x, copy=True)
    try:
        np.add.at(out, where, np.broadcast_to(v, shape))
    except IndexError as exc:
        raise (_out_of_bounds("add_along_axis", x, idx, axis) or exc) from None
    return out


def _add_along_jvp(tangents: Any, out: Any, x: Any, idx: Any, v: Any, *, axis: int) -> Any:
    tx, _, tv = tangents
    if tv is None:
        return tx
    return apply(ADD_ALONG_AXIS, prims.zeros_like(x) if tx is None else tx, idx, tv, axis=axis)


def _along_broadcasts(node: Node, shapes: list[tuple[int, ...]]) -> dict[int, tuple[int, ...]]:
    """The indices, and an add's values, broadcast to the array's shape with the indices' size
    along the axis."""
    axis = node.attrs["axis"]
    x, idx = shapes[0], shapes[1]
    target = x[:axis] + idx[axis : axis + 1] + x[axis + 1 :]
    return dict.fromkeys(range(1, len(shapes)), target)


def _along_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axis = node.attrs["axis"]
    idx = node.inputs[1]
    out = []
    for k, (xd, idd) in enumerate(zip(ins[0], ins[1])):
        if k == axis:
            out.append(idd)
        else:
            if idx.shape[k] != 1:
                table.require_equal(
                    idd, xd, f"{node.op.name}: the indices' axis {k} has the wrong size at run time"
                )
            out.append(xd)
    return out


TAKE_ALONG_AXIS: OpDef = defop(
    "take_along_axis",
    infer=_take_along_infer,
    impl=_take_along_impl,
    vjps=(
        lambda g, out, x, idx, *, axis: apply(
            ADD_ALONG_AXIS, prims.zeros_like(x), idx, g, axis=axis
        ),
        None,
    ),
    jvp=lambda ts, out, x, idx, *, axis: (
        None if ts[0] is None else apply(TAKE_ALONG_AXIS, ts[0], idx, axis=axis)
    ),
    kind="index",
    call_dims=_along_call_dims,
    broadcasts=_along_broadcasts,
    promote=None,
    doc="gather with one index per position, as numpy.take_along_axis",
)


def _add_along_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    _values_fit(table, node, ins[2], _along_call_dims(table, node, ins))
    return list(ins[0])


ADD_ALONG_AXIS: OpDef = defop(
    "add_along_axis",
    infer=_add_along_infer,
    impl=_add_along_impl,
    vjps=(
        lambda g, out, x, idx, v, *, axis: g,
        None,
        lambda g, out, x, idx, v, *, axis: apply(TAKE_ALONG_AXIS, g, idx, axis=axis),
    ),
    jvp=_add_along_jvp,
    kind="index",
    call_dims=_add_along_call_dims,
    broadcasts=_along_broadcasts,
    promote=(0, 2),
    doc="x with values added at per-position indices along one axis (repeats accumulate)",
)


# --------------------------------------------------------------------------------------------------
# public gathers and scatters


def _index_node(indices: Any, op: str, like: Any) -> Any:
    """``indices`` as an int node/tensor (lists and numpy arrays become int64 constants, on the
    device of the indexed tensor ``like``)."""
    if isinstance(indices, Node) or is_tensor(indices):
        idx = indices
    else:
        arr = np.asarray(indices)
        if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
            raise TypeError(f"{op}: indices must be integers, got {arr.dtype} values")
        idx = lift_like(arr.astype(np.int64), like)
    if not is_int(idx.dtype):
        raise TypeError(f"{op}: indices must be int32 or int64, got {idx.dtype}")
    return idx


def _known_values(idx: Any) -> np.ndarray | None:
    """The values of an index array when they are known now (a constant or an eager tensor in
    host memory; a tensor on the GPU is checked by the kernel at run time instead)."""
    if is_tensor(idx):
        return None if idx.is_cuda else np.asarray(idx.numpy())
    if isinstance(idx, Node) and idx.op.name == "constant":
        return constant_value(idx)
    return None


def _check_bounds(op: str, idx: Any, size: Dim, axis: int) -> None:
    values = _known_values(idx)
    if values is None or not isinstance(size, int) or values.size == 0:
        return
    bad = values[(values < -size) | (values >= size)]
    if bad.size:
        raise IndexError(
            f"{op}: index {int(bad.flat[0])} is out of bounds for axis {axis} with size {size}"
        )


def _pick_axis(axis: Any, dim: Any, op: str) -> Any:
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: give axis or dim, not both")
        return dim
    return axis


@binds(TAKE)
def take(a: ArrayLike, indices: ArrayLike, axis: Any = None, *, dim: Any = None) -> Value:
    """Elements of ``a`` at ``indices`` along ``axis``, as numpy.take: the result's dims are
    ``a.shape[:axis] + indices.shape + a.shape[axis+1:]``; ``axis=None`` indexes the flattened
    array. Negative indices count from the end. (``dim=`` is PyTorch's index_select spelling.)"""
    axis = _pick_axis(axis, dim, "take")
    a = lift(a)
    idx = _index_node(indices, "take", a)
    if axis is None:
        if a.ndim != 1:
            a = reshape(a, (-1,))
        axis = 0
    if a.ndim == 0:
        raise ValueError("take: cannot index a 0-d array along an axis")
    ax = normalize_axis(axis, a.ndim, "take")
    _check_bounds("take", idx, a.shape[ax], ax)
    return apply(TAKE, a, idx, axis=ax)


@binds(ADD_AT)
def add_at(
    a: ArrayLike, indices: ArrayLike, values: ArrayLike, axis: Any = 0, *, dim: Any = None
) -> Value:
    """A copy of ``a`` with ``values`` added at ``indices`` along ``axis`` (np.add.at on a copy):
    repeated indices accumulate. ``values`` broadcasts to the shape ``take(a, indices, axis)``
    would have. This is the transpose of :func:`take`."""
    axis = _pick_axis(axis, dim, "add_at")
    a = lift(a)
    if a.ndim == 0:
        raise ValueError("add_at: cannot index a 0-d array along an axis")
    idx = _index_node(indices, "add_at", a)
    ax = normalize_axis(axis, a.ndim, "add_at")
    _check_bounds("add_at", idx, a.shape[ax], ax)
    return apply(ADD_AT, a, idx, values, axis=ax)


@binds(TAKE_ALONG_AXIS)
def take_along_axis(
    arr: ArrayLike, indices: ArrayLike, axis: Any = None, *, dim: Any = None
) -> Value:
    """``out[..., j, ...] = arr[..., indices[..., j, ...], ...]`` along ``axis``, as
    numpy.take_along_axis (``indices`` has ``arr``'s dims; its other dims are equal or 1);
    e.g. picking each row's target class. ``axis=None`` works on the flattened array."""
    axis = _pick_axis(axis, dim, "take_along_axis")
    arr = lift(arr)
    idx = _index_node(indices, "take_along_axis", arr)
    if axis is None:
        arr = arr if arr.ndim == 1 else reshape(arr, (-1,))
        axis = 0
    if arr.ndim == 0:
        raise ValueError("take_along_axis: cannot index a 0-d array along an axis")
    ax = normalize_axis(axis, arr.ndim, "take_along_axis")
    _check_bounds("take_along_axis", idx, arr.shape[ax], ax)
    return apply(TAKE_ALONG_AXIS, arr, idx, axis=ax)


@binds(ADD_ALONG_AXIS)
def add_along_axis(
    arr: ArrayLike, indices: ArrayLike, values: ArrayLike, axis: Any, *, dim: Any = None
) -> Value:
    """A copy of ``arr`` with ``values`` added at ``indices`` along ``axis`` (repeats accumulate):
    the transpose of :func:`take_along_axis`."""
    axis = _pick_axis(axis, dim, "add_along_axis")
    arr = lift(arr)
    if arr.ndim == 0:
        raise ValueError("add_along_axis: cannot index a 0-d array along an axis")
    idx = _index_node(indices, "add_along_axis", arr)
    ax = normalize_axis(axis, arr.ndim, "add_along_axis")
    _check_bounds("add_along_axis", idx, arr.shape[ax], ax)
    return apply(ADD_ALONG_AXIS, arr, idx, values, axis=ax)


def put_along_axis(
    arr: ArrayLike, indices: ArrayLike, values: ArrayLike, axis: Any, *, dim: Any = None
) -> Value:
    """A copy of ``arr`` with ``values`` written at ``indices`` along ``axis``, as
    numpy.put_along_axis (which writes in place; a graph value is never changed, so this returns
    the result). Composed as a where over add_along_axis, so its gradients are exact when the
    indices along the axis are distinct. Repeated indices, which numpy and PyTorch leave
    unspecified, write the last of their values, as numpy's in-order writes do (each is where
    its index is the last along the axis to name its position; the others get no gradient).
    ``axis=None`` works on the flattened array."""
    axis = _pick_axis(axis, dim, "put_along_axis")
    x = lift(arr)
    if axis is None:
        flat = x if x.ndim == 1 else reshape(x, (-1,))
        out = put_along_axis(flat, indices, values, 0)
        return out if x.ndim == 1 else prims.reshape_like(out, x)
    idx = _index_node(indices, "put_along_axis", x)
    if x.ndim == 0:
        raise ValueError("put_along_axis: cannot index a 0-d array along an axis")
    ax = normalize_axis(axis, x.ndim, "put_along_axis")
    _check_bounds("put_along_axis", idx, x.shape[ax], ax)
    hits = apply(ADD_ALONG_AXIS, prims.zeros_like(x, dtype="int64"), idx, 1, axis=ax)
    kept = prims.where(last_of_repeats(idx, ax, x.shape[ax]), values, 0)
    written = apply(ADD_ALONG_AXIS, prims.zeros_like(x), idx, kept, axis=ax)
    return prims.where(hits > 0, written, x)


def last_of_repeats(idx: Any, axis: int, n: Dim) -> Any:
    """Where each index is the last along ``axis`` to name its position (negative ones counted
    from the end when the axis's size ``n`` is known): a stable sort of the indices puts
    repeats side by side in their order, the last of a run is followed by another index, and
    the sorting permutation carries that back (each position once, so the scatter is exact)."""
    if isinstance(n, int):
        idx = prims.where(idx < 0, idx + n, idx)
    # the sorting family's op, by name: the families never import each other
    order = apply(OPS["argsort"], idx, axis=axis, descending=False)
    ordered = apply(TAKE_ALONG_AXIS, idx, order, axis=axis)

    def along(start: int, stop: int | None) -> Any:
        slices: list[Any] = [None] * idx.ndim
        slices[axis] = (start, stop, 1)
        return prims.slice_axes(ordered, slices)

    followed = prims.not_equal(along(0, -1), along(1, None))  # by another index
    final = prims.full_like(along(-1, None), True, dtype="bool")
    last = prims.concatenate([followed, final], axis)
    marks = apply(ADD_ALONG_AXIS, prims.zeros_like(idx), order, astype(last, "int64"), axis=axis)
    return marks > 0
