"""ONNX import of reductions, softmax and the shape ops (``Shape``, ``Reshape``, ``Expand``,
``Slice``, ``Pad``, ``Gather``, ``Constant``...), with the call-time dims of symbolic shapes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.onnx.common import import_onnx
from graphjit.onnx.importer import (
    OnnxNode,
    SymDim,
    imports,
    tensor_array,
    whole_shape_of,
)

__all__: list[str] = []


# --------------------------------------------------------------------------------------------------
# reductions and softmax


def _axes(n: OnnxNode, ndim: int) -> tuple[int, ...] | None:
    """The axes of a reduction (attribute before opset 18, input after); None for all."""
    axes = n.reader.ints(n.inputs[1], "the axes") if n.has(1) else n.attr("axes", "ints")
    if axes is None or (not axes and not n.attr("noop_with_empty_axes", "int", 0)):
        return None
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise n.reader.fail(f"axis {a} is out of range for rank {ndim}")
    return tuple(sorted({a % ndim for a in axes})) if ndim else ()


_REDUCERS = {
    "ReduceSum": ops.sum, "ReduceMean": ops.mean, "ReduceMax": ops.max, "ReduceMin": ops.min,
    "ReduceProd": ops.prod, "ReduceLogSumExp": ops.logsumexp,
}  # fmt: skip


@imports(*_REDUCERS, "ReduceSumSquare", "ReduceL2", "ReduceL1")
def _reduce(n: OnnxNode) -> Any:
    x = n.arg(0)
    axes = _axes(n, x.ndim)
    keep = bool(n.attr("keepdims", "int", 1))
    if axes == ():
        return x
    if n.op_type == "ReduceSumSquare":
        return ops.sum(x * x, axis=axes, keepdims=keep)
    if n.op_type == "ReduceL2":
        return ops.sqrt(ops.sum(x * x, axis=axes, keepdims=keep))
    if n.op_type == "ReduceL1":
        return ops.sum(ops.abs(x), axis=axes, keepdims=keep)
    out = _REDUCERS[n.op_type](x, axis=axes, keepdims=keep)
    return out if out.dtype == x.dtype or n.op_type == "ReduceMean" else ops.astype(out, x.dtype)


@imports("ArgMax", "ArgMin")
def _arg(n: OnnxNode) -> Any:
    if n.attr("select_last_index", "int", 0):
        raise n.reader.fail(f"{n.op_type} with select_last_index=1 is not supported")
    x = n.arg(0)
    fn = ops.argmax if n.op_type == "ArgMax" else ops.argmin
    return fn(x, axis=n.attr("axis", "int", 0), keepdims=bool(n.attr("keepdims", "int", 1)))


@imports("Softmax", "LogSoftmax")
def _softmax(n: OnnxNode) -> Any:
    fn = ops.softmax if n.op_type == "Softmax" else ops.log_softmax
    return fn(n.arg(0), axis=n.attr("axis", "int", -1))


# --------------------------------------------------------------------------------------------------
# shapes


def _static_shape(x: Any) -> tuple[int, ...] | None:
    return tuple(x.shape) if all(isinstance(d, int) for d in x.shape) else None


@imports("Shape")
def _shape(n: OnnxNode) -> Any:
    x = n.arg(0)
    start, end = n.attr("start", "int", 0), n.attr("end", "int", x.ndim)
    shape = _static_shape(x)
    if shape is not None:
        return np.asarray(shape[slice(start, end)], dtype=np.int64)
    dims = [d if isinstance(d, int) else SymDim(x, a) for a, d in enumerate(x.shape)]
    out = np.empty(len(dims), dtype=object)
    out[:] = dims
    return out[slice(start, end)]


@imports("Reshape")
def _reshape(n: OnnxNode) -> Any:
    x = n.arg(0)
    shape = n.reader.dims(n.inputs[1], "Reshape's shape")
    ref = whole_shape_of(np.asarray(shape, dtype=object))
    if ref is not None:
        return ops.reshape_like(x, ref)
    shape = _resolve_minus_one(x, shape)
    shape = [-1 if isinstance(d, SymDim) else d for d in shape]
    n.reader.check_shape([d for d in shape if d > 0])
    if sum(1 for d in shape if d == -1) > 1:
        raise n.reader.fail("Reshape to more than one call-time dim is not supported")
    if not n.attr("allowzero", "int", 0):
        shape = [x.shape[i] if d == 0 and i < x.ndim else d for i, d in enumerate(shape)]
        if any(d is None or isinstance(d, str) for d in shape):
            if sum(1 for d in shape if not isinstance(d, int) or d == -1) > 1:
                raise n.reader.fail("Reshape keeps more than one call-time dim")
            shape = [-1 if not isinstance(d, int) else d for d in shape]
    return ops.reshape(x, tuple(int(d) for d in shape))


def _resolve_minus_one(x: Any, shape: list[Any]) -> list[Any]:
    """``x.view(x.size(0), -1)``: a -1 after call-time dims that keep x's own leading dims is
    known when the rest of x's dims are static."""
    k = 0
    while (
        k < len(shape)
        and k < x.ndim
        and (
            (isinstance(shape[k], SymDim) and shape[k].node is x and shape[k].axis == k)
            or (isinstance(shape[k], int) and shape[k] == x.shape[k])
        )
    ):
        k += 1
    rest = x.shape[k:]
    tail = shape[k:]
    if -1 not in tail or not all(isinstance(d, int) for d in rest + tuple(tail)):
        return shape
    known = math.prod(d for d in tail if d != -1)
    if known == 0 or math.prod(rest) % known:
        return shape
    return shape[:k] + [math.prod(rest) // known if d == -1 else d for d in tail]


@imports("Flatten")
def _flatten(n: OnnxNode) -> Any:
    x = n.arg(0)
    axis = n.attr("axis", "int", 1) % max(x.ndim, 1)
    lead, rest = x.shape[:axis], x.shape[axis:]
    if all(isinstance(d, int) for d in rest):
        return ops.reshape(x, (-1, math.prod(rest)))
    if all(isinstance(d, int) for d in lead):
        return ops.reshape(x, (math.prod(lead), -1))
    raise n.reader.fail(f"Flatten of shape {tuple(x.shape)} at axis {axis}: two call-time sizes")


@imports("Transpose")
def _transpose(n: OnnxNode) -> Any:
    perm = n.attr("perm", "ints")
    return ops.transpose(n.arg(0), None if perm is None else tuple(perm))


@imports("Unsqueeze", "Squeeze")
def _unsqueeze(n: OnnxNode) -> Any:
    x = n.arg(0)
    axes = n.reader.ints(n.inputs[1], "the axes") if n.has(1) else n.attr("axes", "ints")
    if n.op_type == "Squeeze":
        return ops.squeeze(x, None if not axes else tuple(axes))
    if not axes:
        raise n.reader.fail("Unsqueeze needs axes")
    return ops.expand_dims(x, tuple(axes))


@imports("Expand")
def _expand(n: OnnxNode) -> Any:
    x = n.arg(0)
    shape = n.reader.dims(n.inputs[1], "Expand's shape")
    ref = whole_shape_of(np.asarray(shape, dtype=object))
    if ref is not None and ref.ndim >= x.ndim:
        return ops.broadcast_like(x, ref)
    n.reader.check_shape([d for d in shape if isinstance(d, int)])
    rank = max(len(shape), x.ndim)
    shape = [1] * (rank - len(shape)) + shape
    xs = [1] * (rank - x.ndim) + list(x.shape)
    target = tuple(
        None if isinstance(s_, SymDim) or (s_ == 1 and d != 1) else s_ for s_, d in zip(shape, xs)
    )
    if x.ndim < rank:
        x = ops.expand_dims(x, tuple(range(rank - x.ndim)))
    x = ops.broadcast_to(x, target)
    stretch = [s_ if isinstance(s_, SymDim) and d == 1 else None for s_, d in zip(shape, xs)]
    return _stretch(x, stretch)


def _stretch(x: Any, dims: Sequence[Any]) -> Any:
    """``x`` with each size-1 axis whose entry of ``dims`` is a :class:`SymDim` broadcast to that
    call-time size."""
    for axis, d in enumerate(dims):
        if isinstance(d, SymDim):
            line = ops.astype(_dim_ref(d, axis, len(dims)), "bool")
            x = ops.broadcast_like(x, ops.logical_or(line, ops.astype(x, "bool")))
    return x


def _dim_ref(d: SymDim, axis: int, rank: int) -> Any:
    """A value read only for its shape: 1s of rank ``rank`` with ``d`` on ``axis`` (or'd with x,
    it has the shape x broadcasts to along that axis)."""
    node = d.node
    others = tuple(a for a in range(node.ndim) if a != d.axis)
    line = ops.sum(node, axis=others, keepdims=True) if others else node
    return ops.reshape(line, tuple(-1 if a == axis else 1 for a in range(rank)))


@imports("Concat")
def _concat(n: OnnxNode) -> Any:
    return ops.concatenate([n.arg(i) for i in range(len(n.inputs))], axis=n.attr("axis", "int"))


@imports("Slice")
def _slice(n: OnnxNode) -> Any:
    x = n.arg(0)
    starts = n.reader.ints(n.inputs[1], "Slice's starts")
    ends = n.reader.ints(n.inputs[2], "Slice's ends")
    axes = n.reader.ints(n.inputs[3], "Slice's axes") if n.has(3) else list(range(len(starts)))
    steps = n.reader.ints(n.inputs[4], "Slice's steps") if n.has(4) else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise n.reader.fail("Slice's starts, ends, axes and steps differ in length")
    slices: list[Any] = [slice(None)] * x.ndim
    big = 1 << 62
    for s, e, a, st in zip(starts, ends, axes, steps):
        if st == 0 or not -x.ndim <= a < x.ndim:
            raise n.reader.fail(f"Slice: bad axis {a} or step {st}")
        stop = None if (e >= big or e <= -big) else e
        start = None if (s >= big or s <= -big) else s
        slices[a % x.ndim] = slice(start, stop, st)
    return x[tuple(slices)]


@imports("Pad")
def _pad(n: OnnxNode) -> Any:
    x = n.arg(0)
    mode = n.attr("mode", "str", "constant")
    if mode != "constant":
        raise n.reader.fail(f"Pad mode {mode!r} is not supported (only 'constant')")
    pads = n.reader.ints(n.inputs[1], "Pad's pads")
    value = float(n.reader.static(n.inputs[2], "Pad's value").reshape(-1)[0]) if n.has(2) else 0
    axes = n.reader.ints(n.inputs[3], "Pad's axes") if n.has(3) else list(range(x.ndim))
    if len(pads) != 2 * len(axes) or any(p < 0 for p in pads):
        raise n.reader.fail(f"Pad: pads {pads} do not fit axes {axes} (negative pads unsupported)")
    width = [(0, 0)] * x.ndim
    for k, a in enumerate(axes):
        width[a % x.ndim] = (pads[k], pads[k + len(axes)])
    return ops.pad(x, tuple(width), constant_values=value)


@imports("Gather")
def _gather(n: OnnxNode) -> Any:
    return ops.take(n.arg(0), n.arg(1), axis=n.attr("axis", "int", 0))


@imports("GatherElements")
def _gather_elements(n: OnnxNode) -> Any:
    return ops.take_along_axis(n.arg(0), n.arg(1), axis=n.attr("axis", "int", 0))


@imports("Constant")
def _constant(n: OnnxNode) -> Any:
    onnx_mod = import_onnx()
    t = n.attr("value", "tensor")
    if t is None:
        for kind, name in (("float", "value_float"), ("int", "value_int")):
            v = n.attr(name, kind)
            if v is not None:
                return np.asarray(v, dtype="float32" if kind == "float" else "int64")
        for kind, name in (("floats", "value_floats"), ("ints", "value_ints")):
            v = n.attr(name, kind)
            if v is not None:
                return np.asarray(v, dtype="float32" if kind == "floats" else "int64")
        raise n.reader.fail("Constant needs a value attribute graphjit reads")
    return tensor_array(onnx_mod, t, n.reader)


@imports("ConstantOfShape")
def _constant_of_shape(n: OnnxNode) -> Any:
    t = n.attr("value", "tensor")
    value = (
        np.zeros(1, np.float32)
        if t is None
        else tensor_array(import_onnx(), t, n.reader).reshape(-1)
    )
    if value.size != 1:
        raise n.reader.fail("ConstantOfShape's value must hold one element")
    dims = n.reader.dims(n.inputs[0], "ConstantOfShape's shape")
    ref = whole_shape_of(np.asarray(dims, dtype=object)) if dims else None
    if ref is not None:
        return ops.full_like(ref, value[0].item(), dtype=value.dtype.name)
    if any(isinstance(d, SymDim) for d in dims):  # some call-time sizes: a constant stretched
        ones = [1 if isinstance(d, SymDim) else int(d) for d in dims]
        n.reader.check_shape(ones)
        return _stretch(ops.constant(np.full(ones, value[0], dtype=value.dtype)), dims)
    shape = n.reader.ints(n.inputs[0], "ConstantOfShape's shape")
    n.reader.check_shape(shape)
    return np.full(shape, value[0], dtype=value.dtype)
