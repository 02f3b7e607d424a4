"""Indexing: ``x[...]`` (getitem), gathers (take, take_along_axis) and their scatter-adds.

Four ops: ``take`` and ``take_along_axis`` gather; ``add_at`` and ``add_along_axis`` scatter-add
(numpy's ``np.add.at``: repeated indices accumulate). Each scatter-add is the other's transpose, so
the vjp of a gather is a scatter-add into zeros, the vjp of a scatter-add is a gather, and
derivatives of every order stay within these ops. Index arrays are int inputs (constant nodes when
given as lists or numpy arrays), never attributes. Negative indices count from the end; an
out-of-range index raises IndexError when the graph runs (or when it is built, if both the index
and the size are known then).

``getitem`` composes basic indexing (ints, slices with any step, ``None``, ``...``) from
``slice_axes``, ``squeeze`` and ``expand_dims``, and one integer-array index from ``take``, with
numpy's placement rule for that index's dims. A boolean mask whose values are known when the index
is built (a numpy array, a list, an eager tensor) becomes the integer positions of its true
elements; a boolean graph node is refused with a TypeError, because the result's size would depend
on data the graph has not seen yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.dtypes import is_int
from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops import prims
from graphjit.ops.dispatch import apply, is_tensor, lift
from graphjit.ops.leaves import constant_value
from graphjit.ops.prims import expand_dims, reshape, slice_axes, squeeze, transpose
from graphjit.ops.registry import OPS, DimBuilder, OpDef, defop
from graphjit.ops.shape_rules import FULL_SLICE, canonical_slice, normalize_axis, same_dim

__all__ = ["getitem", "take", "take_along_axis", "add_at", "add_along_axis"]


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


def _take_impl(x: np.ndarray, idx: np.ndarray, *, axis: int) -> np.ndarray:
    return np.asarray(np.take(x, idx, axis=axis))


def _add_at_infer(x: TensorType, idx: TensorType, v: TensorType, *, axis: int) -> TensorType:
    _check_indices("add_at", idx)
    _check_axis("add_at", x, axis)
    _fits("add_at", "values", v.shape, _take_shape(x, idx, axis))
    return x


def _add_at_impl(x: np.ndarray, idx: np.ndarray, v: np.ndarray, *, axis: int) -> np.ndarray:
    out = np.array(x, copy=True)
    where: Any = (slice(None),) * axis + (idx,)
    np.add.at(out, where, v)
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
    return np.take_along_axis(x, np.broadcast_to(idx, shape), axis=axis)


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
    np.add.at(out, where, np.broadcast_to(v, shape))
    return out


def _add_along_jvp(tangents: Any, out: Any, x: Any, idx: Any, v: Any, *, axis: int) -> Any:
    tx, _, tv = tangents
    if tv is None:
        return tx
    return apply(ADD_ALONG_AXIS, prims.zeros_like(x) if tx is None else tx, idx, tv, axis=axis)


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
    promote=(0, 2),
    doc="x with values added at per-position indices along one axis (repeats accumulate)",
)


# --------------------------------------------------------------------------------------------------
# public gathers and scatters


def _index_node(indices: Any, op: str) -> Any:
    """``indices`` as an int node/tensor (lists and numpy arrays become int64 constants)."""
    if isinstance(indices, Node) or is_tensor(indices):
        idx = indices
    else:
        arr = np.asarray(indices)
        if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
            raise TypeError(f"{op}: indices must be integers, got {arr.dtype} values")
        idx = lift(arr.astype(np.int64))
    if not is_int(idx.dtype):
        raise TypeError(f"{op}: indices must be int32 or int64, got {idx.dtype}")
    return idx


def _known_values(idx: Any) -> np.ndarray | None:
    """The values of an index array when they are known now (a constant or an eager tensor)."""
    if is_tensor(idx):
        return np.asarray(idx.numpy())
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


def take(a: Any, indices: Any, axis: Any = None, *, dim: Any = None) -> Any:
    """Elements of ``a`` at ``indices`` along ``axis``, as numpy.take: the result's dims are
    ``a.shape[:axis] + indices.shape + a.shape[axis+1:]``; ``axis=None`` indexes the flattened
    array. Negative indices count from the end. (``dim=`` is PyTorch's index_select spelling.)"""
    axis = _pick_axis(axis, dim, "take")
    a = lift(a)
    idx = _index_node(indices, "take")
    if axis is None:
        if a.ndim != 1:
            a = reshape(a, (-1,))
        axis = 0
    if a.ndim == 0:
        raise ValueError("take: cannot index a 0-d array along an axis")
    ax = normalize_axis(axis, a.ndim, "take")
    _check_bounds("take", idx, a.shape[ax], ax)
    return apply(TAKE, a, idx, axis=ax)


def add_at(a: Any, indices: Any, values: Any, axis: Any = 0, *, dim: Any = None) -> Any:
    """A copy of ``a`` with ``values`` added at ``indices`` along ``axis`` (np.add.at on a copy):
    repeated indices accumulate. ``values`` broadcasts to the shape ``take(a, indices, axis)``
    would have. This is the transpose of :func:`take`."""
    axis = _pick_axis(axis, dim, "add_at")
    a = lift(a)
    if a.ndim == 0:
        raise ValueError("add_at: cannot index a 0-d array along an axis")
    idx = _index_node(indices, "add_at")
    ax = normalize_axis(axis, a.ndim, "add_at")
    _check_bounds("add_at", idx, a.shape[ax], ax)
    return apply(ADD_AT, a, idx, values, axis=ax)


def take_along_axis(arr: Any, indices: Any, axis: Any = None, *, dim: Any = None) -> Any:
    """``out[..., j, ...] = arr[..., indices[..., j, ...], ...]`` along ``axis``, as
    numpy.take_along_axis (``indices`` has ``arr``'s dims; its other dims are equal or 1);
    e.g. picking each row's target class. ``axis=None`` works on the flattened array."""
    axis = _pick_axis(axis, dim, "take_along_axis")
    arr = lift(arr)
    idx = _index_node(indices, "take_along_axis")
    if axis is None:
        arr = arr if arr.ndim == 1 else reshape(arr, (-1,))
        axis = 0
    if arr.ndim == 0:
        raise ValueError("take_along_axis: cannot index a 0-d array along an axis")
    ax = normalize_axis(axis, arr.ndim, "take_along_axis")
    _check_bounds("take_along_axis", idx, arr.shape[ax], ax)
    return apply(TAKE_ALONG_AXIS, arr, idx, axis=ax)


def add_along_axis(arr: Any, indices: Any, values: Any, axis: Any, *, dim: Any = None) -> Any:
    """A copy of ``arr`` with ``values`` added at ``indices`` along ``axis`` (repeats accumulate):
    the transpose of :func:`take_along_axis`."""
    axis = _pick_axis(axis, dim, "add_along_axis")
    arr = lift(arr)
    if arr.ndim == 0:
        raise ValueError("add_along_axis: cannot index a 0-d array along an axis")
    idx = _index_node(indices, "add_along_axis")
    ax = normalize_axis(axis, arr.ndim, "add_along_axis")
    _check_bounds("add_along_axis", idx, arr.shape[ax], ax)
    return apply(ADD_ALONG_AXIS, arr, idx, values, axis=ax)


# --------------------------------------------------------------------------------------------------
# getitem

_FULL = (None, None, None)
_VALID = (
    "only integers, slices (`:`), ellipsis (`...`), None (`np.newaxis`) and integer or "
    "boolean arrays are valid indices"
)


def _slice_bound(v: Any, what: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"getitem: slice {what} must be an int or None, got {v!r}")
    return int(v)


def _classify(item: Any) -> tuple[str, Any]:
    """One index item as (kind, value), kind in new/ellipsis/slice/int/scalar (a 0-d int node or
    tensor)/array/mask."""
    if item is None:
        return "new", None
    if item is Ellipsis:
        return "ellipsis", None
    if isinstance(item, slice):
        step = _slice_bound(item.step, "step")
        if step == 0:
            raise ValueError("getitem: slice step cannot be zero")
        return "slice", (_slice_bound(item.start, "start"), _slice_bound(item.stop, "stop"), step)
    if isinstance(item, (bool, np.bool_)):
        raise IndexError("getitem: a python bool index (x[True]) is not supported; " + _VALID)
    if isinstance(item, (int, np.integer)):
        return "int", int(item)
    if isinstance(item, Node) or is_tensor(item):
        if item.dtype == "bool":
            if isinstance(item, Node):
                raise TypeError(
                    "getitem: a boolean graph node cannot index a graph: the result's size would "
                    "depend on data not known when the graph is built. Use gj.where(mask, x, 0) "
                    "to zero out elements, or index with integer positions"
                )
            return "mask", np.asarray(item.numpy())
        if not is_int(item.dtype):
            raise IndexError(f"getitem: index arrays must be integers, got {item.dtype}; " + _VALID)
        return ("scalar" if item.ndim == 0 else "array"), item
    if isinstance(item, (list, tuple, np.ndarray)):
        arr = np.asarray(item)
        if arr.dtype == np.bool_:
            return "mask", arr
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iu":
            raise IndexError(f"getitem: index arrays must be integers, got {arr.dtype}; " + _VALID)
        if arr.ndim == 0:
            return "int", int(arr)
        return "array", arr.astype(np.int64)
    raise IndexError(f"getitem: {_VALID}; got {type(item).__name__} {item!r:.40}")


def _consumed(kind: str, value: Any) -> int:
    """How many of the array's axes an item indexes."""
    if kind == "mask":
        return int(value.ndim)
    return 0 if kind in ("new", "ellipsis") else 1


def _expand(items: list[tuple[str, Any]], ndim: int) -> list[tuple[str, Any]]:
    """``items`` with ``...`` replaced by full slices and full slices appended up to ``ndim``."""
    if sum(k == "ellipsis" for k, _ in items) > 1:
        raise IndexError("getitem: an index can only have a single ellipsis ('...')")
    used = sum(_consumed(k, v) for k, v in items)
    if used > ndim:
        raise IndexError(
            f"getitem: too many indices for array: array is {ndim}-dimensional, but {used} were "
            "indexed"
        )
    fill = [("slice", _FULL)] * (ndim - used)
    out: list[tuple[str, Any]] = []
    for k, v in items:
        out.extend(fill if k == "ellipsis" else [(k, v)])
    if not any(k == "ellipsis" for k, _ in items):
        out.extend(fill)
    return out


def _front(items: list[tuple[str, Any]]) -> bool:
    """numpy's rule: advanced indices (with an array among them) that are not next to each other
    in the index put their dims first in the result."""
    if not any(k in ("array", "mask") for k, _ in items):
        return False
    pos = [i for i, (k, _) in enumerate(items) if k in ("array", "mask", "int", "scalar")]
    return pos[-1] - pos[0] + 1 != len(pos)


def _apply_mask(x: Any, items: list[tuple[str, Any]]) -> tuple[Any, list[tuple[str, Any]]]:
    """Replace a boolean mask item by the positions of its true elements (one array item)."""
    axis = 0
    for i, (k, v) in enumerate(items):
        if k != "mask":
            axis += _consumed(k, v)
            continue
        mask: np.ndarray = v
        if mask.ndim == 0:
            raise IndexError("getitem: a 0-d boolean index is not supported; " + _VALID)
        dims = x.shape[axis : axis + mask.ndim]
        for j, (d, m) in enumerate(zip(dims, mask.shape)):
            if not isinstance(d, int):
                raise TypeError(
                    f"getitem: a boolean mask needs the dims it covers to be fixed, but axis "
                    f"{axis + j} has size {d!r}; index with integer positions (np.flatnonzero) "
                    "instead"
                )
            if d != m:
                raise IndexError(
                    f"getitem: boolean index did not match indexed array along axis {axis + j}; "
                    f"size of axis is {d} but size of corresponding boolean axis is {m}"
                )
        if mask.ndim > 1:
            shape = [*x.shape[:axis], mask.size, *x.shape[axis + mask.ndim :]]
            unknown = [j for j, d in enumerate(shape) if not isinstance(d, int)]
            if len(unknown) > 1:
                raise TypeError(
                    "getitem: a multi-dimensional boolean mask needs the array's other "
                    "dims fixed (at most one unknown)"
                )
            x = reshape(x, tuple(-1 if j in unknown else d for j, d in enumerate(shape)))
        items = [*items[:i], ("array", np.flatnonzero(mask)), *items[i + 1 :]]
        break
    return x, items


# eager basic indexing (ints, slices, None, ...) on a shape -> the ops to apply, parsed once
_BASIC_PLANS: dict[tuple[Any, ...], tuple[tuple[OpDef, dict[str, Any]], ...]] = {}
_BASIC_TYPES = (int, slice, type(None), type(Ellipsis), np.integer)


def _int_as_slice(v: int, d: int, axis: int) -> tuple[int, int, int]:
    """Int index ``v`` on an axis of fixed size ``d`` as a one-element slice (bounds checked)."""
    if not -d <= v < d:
        raise IndexError(f"getitem: index {v} is out of bounds for axis {axis} with size {d}")
    j = v % d
    return (j, j + 1, 1)


def _basic_plan(shape: tuple[int, ...], index: Any) -> tuple[tuple[OpDef, dict[str, Any]], ...]:
    """The ops ``x[index]`` applies to an eager tensor of ``shape`` for a basic index: one
    slice_axes, one squeeze (the int axes) and one expand_dims (the new axes), each left out when
    it does nothing. The same ops as :func:`getitem`'s general path, in fewer tape entries."""
    items = _expand([_classify(i) for i in index], len(shape))
    slices: list[Any] = []
    ints: list[int] = []
    new_axes: list[int] = []
    pos = 0
    for k, v in items:
        if k == "new":
            new_axes.append(pos)
            pos += 1
            continue
        axis, d = len(slices), shape[len(slices)]
        if k == "slice":
            start, stop, step = v
            slices.append(canonical_slice((start, stop, 1 if step is None else step), d))
            pos += 1
        else:
            slices.append(_int_as_slice(v, d, axis))
            ints.append(axis)
    plan: list[tuple[OpDef, dict[str, Any]]] = []
    if any(t != FULL_SLICE for t in slices):
        plan.append((OPS["slice_axes"], {"slices": tuple(slices)}))
    if ints:
        plan.append((OPS["squeeze"], {"axes": tuple(ints)}))
    if new_axes:
        plan.append((OPS["expand_dims"], {"axes": tuple(new_axes)}))
    return tuple(plan)


def _eager_basic_getitem(x: Any, index: Any) -> Any:
    """``x[index]`` for an eager tensor and a basic index, with the parsed index cached; None for
    any other index (the general path handles, and checks, those)."""
    items = index if isinstance(index, tuple) else (index,)
    key: list[Any] = [x.shape]
    for item in items:
        if not isinstance(item, _BASIC_TYPES) or isinstance(item, (bool, np.bool_)):
            return None
        if isinstance(item, slice):
            bounds = (item.start, item.stop, item.step)
            if not all(b is None or (type(b) is int) for b in bounds):
                return None
            key.append(bounds)
        else:
            key.append(item if item is None or item is Ellipsis else ("i", int(item)))
    plan_key = tuple(key)
    plan = _BASIC_PLANS.get(plan_key)
    if plan is None:
        plan = _basic_plan(x.shape, items)
        if len(_BASIC_PLANS) > 4096:
            _BASIC_PLANS.clear()
        _BASIC_PLANS[plan_key] = plan
    for op, attrs in plan:
        x = apply(op, x, **attrs)
    return x


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with numpy's semantics for ints, slices (any step), ``None``, ``...``, one
    integer array (its dims replace the indexed axis, or come first when the advanced indices are
    not adjacent), and boolean masks known when the graph is built. An int index past a fixed dim
    raises IndexError now; past a dim known only at call time, when the graph runs."""
    if is_tensor(x):
        out = _eager_basic_getitem(x, index)
        if out is not None:
            return out
    x = lift(x)
    raw = [_classify(item) for item in (index if isinstance(index, tuple) else (index,))]
    if sum(k in ("array", "mask") for k, _ in raw) > 1:
        raise IndexError(
            "getitem: only one integer-array or boolean index is supported (numpy would broadcast "
            "several together); index one axis at a time, or use gj.take_along_axis"
        )
    front = _front(raw)
    items = _expand(raw, x.ndim)
    x, items = _apply_mask(x, items)

    # 1. every slice, and each int on a fixed dim as a one-element slice, in one slice_axes
    slices: list[tuple[int | None, int | None, int | None]] = []
    for k, v in items:
        if k == "new":
            continue
        axis = len(slices)
        d = x.shape[axis]
        if k == "slice":
            slices.append(v)
        elif k == "int" and isinstance(d, int):
            slices.append(_int_as_slice(v, d, axis))
        else:
            slices.append(_FULL)
    x = slice_axes(x, tuple(slices))  # the identity when every slice is whole

    # 2. drop the int axes and gather the array axis, last axis first so earlier axes keep their
    # numbers
    axes: list[tuple[int, str, Any]] = []
    for k, v in items:
        if k != "new":
            axes.append((len(axes), k, v))
    for axis, k, v in reversed(axes):
        if k == "int":
            if isinstance(x.shape[axis], int):
                x = squeeze(x, axis)
            else:  # size known at call time: take checks the bound when the graph runs
                x = apply(TAKE, x, lift(np.int64(v)), axis=axis)
        elif k == "scalar":
            x = apply(TAKE, x, v, axis=axis)
        elif k == "array":
            x = take(x, v, axis=axis)

    # 3. insert the new axes, at their places in the result
    pos = 0
    new_axes = []
    array_at, array_ndim = 0, 0
    for k, v in items:
        if k == "new":
            new_axes.append(pos)
            pos += 1
        elif k == "slice":
            pos += 1
        elif k == "array":
            array_at, array_ndim = pos, int(v.ndim)
            pos += array_ndim
    for p in new_axes:
        x = expand_dims(x, p)

    # 4. numpy's rule for separated advanced indices: the array's dims go first
    if front and array_at > 0 and array_ndim:
        order = list(range(x.ndim))
        moved = order[array_at : array_at + array_ndim]
        x = transpose(x, tuple(moved + order[:array_at] + order[array_at + array_ndim :]))
    return x
