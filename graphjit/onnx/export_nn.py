"""ONNX export of the ops under ``gj.nn``'s layers: convolutions (``Conv``, ``ConvTranspose``),
pooling (``MaxPool``, ``AveragePool``, the global pools) and resampling (``Resize``).

graphjit's windows follow PyTorch, and ONNX's differ in three places, so nothing here writes
``ceil_mode=1`` or relies on a runtime's reading of it:

* ``ceil_mode``: PyTorch drops a last window that would start in the right padding; the ONNX
  formula (opset 18) keeps it, onnxruntime drops it. The exporter writes the output length it
  wants as explicit right padding with ``ceil_mode=0``, so every runtime gets the same windows.
  That needs the spatial sizes when exporting.
* the average's divisor: PyTorch counts the padding but not the part of a ceil-mode window past
  it (``count_include_pad``); extra right padding would be counted by ONNX, so such a pool pads
  the input with zeros explicitly and averages with ``count_include_pad=0``.
* ``Indices``: ONNX's are flat over the whole ``N, C, *spatial`` tensor, graphjit's (PyTorch's)
  flat over each plane; the exporter takes them modulo the plane size.

Adaptive pools become a global pool (output 1), a fixed pool (output dividing the input), or one
reduction per output window along each axis (``Slice``, ``Reduce*``, ``Concat``). The gradient of
max pooling (``pool_scatter``) is ``ScatterElements`` adding into each plane; the other
gradient-only ops (``avg_pool_grad``, ``adaptive_avg_pool_grad``, ``resample_grad``) stay
unmapped: ONNX has no transposed pooling or resize, and they appear only in training graphs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from graphjit.ir import Node
from graphjit.onnx.common import OnnxConversionError
from graphjit.onnx.exporter import (
    Writer,
    exports,
    zero_tensor,
)
from graphjit.ops.pooling import pool_output_size, window_attrs, window_bounds
from graphjit.ops.resampling import source_table

__all__: list[str] = []


# --------------------------------------------------------------------------------------------------
# convolutions: Conv and ConvTranspose (conv_weight_grad, only ever a gradient, has no ONNX op)


def _conv_attrs(node: Node) -> dict[str, Any]:
    a = node.attrs
    w = node.inputs[1]
    return {
        "kernel_shape": [k for k in w.shape[2:] if isinstance(k, int)],
        "strides": list(a["stride"]),
        "dilations": list(a["dilation"]),
        "pads": [p[0] for p in a["padding"]] + [p[1] for p in a["padding"]],
        "group": a["groups"],
    }


@exports("conv")
def _conv(w: Writer, node: Node, ins: list[str]) -> str:
    return w.op("Conv", ins, **_conv_attrs(node))


@exports("conv_input_grad")
def _conv_transpose(w: Writer, node: Node, ins: list[str]) -> str:
    extra = list(node.attrs["output_padding"])
    return w.op("ConvTranspose", ins, output_padding=extra, **_conv_attrs(node))


# --------------------------------------------------------------------------------------------------
# pooling


class Planes:
    """A pooling input seen as ONNX's ``(N, C, *spatial)``: graphjit pools any number of
    leading plane axes, ONNX's pools exactly two. ``restore`` gives a pooled value back the
    leading axes of the graphjit op's output."""

    def __init__(self, w: Writer, x: str, node: Node, nsp: int) -> None:
        self.w, self.x, self.node, self.nsp = w, x, node, nsp
        self.lead = node.ndim - nsp
        if self.lead == 2:
            self.value = x
        elif self.lead < 2:
            self.value = w.op("Unsqueeze", [x, w.ints(range(2 - self.lead))])
        else:  # the planes folded into one batch axis, the last kept as channels
            rest = [w.dim(x, node, a) for a in range(self.lead - 1, node.ndim)]
            self.value = w.op("Reshape", [x, w.concat_dims([w.ints([-1]), *rest])])

    def restore(self, y: str) -> str:
        w = self.w
        if self.lead == 2:
            return y
        if self.lead < 2:
            return w.op("Squeeze", [y, w.ints(range(2 - self.lead))])
        lead = [w.dim(self.x, self.node, a) for a in range(self.lead)]
        return w.op("Reshape", [y, w.concat_dims([*lead, w.op("Shape", [y], start=2)])])

    def plane_size(self) -> str:
        """The number of elements of one input plane, as a scalar int64."""
        spatial = self.node.shape[self.lead :]
        if all(isinstance(n, int) for n in spatial):
            return self.w.const(np.int64(math.prod(spatial)))  # type: ignore[arg-type]
        dims = self.w.op("Shape", [self.x], start=self.lead)
        return self.w.op("ReduceProd", [dims], keepdims=0)


