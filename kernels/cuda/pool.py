"""Pooling and resampling on the device: one thread per output element (grid-stride), with the
window rules of ``graphjit.kernels.pool`` and ``graphjit.kernels.resample``.

The host functions take C-contiguous device arrays shaped as the CPU kernels' (planes ``(P, D, H,
W)`` for pooling, ``(outer, n, inner)`` for resampling). The gradients gather instead of
scattering where they can: a thread per input element sums the outputs whose windows hold it
(average pooling, resampling), so no atomics and a fixed order; max pooling's gradient adds each
cotangent at its argmax with an atomic add (the indices are data). An index out of range raises
the error flag, which the host turns into IndexError.
"""

from __future__ import annotations

import math

import numpy as np
from graphjit.kernels.cuda.launch import BLOCK, blocks, flat
from graphjit.kernels.cuda.memory import check_flag, fill
from graphjit.kernels.pool import check_windows
from numba import cuda


@cuda.jit(device=True)
def _bounds(o, n, m, k, s, p, d, adaptive):  # type: ignore[no-untyped-def]
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


@cuda.jit(device=True)
def _unflat(t, m0, m1, m2):  # type: ignore[no-untyped-def]
    o2 = t % m2
    r = t // m2
    o1 = r % m1
    r //= m1
    return r // m0, r % m0, o1, o2


def _check_planes(x, out) -> None:  # type: ignore[no-untyped-def]
    if x.size == 0 and out.size > 0:
        raise ValueError("pooling: the input has an empty spatial axis")


@cuda.jit
def _max_kernel(x, out, want_index, k, s, p, d, adaptive):  # type: ignore[no-untyped-def]
    n0, n1, n2 = x.shape[1], x.shape[2], x.shape[3]
    m0, m1, m2 = out.shape[1], out.shape[2], out.shape[3]
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        pl, o0, o1, o2 = _unflat(t, m0, m1, m2)
        a0, b0, _ = _bounds(o0, n0, m0, k[0], s[0], p[0], d[0], adaptive)
        a1, b1, _ = _bounds(o1, n1, m1, k[1], s[1], p[1], d[1], adaptive)
        a2, b2, _ = _bounds(o2, n2, m2, k[2], s[2], p[2], d[2], adaptive)
        e0, e1, e2 = (1, 1, 1) if adaptive else (d[0], d[1], d[2])
        best = x[pl, a0, a1, a2]
        at = (a0 * n1 + a1) * n2 + a2
        for i in range(a0, b0, e0):
            for j in range(a1, b1, e1):
                for q in range(a2, b2, e2):
                    v = x[pl, i, j, q]
                    if v > best or v != v:
                        best = v
                        at = (i * n1 + j) * n2 + q
        if want_index:
            out[pl, o0, o1, o2] = at
        else:
            out[pl, o0, o1, o2] = best


def max_pool(x, out, k, s, p, d, adaptive) -> None:  # type: ignore[no-untyped-def]
    """Window maxima of ``x`` (planes, D, H, W) into ``out``."""
    _check_planes(x, out)
    check_windows(tuple(x.shape), tuple(out.shape), k, s, p, d, adaptive)
    if out.size:
        _max_kernel[blocks(out.size), BLOCK](x, out, False, k, s, p, d, adaptive)


def max_pool_indices(x, out, k, s, p, d, adaptive) -> None:  # type: ignore[no-untyped-def]
    """Flat plane index of each window's maximum (NaN wins, the last one) into ``out``."""
    _check_planes(x, out)
    check_windows(tuple(x.shape), tuple(out.shape), k, s, p, d, adaptive)
    if out.size:
        _max_kernel[blocks(out.size), BLOCK](x, out, True, k, s, p, d, adaptive)


@cuda.jit
def _scatter_kernel(g, idx, out, flag):  # type: ignore[no-untyped-def]
    n, per = out.shape[1], g.shape[1]
    for t in range(cuda.grid(1), g.size, cuda.gridsize(1)):
        pl, j = t // per, t % per
        at = idx[pl, j]
        if at < 0 or at >= n:
            flag[0] = 1
            continue
        cuda.atomic.add(out, (pl, at), g[pl, j])


