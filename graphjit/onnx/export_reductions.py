"""ONNX export of scans, diagonals, reductions and the softmax family."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit.ir import Node
from graphjit.onnx.exporter import (
    Writer,
    exports,
    scalar,
    signbit,
    where_keeping_sign,
    with_sign,
    zero_tensor,
)

__all__: list[str] = []


# --------------------------------------------------------------------------------------------------
# scans and diagonals


@exports("cumsum")
def _cumsum(w: Writer, node: Node, ins: list[str]) -> str:
    x = w.cast(ins[0], node.inputs[0].dtype, node.dtype)
    axis = w.const(np.int64(node.attrs["axis"]))
    return w.op("CumSum", [x, axis], reverse=int(node.attrs["reverse"]))


def _triangle(w: Writer, x: str, node: Node, axis: int, reverse: bool) -> str:
    """The bool (n, n) mask of the pairs (i, j) along ``axis`` where x_i enters scan entry j:
    i <= j (i >= j in reverse); n read at call time."""
    size = node.shape[axis]
    if isinstance(size, int):
        r = w.ints(range(size))
    else:  # 0 .. n-1 as an exclusive CumSum of ones (which the importer reads back)
        ones = w.onnx.numpy_helper.from_array(np.ones(1, dtype=np.int64), "value")
        ones = w.op("ConstantOfShape", [w.dim(x, node, axis)], value=ones)
        r = w.op("CumSum", [ones, w.const(np.int64(0))], exclusive=1)
    rows, cols = w.op("Unsqueeze", [r, w.ints([1])]), w.op("Unsqueeze", [r, w.ints([0])])
    return w.op("GreaterOrEqual" if reverse else "LessOrEqual", [rows, cols])


def _masked_scan(
    w: Writer, x: str, node: Node, axis: int, reverse: bool, fill: str, reduce: Any
) -> str:
    """A scan along ``axis`` as a reduction over a masked (..., n, n) copy of x (x_i where i
    enters entry j, else ``fill``): ``reduce(masked, column, outside, moved)`` reduces axis -2
    (keeping no dims), given x's (..., n, 1) column, the (n, n) mask of what is left out, and x
    with the axis moved last. It holds n times x's size."""
    ndim = node.ndim
    perm = [a for a in range(ndim) if a != axis] + [axis]
    moved = w.op("Transpose", [x], perm=perm) if perm != list(range(ndim)) else x
    column = w.op("Unsqueeze", [moved, w.ints([-1])])  # (..., n_i, 1)
    outside = w.op("Not", [_triangle(w, x, node.inputs[0], axis, reverse)])
    # fill in Where's true branch: a runtime may turn a -0.0 chosen there into +0.0
    masked = w.op("Where", [outside, fill, column])
    out = reduce(masked, column, outside, moved)
    if perm == list(range(ndim)):
        return out
    return w.op("Transpose", [out], perm=[int(a) for a in np.argsort(perm)])


@exports("cumprod")
def _cumprod(w: Writer, node: Node, ins: list[str]) -> str:
    """The products of the masked copy (fill 1): exact in zeros, signs, infinities and NaN."""
    dtype = node.dtype
    x = w.cast(ins[0], node.inputs[0].dtype, dtype)

    def reduce(m: str, column: str, outside: str, moved: str) -> str:
        product = w.op("ReduceProd", [m, w.ints([-2])], keepdims=0)
        if not dtype.startswith("float"):
            return product
        # the sign from the parity of the sign bits taken (a runtime may drop a zero's sign)
        signs = w.cast(signbit(w, column, dtype), "bool", "int64")
        signs = w.op("Where", [outside, w.const(np.int64(0)), signs])
        count = w.op("ReduceSum", [signs, w.ints([-2])], keepdims=0)
        odd = w.op("Equal", [w.op("Mod", [count, w.const(np.int64(2))]), w.const(np.int64(1))])
        return with_sign(w, product, odd, dtype)

    return _masked_scan(w, x, node, node.attrs["axis"], False, scalar(w, 1, dtype), reduce)


