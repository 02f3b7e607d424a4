"""Pooling and ``interpolate`` of ``gj.nn.functional``: PyTorch's names, signatures, defaults
and window rules, on tensors (eager, with the tape) and graph nodes alike.

Each function checks its arguments as PyTorch does and applies one op of
``graphjit.ops.pooling`` (or ``resample`` once per spatial axis), which the CPU backend runs as a
compiled kernel. Inputs are ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from graphjit import ops
from graphjit.nn.functional.arguments import int_tuple
from graphjit.ops.pooling import (
    ADAPTIVE_AVG_POOL,
    ADAPTIVE_MAX_POOL,
    ADAPTIVE_MAX_POOL_INDICES,
    AVG_POOL,
    MAX_POOL,
    MAX_POOL_INDICES,
    pool_output_size,
)
from graphjit.ops.resampling import RESAMPLE

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "max_pool3d",
    "avg_pool3d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "interpolate",
]


def _input(name: str, input: Any, nsp: int) -> Any:
    x = ops.lift(input)
    if x.ndim not in (nsp + 1, nsp + 2):
        raise ValueError(
            f"{name}: expected a {nsp + 1}-d (unbatched) or {nsp + 2}-d (batched) input, got "
            f"shape {tuple(x.shape)}"
        )
    for axis, n in enumerate(tuple(x.shape)[x.ndim - nsp :]):
        if isinstance(n, int) and n < 1:
            raise ValueError(f"{name}: spatial axis {axis} of the input is empty")
    if x.shape[x.ndim - nsp - 1] == 0:  # PyTorch allows an empty batch, not empty channels
        raise ValueError(f"{name}: the input has no channels, got shape {tuple(x.shape)}")
    return x


def _check_fits(name: str, x: Any, attrs: dict[str, Any]) -> None:
    """Raise unless every known spatial axis of ``x`` gives at least one window."""
    k, s, p = attrs["kernel"], attrs["stride"], attrs["padding"]
    d = attrs.get("dilation", (1,) * len(k))
    spatial = tuple(x.shape)[x.ndim - len(k) :]
    for axis, n in enumerate(spatial):
        if (
            isinstance(n, int)
            and pool_output_size(n, k[axis], s[axis], p[axis], d[axis], attrs["ceil_mode"]) < 1
        ):
            raise ValueError(
                f"{name}: the input of shape {tuple(x.shape)} is too small for kernel_size {k} "
                f"(stride {s}, padding {p}, dilation {d}): no window fits on spatial axis {axis}"
            )


def _window(
    name: str, nsp: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any
) -> dict[str, Any]:
    k = int_tuple(name, "kernel_size", kernel_size, nsp)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else None
    s = s or int_tuple(name, "stride", stride, nsp)
    p = int_tuple(name, "padding", padding, nsp)
    d = int_tuple(name, "dilation", dilation, nsp)
    for what, v in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if min(v) < 1:
            raise ValueError(f"{name}: {what} must be greater than zero, got {v}")
    if min(p) < 0 or any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(
            f"{name}: padding should be non-negative and at most half the kernel size, got "
            f"padding {p} for kernel_size {k}"
        )
    return {"kernel": k, "stride": s, "padding": p, "dilation": d}


def _max_pool(
    name: str, nsp: int, input: Any, kernel_size: Any, stride: Any, padding: Any,
    dilation: Any, ceil_mode: bool, return_indices: bool,
) -> Any:  # fmt: skip
    x = _input(name, input, nsp)
    attrs = _window(name, nsp, kernel_size, stride, padding, dilation)
    attrs["ceil_mode"] = bool(ceil_mode)
    _check_fits(name, x, attrs)
    out = ops.apply(MAX_POOL, x, **attrs)
    return (out, ops.apply(MAX_POOL_INDICES, x, **attrs)) if return_indices else out


def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over windows of the last axis; padding is -inf (it never wins). With
    ``return_indices`` also the int64 index of each maximum along the input's last axis."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool1d", 1, input, *args)


def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over windows of the last two axes (``stride`` defaults to ``kernel_size``).
    ``ceil_mode`` keeps a last partial window that starts inside the input or its left padding.
    With ``return_indices`` also the int64 flat index (``h * W + w``) of each maximum in its
    input plane, as PyTorch's. The gradient flows to the (first) maximum of each window."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool2d", 2, input, *args)


def _avg_pool(
    name: str, nsp: int, input: Any, kernel_size: Any, stride: Any, padding: Any,
    ceil_mode: bool, count_include_pad: bool, divisor_override: int | None,
) -> Any:  # fmt: skip
    x = _input(name, input, nsp)
    attrs = _window(name, nsp, kernel_size, stride, padding, 1)
    del attrs["dilation"]
    if divisor_override is not None and (
        not isinstance(divisor_override, int) or divisor_override < 1
    ):
        raise ValueError(f"{name}: divisor_override must be a positive int, got {divisor_override}")
    attrs.update(
        ceil_mode=bool(ceil_mode),
        count_include_pad=bool(count_include_pad),
        divisor=int(divisor_override or 0),
    )
    _check_fits(name, x, attrs)
    return ops.apply(AVG_POOL, x, **attrs)


def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Any:
    """Mean over windows of the last axis; padding counts in the divisor with
    ``count_include_pad`` (the part of a ceil_mode window past the padding never does)."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, None)
    return _avg_pool("avg_pool1d", 1, input, *args)


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """Mean over windows of the last two axes; ``divisor_override`` replaces the window size
    as the divisor."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _avg_pool("avg_pool2d", 2, input, *args)


def _output_size(name: str, x: Any, output_size: Any, nsp: int) -> tuple[int, ...]:
    if not (output_size is None or isinstance(output_size, (int, Sequence))):
        raise TypeError(f"{name}: output_size must be an int or {nsp} ints, got {output_size!r}")
    items = [output_size] if output_size is None or isinstance(output_size, int) else output_size
    items = list(items) * nsp if len(items) == 1 else list(items)
    if len(items) != nsp:
        raise ValueError(f"{name}: output_size must be an int or {nsp} ints, got {output_size!r}")
    spatial = tuple(x.shape)[x.ndim - nsp :]
    sizes = []
    for m, n in zip(items, spatial):
        if m is None:  # PyTorch: keep the input's size
            if not isinstance(n, int):
                raise ValueError(f"{name}: output_size None needs a known input size, got {n}")
            m = n
        if not isinstance(m, int) or isinstance(m, bool) or m < 1:
            raise ValueError(f"{name}: output_size must be positive ints, got {output_size!r}")
        sizes.append(m)
    return tuple(sizes)


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Any:
    """Mean over ``output_size`` windows of the last axis: window ``o`` of ``m`` over ``n``
    is ``[floor(o * n / m), ceil((o + 1) * n / m))``."""
    x = _input("adaptive_avg_pool1d", input, 1)
    size = _output_size("adaptive_avg_pool1d", x, output_size, 1)
    return ops.apply(ADAPTIVE_AVG_POOL, x, output_size=size)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Any:
    """Mean over an ``output_size`` grid of windows of the last two axes (None in
    ``output_size`` keeps that axis's size)."""
    x = _input("adaptive_avg_pool2d", input, 2)
    size = _output_size("adaptive_avg_pool2d", x, output_size, 2)
    return ops.apply(ADAPTIVE_AVG_POOL, x, output_size=size)


def _adaptive_max(name: str, nsp: int, input: Any, output_size: Any, return_indices: bool) -> Any:
    x = _input(name, input, nsp)
    size = _output_size(name, x, output_size, nsp)
    out = ops.apply(ADAPTIVE_MAX_POOL, x, output_size=size)
    if return_indices:
        return out, ops.apply(ADAPTIVE_MAX_POOL_INDICES, x, output_size=size)
    return out


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over ``output_size`` windows of the last axis (adaptive windows as
    :func:`adaptive_avg_pool1d`); ``return_indices`` as :func:`max_pool1d`."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over an ``output_size`` grid of windows of the last two axes;
    ``return_indices`` as :func:`max_pool2d`."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def max_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Maximum over windows of the last three axes, as :func:`max_pool2d`; ``return_indices``
    gives the flat index (``d * H * W + h * W + w``) of each maximum in its input volume."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool3d", 3, input, *args)


