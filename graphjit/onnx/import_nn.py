"""ONNX import of the ops under ``gj.nn``'s layers: ``Conv``, ``ConvTranspose``, ``MaxPool``,
``AveragePool``, ``GlobalMaxPool``, ``GlobalAveragePool`` and ``Resize`` (nearest and linear).

graphjit's pooling ops pad both sides of an axis alike and follow PyTorch's ``ceil_mode`` (a last
window starting in the right padding is dropped). ONNX's ``pads`` may differ per side: a model
whose windows graphjit's can reproduce (the same window starts and output lengths; the exporter
writes ``ceil_mode`` that way) is read, any other is refused naming the axis. A ``Resize`` becomes
one ``resample`` per resized axis, PyTorch's rules being those of ``nearest`` with the
``asymmetric`` transform and ``floor``, and of ``linear`` with ``half_pixel`` or ``align_corners``.
"""

from __future__ import annotations

from typing import Any

from graphjit import ops
from graphjit.onnx.importer import (
    OnnxNode,
    imports,
)
from graphjit.ops.convolution import conv, conv_transpose
from graphjit.ops.pooling import (
    ADAPTIVE_AVG_POOL,
    ADAPTIVE_MAX_POOL,
    AVG_POOL,
    MAX_POOL,
    MAX_POOL_INDICES,
    pool_output_size,
)
from graphjit.ops.resampling import RESAMPLE

__all__: list[str] = []


# --------------------------------------------------------------------------------------------------
# convolutions


def _conv_args(n: OnnxNode, transposed: bool) -> tuple[Any, Any, dict[str, Any]]:
    x, w = n.arg(0), n.arg(1)
    nd = w.ndim - 2
    if n.attr("auto_pad", "str", "NOTSET") not in ("NOTSET", "VALID"):
        raise n.reader.fail(f"{n.op_type}: auto_pad SAME_UPPER/SAME_LOWER is not supported")
    kernel = n.attr("kernel_shape", "ints", None)
    if kernel is not None and list(kernel) != list(w.shape[2:]):
        raise n.reader.fail(f"{n.op_type}: kernel_shape {kernel} differs from the weight's")
    if n.attr("output_shape", "ints", None) is not None:
        raise n.reader.fail(f"{n.op_type}: output_shape is not supported (give output_padding)")
    pads = list(n.attr("pads", "ints", [0] * (2 * nd)))
    attrs: dict[str, Any] = {
        "stride": tuple(n.attr("strides", "ints", [1] * nd)),
        "padding": tuple(zip(pads[:nd], pads[nd:])),
        "dilation": tuple(n.attr("dilations", "ints", [1] * nd)),
        "groups": n.attr("group", "int", 1),
    }
    if transposed:
        attrs["output_padding"] = tuple(n.attr("output_padding", "ints", [0] * nd))
    return x, w, attrs


def _conv_bias(n: OnnxNode, y: Any) -> Any:
    if not n.has(2):
        return y
    return y + ops.reshape(n.arg(2), (-1,) + (1,) * (y.ndim - 2))


@imports("Conv")
def _conv(n: OnnxNode) -> Any:
    x, w, attrs = _conv_args(n, transposed=False)
    return _conv_bias(n, conv(x, w, **attrs))


@imports("ConvTranspose")
def _conv_transpose(n: OnnxNode) -> Any:
    x, w, attrs = _conv_args(n, transposed=True)
    return _conv_bias(n, conv_transpose(x, w, **attrs))


# --------------------------------------------------------------------------------------------------
# pooling


def _onnx_length(n: int, k: int, s: int, pads: int, d: int, ceil_mode: bool) -> int:
    """ONNX's output length (its formula, without a runtime's adjustments)."""
    span = n + pads - d * (k - 1) - 1
    return (span + (s - 1 if ceil_mode else 0)) // s + 1