def _static_spatial(node: Node, nsp: int, why: str) -> list[int]:
    spatial = node.shape[node.ndim - nsp :]
    for i, n in enumerate(spatial):
        if not isinstance(n, int):
            raise OnnxConversionError(
                f"{why} needs the spatial sizes when exporting; spatial axis {i} of the input "
                f"(shape {tuple(node.shape)}) is known only at call time"
            )
    return list(spatial)  # type: ignore[arg-type]


def _end_pads(node: Node) -> list[int]:
    """The right padding giving graphjit's output lengths with ONNX's ``ceil_mode=0``."""
    x = node.inputs[0]
    k, s, p, d, _ = window_attrs(node.attrs)
    if not node.attrs["ceil_mode"]:
        return list(p)
    why = f"{node.op.name} with ceil_mode=True (written as explicit padding)"
    spatial = _static_spatial(x, len(k), why)
    ends = []
    for i, n in enumerate(spatial):
        m = pool_output_size(n, k[i], s[i], p[i], d[i], True)
        ends.append(max(p[i], (m - 1) * s[i] + d[i] * (k[i] - 1) + 1 - n - p[i]))
    return ends


def _check_runtime_pads(node: Node, begins: Sequence[int], ends: Sequence[int]) -> None:
    kernel = window_attrs(node.attrs)[0]
    for i, (b, e, k) in enumerate(zip(begins, ends, kernel)):
        if b >= k or e >= k:
            raise OnnxConversionError(
                f"{node.op.name}: spatial axis {i} needs padding ({b}, {e}) for kernel {k}; "
                "ONNX runtimes refuse padding as large as the kernel (ceil_mode with dilation)"
            )


def _pool_dtype(w: Writer, x: str, node: Node) -> tuple[str, str]:
    """The input as MaxPool takes it (floats; int32 through float64, which holds it exactly;
    int64 would not, and is refused) and the dtype it is in."""
    dtype = node.inputs[0].dtype
    if dtype == "int64":
        raise OnnxConversionError(
            f"{node.op.name}: ONNX's MaxPool has no int64 form and float64 would round values "
            "past 2**53; cast the input to float64 or int32 first"
        )
    have = dtype if dtype.startswith("float") else "float64"
    return w.cast(x, dtype, have), have


def _max_pool_node(w: Writer, x: str, attrs: Mapping[str, object], indices: bool) -> str:
    """A MaxPool node; its ``Indices`` output when ``indices``."""
    values, where = w.fresh("maxpool"), w.fresh("maxpool_indices")
    outputs = [values, where] if indices else [values]
    w.nodes.append(w.onnx.helper.make_node("MaxPool", [x], outputs, **attrs))
    return where if indices else values


def _per_plane(w: Writer, planes: Planes, flat: str) -> str:
    """ONNX's indices (flat over the whole tensor) as indices into each input plane."""
    return w.op("Mod", [flat, planes.plane_size()])


