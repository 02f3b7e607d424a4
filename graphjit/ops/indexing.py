"""Indexing: ``x[...]`` (getitem) with numpy's semantics, composed from other families' ops.

``getitem`` composes basic indexing (ints, slices with any step, ``None``, ``...``) from
``slice_axes``, ``squeeze`` and ``expand_dims``, and integer-array indices from ``take`` (see
:mod:`graphjit.ops.gather`), with numpy's placement rule for their dims. Several integer arrays
broadcast together (numpy's advanced indexing): the last one gathers with ``take`` (broadcast to
the common shape), each other one picks along its axis with ``take_along_axis``, so every index
is bounds-checked where it is used, on ``None`` dims too. A boolean mask whose
values are known when the index is built (a numpy array, a list, an eager tensor) becomes the
integer positions of its true elements; a boolean graph node is refused with a TypeError, because
the result's size would depend on data the graph has not seen yet.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.dtypes import is_int
from graphjit.ir import Node
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    apply,
    eager_flatnonzero,
    eager_result,
    is_tensor,
    lift,
    lift_like,
    untracked_array,
)
from graphjit.ops.prims import (
    broadcast_like,
    expand_dims,
    reshape,
    slice_axes,
    squeeze,
    take,
    take_along_axis,
    transpose,
)
from graphjit.ops.registry import OPS, OpDef
from graphjit.ops.shape_rules import FULL_SLICE, broadcast_shapes, canonical_slice, fresh_copy

__all__ = ["getitem"]


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
            if _is_cuda(item):  # its true elements are found on the device
                return "mask", item.detach()
            return "mask", np.asarray(item.numpy())  # its size decides the shape
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


def _is_cuda(x: Any) -> bool:
    return bool(getattr(x, "is_cuda", False))


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
        mask = v  # a numpy array, or a boolean tensor on the GPU
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
            shape = [*x.shape[:axis], int(np.prod(mask.shape)), *x.shape[axis + mask.ndim :]]
            unknown = [j for j, d in enumerate(shape) if not isinstance(d, int)]
            if len(unknown) > 1:
                raise TypeError(
                    "getitem: a multi-dimensional boolean mask needs the array's other "
                    "dims fixed (at most one unknown)"
                )
            x = reshape(x, tuple(-1 if j in unknown else d for j, d in enumerate(shape)))
        positions = (
            np.flatnonzero(mask) if isinstance(mask, np.ndarray) else eager_flatnonzero(mask)
        )
        items = [*items[:i], ("array", positions), *items[i + 1 :]]
        return _apply_mask(x, items)  # the next mask, if any
    return x, items


def _check_index_devices(x: Any, items: list[tuple[str, Any]]) -> None:
    """Index arrays on the GPU index only a tensor there (a CPU index may index a cuda tensor;
    a graph node takes any index as a constant)."""
    if _is_cuda(x) or not is_tensor(x):
        return
    for k, v in items:
        if k in ("array", "mask", "scalar") and _is_cuda(v) and v.ndim:
            raise RuntimeError(
                "getitem: indices on cuda:0 cannot index a tensor on cpu (as PyTorch, indices "
                "must be on the CPU or on the indexed tensor's device); move the index with "
                ".cpu() or the tensor with .to('cuda')"
            )


def _index_shape(v: Any) -> tuple[Any, ...]:
    return tuple(v.shape)


def _gather_arrays(x: Any, arrays: list[tuple[int, Any]]) -> Any:
    """``x`` indexed by several integer arrays on the given axes, broadcast together (numpy's
    advanced indexing): the broadcast shape's dims replace the first array axis and the other
    array axes go. The last array gathers with ``take``, the others with ``take_along_axis``."""
    shapes = [_index_shape(v) for _, v in arrays]
    try:
        common = broadcast_shapes(*shapes, op="getitem")
    except ValueError:
        shown = " ".join(str(tuple(s)) for s in shapes)
        raise IndexError(
            f"getitem: shape mismatch: indexing arrays could not be broadcast together with "
            f"shapes {shown}"
        ) from None
    nb = len(common)
    if all(isinstance(v, np.ndarray) for _, v in arrays):
        values = list(np.broadcast_arrays(*(v for _, v in arrays)))
    else:
        values = [v for _, v in arrays]
    axes = [a for a, _ in arrays]
    last_axis, last = axes[-1], values[-1]
    if _index_shape(last) != tuple(common):
        ref = values[0]
        for v in values[1:]:
            ref = ref + v  # an int array of the broadcast shape (only its shape is read)
        last = broadcast_like(last, ref)
    y = take(x, last, last_axis)
    for a, v in zip(axes[:-1], values[:-1]):
        m = len(_index_shape(v))
        keep = range(last_axis + nb - m, last_axis + nb)
        new = tuple(i for i in range(y.ndim) if i not in keep)
        if isinstance(v, np.ndarray):
            idx = v.reshape([1 if i in new else v.shape[i - keep[0]] for i in range(y.ndim)])
        else:
            idx = expand_dims(v, new)
        y = take_along_axis(y, idx, a)
    y = squeeze(y, tuple(axes[:-1]))
    at = last_axis - (len(axes) - 1)  # where the broadcast dims are now
    if at != axes[0]:
        order = list(range(y.ndim))
        block = order[at : at + nb]
        rest = order[:at] + order[at + nb :]
        y = transpose(y, tuple(rest[: axes[0]] + block + rest[axes[0] :]))
    return y


# eager basic indexing (ints, slices, None, ...) on a shape -> the ops to apply, parsed once
_BASIC_PLANS: dict[tuple[Any, ...], tuple[tuple[OpDef, dict[str, Any]], ...]] = {}
_BASIC_TYPES = (int, slice, type(None), type(Ellipsis), np.integer)


def _int_as_slice(v: int, d: int, axis: int) -> tuple[int, int, int]:
    """Int index ``v`` on an axis of fixed size ``d`` as a one-element slice (bounds checked)."""
    if not -d <= v < d:
        raise IndexError(f"getitem: index {v} is out of bounds for axis {axis} with size {d}")
    j = v % d
    return (j, j + 1, 1)


def _take_at_run_time(x: Any, idx: Any, axis: int) -> Any:
    """The ``take`` op applied directly: a 0-d index out of range raises IndexError when the op
    runs (the public ``take`` raises already when it is given an index whose value is known)."""
    return apply(OPS["take"], x, idx, axis=axis)


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
    array = untracked_array(x)
    if array is not None:
        # nothing to record: numpy's basic indexing is exactly the plan's ops, in one step
        return eager_result(fresh_copy(array[items]), view=True)  # a view in numpy and PyTorch
    for op, attrs in plan:
        x = apply(op, x, **attrs)
    return x


def getitem(x: ArrayLike, index: ArrayLike) -> Value:
    """``x[index]`` with numpy's semantics for ints, slices (any step), ``None``, ``...``,
    integer arrays (broadcast together; their dims replace the first indexed axis, or come first
    when the advanced indices are not adjacent), and boolean masks known when the graph is built.
    An int index past a fixed dim raises IndexError now; past a dim known only at call time, when
    the graph runs."""
    if is_tensor(x):
        out = _eager_basic_getitem(x, index)
        if out is not None:
            return out
    x = lift(x)
    raw = [_classify(item) for item in (index if isinstance(index, tuple) else (index,))]
    front = _front(raw)
    items = _expand(raw, x.ndim)
    _check_index_devices(x, items)
    x, items = _apply_mask(x, items)
    if _is_cuda(x):  # as PyTorch: a host index array is copied to the device
        items = [(k, lift_like(v, x) if k == "array" else v) for k, v in items]

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
                x = _take_at_run_time(x, lift(np.int64(v)), axis)
        elif k == "scalar":
            x = _take_at_run_time(x, v, axis)
    # the axes left are the slices' and the arrays', in order
    kept = [(k, v) for _, k, v in axes if k in ("slice", "array")]
    arrays = [(i, v) for i, (k, v) in enumerate(kept) if k == "array"]
    if len(arrays) == 1:
        x = take(x, arrays[0][1], arrays[0][0])
    elif arrays:
        x = _gather_arrays(x, arrays)

    # 3. insert the new axes, at their places in the result
    pos = 0
    new_axes = []
    array_at, array_ndim = 0, 0
    shapes = [tuple(v.shape) for k, v in items if k == "array"]
    seen_array = False
    for k, _ in items:
        if k == "new":
            new_axes.append(pos)
            pos += 1
        elif k == "slice":
            pos += 1
        elif k == "array" and not seen_array:  # the arrays' broadcast dims go here
            seen_array = True
            array_at, array_ndim = pos, max(len(s) for s in shapes)
            pos += array_ndim
    for p in new_axes:
        x = expand_dims(x, p)

    # 4. numpy's rule for separated advanced indices: the array's dims go first
    if front and array_at > 0 and array_ndim:
        order = list(range(x.ndim))
        moved = order[array_at : array_at + array_ndim]
        x = transpose(x, tuple(moved + order[:array_at] + order[array_at + array_ndim :]))
    return x
