"""ONNX export of the shape ops, slices, joins, pads, gathers (with their gradients), sorting
and ``einsum``."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.ir import Node
from graphjit.onnx.exporter import (
    INT64_MAX,
    INT64_MIN,
    Writer,
    exports,
    scalar,
    zero_tensor,
)

__all__: list[str] = []


# --------------------------------------------------------------------------------------------------
# shapes


@exports("reshape")
def _reshape(w: Writer, node: Node, ins: list[str]) -> str:
    if node.type.is_static:
        return w.op("Reshape", [ins[0], w.ints(node.shape)], allowzero=1)  # type: ignore[arg-type]
    shape = node.attrs["shape"]
    # a 0 in ONNX's Reshape copies the input's dim unless allowzero, which forbids a -1 next to it
    return w.op("Reshape", [ins[0], w.ints(shape)], allowzero=int(0 in shape and -1 not in shape))


@exports("reshape_like")
def _reshape_like(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Reshape", [ins[0], w.shape(ins[1], node.inputs[1])], allowzero=1)


@exports("transpose")
def _transpose(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Transpose", ins, perm=list(node.attrs["axes"]))


@exports("expand_dims")
def _expand_dims(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Unsqueeze", [ins[0], w.ints(node.attrs["axes"])])


@exports("squeeze")
def _squeeze(w: Writer, node: Node, ins: list[str]) -> str:
    axes = node.attrs["axes"]
    if not axes:  # ONNX squeezes every 1 when no axes are given
        return w.op("Identity", ins)
    return w.op("Squeeze", [ins[0], w.ints(axes)])


@exports("broadcast_to")
def _broadcast_to(w: Writer, node: Node, ins: list[str]) -> str:
    # Expand broadcasts both ways: a 1 where graphjit says None (keep x's dim) keeps x's dim
    target = [d if isinstance(d, int) else 1 for d in node.attrs["shape"]]
    return w.op("Expand", [ins[0], w.ints(target)])


@exports("broadcast_like")
def _broadcast_like(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Expand", [ins[0], w.shape(ins[1], node.inputs[1])])


@exports("full_like")
def _full_like(w: Writer, node: Node, ins: list[str]) -> str:
    value = np.asarray([node.attrs["fill_value"]], dtype=node.dtype)
    tensor = w.onnx.numpy_helper.from_array(value, "value")
    return w.op("ConstantOfShape", [w.shape(ins[0], node.inputs[0])], value=tensor)


# --------------------------------------------------------------------------------------------------
# slices, joins, pads


def _slice_bounds(triple: tuple[Any, Any, Any]) -> tuple[int, int, int]:
    start, stop, step = triple
    if start is None:
        start = 0 if step > 0 else INT64_MAX
    if stop is None:
        stop = INT64_MAX if step > 0 else INT64_MIN
    return int(start), int(stop), int(step)


@exports("slice_axes")
def _slice_axes(w: Writer, node: Node, ins: list[str]) -> str:
    parts = [
        (axis, _slice_bounds(t))
        for axis, t in enumerate(node.attrs["slices"])
        if tuple(t) != (None, None, 1)
    ]
    if not parts:
        return w.op("Identity", ins)
    starts, stops, steps = ([p[1][k] for p in parts] for k in range(3))
    axes = [p[0] for p in parts]
    return w.op("Slice", [ins[0], w.ints(starts), w.ints(stops), w.ints(axes), w.ints(steps)])


@exports("slice_axes_grad")
def _slice_axes_grad(w: Writer, node: Node, ins: list[str]) -> str:
    """Zeros of x's shape with g written at the slice: ScatterND at the slice's index grid."""
    g, x = node.inputs
    ndim = x.ndim
    if ndim == 0:
        return w.op("Identity", [ins[0]])
    zero = w.op("ConstantOfShape", [w.shape(ins[1], x)], value=zero_tensor(w, node.dtype))
    g_shape = w.shape(ins[0], g)
    coords = []
    for axis, triple in enumerate(node.attrs["slices"]):
        size = w.op("Squeeze", [w.dim(ins[1], x, axis), w.ints([0])])
        positions = w.op("Range", [w.const(np.int64(0)), size, w.const(np.int64(1))])
        start, stop, step = _slice_bounds(triple)
        picked = w.op(
            "Slice", [positions, w.ints([start]), w.ints([stop]), w.ints([0]), w.ints([step])]
        )
        along = [1] * ndim
        along[axis] = -1
        grid = w.op("Expand", [w.op("Reshape", [picked, w.ints(along)]), g_shape])
        coords.append(w.op("Unsqueeze", [grid, w.ints([-1])]))
    indices = w.concat_dims(coords) if len(coords) == 1 else w.op("Concat", coords, axis=-1)
    return w.op("ScatterND", [zero, indices, ins[0]])


@exports("concatenate")
def _concatenate(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Concat", ins, axis=node.attrs["axis"])


@exports("concatenate_part")
def _concatenate_part(w: Writer, node: Node, ins: list[str]) -> str:
    axis, index = node.attrs["axis"], node.attrs["index"]
    parts = node.inputs[1:]
    sizes = [w.dim(ins[1 + k], parts[k], axis) for k in range(index + 1)]
    start = sizes[0] if index > 0 else w.ints([0])
    for s in sizes[1:-1]:
        start = w.op("Add", [start, s])
    stop = w.op("Add", [start, sizes[-1]]) if index > 0 else sizes[-1]
    return w.op("Slice", [ins[0], start, stop, w.ints([axis])])


@exports("pad")
def _pad(w: Writer, node: Node, ins: list[str]) -> str:
    widths = node.attrs["pad_width"]
    pads = [b for b, _ in widths] + [a for _, a in widths]
    value = scalar(w, node.attrs["constant_value"], node.dtype)
    return w.op("Pad", [ins[0], w.ints(pads), value], mode="constant")


# --------------------------------------------------------------------------------------------------
# gathers and their gradients


@exports("take")
def _take(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Gather", ins, axis=node.attrs["axis"])


def _index_shape(w: Writer, node: Node, ins: list[str]) -> str:
    """The shape the indices of take_along_axis/add_along_axis broadcast to (x's, with the
    indices' size on the axis)."""
    x, idx = node.inputs[0], node.inputs[1]
    axis = node.attrs["axis"]
    dims = [w.dim(ins[1], idx, a) if a == axis else w.dim(ins[0], x, a) for a in range(x.ndim)]
    return w.concat_dims(dims)


@exports("take_along_axis")
def _take_along_axis(w: Writer, node: Node, ins: list[str]) -> str:
    idx = w.op("Expand", [ins[1], _index_shape(w, node, ins)])
    return w.op("GatherElements", [ins[0], idx], axis=node.attrs["axis"])


@exports("add_along_axis")
def _add_along_axis(w: Writer, node: Node, ins: list[str]) -> str:
    shape = _index_shape(w, node, ins)
    idx = w.op("Expand", [w.cast(ins[1], node.inputs[1].dtype, "int64"), shape])
    values = w.op("Expand", [ins[2], shape])
    axis = node.attrs["axis"]
    return w.op("ScatterElements", [ins[0], idx, values], axis=axis, reduction="add")


@exports("add_at")
def _add_at(w: Writer, node: Node, ins: list[str]) -> str:
    """np.add.at along an axis: ScatterND with reduction add on x with that axis moved first."""
    x, idx, _ = node.inputs
    axis, k = node.attrs["axis"], idx.ndim
    rest = [a for a in range(x.ndim) if a != axis]
    xt = w.op("Transpose", [ins[0]], perm=[axis, *rest])
    # the values' shape: x's dims before the axis, the indices' dims, x's dims after it
    want = (
        w.concat_dims(
            [w.dim(ins[0], x, a) for a in range(axis)]
            + [w.shape(ins[1], idx)] * (k > 0)
            + [w.dim(ins[0], x, a) for a in range(axis + 1, x.ndim)]
        )
        if x.ndim - 1 + k > 0
        else w.ints([])
    )
    values = w.op("Expand", [ins[2], want])
    vperm = [*range(axis, axis + k), *range(axis), *range(axis + k, x.ndim - 1 + k)]
    vt = w.op("Transpose", [values], perm=vperm) if vperm != sorted(vperm) else values
    index = w.cast(ins[1], idx.dtype, "int64")
    size = w.op("Squeeze", [w.dim(ins[0], x, axis), w.ints([0])])  # a scalar: idx keeps its shape
    negative = w.op("Less", [index, w.const(np.int64(0))])
    index = w.op("Where", [negative, w.op("Add", [index, size]), index])
    index = w.op("Unsqueeze", [index, w.ints([-1])])
    scattered = w.op("ScatterND", [xt, index, vt], reduction="add")
    inverse = [int(a) for a in np.argsort([axis, *rest])]
    return w.op("Transpose", [scattered], perm=inverse)


@exports("argsort")
def _argsort(w: Writer, node: Node, ins: list[str]) -> str:
    """Two TopK passes (ONNX's TopK breaks ties by the lower index, so each pass is stable): by
    the values with NaN read as inf, then by NaN-ness (NaN last, first when descending)."""
    x, axis, descending = node.inputs[0], node.attrs["axis"], node.attrs["descending"]
    dtype = x.dtype
    work = "int32" if dtype == "bool" else dtype
    if dtype in ("int8", "int16", "uint8"):
        work = "int64"
    key = w.cast(ins[0], dtype, work)

    def topk(values: str) -> str:
        k = w.dim(values, x, axis)  # the whole axis, read off the values sorted (x's shape)
        out = w.fresh("topk")
        order = w.fresh("order")
        w.nodes.append(
            w.onnx.helper.make_node(
                "TopK", [values, k], [out, order], axis=axis, largest=int(descending), sorted=1
            )
        )
        return order

    if not work.startswith("float"):
        return topk(key)
    nan = w.op("IsNaN", [key])
    first = topk(w.op("Where", [nan, scalar(w, np.inf, work), key]))
    nan_first = w.cast(w.op("GatherElements", [nan, first], axis=axis), "bool", "int32")
    return w.op("GatherElements", [first, topk(nan_first)], axis=axis)


@exports("searchsorted")
def _searchsorted(w: Writer, node: Node, ins: list[str]) -> str:
    """How many entries of the sorted 1-D ``a`` come before each v (< v, or <= v for side right),
    with NaN above every number as numpy sorts it: what a binary search finds when ``a`` is sorted
    (searchsorted's contract), by a broadcast comparison (len(a) * v.size booleans)."""
    a, v = node.inputs
    work = np.result_type(a.dtype, v.dtype).name
    work = "int32" if work == "bool" else work
    av, vv = w.cast(ins[0], a.dtype, work), w.cast(ins[1], v.dtype, work)
    column = w.op("Unsqueeze", [vv, w.ints([-1])])  # v's shape + (1,): against every a
    right = node.attrs["right"]
    before = w.op("LessOrEqual" if right else "Less", [av, column])
    if work.startswith("float"):
        v_nan = w.op("IsNaN", [column])
        if right:  # a NaN v goes after everything, NaN entries of a too
            before = w.op("Or", [before, v_nan])
        else:  # ... and before a's NaN entries
            a_number = w.op("Not", [w.op("IsNaN", [av])])
            before = w.op("Or", [before, w.op("And", [v_nan, a_number])])
    count = w.cast(before, "bool", "int64")
    return w.op("ReduceSum", [count, w.ints([-1])], keepdims=0)


@exports("einsum")
def _einsum(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Einsum", ins, equation=node.attrs["subscripts"])