@exports("max_pool", "max_pool_indices")
def _max_pool(w: Writer, node: Node, ins: list[str]) -> str:
    k, s, p, d, _ = window_attrs(node.attrs)
    ends = _end_pads(node)
    _check_runtime_pads(node, p, ends)
    attrs = {"kernel_shape": list(k), "strides": list(s), "pads": [*p, *ends], "dilations": list(d)}
    x, have = _pool_dtype(w, ins[0], node)

    def maxed(value: str, indices: bool = False) -> str:
        planes = Planes(w, value, node.inputs[0], len(k))
        y = _max_pool_node(w, planes.value, attrs, indices)
        return planes.restore(_per_plane(w, planes, y) if indices else y)

    indices = node.op.name == "max_pool_indices"
    y = maxed(x, indices)
    return _with_nans(w, node, ins[0], y if indices else w.cast(y, have, node.dtype), maxed)


def _with_nans(w: Writer, node: Node, x: str, y: str, maxed: Callable[[str], str]) -> str:
    """``y`` (a max pool's values or indices) with PyTorch's NaN rule, which ONNX's pools and
    reductions do not keep: a window holding a NaN gives NaN, at the index of its last NaN.
    ``maxed`` pools a value of the input's shape with max over the same windows."""
    x_node = node.inputs[0]
    if not x_node.dtype.startswith("float"):
        return y
    nsp = len(window_attrs(node.attrs)[0])
    last = maxed(_nan_marks(w, x, x_node, nsp))  # each window's last NaN, plus 1; else 0
    has_nan = w.op("Greater", [last, w.const(np.zeros((), x_node.dtype))])
    if node.dtype == "int64":
        at = w.op("Sub", [w.cast(last, x_node.dtype, "int64"), w.const(np.int64(1))])
        return w.op("Where", [has_nan, at, y])
    return w.op("Where", [has_nan, w.const(np.asarray(np.nan, node.dtype)), y])


def _nan_marks(w: Writer, x: str, x_node: Node, nsp: int) -> str:
    """Where ``x`` is NaN its flat position in its plane plus 1, elsewhere 0 (in x's dtype):
    its max over a window is the window's last NaN in row-major order, PyTorch's pick."""
    dtype = x_node.dtype
    lead = x_node.ndim - nsp
    spatial = x_node.shape[lead:]
    if all(isinstance(n, int) for n in spatial):
        count = math.prod(spatial)  # type: ignore[arg-type]
        positions = w.const(np.arange(1, count + 1, dtype=dtype).reshape(spatial))
    else:  # sizes known at call time: a 1-window MaxPool's Indices number the elements
        planes = Planes(w, x, x_node, nsp)
        flat = _max_pool_node(w, planes.value, {"kernel_shape": [1] * nsp}, indices=True)
        numbered = planes.restore(_per_plane(w, planes, flat))
        positions = w.cast(w.op("Add", [numbered, w.const(np.int64(1))]), "int64", dtype)
    zero = w.const(np.zeros((), dtype))
    return w.op("Where", [w.op("IsNaN", [x]), positions, zero])


@exports("avg_pool")
def _avg_pool(w: Writer, node: Node, ins: list[str]) -> str:
    k, s, p, _, _ = window_attrs(node.attrs)
    ends = _end_pads(node)
    divisor = int(node.attrs["divisor"])
    planes = Planes(w, ins[0], node.inputs[0], len(k))
    x = planes.value
    attrs: dict[str, object] = {"kernel_shape": list(k), "strides": list(s)}
    zero = w.const(np.zeros((), node.dtype))
    if divisor:  # every window inside explicit zeros: its mean is its sum over the kernel size
        x = w.op("Pad", [x, w.ints([0, 0, *p, 0, 0, *ends]), zero], mode="constant")
        attrs.update(pads=[0] * (2 * len(k)))
    elif node.attrs["count_include_pad"] and ends != list(p):
        # padding counts in the divisor, the extra right padding of ceil_mode does not: zeros
        # written explicitly, then only the positions inside them counted
        x = w.op("Pad", [x, w.ints([0, 0, *p, 0, 0, *p]), zero], mode="constant")
        attrs.update(pads=[0] * len(k) + [e - b for b, e in zip(p, ends)], count_include_pad=0)
    else:
        attrs.update(pads=[*p, *ends], count_include_pad=int(node.attrs["count_include_pad"]))
        _check_runtime_pads(node, p, ends)
    y = w.op("AveragePool", [x], **attrs)
    if divisor:
        y = w.op("Mul", [y, w.const(np.asarray(math.prod(k) / divisor, node.dtype))])
    return planes.restore(y)


