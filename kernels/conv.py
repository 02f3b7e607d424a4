"""Convolution kernels for the CPU: im2col (and its transpose col2im) loops feeding BLAS.

Every array is 5-D, channels first: inputs ``(N, C, D, H, W)``, weights ``(C_out, C_in // groups,
KD, KH, KW)``; the program gives 1-d and 2-d convolutions leading spatial dims of size 1. The
attributes are 3-tuples: ``stride``, ``pad`` (the zero padding before each spatial dim; the padding
after is implied by the sizes) and ``dil`` (dilation), and ``groups``.

For each group, the batch is taken in chunks of samples whose column matrix (``C_in // groups *
KD * KH * KW`` rows, one column per output position of each sample) stays under
:data:`COLUMN_LIMIT` elements; one BLAS product per chunk does the arithmetic. The im2col and
col2im loops run in parallel over the input channels (``prange``) when the chunk is large.
"""

from __future__ import annotations

import numpy as np
from graphjit.kernels import extern
from graphjit.kernels.memory import fill_array
from numba import njit, prange, uint64

_FLAGS = {"cache": True, "nogil": True, "error_model": "numpy"}
# elements of one chunk's column matrix: 256 KiB in float32, so it is still in the core's L2
# cache when BLAS reads it (measured on LeNet's layers: 1.5-2.5x faster than 16 MiB chunks)
COLUMN_LIMIT = 1 << 16
# elements of a column matrix worth filling in parallel, one channel's rows per thread: only a
# single large sample's, whose copy is long enough to pay for waking the threads
PARALLEL_MIN = 1 << 20