def avg_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """Mean over windows of the last three axes, as :func:`avg_pool2d`."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _avg_pool("avg_pool3d", 3, input, *args)


def adaptive_avg_pool3d(input: Any, output_size: Any) -> Any:
    """Mean over an ``output_size`` grid of windows of the last three axes."""
    x = _input("adaptive_avg_pool3d", input, 3)
    size = _output_size("adaptive_avg_pool3d", x, output_size, 3)
    return ops.apply(ADAPTIVE_AVG_POOL, x, output_size=size)


def adaptive_max_pool3d(input: Any, output_size: Any, return_indices: bool = False) -> Any:
    """Maximum over an ``output_size`` grid of windows of the last three axes."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def _lp_pool(
    name: str, nsp: int, input: Any, norm_type: float, kernel_size: Any, stride: Any,
    ceil_mode: bool,
) -> Any:  # fmt: skip
    """PyTorch's power-average pooling: ``(sum of x ** p over the window) ** (1 / p)``, computed
    as the window's average of ``x ** p`` times the window size (so a ``ceil_mode`` window that
    hangs past the input is scaled as PyTorch scales it). An infinite ``norm_type`` is the
    maximum of ``|x|`` over the window, as PyTorch takes it."""
    x = _input(name, input, nsp)
    if not norm_type > 0:
        raise ValueError(f"{name}: norm_type must be positive, got {norm_type}")
    if math.isinf(norm_type):
        return _max_pool(name, nsp, ops.abs(x), kernel_size, stride, 0, 1, ceil_mode, False)
    k = int_tuple(name, "kernel_size", kernel_size, nsp)
    avg = _avg_pool(name, nsp, ops.power(x, float(norm_type)), k, stride, 0, ceil_mode, True, None)
    summed = ops.sign(avg) * ops.relu(ops.abs(avg)) * float(math.prod(k))
    return ops.power(summed, 1.0 / norm_type)


