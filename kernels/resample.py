"""Resampling along one axis: nearest-neighbour and linear interpolation (PyTorch's
``interpolate`` rules), and the transposes their gradients use.

The program reshapes the input to ``(outer, n, inner)`` with the resampled axis in the middle.
Each output position ``o`` reads source positions ``i0`` and ``i1`` with weights ``1 - w`` and
``w`` (nearest: ``i0`` alone); the table of them is computed once per call. Bilinear is linear
along the width, then along the height: the same sum PyTorch forms, in the same order.
"""

from __future__ import annotations

import numpy as np
from graphjit.kernels import extern
from graphjit.kernels.memory import fill_array
from numba import njit, prange

PARALLEL_MIN_WORK = 200_000
_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_FLAGS)
def scaled_size(n: int, scale: float) -> int:
    """``floor(n * scale)``, the output length PyTorch gives a ``scale_factor``."""
    m = int(np.floor(float(n) * scale))
    if m < 1:
        raise ValueError("interpolate: the scale factor gives an empty output")
    return m


@njit(**_FLAGS)
def source_table(
    n: int, m: int, linear: bool, align_corners: bool, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of the ``m`` outputs: the source positions ``i0``, ``i1`` and the weight ``w``
    of ``i1``. ``scale`` > 0 is the user's scale factor (the step is then ``1 / scale``)."""
    i0 = np.empty(m, np.int64)
    i1 = np.empty(m, np.int64)
    w = np.zeros(m, np.float64)
    if not linear:
        # PyTorch computes the nearest index in single precision
        step = np.float32(1.0 / scale) if scale > 0 else np.float32(n) / np.float32(m)
        for o in range(m):
            if m == n:
                i = o
            elif m == 2 * n:
                i = o >> 1
            else:
                i = min(int(np.floor(np.float32(o) * step)), n - 1)
            i0[o] = i
            i1[o] = i
        return i0, i1, w
    if align_corners:
        step = (n - 1) / (m - 1) if m > 1 else 0.0
    else:
        step = 1.0 / scale if scale > 0 else n / m
    for o in range(m):
        src = step * o if align_corners else max(step * (o + 0.5) - 0.5, 0.0)
        lo = int(src)
        i0[o] = lo
        i1[o] = lo + 1 if lo < n - 1 else lo
        w[o] = src - lo
    return i0, i1, w


@njit(**_FLAGS)
def _row(x, out, a, i0, i1, w, forward):  # type: ignore[no-untyped-def]
    """One outer index: ``out[a] = resample(x[a])`` or, transposed, ``x[a] += ...out[a]``."""
    for o in range(i0.shape[0]):
        lo, hi, wh = i0[o], i1[o], w[o]
        wl = 1.0 - wh
        for b in range(x.shape[2]):
            if forward:
                out[a, o, b] = wl * x[a, lo, b] + wh * x[a, hi, b]
            else:
                g = out[a, o, b]
                x[a, lo, b] += wl * g
                x[a, hi, b] += wh * g


_row_by_symbol = extern.external(_row)


@njit(**_FLAGS)
def _serial(x, out, i0, i1, w, forward):  # type: ignore[no-untyped-def]
    for a in range(x.shape[0]):
        _row_by_symbol(x, out, a, i0, i1, w, forward)


@njit(parallel=True, **_FLAGS)
def _parallel(x, out, i0, i1, w, forward):  # type: ignore[no-untyped-def]
    for a in prange(x.shape[0]):  # its index is unsigned: as int64, one compiled row function
        _row_by_symbol(x, out, np.int64(a), i0, i1, w, forward)


@njit(**_FLAGS)
def _run(x, out, linear, align_corners, scale, forward):  # type: ignore[no-untyped-def]
    if x.shape[1] == 0 and out.shape[1] > 0:
        raise ValueError("interpolate: the input has an empty spatial axis")
    i0, i1, w = source_table(x.shape[1], out.shape[1], linear, align_corners, scale)
    if x.shape[0] > 1 and out.size >= PARALLEL_MIN_WORK:
        _parallel(x, out, i0, i1, w, forward)
    else:
        _serial(x, out, i0, i1, w, forward)


@njit(**_FLAGS)
def resample(x, out, linear, align_corners, scale):  # type: ignore[no-untyped-def]
    """``out[a, o, b]`` interpolated from ``x[a, :, b]`` (both 3-D, C-contiguous)."""
    _run(x, out, linear, align_corners, scale, True)


@njit(**_FLAGS)
def resample_grad(g, out, linear, align_corners, scale):  # type: ignore[no-untyped-def]
    """The transpose of :func:`resample`: ``out`` (the input's shape) zeroed, then each
    cotangent ``g[a, o, b]`` added to its source positions with its weights."""
    fill_array(out, 0)
    _run(out, g, linear, align_corners, scale, False)


extern.load_bound(globals())