@exports("cumargmax", "cumargmin")
def _cumarg(w: Writer, node: Node, ins: list[str]) -> str:
    """Where the running max (min) was last set: the running extremum from a masked reduction
    (NaN from the first NaN on, as numpy's accumulate), then the running max of the positions
    where x equals it (or is NaN, which holds it)."""
    x, axis = node.inputs[0], node.attrs["axis"]
    have = x.dtype
    work = "int32" if have == "bool" else "int64" if have in ("int8", "int16", "uint8") else have
    xv = w.cast(ins[0], have, work)
    maximum = node.op.name == "cumargmax"
    floating = work.startswith("float")
    if floating:
        far = -np.inf if maximum else np.inf
    else:
        info = np.iinfo(work)
        far = info.min if maximum else info.max

    def running(m: str, column: str, outside: str, moved: str) -> str:
        out = w.op("ReduceMax" if maximum else "ReduceMin", [m, w.ints([-2])], keepdims=0)
        if floating:
            nans = w.cast(w.op("IsNaN", [m]), "bool", "int64")
            count = w.op("ReduceSum", [nans, w.ints([-2])], keepdims=0)
            seen = w.op("Greater", [count, w.const(np.int64(0))])
            out = w.op("Where", [seen, scalar(w, np.nan, work), out])
        hit = w.op("Equal", [moved, out])
        if floating:
            hit = w.op("Or", [hit, w.op("IsNaN", [moved])])
        # the positions 0 .. n-1 along the (last) axis: how many entries each entry takes, less 1
        taken = w.cast(w.op("Not", [outside]), "bool", "int64")
        count = w.op("ReduceSum", [taken, w.ints([0])], keepdims=0)
        here = w.op("Sub", [count, w.const(np.int64(1))])
        marked = w.op("Where", [hit, here, w.const(np.int64(0))])
        column = w.op("Unsqueeze", [marked, w.ints([-1])])
        masked = w.op("Where", [outside, w.const(np.int64(0)), column])
        return w.op("ReduceMax", [masked, w.ints([-2])], keepdims=0)

    return _masked_scan(w, xv, node, axis, False, scalar(w, far, work), running)


@exports("logcumsumexp")
def _logcumsumexp(w: Writer, node: Node, ins: list[str]) -> str:
    """max + log(sum(exp(x - max))) of the masked copy (fill -inf); the max itself where it is
    infinite (an entry of only -inf, or a +inf), as numpy's logaddexp.accumulate."""
    dtype = node.dtype

    def reduce(m: str, column: str, outside: str, moved: str) -> str:
        top = w.op("ReduceMax", [m, w.ints([-2])], keepdims=1)
        total = w.op("ReduceSum", [w.op("Exp", [w.op("Sub", [m, top])]), w.ints([-2])], keepdims=0)
        top = w.op("Squeeze", [top, w.ints([-2])])
        out = w.op("Add", [top, w.op("Log", [total])])
        out = w.op("Where", [w.op("IsInf", [top]), top, out])
        # NaN from the first NaN on (a runtime's ReduceMax may skip it)
        nans = w.cast(w.op("IsNaN", [m]), "bool", "int64")
        count = w.op("ReduceSum", [nans, w.ints([-2])], keepdims=0)
        seen = w.op("Greater", [count, w.const(np.int64(0))])
        out = w.op("Where", [seen, scalar(w, np.nan, dtype), out])
        # the scan's first entry is x itself (a -0.0 too), as numpy's accumulate
        taken = w.cast(w.op("Not", [outside]), "bool", "int64")
        first = w.op("Equal", [w.op("ReduceSum", [taken, w.ints([0])], keepdims=0), w.ints([1])])
        return where_keeping_sign(w, first, moved, out, dtype)

    fill = scalar(w, -np.inf, dtype)
    return _masked_scan(w, ins[0], node, node.attrs["axis"], node.attrs["reverse"], fill, reduce)


def _diagonal_parts(node: Node, x: Node) -> tuple[list[int], int, int, list[int]]:
    """The transpose moving axis1 and axis2 last, their static sizes and the flat positions of
    the diagonal's entries in them."""
    axis1, axis2, offset = node.attrs["axis1"], node.attrs["axis2"], node.attrs["offset"]
    n1, n2 = x.shape[axis1], x.shape[axis2]
    if not isinstance(n1, int) or not isinstance(n2, int):
        raise ValueError("the diagonal's two axes need static sizes")
    rest = [a for a in range(x.ndim) if a not in (axis1, axis2)]
    i = np.arange(max(0, min(n1 + min(offset, 0), n2 - max(offset, 0))))
    flat = (i + max(-offset, 0)) * n2 + i + max(offset, 0)
    return [*rest, axis1, axis2], n1, n2, [int(v) for v in flat]


def _keep_leading(ndim: int, *last: int) -> list[int]:
    """A Reshape target copying the leading ``ndim`` dims (0s) and setting the last ones."""
    return [0] * ndim + list(last)


@exports("diagonal")
def _diagonal(w: Writer, node: Node, ins: list[str]) -> str:
    x = node.inputs[0]
    perm, n1, n2, flat = _diagonal_parts(node, x)
    moved = w.op("Transpose", [ins[0]], perm=perm) if perm != list(range(x.ndim)) else ins[0]
    rows = w.op("Reshape", [moved, w.ints(_keep_leading(x.ndim - 2, n1 * n2))])
    return w.op("Gather", [rows, w.ints(flat)], axis=-1)