def _window(n: OnnxNode, x: Any) -> dict[str, Any]:
    """The window attributes of a MaxPool/AveragePool as graphjit's (kernel, stride, padding,
    dilation, ceil_mode), or a clear refusal."""
    fail = n.reader.fail
    if x.ndim < 3:
        raise fail(f"{n.op_type} needs an (N, C, *spatial) input, got rank {x.ndim}")
    nsp = x.ndim - 2
    auto_pad = n.attr("auto_pad", "str", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise fail(f"{n.op_type}: auto_pad {auto_pad!r} is not supported (give explicit pads)")
    kernel = n.attr("kernel_shape", "ints", None)
    if kernel is None or len(kernel) != nsp:
        raise fail(f"{n.op_type} needs kernel_shape with {nsp} entries, got {kernel}")
    stride = n.attr("strides", "ints", [1] * nsp)
    dilation = n.attr("dilations", "ints", [1] * nsp)
    pads = [0] * (2 * nsp) if auto_pad == "VALID" else n.attr("pads", "ints", [0] * (2 * nsp))
    if len(stride) != nsp or len(dilation) != nsp or len(pads) != 2 * nsp:
        raise fail(f"{n.op_type}: strides, dilations or pads do not fit {nsp} spatial axes")
    if min(kernel + stride + dilation) < 1 or min(pads) < 0:
        raise fail(
            f"{n.op_type}: kernel {kernel}, strides {stride} and dilations {dilation} must be "
            f"positive and pads {pads} not negative"
        )
    begins, ends = pads[:nsp], pads[nsp:]
    ceil = bool(n.attr("ceil_mode", "int", 0))
    attrs = {"kernel": tuple(kernel), "stride": tuple(stride), "padding": tuple(begins)}
    attrs["dilation"] = tuple(dilation)
    if begins == ends:
        return {**attrs, "ceil_mode": ceil}
    # graphjit pads the right side as the left: find the ceil_mode giving ONNX's lengths
    spatial = x.shape[2:]
    if not all(isinstance(v, int) for v in spatial):
        raise fail(
            f"{n.op_type}: pads {pads} differ between the sides of an axis; graphjit reads "
            "that only when the spatial sizes are known"
        )
    want = [
        _onnx_length(v, k, s, b + e, d, ceil)
        for v, k, s, b, e, d in zip(spatial, kernel, stride, begins, ends, dilation)
    ]
    for mode in (False, True):
        got = [
            pool_output_size(v, k, s, b, d, mode)
            for v, k, s, b, d in zip(spatial, kernel, stride, begins, dilation)
        ]
        if got == want:
            return {**attrs, "ceil_mode": mode}
    raise fail(
        f"{n.op_type}: pads {pads} over spatial sizes {tuple(spatial)} give output lengths "
        f"{want}, which graphjit's windows (the same padding on both sides) cannot"
    )


def _plane_offsets(idx: Any, x: Any) -> Any:
    """The flat offset of each plane of ``x`` in the whole tensor, at ``idx``'s positions:
    ONNX's Indices are graphjit's (flat in the plane) plus this."""
    ones = ops.ones_like(idx, dtype="int64")
    batch = ops.cumsum(ones, axis=0) - 1
    channel = ops.cumsum(ones, axis=1) - 1
    channels = ops.size_of(idx, (1,), "int64")
    plane = ops.size_of(x, tuple(range(2, x.ndim)), "int64")
    return (batch * channels + channel) * plane


@imports("MaxPool")
def _max_pool(n: OnnxNode) -> Any:
    x = n.arg(0)
    if n.attr("storage_order", "int", 0) != 0:
        raise n.reader.fail("MaxPool: storage_order=1 (column-major Indices) is not supported")
    attrs = _window(n, x)
    y = ops.apply(MAX_POOL, x, **attrs)
    if len(n.outputs) < 2 or not n.outputs[1]:
        return y
    idx = ops.apply(MAX_POOL_INDICES, x, **attrs)
    return y, idx + _plane_offsets(idx, x)


@imports("AveragePool")
def _avg_pool(n: OnnxNode) -> Any:
    x = n.arg(0)
    include_pad = bool(n.attr("count_include_pad", "int", 0))
    pads = n.attr("pads", "ints", [])
    half = len(pads) // 2
    if include_pad and pads[:half] != pads[half:]:
        raise n.reader.fail(
            f"AveragePool: count_include_pad=1 with pads {pads} differing between the sides of "
            "an axis (graphjit's divisor counts the same padding on both sides)"
        )
    attrs = _window(n, x)
    if any(d != 1 for d in attrs.pop("dilation")):
        raise n.reader.fail("AveragePool: dilations other than 1 are not supported")
    return ops.apply(AVG_POOL, x, count_include_pad=include_pad, divisor=0, **attrs)


@imports("GlobalMaxPool", "GlobalAveragePool")
def _global_pool(n: OnnxNode) -> Any:
    x = n.arg(0)
    if x.ndim < 3:
        raise n.reader.fail(f"{n.op_type} needs an (N, C, *spatial) input, got rank {x.ndim}")
    op = ADAPTIVE_MAX_POOL if n.op_type == "GlobalMaxPool" else ADAPTIVE_AVG_POOL
    return ops.apply(op, x, output_size=(1,) * (x.ndim - 2))


# --------------------------------------------------------------------------------------------------
# Resize


def _resize_rule(n: OnnxNode) -> tuple[str, str]:
    """graphjit's mode and ONNX's coordinate transform of a Resize, or a clear refusal."""
    fail = n.reader.fail
    mode = n.attr("mode", "str", "nearest")
    transform = n.attr("coordinate_transformation_mode", "str", "half_pixel")
    if mode not in ("nearest", "linear"):
        raise fail(f"Resize: mode {mode!r} is not supported (nearest, linear)")
    if n.attr("antialias", "int", 0):
        raise fail("Resize: antialias=1 is not supported")
    policy = n.attr("keep_aspect_ratio_policy", "str", "stretch")
    if policy != "stretch":
        raise fail(f"Resize: keep_aspect_ratio_policy {policy!r} is not supported (stretch)")
    if mode == "nearest":
        rounding = n.attr("nearest_mode", "str", "round_prefer_floor")
        if transform != "asymmetric" or rounding != "floor":
            raise fail(
                f"Resize: nearest with coordinate_transformation_mode {transform!r} and "
                f"nearest_mode {rounding!r} is not supported (graphjit's nearest, PyTorch's, is "
                "'asymmetric' with 'floor')"
            )
    elif transform not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        raise fail(
            f"Resize: linear with coordinate_transformation_mode {transform!r} is not supported "
            "(half_pixel, pytorch_half_pixel, align_corners)"
        )
    return mode, transform


@imports("Resize")
def _resize(n: OnnxNode) -> Any:
    x = n.arg(0)
    fail = n.reader.fail
    mode, transform = _resize_rule(n)
    axes = [a % max(x.ndim, 1) for a in n.attr("axes", "ints", list(range(x.ndim)))]
    if len(set(axes)) != len(axes) or any(not -x.ndim <= a < x.ndim for a in axes):
        raise fail(f"Resize: bad axes {axes} for rank {x.ndim}")
    sizes = n.reader.ints(n.inputs[3], "Resize's sizes") if n.has(3) else None
    scales = None
    if sizes is None:
        if not n.has(2):
            raise fail("Resize needs scales or sizes")
        scales = [float(v) for v in n.reader.static(n.inputs[2], "Resize's scales").reshape(-1)]
    given = sizes if sizes is not None else scales
    assert given is not None
    if len(given) != len(axes):
        raise fail(f"Resize: {len(given)} scales or sizes for {len(axes)} axes")
    steps = []
    for axis, value in zip(axes, given):
        size, scale = (int(value), 0.0) if sizes is not None else (0, float(value))
        if size < 0 or (sizes is None and scale <= 0):
            raise fail(f"Resize: scales and sizes must be positive, got {given}")
        if (sizes is None and scale == 1.0) or (sizes is not None and size == x.shape[axis]):
            continue  # the axis is kept as it is
        steps.append((axis, size, scale))
    out = x
    for axis, size, scale in reversed(steps):  # the last axis first, as interpolate does
        out = ops.apply(
            RESAMPLE, out, axis=axis, size=size, mode=mode,
            align_corners=transform == "align_corners", scale=scale,
        )  # fmt: skip
        length = out.shape[axis]
        if transform == "pytorch_half_pixel" and not (isinstance(length, int) and length > 1):
            # it places a single output at 0, half_pixel (graphjit's, PyTorch's) at n / 2 - 0.5
            raise fail(
                f"Resize: pytorch_half_pixel is read only for known output lengths over 1; axis "
                f"{axis} has length {length}"
            )
    return out
