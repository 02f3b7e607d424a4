"""Pooling kernels: max (values and argmax indices), average, their adaptive forms, and the
gradients (a scatter of the cotangent through the argmax indices; the average spread back over
each window).

Every kernel works on planes: the program reshapes the input to ``(planes, D, H, W)`` (1-D and
2-D pooling are 3-D pooling with unit leading spatial dims and windows of size 1 there) and each
plane is independent, so the plane loop is a ``prange`` in the ``*_parallel`` variants, which the
programs call when the work is large. The window of output position ``o`` along one axis follows
PyTorch: ``start = o * stride - padding``, positions ``start, start + dilation, ...`` inside the
input; adaptive windows are ``[floor(o * n / m), ceil((o + 1) * n / m))``.
"""

from __future__ import annotations

import numpy as np
from graphjit.kernels import extern
from graphjit.kernels.memory import fill_array
from numba import njit, prange, uint64

# window reads (planes x outputs x window) worth a prange: the serial loop reads about one a
# nanosecond, so below this waking numba's threads, which then compete with BLAS's own between
# the products of a training step, costs more than it saves (LeNet's pooling stays serial)
PARALLEL_MIN_WORK = 2_000_000
_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_FLAGS)
def pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output length of a window ``k`` (stride ``s``, padding ``p``, dilation ``d``) over ``n``
    positions, PyTorch's rule: with ``ceil_mode`` a last partial window counts if it starts
    inside the input or its left padding. Raises ValueError when no window fits."""
    if n < 1:
        raise ValueError("pooling: the input has an empty spatial axis")
    span = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    if out < 1:
        raise ValueError("pooling: the (padded) input is smaller than the window")
    return out


@njit(**_FLAGS)
def window_bounds(
    o: int, n: int, m: int, k: int, s: int, p: int, d: int, adaptive: bool
) -> tuple[int, int, int]:
    """``(first, stop, padded)`` of output ``o``'s window along one axis of ``n`` positions
    (``m`` outputs): it reads ``first, first + d, ...`` below ``stop``, all inside the input;
    ``padded`` is its length counting padding (the average's divisor with count_include_pad)."""
    if adaptive:
        lo = (o * n) // m
        hi = ((o + 1) * n + m - 1) // m
        return lo, hi, hi - lo
    start = o * s - p
    stop = start + (k - 1) * d + 1
    padded = min(stop, n + p) - start
    lo = start
    if lo < 0:
        lo += ((-lo + d - 1) // d) * d
    return lo, min(stop, n), padded


@njit(**_FLAGS)
def _axis_windows(n, m, k, s, p, d, adaptive):  # type: ignore[no-untyped-def]
    """``first, stop, padded`` (see :func:`window_bounds`) of each of the ``m`` windows along
    one axis of ``n`` positions, an ``(m, 3)`` array: worked out once per call, not per output."""
    bounds = np.empty((m, 3), np.int64)
    for o in range(m):
        bounds[o, 0], bounds[o, 1], bounds[o, 2] = window_bounds(o, n, m, k, s, p, d, adaptive)
    return bounds


@njit(inline="always", **_FLAGS)
def _window_max(x, pl, a0, b0, a1, b1, a2, b2, step):  # type: ignore[no-untyped-def]
    """The maximum of one window of plane ``pl`` and the flat index in the plane of its first
    occurrence; a NaN wins (the last one, as in PyTorch)."""
    n1, n2 = x.shape[2], x.shape[3]
    best = x[pl, a0, a1, a2]
    at = (a0 * n1 + a1) * n2 + a2
    for i in range(a0, b0, step[0]):
        for j in range(a1, b1, step[1]):
            for q in range(a2, b2, step[2]):
                v = x[pl, i, j, q]
                if v > best or v != v:
                    best = v
                    at = (i * n1 + j) * n2 + q
    return best, at


@njit(inline="always", **_FLAGS)
def _max_planes(x, out, p0, p1, w0, w1, w2, step, inner, want_index):  # type: ignore[no-untyped-def]
    """Planes ``p0`` to ``p1``: the window maxima, or with ``want_index`` the flat index in the
    plane of each window's first maximum, into ``out``. Callers pass a constant, so each compiles
    to the loops storing one of the two.

    ``inner = (lo, hi, first, stride, taps)``: the outputs ``lo`` to ``hi`` along the last axis
    read whole windows, output ``o``'s from ``first + o * stride`` (``taps`` reads a dilation
    apart). Their maxima are taken a row of outputs at a time, one window position at a time
    over the whole row, in ``out``: a loop that vectorises. Their indices are taken one window
    at a time, by counted loops over flat offsets (a numba ``range`` with a run-time step divides
    on entry). The other outputs (at padding, adaptive windows) go through :func:`_window_max`.
    All read a window's positions in the same order, so ties and NaNs resolve the same way."""
    m0, m1, m2 = w0.shape[0], w1.shape[0], w2.shape[0]
    n0, n1, n2 = x.shape[1], x.shape[2], x.shape[3]
    lo, hi, first, stride, taps = inner
    xf, of = x.reshape(x.size), out.reshape(out.size)  # indexed by unsigned offsets: no wrapping
    for pl in range(p0, p1):
        plane = pl * n0 * n1 * n2
        for o0 in range(m0):
            a0, b0 = w0[o0, 0], w0[o0, 1]
            c0 = (b0 - a0 + step[0] - 1) // step[0]
            for o1 in range(m1):
                a1, b1 = w1[o1, 0], w1[o1, 1]
                c1 = (b1 - a1 + step[1] - 1) // step[1]
                row = ((pl * m0 + o0) * m1 + o1) * m2
                for e in range(m2 - (hi - lo)):  # the outputs before lo, then those from hi
                    o2 = e if e < lo else e + hi - lo
                    v, at = _window_max(x, pl, a0, b0, a1, b1, w2[o2, 0], w2[o2, 1], step)
                    if want_index:
                        out[pl, o0, o1, o2] = at
                    else:
                        out[pl, o0, o1, o2] = v
                corner = (a0 * n1 + a1) * n2 + first
                if want_index:
                    for o2 in range(lo, hi):
                        at = corner + o2 * stride
                        b = xf[uint64(plane + at)]
                        for i in range(c0):
                            for j in range(c1):
                                q = corner + (i * step[0] * n1 + j * step[1]) * n2 + o2 * stride
                                for _ in range(taps):
                                    v = xf[uint64(plane + q)]
                                    take = (v > b) | (v != v)
                                    b = v if take else b
                                    at = q if take else at
                                    q += step[2]
                        of[uint64(row + o2)] = at
                else:
                    for o2 in range(lo, hi):
                        of[uint64(row + o2)] = xf[uint64(plane + corner + o2 * stride)]
                    for i in range(c0):
                        for j in range(c1):
                            for t in range(taps):
                                q = plane + corner + (i * step[0] * n1 + j * step[1]) * n2
                                q += t * step[2]
                                for o2 in range(lo, hi):
                                    v = xf[uint64(q + o2 * stride)]
                                    b = of[uint64(row + o2)]
                                    of[uint64(row + o2)] = v if (v > b) | (v != v) else b


@njit(**_FLAGS)
def _max_values(x, values, p0, p1, w0, w1, w2, step, inner):  # type: ignore[no-untyped-def]
    _max_planes(x, values, p0, p1, w0, w1, w2, step, inner, False)


@njit(**_FLAGS)
def _max_indices(x, indices, p0, p1, w0, w1, w2, step, inner):  # type: ignore[no-untyped-def]
    _max_planes(x, indices, p0, p1, w0, w1, w2, step, inner, True)


_max_values_by_symbol = extern.external(_max_values)
_max_indices_by_symbol = extern.external(_max_indices)


@njit(inline="always", **_FLAGS)
def _max_of_planes(x, values, indices, p0, p1, w0, w1, w2, step, inner, want):  # type: ignore[no-untyped-def]
    if want == 0:
        _max_values_by_symbol(x, values, p0, p1, w0, w1, w2, step, inner)
    else:
        _max_indices_by_symbol(x, indices, p0, p1, w0, w1, w2, step, inner)


@njit(parallel=True, **_FLAGS)
def _max_parallel(x, values, indices, w0, w1, w2, step, inner, want):  # type: ignore[no-untyped-def]
    for pl in prange(x.shape[0]):  # its index is unsigned: as int64, one compiled plane function
        p0 = np.int64(pl)
        _max_of_planes(x, values, indices, p0, p0 + 1, w0, w1, w2, step, inner, want)


@njit(**_FLAGS)
def _inner_windows(w2, k, s, p, d, adaptive):  # type: ignore[no-untyped-def]
    """``(lo, hi, first, stride, taps)`` of :func:`_max_planes`: the outputs whose window along
    the last axis (``w2``, from :func:`_axis_windows`) lies whole inside the input."""
    lo, hi = w2.shape[0], 0
    if not adaptive:
        for o in range(w2.shape[0]):
            if w2[o, 0] == o * s - p and w2[o, 1] == o * s - p + (k - 1) * d + 1:
                lo, hi = min(lo, o), o + 1
    if hi <= lo:
        lo, hi = 0, 0
    return lo, hi, -p, s, k


@njit(**_FLAGS)
def _max_windows(x, values, indices, k, s, p, d, adaptive, want):  # type: ignore[no-untyped-def]
    m = values.shape[1:] if want == 0 else indices.shape[1:]
    w0 = _axis_windows(x.shape[1], m[0], k[0], s[0], p[0], d[0], adaptive)
    w1 = _axis_windows(x.shape[2], m[1], k[1], s[1], p[1], d[1], adaptive)
    w2 = _axis_windows(x.shape[3], m[2], k[2], s[2], p[2], d[2], adaptive)
    step = (1, 1, 1) if adaptive else (d[0], d[1], d[2])
    inner = _inner_windows(w2, k[2], s[2], p[2], d[2], adaptive)
    if _parallel_pays(x.shape[0], m[0] * m[1] * m[2], k[0] * k[1] * k[2]):
        _max_parallel(x, values, indices, w0, w1, w2, step, inner, want)
    else:
        _max_of_planes(x, values, indices, 0, x.shape[0], w0, w1, w2, step, inner, want)


_max_windows_by_symbol = extern.external(_max_windows)


@njit(**_FLAGS)
def _parallel_pays(planes: int, outputs: int, window: int) -> bool:
    return planes > 1 and planes * outputs * window >= PARALLEL_MIN_WORK


@njit(**_FLAGS)
def _check_planes(x, out):  # type: ignore[no-untyped-def]
    """Every window reads at least one input: no spatial axis of ``x`` may be empty."""
    if x.size == 0 and out.size > 0:
        raise ValueError("pooling: the input has an empty spatial axis")


@njit(**_FLAGS)
def check_windows(shape, out_shape, k, s, p, d, adaptive):  # type: ignore[no-untyped-def]
    """Refuse a max pooling whose dilated window reads only padding at some output (PyTorch
    returns -inf there, with an index outside the plane). ``shape``s are ``(P, D, H, W)``."""
    if adaptive or out_shape[0] == 0:
        return
    for axis in range(3):
        n, m = shape[1 + axis], out_shape[1 + axis]
        for o in range(m):
            lo, hi, _ = window_bounds(o, n, m, k[axis], s[axis], p[axis], d[axis], False)
            if lo >= hi:
                raise ValueError("max_pool: a dilated window reads only padding")


@njit(**_FLAGS)
def max_pool(x, out, k, s, p, d, adaptive):  # type: ignore[no-untyped-def]
    """``out[pl, o] = max`` of each window of ``x[pl]`` (4-D, C-contiguous)."""
    _check_planes(x, out)
    check_windows(x.shape, out.shape, k, s, p, d, adaptive)
    # one compiled _max_windows serves both: a call by symbol takes ``want`` as a plain int (a
    # literal 0 or 1 made numba compile it, with its parallel variant, once for each)
    _max_windows_by_symbol(x, out, np.empty((1, 1, 1, 1), np.int64), k, s, p, d, adaptive, 0)


@njit(**_FLAGS)
def max_pool_indices(x, out, k, s, p, d, adaptive):  # type: ignore[no-untyped-def]
    """``out[pl, o]`` = the flat index in the plane of the first maximum of each window."""
    _check_planes(x, out)
    check_windows(x.shape, out.shape, k, s, p, d, adaptive)
    _max_windows_by_symbol(x, np.empty((1, 1, 1, 1), x.dtype), out, k, s, p, d, adaptive, 1)


@njit(**_FLAGS)
def _scatter_plane(g, idx, out, pl):  # type: ignore[no-untyped-def]
    n = out.shape[1]
    for j in range(g.shape[1]):
        at = idx[pl, j]
        if at < 0 or at >= n:
            raise IndexError("max_pool_grad: an index is out of range for the input plane")
        out[pl, at] += g[pl, j]


_scatter_plane_by_symbol = extern.external(_scatter_plane)


@njit(**_FLAGS)
def _scatter_serial(g, idx, out):  # type: ignore[no-untyped-def]
    for pl in range(g.shape[0]):
        _scatter_plane_by_symbol(g, idx, out, pl)


@njit(parallel=True, **_FLAGS)
def _scatter_parallel(g, idx, out):  # type: ignore[no-untyped-def]
    for pl in prange(g.shape[0]):
        _scatter_plane_by_symbol(g, idx, out, np.int64(pl))


@njit(**_FLAGS)
def scatter_planes(g, idx, out):  # type: ignore[no-untyped-def]
    """``out`` (2-D: planes x plane size) zeroed, then ``out[pl, idx[pl, j]] += g[pl, j]``."""
    fill_array(out, 0)
    if _parallel_pays(g.shape[0], g.shape[1], 1):
        _scatter_parallel(g, idx, out)
    else:
        _scatter_serial(g, idx, out)


@njit(**_FLAGS)
def _divisor(pads, sizes, include_pad, divisor):  # type: ignore[no-untyped-def]
    if divisor != 0:
        return divisor
    if include_pad:
        return pads[0] * pads[1] * pads[2]
    return sizes[0] * sizes[1] * sizes[2]


@njit(**_FLAGS)
def _avg_plane(x, out, pl, w0, w1, w2, include_pad, divisor, forward):  # type: ignore[no-untyped-def]
    """One plane of the average (``forward``: ``out`` = the window means of ``x``) or of its
    transpose (``out`` holds the cotangent, spread back into ``x``); ``w0, w1, w2`` are the
    windows along each axis (:func:`_axis_windows`)."""
    for o0 in range(w0.shape[0]):
        a0, b0, p0 = w0[o0, 0], w0[o0, 1], w0[o0, 2]
        for o1 in range(w1.shape[0]):
            a1, b1, p1 = w1[o1, 0], w1[o1, 1], w1[o1, 2]
            for o2 in range(w2.shape[0]):
                a2, b2, p2 = w2[o2, 0], w2[o2, 1], w2[o2, 2]
                div = _divisor((p0, p1, p2), (b0 - a0, b1 - a1, b2 - a2), include_pad, divisor)
                if forward:
                    acc = 0.0
                    for i in range(a0, b0):
                        for j in range(a1, b1):
                            for q in range(a2, b2):
                                acc += x[pl, i, j, q]
                    out[pl, o0, o1, o2] = acc / div
                else:
                    share = out[pl, o0, o1, o2] / div
                    for i in range(a0, b0):
                        for j in range(a1, b1):
                            for q in range(a2, b2):
                                x[pl, i, j, q] += share


_avg_plane_by_symbol = extern.external(_avg_plane)


@njit(**_FLAGS)
def _avg_serial(x, out, w0, w1, w2, include_pad, divisor, forward):  # type: ignore[no-untyped-def]
    for pl in range(x.shape[0]):
        _avg_plane_by_symbol(x, out, pl, w0, w1, w2, include_pad, divisor, forward)


@njit(parallel=True, **_FLAGS)
def _avg_parallel(x, out, w0, w1, w2, include_pad, divisor, forward):  # type: ignore[no-untyped-def]
    for pl in prange(x.shape[0]):
        _avg_plane_by_symbol(x, out, np.int64(pl), w0, w1, w2, include_pad, divisor, forward)


@njit(**_FLAGS)
def _avg_windows(x, out, k, s, p, adaptive, include_pad, divisor, forward):  # type: ignore[no-untyped-def]
    """The average or its transpose over planes: ``x`` the input's shape, ``out`` the output's."""
    w0 = _axis_windows(x.shape[1], out.shape[1], k[0], s[0], p[0], 1, adaptive)
    w1 = _axis_windows(x.shape[2], out.shape[2], k[1], s[1], p[1], 1, adaptive)
    w2 = _axis_windows(x.shape[3], out.shape[3], k[2], s[2], p[2], 1, adaptive)
    if _parallel_pays(x.shape[0], out[0].size, k[0] * k[1] * k[2]):
        _avg_parallel(x, out, w0, w1, w2, include_pad, divisor, forward)
    else:
        _avg_serial(x, out, w0, w1, w2, include_pad, divisor, forward)


@njit(**_FLAGS)
def avg_pool(x, out, k, s, p, adaptive, include_pad, divisor):  # type: ignore[no-untyped-def]
    """``out[pl, o]`` = the mean of each window of ``x[pl]`` (``divisor`` 0: PyTorch's count)."""
    _check_planes(x, out)
    _avg_windows(x, out, k, s, p, adaptive, include_pad, divisor, True)


@njit(**_FLAGS)
def avg_pool_grad(g, out, k, s, p, adaptive, include_pad, divisor):  # type: ignore[no-untyped-def]
    """The transpose of :func:`avg_pool`: ``out`` (the input's shape) zeroed, then each
    cotangent ``g[pl, o] / divisor`` added over its window."""
    fill_array(out, 0)
    _avg_windows(out, g, k, s, p, adaptive, include_pad, divisor, False)


@njit(**_FLAGS)
def gather_planes(t, idx, out):  # type: ignore[no-untyped-def]
    """``out[pl, j] = t[pl, idx[pl, j]]`` (all 2-D: planes x positions)."""
    n = t.shape[1]
    for pl in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            at = idx[pl, j]
            if at < 0 or at >= n:
                raise IndexError("pool_gather: an index is out of range for the input plane")
            out[pl, j] = t[pl, at]


extern.load_bound(globals())