def lp_pool1d(
    input: Any, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Any:
    """The ``norm_type``-norm of each window of the last axis (no padding)."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: Any, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Any:
    """The ``norm_type``-norm of each window of the last two axes (no padding)."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(
    input: Any, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Any:
    """The ``norm_type``-norm of each window of the last three axes (no padding)."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


_MODE_RANK = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _floats(name: str, value: Any, n: int) -> list[float]:
    items = [value] if isinstance(value, (int, float)) else list(value)
    items = items * n if len(items) == 1 else items
    if len(items) != n:
        raise ValueError(f"interpolate: {name} must have {n} entries, got {value!r}")
    return [float(v) for v in items]


def interpolate(
    input: Any,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Any:
    """Resample the spatial axes of an ``(N, C, *spatial)`` input to ``size`` or by
    ``scale_factor`` (the output length ``floor(n * scale_factor)``; the samples placed with
    ``1 / scale_factor`` unless ``recompute_scale_factor``). Modes: ``nearest`` (any number of
    spatial axes), ``linear`` (3-d input), ``bilinear`` (4-d), ``trilinear`` (5-d), ``area``
    (adaptive average pooling). ``align_corners`` (linear modes only, default False) maps the
    corner samples of input and output onto each other."""
    x = ops.lift(input)
    nsp = x.ndim - 2
    if nsp < 1:
        raise ValueError(f"interpolate: expected an (N, C, *spatial) input, got {x.ndim}-d")
    if mode not in ("nearest", "area", *_MODE_RANK):
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not supported (nearest, linear, bilinear, "
            "trilinear, area)"
        )
    if mode in _MODE_RANK and _MODE_RANK[mode] != nsp:
        raise ValueError(
            f"interpolate: mode {mode!r} needs a {_MODE_RANK[mode] + 2}-d input, got {x.ndim}-d"
        )
    if mode in ("nearest", "area") and align_corners is not None:
        raise ValueError(
            "interpolate: align_corners can only be set with the interpolating modes "
            "(linear, bilinear, trilinear)"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    spatial = tuple(x.shape)[2:]
    if size is not None:
        sizes = int_tuple("interpolate", "size", size, nsp)
        scales = [0.0] * nsp
    else:
        scales = _floats("scale_factor", scale_factor, nsp)
        if not all(0 < s < math.inf for s in scales):
            raise ValueError(
                f"interpolate: scale_factor must be positive and finite, got {scale_factor!r}"
            )
        sizes = tuple(0 for _ in range(nsp))
        if recompute_scale_factor or mode == "area":
            if not all(isinstance(n, int) for n in spatial):
                raise ValueError("interpolate: recompute_scale_factor needs known spatial sizes")
            sizes = tuple(math.floor(float(n) * sf) for n, sf in zip(spatial, scales))
            scales = [0.0] * nsp
    if min(sizes) < 0 or (size is not None and min(sizes) < 1):
        raise ValueError(f"interpolate: size must be positive, got {size!r}")
    if mode == "area":
        return ops.apply(ADAPTIVE_AVG_POOL, x, output_size=sizes)
    kind = "nearest" if mode == "nearest" else "linear"
    corners = bool(align_corners) if kind == "linear" else False
    for k in reversed(range(nsp)):  # the last axis first: PyTorch's order of the sums
        x = ops.apply(
            RESAMPLE, x, axis=2 + k, size=sizes[k], mode=kind, align_corners=corners,
            scale=scales[k],
        )  # fmt: skip
    return x