@cuda.jit
def _gather_kernel(t_, idx, out, flag):  # type: ignore[no-untyped-def]
    n, per = t_.shape[1], idx.shape[1]
    for t in range(cuda.grid(1), idx.size, cuda.gridsize(1)):
        pl, j = t // per, t % per
        at = idx[pl, j]
        if at < 0 or at >= n:
            flag[0] = 1
            continue
        out[pl, j] = t_[pl, at]


def scatter_planes(g, idx, out, flag) -> None:  # type: ignore[no-untyped-def]
    """``out`` (planes x plane size) zeroed, then ``out[pl, idx[pl, j]] += g[pl, j]``."""
    fill(out, 0)
    fill(flag, 0)
    if g.size:
        _scatter_kernel[blocks(g.size), BLOCK](g, idx, out, flag)
    check_flag(flag, "pool_scatter: an index is out of range for the input plane")


def gather_planes(t, idx, out, flag) -> None:  # type: ignore[no-untyped-def]
    """``out[pl, j] = t[pl, idx[pl, j]]``."""
    fill(flag, 0)
    if idx.size:
        _gather_kernel[blocks(idx.size), BLOCK](t, idx, out, flag)
    check_flag(flag, "pool_gather: an index is out of range for the input plane")


@cuda.jit(device=True)
def _divisor(p0, p1, p2, c0, c1, c2, include_pad, divisor):  # type: ignore[no-untyped-def]
    if divisor != 0:
        return divisor
    if include_pad:
        return p0 * p1 * p2
    return c0 * c1 * c2


@cuda.jit
def _avg_kernel(x, out, k, s, p, adaptive, include_pad, divisor):  # type: ignore[no-untyped-def]
    n0, n1, n2 = x.shape[1], x.shape[2], x.shape[3]
    m0, m1, m2 = out.shape[1], out.shape[2], out.shape[3]
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        pl, o0, o1, o2 = _unflat(t, m0, m1, m2)
        a0, b0, p0 = _bounds(o0, n0, m0, k[0], s[0], p[0], 1, adaptive)
        a1, b1, p1 = _bounds(o1, n1, m1, k[1], s[1], p[1], 1, adaptive)
        a2, b2, p2 = _bounds(o2, n2, m2, k[2], s[2], p[2], 1, adaptive)
        acc = 0.0
        for i in range(a0, b0):
            for j in range(a1, b1):
                for q in range(a2, b2):
                    acc += x[pl, i, j, q]
        div = _divisor(p0, p1, p2, b0 - a0, b1 - a1, b2 - a2, include_pad, divisor)
        out[pl, o0, o1, o2] = acc / div