@njit(inline="always", **_FLAGS)
def _run_bounds(e, width, out_w, s, p, d):  # type: ignore[no-untyped-def]
    """The outputs ``k`` in ``[lo, hi)`` whose input position ``k * s - p + e * d`` along the last
    axis lies inside ``[0, width)`` (the others read padding), and that position at ``k = 0``."""
    first = e * d - p
    lo = min(out_w, max(0, -(first // s)))  # ceil(-first / s)
    hi = min(out_w, max(lo, -((first - width) // s)))  # ceil((width - first) / s)
    return lo, hi, first


# The loop nest below indexes flat views with unsigned offsets: numba wraps a signed index that
# may be negative around the axis, and that check on every element (five of them, one per axis
# of a 5-D index) made the copy several times slower than the memory traffic.


@njit(inline="always", **_FLAGS)
def _walk_channel(image, n, c0, c, cols, col0, ks, out_sp, stride, pad, dil, to_image):  # type: ignore[no-untyped-def]
    """The loop nest im2col and col2im share, over channel ``c0 + c`` of sample ``n``: its rows
    of ``cols`` (from row ``c * KD * KH * KW``, one per kernel tap) and columns ``col0:col0 + P``
    against the elements of ``image`` they meet (both arrays C-contiguous), one output line at a
    time. ``to_image`` False (im2col): a strided copy of the image line into the columns between
    runs of zeros (the padding); True (col2im, the transpose): the columns added back into the
    line. Callers pass a constant, so each compiles to one of the two loops."""
    chans, depth, height, width = image.shape[1], image.shape[2], image.shape[3], image.shape[4]
    imf, cf = image.reshape(image.size), cols.reshape(cols.size)
    out_w, s = out_sp[2], stride[2]
    r = c * ks[0] * ks[1] * ks[2]
    for a in range(ks[0]):
        for b in range(ks[1]):
            for e in range(ks[2]):
                lo, hi, first = _run_bounds(e, width, out_w, s, pad[2], dil[2])
                col = r * cols.shape[1] + col0
                for i in range(out_sp[0]):
                    z = i * stride[0] - pad[0] + a * dil[0]
                    for j in range(out_sp[1]):
                        y = j * stride[1] - pad[1] + b * dil[1]
                        inside = 0 <= z < depth and 0 <= y < height
                        at = (((n * chans + c0 + c) * depth + z) * height + y) * width + first
                        if to_image:
                            if inside:
                                for k in range(lo, hi):
                                    imf[uint64(at + k * s)] += cf[uint64(col + k)]
                        elif inside:
                            for k in range(lo):
                                cf[uint64(col + k)] = 0
                            if s == 1:  # a contiguous run: LLVM vectorises the copy
                                for k in range(lo, hi):
                                    cf[uint64(col + k)] = imf[uint64(at + k)]
                            else:
                                for k in range(lo, hi):
                                    cf[uint64(col + k)] = imf[uint64(at + k * s)]
                            for k in range(hi, out_w):
                                cf[uint64(col + k)] = 0
                        else:
                            for k in range(out_w):
                                cf[uint64(col + k)] = 0
                        col += out_w
                r += 1


@njit(**_FLAGS)
def _columns(x, n0, m, c0, cols, ks, out_sp, stride, pad, dil, to_image, lo, hi):  # type: ignore[no-untyped-def]
    """Channels ``c0 + lo`` to ``c0 + hi`` of samples ``n0`` to ``n0 + m``: their rows of ``cols``
    filled from ``x`` (im2col), or with ``to_image`` added back into it (col2im)."""
    p = out_sp[0] * out_sp[1] * out_sp[2]
    for c in range(lo, hi):
        for i in range(m):
            if to_image:
                _walk_channel(x, n0 + i, c0, c, cols, i * p, ks, out_sp, stride, pad, dil, True)
            else:
                _walk_channel(x, n0 + i, c0, c, cols, i * p, ks, out_sp, stride, pad, dil, False)


_columns_by_symbol = extern.external(_columns)


@njit(parallel=True, **_FLAGS)
def _columns_parallel(x, n0, m, c0, cols, ks, out_sp, stride, pad, dil, to_image):  # type: ignore[no-untyped-def]
    for c in prange(cols.shape[0] // (ks[0] * ks[1] * ks[2])):  # channels own disjoint rows
        lo = np.int64(c)  # prange's index is unsigned: passed as it is, a second compile
        _columns_by_symbol(x, n0, m, c0, cols, ks, out_sp, stride, pad, dil, to_image, lo, lo + 1)


@njit(**_FLAGS)
def _walk(x, n0, m, c0, cols, ks, out_sp, stride, pad, dil, to_image):  # type: ignore[no-untyped-def]
    """:func:`_columns` over all of the chunk's channels, in parallel when the chunk is large."""
    chans = cols.shape[0] // (ks[0] * ks[1] * ks[2])
    if cols.size >= PARALLEL_MIN and chans > 1:
        _columns_parallel(x, n0, m, c0, cols, ks, out_sp, stride, pad, dil, to_image)
    else:
        _columns_by_symbol(x, n0, m, c0, cols, ks, out_sp, stride, pad, dil, to_image, 0, chans)


_walk_by_symbol = extern.external(_walk)


@njit(**_FLAGS)
def _chunk(n: int, rows: int, size: int) -> int:
    """Samples per chunk: as many as keep the column matrix under COLUMN_LIMIT (at least one)."""
    return max(1, min(n, COLUMN_LIMIT // max(1, rows * size)))


@njit(**_FLAGS)
def _gather(a3, n0, m, ch0, mat):  # type: ignore[no-untyped-def]
    """``mat[o, i * P + p] = a3[n0 + i, ch0 + o, p]``: a chunk's channels as one matrix."""
    size = a3.shape[2]
    for o in range(mat.shape[0]):
        for i in range(m):
            for p in range(size):
                mat[o, i * size + p] = a3[n0 + i, ch0 + o, p]


@njit(**_FLAGS)
def _scatter(mat, n0, m, ch0, a3):  # type: ignore[no-untyped-def]
    """The inverse of ``_gather``: ``a3[n0 + i, ch0 + o, p] = mat[o, i * P + p]``."""
    size = a3.shape[2]
    for i in range(m):
        for o in range(mat.shape[0]):
            for p in range(size):
                a3[n0 + i, ch0 + o, p] = mat[o, i * size + p]


@njit(**_FLAGS)
def conv_forward(x, w, out, stride, pad, dil, groups):  # type: ignore[no-untyped-def]
    """``out = conv(x, w)``: per group and chunk, ``W_g (C_out/g, K) @ columns (K, m * P)``."""
    n, c_out = x.shape[0], w.shape[0]
    ks = (w.shape[2], w.shape[3], w.shape[4])
    out_sp = (out.shape[2], out.shape[3], out.shape[4])
    size = out_sp[0] * out_sp[1] * out_sp[2]
    og, cg = c_out // groups, w.shape[1]
    rows = cg * ks[0] * ks[1] * ks[2]
    o3 = out.reshape((n, c_out, size))
    if rows == 0:
        fill_array(o3, 0)
    if rows == 0 or n == 0 or size == 0 or og == 0:
        return
    wm = np.ascontiguousarray(w).reshape((groups, og, rows))
    xc = np.ascontiguousarray(x)  # the column loops index it flat
    nb = _chunk(n, rows, size)
    cols_buf = np.empty(rows * nb * size, x.dtype)
    res_buf = np.empty(og * nb * size, x.dtype)
    for g in range(groups):
        for n0 in range(0, n, nb):
            m = min(nb, n - n0)
            cols = cols_buf[: rows * m * size].reshape((rows, m * size))
            _walk_by_symbol(xc, n0, m, g * cg, cols, ks, out_sp, stride, pad, dil, False)
            res = res_buf[: og * m * size].reshape((og, m * size))
            np.dot(wm[g], cols, res)
            _scatter(res, n0, m, g * og, o3)


@njit(**_FLAGS)
def conv_input_grad(g, w, dx, stride, pad, dil, groups):  # type: ignore[no-untyped-def]
    """``dx`` = the transpose of conv in its input applied to ``g``: per group and chunk,
    ``W_g^T (K, C_out/g) @ g (C_out/g, m * P)``, then col2im adds the columns into ``dx``."""
    n, c_out = g.shape[0], g.shape[1]
    ks = (w.shape[2], w.shape[3], w.shape[4])
    out_sp = (g.shape[2], g.shape[3], g.shape[4])
    size = out_sp[0] * out_sp[1] * out_sp[2]
    og, cg = c_out // groups, w.shape[1]
    rows = cg * ks[0] * ks[1] * ks[2]
    fill_array(dx, 0)
    if rows == 0 or n == 0 or size == 0 or og == 0:
        return
    g3 = np.ascontiguousarray(g).reshape((n, c_out, size))
    wm = np.ascontiguousarray(w).reshape((groups, og, rows))
    nb = _chunk(n, rows, size)
    cols_buf = np.empty(rows * nb * size, g.dtype)
    gm_buf = np.empty(og * nb * size, g.dtype)
    for gr in range(groups):
        wt = wm[gr].T
        for n0 in range(0, n, nb):
            m = min(nb, n - n0)
            gm = gm_buf[: og * m * size].reshape((og, m * size))
            _gather(g3, n0, m, gr * og, gm)
            cols = cols_buf[: rows * m * size].reshape((rows, m * size))
            np.dot(wt, gm, cols)
            _walk_by_symbol(dx, n0, m, gr * cg, cols, ks, out_sp, stride, pad, dil, True)


@njit(**_FLAGS)
def conv_weight_grad(x, g, dw, stride, pad, dil, groups):  # type: ignore[no-untyped-def]
    """``dw`` = the transpose of conv in its weight applied to ``g``: per group, the sum over
    chunks of ``g (C_out/g, m * P) @ columns^T (m * P, K)``."""
    n, c_out = g.shape[0], g.shape[1]
    ks = (dw.shape[2], dw.shape[3], dw.shape[4])
    out_sp = (g.shape[2], g.shape[3], g.shape[4])
    size = out_sp[0] * out_sp[1] * out_sp[2]
    og, cg = c_out // groups, dw.shape[1]
    rows = cg * ks[0] * ks[1] * ks[2]
    fill_array(dw, 0)
    if rows == 0 or n == 0 or size == 0 or og == 0:
        return
    g3 = np.ascontiguousarray(g).reshape((n, c_out, size))
    dwm = dw.reshape((groups, og, rows))
    xc = np.ascontiguousarray(x)  # the column loops index it flat
    nb = _chunk(n, rows, size)
    cols_buf = np.empty(rows * nb * size, g.dtype)
    gm_buf = np.empty(og * nb * size, g.dtype)
    part = np.empty((og, rows), g.dtype)
    for gr in range(groups):
        for n0 in range(0, n, nb):
            m = min(nb, n - n0)
            cols = cols_buf[: rows * m * size].reshape((rows, m * size))
            _walk_by_symbol(xc, n0, m, gr * cg, cols, ks, out_sp, stride, pad, dil, False)
            gm = gm_buf[: og * m * size].reshape((og, m * size))
            _gather(g3, n0, m, gr * og, gm)
            np.dot(gm, cols.T, part)
            acc = dwm[gr]  # += as loops: numba's array += compiles its broadcasting (2.9 s)
            for i in range(og):
                for j in range(rows):
                    acc[i, j] += part[i, j]


extern.load_bound(globals())