# --------------------------------------------------------------------------------------------------
# adaptive pools


def _adaptive_shape(node: Node) -> tuple[list[int | None], tuple[int, ...]]:
    m = node.attrs["output_size"]
    x = node.inputs[0]
    return list(x.shape[x.ndim - len(m) :]), m  # type: ignore[arg-type]


def _fixed_window(spatial: Sequence[int | None], m: Sequence[int]) -> list[int] | None:
    """The kernel (= stride) of an adaptive pool whose windows are fixed: each output length
    divides its input length (or is 1 over an input of any length); else None."""
    if not all(isinstance(n, int) and n % mi == 0 for n, mi in zip(spatial, m)):
        return None
    return [n // mi for n, mi in zip(spatial, m)]  # type: ignore[operator]


def _adaptive_per_axis(w: Writer, node: Node, x: str, reduce: str) -> str:
    """Each output window reduced on its own, axis by axis (the windows are boxes, so a max or
    a mean over a box is that of the per-axis reductions)."""
    spatial, m = _adaptive_shape(node)
    lead = node.ndim - len(m)
    for i, (n, mi) in enumerate(zip(spatial, m)):
        axis = lead + i
        if mi == 1:
            x = w.reduce(reduce, x, [axis], keepdims=True)
            continue
        if n is None:
            raise OnnxConversionError(
                f"{node.op.name}: output size {m} needs the spatial sizes when exporting; "
                f"spatial axis {i} of the input is known only at call time"
            )
        cells = []
        for o in range(mi):
            lo, hi, _ = window_bounds(o, n, mi, 1, 1, 0, 1, adaptive=True)
            part = w.op("Slice", [x, w.ints([lo]), w.ints([hi]), w.ints([axis])])
            cells.append(w.reduce(reduce, part, [axis], keepdims=True))
        x = w.op("Concat", cells, axis=axis)
    return x


@exports("adaptive_avg_pool")
def _adaptive_avg_pool(w: Writer, node: Node, ins: list[str]) -> str:
    spatial, m = _adaptive_shape(node)
    if all(mi == 1 for mi in m):
        planes = Planes(w, ins[0], node.inputs[0], len(m))
        return planes.restore(w.op("GlobalAveragePool", [planes.value]))
    kernel = _fixed_window(spatial, m)
    if kernel is not None:
        planes = Planes(w, ins[0], node.inputs[0], len(m))
        y = w.op("AveragePool", [planes.value], kernel_shape=kernel, strides=kernel)
        return planes.restore(y)
    return _adaptive_per_axis(w, node, ins[0], "ReduceMean")


def _adaptive_maxed(w: Writer, node: Node) -> Callable[[str], str] | None:
    """Max over an adaptive pool's windows as a function of a value of the input's shape: a
    global or fixed MaxPool, or reductions per window; None where MaxPool cannot (ints)."""
    spatial, m = _adaptive_shape(node)
    kernel = _fixed_window(spatial, m)
    glob = all(mi == 1 for mi in m)
    x_node = node.inputs[0]

    def maxed(value: str) -> str:
        if kernel is None and not glob:
            return _adaptive_per_axis(w, node, value, "ReduceMax")
        planes = Planes(w, value, x_node, len(m))
        if glob:
            return planes.restore(w.op("GlobalMaxPool", [planes.value]))
        attrs = {"kernel_shape": kernel, "strides": kernel}
        return planes.restore(_max_pool_node(w, planes.value, attrs, indices=False))

    return None if x_node.dtype.startswith("int") else maxed


@exports("adaptive_max_pool")
def _adaptive_max_pool(w: Writer, node: Node, ins: list[str]) -> str:
    maxed = _adaptive_maxed(w, node)
    if maxed is None:  # MaxPool takes floats only
        return _adaptive_per_axis(w, node, ins[0], "ReduceMax")
    return _with_nans(w, node, ins[0], maxed(ins[0]), maxed)


@exports("adaptive_max_pool_indices")
def _adaptive_max_pool_indices(w: Writer, node: Node, ins: list[str]) -> str:
    """MaxPool's Indices when the windows are fixed; else an ArgMax per output window, its
    position in the window turned into one in the plane."""
    x_node = node.inputs[0]
    spatial, m = _adaptive_shape(node)
    kernel = _fixed_window(spatial, m)
    maxed = _adaptive_maxed(w, node)
    if kernel is not None and x_node.dtype != "int64":
        x, _ = _pool_dtype(w, ins[0], node)
        planes = Planes(w, x, x_node, len(m))
        attrs = {"kernel_shape": kernel, "strides": kernel}
        y = _max_pool_node(w, planes.value, attrs, indices=True)
        found = planes.restore(_per_plane(w, planes, y))
        return found if maxed is None else _with_nans(w, node, ins[0], found, maxed)
    sizes = _static_spatial(x_node, len(m), f"{node.op.name} with output size {m}")
    lead = x_node.ndim - len(m)
    lead_dims = [w.dim(ins[0], x_node, a) for a in range(lead)]
    bounds = [
        [window_bounds(o, n, mi, 1, 1, 0, 1, adaptive=True)[:2] for o in range(mi)]
        for n, mi in zip(sizes, m)
    ]
    cells = []
    for box in _boxes(bounds):
        part = w.op(
            "Slice",
            [
                ins[0],
                w.ints([lo for lo, _ in box]),
                w.ints([hi for _, hi in box]),
                w.ints(range(lead, x_node.ndim)),
            ],
        )
        cell = w.ints([math.prod(hi - lo for lo, hi in box)])  # known: readers keep one -1
        flat = w.op("Reshape", [part, w.concat_dims([*lead_dims, cell])])
        at = w.op("ArgMax", [flat], axis=-1, keepdims=1)
        cells.append(_plane_index(w, at, box, sizes))
    y = w.op("Concat", cells, axis=-1) if len(cells) > 1 else cells[0]
    found = w.op("Reshape", [y, w.concat_dims([*lead_dims, w.ints(m)])])
    return found if maxed is None else _with_nans(w, node, ins[0], found, maxed)


def _boxes(bounds: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """Every output window as one ``(lo, hi)`` per spatial axis, in row-major order."""
    boxes: list[list[tuple[int, int]]] = [[]]
    for axis in bounds:
        boxes = [[*box, b] for box in boxes for b in axis]
    return boxes


def _plane_index(w: Writer, at: str, box: list[tuple[int, int]], sizes: list[int]) -> str:
    """A flat position ``at`` in the window ``box`` as a flat position in the input plane."""
    total = None
    rest = at
    for i in reversed(range(len(box))):
        lo, hi = box[i]
        length = w.const(np.int64(hi - lo))
        coord = w.op("Add", [w.op("Mod", [rest, length]), w.const(np.int64(lo))])
        rest = w.op("Div", [rest, length])
        stride = math.prod(sizes[i + 1 :])
        term = coord if stride == 1 else w.op("Mul", [coord, w.const(np.int64(stride))])
        total = term if total is None else w.op("Add", [total, term])
    assert total is not None
    return total


# --------------------------------------------------------------------------------------------------
# max pooling's gradient (pool_scatter) and its transpose (pool_gather), over flattened planes


def _flat_planes(w: Writer, value: str, of: Node, lead: int) -> str:
    dims = [w.dim(value, of, a) for a in range(lead)]
    return w.op("Reshape", [value, w.concat_dims([*dims, w.ints([-1])])])


@exports("pool_gather")
def _pool_gather(w: Writer, node: Node, ins: list[str]) -> str:
    t, idx = node.inputs
    lead = idx.ndim - node.attrs["ndim"]
    flat = [_flat_planes(w, ins[0], t, lead), _flat_planes(w, ins[1], idx, lead)]
    return w.op("Reshape", [w.op("GatherElements", flat, axis=lead), w.shape(ins[1], idx)])


@exports("pool_scatter")
def _pool_scatter(w: Writer, node: Node, ins: list[str]) -> str:
    g, idx, x = node.inputs
    lead = x.ndim - node.attrs["ndim"]
    zeros = w.op("ConstantOfShape", [w.shape(ins[2], x)], value=zero_tensor(w, node.dtype))
    flat = [_flat_planes(w, v, of, lead) for v, of in ((zeros, x), (ins[1], idx), (ins[0], g))]
    summed = w.op("ScatterElements", flat, axis=lead, reduction="add")
    return w.op("Reshape", [summed, w.shape(ins[2], x)])


# --------------------------------------------------------------------------------------------------
# resampling


_RESIZE_MODES: dict[str, Callable[[bool], dict[str, str]]] = {
    # PyTorch's nearest: source floor(o * n / m), Resize's asymmetric transform with floor
    "nearest": lambda corners: {
        "mode": "nearest",
        "coordinate_transformation_mode": "asymmetric",
        "nearest_mode": "floor",
    },
    # PyTorch's linear: half_pixel, sources before the first clamped to it (as Resize does)
    "linear": lambda corners: {
        "mode": "linear",
        "coordinate_transformation_mode": "align_corners" if corners else "half_pixel",
    },
}


@exports("resample")
def _resample(w: Writer, node: Node, ins: list[str]) -> str:
    """One Resize along the op's axis (``axes``): by the user's scale when there is one (the
    samples are placed with it, as PyTorch does), else to the size.

    Resize's scales are single precision, and onnxruntime returns a resize that keeps the
    length unchanged (a linear one by a scale other than 1 still moves the samples). Where
    either would change the result (a scale float32 does not hold exactly, a length kept), the
    axis is written as gathers (and, linear, a blend) from the op's own table of sources; that
    needs the axis's size when exporting, without which such a resize is refused."""
    a = node.attrs
    axis, scale = a["axis"], a["scale"]
    n, m = node.inputs[0].shape[axis], node.shape[axis]
    if scale > 0:
        inexact = float(np.float32(scale)) != scale
        kept = a["mode"] == "linear" and scale != 1.0 and (n == m or n is None)
        if isinstance(n, int) and (inexact or kept):
            return _gathered(w, node, ins[0], n)
        if inexact or (kept and 1.0 < scale < 2.0):
            why = "is not exact in float32, ONNX's scales" if inexact else "may keep the length"
            raise OnnxConversionError(
                f"resample: scale {scale} along axis {axis} {why}; writing it exactly needs the "
                "axis's size when exporting"
            )
    attrs = {**_RESIZE_MODES[a["mode"]](bool(a["align_corners"])), "axes": [axis]}
    if a["size"]:
        return w.op("Resize", [ins[0], "", "", w.ints([a["size"]])], **attrs)
    scales = w.const(np.asarray([scale], np.float32))
    return w.op("Resize", [ins[0], "", scales], **attrs)


def _gathered(w: Writer, node: Node, x: str, n: int) -> str:
    """Resampling along the axis as ``x[i0]`` (nearest) or ``(1 - t) * x[i0] + t * x[i1]``,
    the sources and weights computed when exporting by the op's own rule."""
    a = node.attrs
    axis, m = a["axis"], node.shape[a["axis"]]
    assert isinstance(m, int)
    i0, i1, t = source_table(n, m, a["mode"], bool(a["align_corners"]), a["scale"])
    first = w.op("Gather", [x, w.ints(i0.tolist())], axis=axis)
    if a["mode"] == "nearest":
        return first
    shape = [1] * node.ndim
    shape[axis] = m
    weight = w.const(t.astype(node.dtype).reshape(shape))
    keep = w.const((1.0 - t).astype(node.dtype).reshape(shape))
    second = w.op("Gather", [x, w.ints(i1.tolist())], axis=axis)
    return w.op("Add", [w.op("Mul", [keep, first]), w.op("Mul", [weight, second])])
