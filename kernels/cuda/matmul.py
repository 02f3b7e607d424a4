"""Matrix products on the device: cuBLAS through CuPy when a real GPU and CuPy are there, else a
hand-written tiled kernel (shared-memory tiles, a 4x4 block of outputs per thread in registers).

``matmul(x, y, out, use_cublas)`` takes C-contiguous device arrays ``(..., M, K)``, ``(..., K, N)``
and ``(..., M, N)`` with numpy's broadcasting of the batch dims. TF32 stays off (CuPy's default,
``CUPY_TF32`` unset): float32 products keep float32 precision.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from typing import Any

import numpy as np
from graphjit.kernels.cuda.memory import fill
from numba import cuda

THREADS = 8  # threads per block along each of x (columns) and y (rows)
REG = 4  # outputs per thread along each axis (register blocking)
TILE = THREADS * REG  # a block computes a TILE x TILE block of the output
TK = 8  # depth of the shared-memory tiles


@functools.cache
def tiled_kernel(dtype: Any) -> Any:
    """The tiled matmul kernel for arrays of ``dtype`` (accumulating in that dtype, as cuBLAS)."""
    nthreads = THREADS * THREADS

    @cuda.jit
    def kernel(a, b, out):  # type: ignore[no-untyped-def]
        # a: (Ba, M, K), b: (Bb, K, N), out: (B, M, N); Ba and Bb are 1 or B
        sa = cuda.shared.array((TK, TILE), dtype)
        sb = cuda.shared.array((TK, TILE), dtype)
        acc = cuda.local.array((REG, REG), dtype)
        ra = cuda.local.array(REG, dtype)
        rb = cuda.local.array(REG, dtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * THREADS + tx
        z = cuda.blockIdx.z
        za = z if a.shape[0] > 1 else 0
        zb = z if b.shape[0] > 1 else 0
        m = a.shape[1]
        k = a.shape[2]
        n = b.shape[2]
        row0 = cuda.blockIdx.y * TILE
        col0 = cuda.blockIdx.x * TILE
        for i in range(REG):
            for j in range(REG):
                acc[i, j] = 0
        for k0 in range(0, k, TK):
            for e in range(tid, TK * TILE, nthreads):
                r = e // TK
                c = e % TK
                gr = row0 + r
                gc = k0 + c
                sa[c, r] = a[za, gr, gc] if (gr < m and gc < k) else 0
                r2 = e // TILE
                c2 = e % TILE
                gr2 = k0 + r2
                gc2 = col0 + c2
                sb[r2, c2] = b[zb, gr2, gc2] if (gr2 < k and gc2 < n) else 0
            cuda.syncthreads()
            for kk in range(TK):
                for i in range(REG):
                    ra[i] = sa[kk, ty * REG + i]
                    rb[i] = sb[kk, tx * REG + i]
                for i in range(REG):
                    for j in range(REG):
                        acc[i, j] += ra[i] * rb[j]
            cuda.syncthreads()
        for i in range(REG):
            gr = row0 + ty * REG + i
            for j in range(REG):
                gc = col0 + tx * REG + j
                if gr < m and gc < n:
                    out[z, gr, gc] = acc[i, j]

    return kernel


def matmul_tiled(a3, b3, out3) -> None:  # type: ignore[no-untyped-def]
    """``out3[z] = a3[z or 0] @ b3[z or 0]`` with the tiled kernel (3-D operands)."""
    batch, m, n = out3.shape
    if out3.size == 0:
        return
    if a3.shape[2] == 0:
        fill(out3, 0)
        return
    grid = (math.ceil(n / TILE), math.ceil(m / TILE), batch)
    tiled_kernel(np.dtype(out3.dtype).type)[grid, (THREADS, THREADS)](a3, b3, out3)


@functools.cache
def use_cublas() -> bool:
    """Whether products go to cuBLAS: CuPy is installed and a real GPU is there (never under
    the simulator, whose arrays CuPy cannot read)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    try:
        import cupy  # noqa: PLC0415 - optional dependency

        return bool(cupy.cuda.runtime.getDeviceCount() > 0)
    except Exception:
        return False


def _cublas(x, y, out) -> None:  # type: ignore[no-untyped-def]
    import cupy  # noqa: PLC0415 - optional dependency: only with CuPy and a GPU

    cupy.matmul(cupy.asarray(x), cupy.asarray(y), out=cupy.asarray(out))


def matmul(x, y, out, use_cublas: bool) -> None:  # type: ignore[no-untyped-def]
    """``out = x @ y`` for C-contiguous device arrays with at least 2 dims each."""
    if use_cublas and np.dtype(out.dtype).kind == "f":
        _cublas(x, y, out)
        return
    xs, ys, os_ = tuple(x.shape), tuple(y.shape), tuple(out.shape)
    xb, yb, ob = xs[:-2], ys[:-2], os_[:-2]

    def as3(a: Any, shape: tuple) -> Any:
        lead = math.prod(shape)
        s = tuple(a.shape)
        return a.reshape((lead, s[-2], s[-1]))

    rank = len(ob)
    xb_full = (1,) * (rank - len(xb)) + tuple(xb)
    yb_full = (1,) * (rank - len(yb)) + tuple(yb)

    def flattens(s: tuple) -> bool:  # one batch index per output batch index, or none at all
        return s == tuple(ob) or all(d == 1 for d in s)

    if flattens(xb_full) and flattens(yb_full):
        matmul_tiled(as3(x, xb_full), as3(y, yb_full), as3(out, ob))
        return
    # batch dims broadcast partly (say (2, 1) against (1, 3)): one product per batch index
    xr = x.reshape(xb_full + xs[-2:])
    yr = y.reshape(yb_full + ys[-2:])
    for idx in itertools.product(*(range(d) for d in ob)):
        ix = tuple(i if d > 1 else 0 for i, d in zip(idx, xb_full))
        iy = tuple(i if d > 1 else 0 for i, d in zip(idx, yb_full))
        o = out[idx]
        matmul_tiled(as3(xr[ix], ()), as3(yr[iy], ()), as3(o, ()))