@cuda.jit(device=True)
def _candidates(i, n, m, k, s, p, adaptive):  # type: ignore[no-untyped-def]
    """A range of outputs holding every window that can contain input ``i`` (checked after)."""
    if adaptive:
        return max((i * m) // n - 1, 0), min(((i + 1) * m) // n + 2, m)
    return max((i + p - k + 1) // s, 0), min((i + p) // s + 1, m)


@cuda.jit
def _avg_grad_kernel(g, out, k, s, p, adaptive, include_pad, divisor):  # type: ignore[no-untyped-def]
    n0, n1, n2 = out.shape[1], out.shape[2], out.shape[3]
    m0, m1, m2 = g.shape[1], g.shape[2], g.shape[3]
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        pl, i0, i1, i2 = _unflat(t, n0, n1, n2)
        acc = 0.0
        c0, e0 = _candidates(i0, n0, m0, k[0], s[0], p[0], adaptive)
        c1, e1 = _candidates(i1, n1, m1, k[1], s[1], p[1], adaptive)
        c2, e2 = _candidates(i2, n2, m2, k[2], s[2], p[2], adaptive)
        for o0 in range(c0, e0):
            a0, b0, p0 = _bounds(o0, n0, m0, k[0], s[0], p[0], 1, adaptive)
            if i0 < a0 or i0 >= b0:
                continue
            for o1 in range(c1, e1):
                a1, b1, p1 = _bounds(o1, n1, m1, k[1], s[1], p[1], 1, adaptive)
                if i1 < a1 or i1 >= b1:
                    continue
                for o2 in range(c2, e2):
                    a2, b2, p2 = _bounds(o2, n2, m2, k[2], s[2], p[2], 1, adaptive)
                    if i2 < a2 or i2 >= b2:
                        continue
                    div = _divisor(p0, p1, p2, b0 - a0, b1 - a1, b2 - a2, include_pad, divisor)
                    acc += g[pl, o0, o1, o2] / div
        out[pl, i0, i1, i2] = acc


def avg_pool(x, out, k, s, p, adaptive, include_pad, divisor) -> None:  # type: ignore[no-untyped-def]
    """Window means of ``x`` into ``out`` (``divisor`` 0: PyTorch's count)."""
    _check_planes(x, out)
    if out.size:
        _avg_kernel[blocks(out.size), BLOCK](x, out, k, s, p, adaptive, include_pad, divisor)


def avg_pool_grad(g, out, k, s, p, adaptive, include_pad, divisor) -> None:  # type: ignore[no-untyped-def]
    """The transpose of :func:`avg_pool`: a thread per input element sums its windows' shares."""
    if out.size:
        args = (k, s, p, adaptive, include_pad, divisor)
        _avg_grad_kernel[blocks(out.size), BLOCK](g, out, *args)


# --------------------------------------------------------------------------------------------------
# resampling along one axis


@cuda.jit(device=True)
def _source(o, n, m, linear, align_corners, scale):  # type: ignore[no-untyped-def]
    """``(i0, i1, w)``: output ``o``'s source positions and the weight of ``i1``."""
    if not linear:
        if m == n:
            i = o
        elif m == 2 * n:
            i = o >> 1
        else:
            step = np.float32(1.0 / scale) if scale > 0 else np.float32(n) / np.float32(m)
            i = min(int(math.floor(np.float32(o) * step)), n - 1)  # noqa: RUF046 - a float on the device
        return i, i, 0.0
    if align_corners:
        step = (n - 1) / (m - 1) if m > 1 else 0.0
        src = step * o
    else:
        step = 1.0 / scale if scale > 0 else n / m
        src = max(step * (o + 0.5) - 0.5, 0.0)
    lo = int(src)
    return lo, lo + 1 if lo < n - 1 else lo, src - lo


@cuda.jit
def _resample_kernel(x, out, linear, align_corners, scale):  # type: ignore[no-untyped-def]
    n, m, inner = x.shape[1], out.shape[1], out.shape[2]
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        b = t % inner
        r = t // inner
        o = r % m
        a = r // m
        i0, i1, w = _source(o, n, m, linear, align_corners, scale)
        out[a, o, b] = (1.0 - w) * x[a, i0, b] + w * x[a, i1, b]


@cuda.jit
def _resample_grad_kernel(g, out, linear, align_corners, scale):  # type: ignore[no-untyped-def]
    n, m, inner = out.shape[1], g.shape[1], g.shape[2]
    # outputs reading input i lie near i / step; a margin of two covers the rounding
    if linear and align_corners:
        step = (n - 1) / (m - 1) if m > 1 else 0.0
    elif scale > 0:
        step = 1.0 / scale
    else:
        step = n / m
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        b = t % inner
        r = t // inner
        i = r % n
        a = r // n
        lo, hi = 0, m
        if step > 0:
            lo = max(int(math.floor((i - 1) / step)) - 2, 0)  # noqa: RUF046 - a float on the device
            hi = min(int(math.ceil((i + 2) / step)) + 2, m)  # noqa: RUF046 - a float on the device
        acc = 0.0
        for o in range(lo, hi):
            i0, i1, w = _source(o, n, m, linear, align_corners, scale)
            if i0 == i:
                acc += (1.0 - w) * g[a, o, b]
            if linear and i1 == i:
                acc += w * g[a, o, b]
        out[a, i, b] = acc


def resample(x, out, linear, align_corners, scale) -> None:  # type: ignore[no-untyped-def]
    """``out[a, o, b]`` interpolated from ``x[a, :, b]``."""
    if x.shape[1] == 0 and out.shape[1] > 0:
        raise ValueError("interpolate: the input has an empty spatial axis")
    if out.size:
        _resample_kernel[blocks(out.size), BLOCK](x, out, linear, align_corners, scale)


def resample_grad(g, out, linear, align_corners, scale) -> None:  # type: ignore[no-untyped-def]
    """The transpose of :func:`resample`: a thread per input element sums what it fed."""
    if out.size:
        _resample_grad_kernel[blocks(out.size), BLOCK](g, out, linear, align_corners, scale)


__all__ = [
    "avg_pool",
    "avg_pool_grad",
    "flat",
    "gather_planes",
    "max_pool",
    "max_pool_indices",
    "resample",
    "resample_grad",
    "scatter_planes",
]
