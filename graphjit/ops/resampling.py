"""Resampling along one axis (``resample``), the op ``gj.nn.functional.interpolate`` applies
once per spatial axis, and its transpose ``resample_grad``.

``mode="nearest"``: output ``o`` of ``m`` copies input ``min(floor(o * step), n - 1)``, ``step``
``n / m`` (or ``1 / scale``), computed in single precision as PyTorch does. ``mode="linear"``:
output ``o`` reads the source position ``o * (n - 1) / (m - 1)`` (``align_corners``) or
``max((o + 0.5) * step - 0.5, 0)``, blending its two neighbours. Bilinear interpolation is linear
along the width, then along the height: the same sum, in the same order, as PyTorch's.
``scale`` > 0 is a user's scale factor (PyTorch uses it, not the ratio of the sizes, to place the
samples); ``size`` 0 means ``floor(n * scale)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops.dispatch import apply
from graphjit.ops.registry import DimBuilder, OpDef, defop

__all__: list[str] = []

MODES = ("nearest", "linear")


def resampled_size(n: Dim, size: int, scale: float) -> Dim:
    """The output length: ``size``, or ``floor(n * scale)`` (None while ``n`` is unknown)."""
    if size:
        return size
    if not isinstance(n, int):
        return None
    return int(np.floor(float(n) * scale))


def source_table(
    n: int, m: int, mode: str, align_corners: bool, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source positions ``i0``, ``i1`` and the weight ``w`` of ``i1`` for each of ``m`` outputs
    (the rule ``kernels/resample.py`` runs compiled)."""
    o = np.arange(m)
    if mode == "nearest":
        if m == n:
            i = o
        elif m == 2 * n:
            i = o >> 1
        else:
            step = np.float32(1.0 / scale) if scale > 0 else np.float32(n) / np.float32(m)
            i = np.minimum(np.floor(o.astype(np.float32) * step).astype(np.int64), n - 1)
        return i.astype(np.int64), i.astype(np.int64), np.zeros(m)
    if align_corners:
        src = o * ((n - 1) / (m - 1) if m > 1 else 0.0)
    else:
        step = 1.0 / scale if scale > 0 else n / m
        src = np.maximum(step * (o + 0.5) - 0.5, 0.0)
    lo = src.astype(np.int64)
    return lo, np.where(lo < n - 1, lo + 1, lo), src - lo


def _check(x: TensorType, axis: int, size: int, mode: str, scale: float) -> None:
    if mode not in MODES:
        raise ValueError(f"resample: mode must be one of {MODES}, got {mode!r}")
    if not isinstance(axis, int) or not 0 <= axis < x.ndim:
        raise ValueError(f"resample: axis must be in range({x.ndim}), got {axis!r}")
    if x.dtype == "bool" or (mode == "linear" and not is_float(x.dtype)):
        raise TypeError(f"resample: mode {mode!r} needs a floating input, got {x.dtype}")
    if size < 0 or (size == 0 and scale <= 0):
        raise ValueError(f"resample: give a positive size or scale, got {size} and {scale}")


def _infer(x: TensorType, *, axis: int, size: int, mode: str, align_corners: bool,
           scale: float) -> TensorType:  # fmt: skip
    _check(x, axis, size, mode, scale)
    m = resampled_size(x.shape[axis], size, scale)
    if isinstance(m, int) and m < 1:
        raise ValueError(
            f"resample: scale {scale} leaves no output along axis {axis} of shape "
            f"{format_shape(x.shape)}"
        )
    return TensorType((*x.shape[:axis], m, *x.shape[axis + 1 :]), x.dtype)


def _impl(x: np.ndarray, *, axis: int, size: int, mode: str, align_corners: bool,
          scale: float) -> np.ndarray:  # fmt: skip
    n = x.shape[axis]
    m = resampled_size(n, size, scale)
    assert isinstance(m, int)
    i0, i1, w = source_table(n, m, mode, align_corners, scale)
    if mode == "nearest":
        return np.take(x, i0, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = m
    wh = w.reshape(shape)
    out = (1.0 - wh) * np.take(x, i0, axis=axis) + wh * np.take(x, i1, axis=axis)
    return out.astype(x.dtype, copy=False)


def _grad_impl(g: np.ndarray, x: np.ndarray, *, axis: int, size: int, mode: str,
               align_corners: bool, scale: float) -> np.ndarray:  # fmt: skip
    n = x.shape[axis]
    i0, i1, w = source_table(n, g.shape[axis], mode, align_corners, scale)
    out = np.zeros(x.shape, g.dtype)
    moved_out, moved_g = np.moveaxis(out, axis, 0), np.moveaxis(g, axis, 0)
    wh = w.reshape(-1, *(1,) * (g.ndim - 1))
    np.add.at(moved_out, i0, ((1.0 - wh) * moved_g).astype(g.dtype, copy=False))
    if mode == "linear":
        np.add.at(moved_out, i1, (wh * moved_g).astype(g.dtype, copy=False))
    return out


def _call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axis, size, scale = node.attrs["axis"], node.attrs["size"], node.attrs["scale"]
    xd = list(ins[0])
    xd[axis] = str(size) if size else table.let(f"kresample.scaled_size({xd[axis]}, {scale!r})")
    return xd


def _grad_infer(g: TensorType, x: TensorType, **attrs: Any) -> TensorType:
    want = _infer(x, **attrs)
    if g.ndim != want.ndim or any(
        isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(g.shape, want.shape)
    ):
        raise ValueError(
            f"resample_grad: cotangent of shape {format_shape(g.shape)} does not match the "
            f"resampled shape {format_shape(want.shape)}"
        )
    return TensorType(x.shape, g.dtype)


def _grad_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    for i, (a, b) in enumerate(zip(ins[0], _call_dims(table, node, [ins[1]]))):
        table.require_equal(a, b, f"resample_grad: axis {i} of the cotangent has the wrong size")
    return list(ins[1])


RESAMPLE: OpDef = defop(
    "resample",
    infer=_infer,
    impl=_impl,
    vjps=(lambda g, out, x, **attrs: apply(RESAMPLE_GRAD, g, x, **attrs),),
    jvp=lambda tangents, out, x, **attrs: (
        None if tangents[0] is None else apply(RESAMPLE, tangents[0], **attrs)
    ),
    call_dims=_call_dims,
    promote=None,
    doc="nearest or linear interpolation along one axis to a new length (PyTorch's rules)",
)

RESAMPLE_GRAD: OpDef = defop(
    "resample_grad",
    infer=_grad_infer,
    impl=_grad_impl,
    vjps=(lambda ct, out, g, x, **attrs: apply(RESAMPLE, ct, **attrs), None),
    jvp=lambda tangents, out, g, x, **attrs: (
        None if tangents[0] is None else apply(RESAMPLE_GRAD, tangents[0], x, **attrs)
    ),
    call_dims=_grad_call_dims,
    shape_only_from=1,
    promote=None,
    doc="the transpose of resample: each cotangent added back to its source positions",
)