@exports("diagonal_grad")
def _diagonal_grad(w: Writer, node: Node, ins: list[str]) -> str:
    """Zeros of x's shape with g written on the diagonal: ScatterElements on x's two axes
    flattened into one, moved last."""
    g, x = node.inputs
    perm, n1, n2, flat = _diagonal_parts(node, x)
    moved_shape = w.shape(ins[1], x)
    moved_shape = w.op("Gather", [moved_shape, w.ints(perm)], axis=0)
    lead = w.op("Slice", [moved_shape, w.ints([0]), w.ints([x.ndim - 2]), w.ints([0])])
    zeros_shape = w.op("Concat", [lead, w.ints([n1 * n2])], axis=0)
    zeros = w.op("ConstantOfShape", [zeros_shape], value=zero_tensor(w, node.dtype))
    index = w.op("Expand", [w.ints(flat), w.shape(ins[0], g)])
    scattered = w.op("ScatterElements", [zeros, index, ins[0]], axis=-1)
    full = w.op("Reshape", [scattered, w.ints(_keep_leading(x.ndim - 2, n1, n2))])
    if perm == list(range(x.ndim)):
        return full
    inverse = [int(a) for a in np.argsort(perm)]
    return w.op("Transpose", [full], perm=inverse)


# --------------------------------------------------------------------------------------------------
# reductions and the softmax family


_REDUCE = {"sum": "ReduceSum", "prod": "ReduceProd", "max": "ReduceMax", "min": "ReduceMin"}


@exports(*_REDUCE)
def _reduction(w: Writer, node: Node, ins: list[str]) -> str:
    axes, keepdims = node.attrs["axes"], node.attrs["keepdims"]
    have = node.inputs[0].dtype
    # the accumulator dtype (sum of bools is int64); max/min of bools go through int32
    work = "int32" if node.dtype == "bool" else node.dtype
    x = w.cast(ins[0], have, work)
    if not axes:  # ONNX reads empty axes as "all of them"
        return w.cast(w.op("Identity", [x]), work, node.dtype)
    return w.cast(w.reduce(_REDUCE[node.op.name], x, axes, keepdims), work, node.dtype)


@exports("argmax", "argmin")
def _arg_reduction(w: Writer, node: Node, ins: list[str]) -> str:
    op_type = "ArgMax" if node.op.name == "argmax" else "ArgMin"
    axis, keepdims = node.attrs["axis"], node.attrs["keepdims"]
    x = ins[0]
    if node.inputs[0].dtype == "bool":
        x = w.cast(x, "bool", "int32")
    if axis is not None:
        return w.op(op_type, [x], axis=axis, keepdims=int(keepdims))
    flat = w.op("Reshape", [x, w.ints([-1])])
    found = w.op(op_type, [flat], axis=0, keepdims=0)
    if keepdims:
        return w.op("Reshape", [found, w.ints([1] * node.inputs[0].ndim)])
    return found


@exports("size_of")
def _size_of(w: Writer, node: Node, ins: list[str]) -> str:
    x, axes, dtype = node.inputs[0], node.attrs["axes"], node.dtype
    dims = [x.shape[a] for a in axes]
    if all(isinstance(d, int) for d in dims):
        return w.op("Identity", [scalar(w, math.prod(dims), dtype)])
    shape = w.op("Shape", [ins[0]])
    picked = w.op("Gather", [shape, w.ints(axes)], axis=0)
    count = w.op("ReduceProd", [picked], keepdims=0)
    return w.cast(count, "int64", dtype)


@exports("logsumexp")
def _logsumexp(w: Writer, node: Node, ins: list[str]) -> str:
    axes, keepdims = node.attrs["axes"], node.attrs["keepdims"]
    if not axes:
        return w.op("Identity", ins)
    return w.reduce("ReduceLogSumExp", ins[0], axes, keepdims)


@exports("softmax", "log_softmax")
def _softmax(w: Writer, node: Node, ins: list[str]) -> str:
    axes = node.attrs["axes"]
    log = node.op.name == "log_softmax"
    if len(axes) == 1:
        return w.op("LogSoftmax" if log else "Softmax", ins, axis=axes[0])
    if not axes:
        zero = w.op("Sub", [ins[0], ins[0]])
        return zero if log else w.op("Exp", [zero])
    # over several axes: x - logsumexp(x) (ONNX's Softmax takes one axis)
    shifted = w.op("Sub", [ins[0], w.reduce("ReduceLogSumExp", ins[0], axes, True)])
    return shifted if log else w.op("Exp", [shifted])
