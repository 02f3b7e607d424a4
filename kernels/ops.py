"""Hand-written kernels the generated programs call for ops that do not fuse: row-wise softmax,
log_softmax and logsumexp, argmax/argmin, integer matmul.

Row kernels take a C-contiguous 2-D array whose last axis is the one being reduced (the program
moves the reduced axes last). They compute in float64 and store in the output's dtype.
"""

from __future__ import annotations

import math

import numpy as np
from graphjit.kernels import extern
from graphjit.kernels.blas import gemm_accumulate
from graphjit.kernels.conv import (  # noqa: F401  (the programs call kops.conv_*)
    conv_forward,
    conv_input_grad,
    conv_weight_grad,
)
from graphjit.kernels.memory import empty, fill_array  # noqa: F401  (programs call kops.empty)
from graphjit.kernels.scalar import accumulate_add, exp, log, wide_vectors
from numba import njit, types
from numba.extending import overload

_FLAGS = {
    "cache": True,
    "nogil": True,
    "error_model": "numpy",
    # no reassoc: it let LLVM compute log_softmax's (x - m) - log(s) as x - (m + log(s)), which is
    # 0 for a row of 1e300s (numpy: -log(n)); the sums reassociate alone (scalar.accumulate_add)
    "fastmath": {"contract", "arcp", "nsz", "afn"},
}


@njit(**_FLAGS)
def _row_shift(x: np.ndarray, r: int, lanes: np.ndarray) -> float:
    """The row's max (nan if any), replaced by 0 when not finite (numpy's reference does so).
    The max runs in ``len(lanes)`` (8) independent lanes, which LLVM packs into vector
    instructions (a float max with numpy's NaN rule does not vectorise as one reduction); a
    NaN is counted beside them."""
    n = x.shape[1]
    width = lanes.shape[0]
    lanes[:] = -math.inf
    nans = 0
    j = 0
    while j + width <= n:
        for k in range(width):
            v = float(x[r, j + k])
            lanes[k] = v if v > lanes[k] else lanes[k]
            nans += v != v
        j += width
    m = -math.inf
    for k in range(width):
        m = lanes[k] if lanes[k] > m else m
    for k in range(j, n):
        v = float(x[r, k])
        m = v if v > m else m
        nans += v != v
    return m if (nans == 0 and abs(m) < math.inf) else 0.0


@njit(inline="always", **_FLAGS)
def _exp_sum(x: np.ndarray, r: int, m: float) -> float:
    """The sum of ``exp(x[r, j] - m)`` over the row (log_softmax's and logsumexp's)."""
    s = 0.0
    for j in range(x.shape[1]):
        s = accumulate_add(s, exp(float(x[r, j]) - m))
    return s


@njit(**_FLAGS)
def softmax_rows(x: np.ndarray, out: np.ndarray) -> None:
    wide_vectors()
    lanes = np.empty(8)
    for r in range(x.shape[0]):
        m = _row_shift(x, r, lanes)
        s = 0.0
        for j in range(x.shape[1]):
            e = exp(float(x[r, j]) - m)
            out[r, j] = e
            s = accumulate_add(s, e)
        inv = 1.0 / s if s < math.inf else math.nan  # inf: the row holds +inf (all nan)
        for j in range(x.shape[1]):
            out[r, j] = float(out[r, j]) * inv


@njit(**_FLAGS)
def log_softmax_rows(x: np.ndarray, out: np.ndarray) -> None:
    wide_vectors()
    lanes = np.empty(8)
    for r in range(x.shape[0]):
        m = _row_shift(x, r, lanes)
        ls = log(_exp_sum(x, r, m))
        if ls == math.inf:  # the row holds +inf: all nan, as softmax_rows
            ls = math.nan
        for j in range(x.shape[1]):
            out[r, j] = (float(x[r, j]) - m) - ls


@njit(**_FLAGS)
def logsumexp_rows(x: np.ndarray, out: np.ndarray) -> None:
    wide_vectors()
    lanes = np.empty(8)
    for r in range(x.shape[0]):
        m = _row_shift(x, r, lanes)
        out[r] = log(_exp_sum(x, r, m)) + m


@njit(cache=True, nogil=True)
def argmax_rows(x: np.ndarray, out: np.ndarray, is_max: bool) -> None:
    """Index of the first max (min) of each row; nan counts as the extremum, as numpy."""
    n = x.shape[1]
    if n == 0:  # as numpy, even when there are no rows either
        raise ValueError("argmax/argmin: attempt to get the arg extremum of an empty sequence")
    for r in range(x.shape[0]):
        best = x[r, 0]
        k = 0
        if best == best:
            for j in range(1, n):
                v = x[r, j]
                if v != v:
                    k = j
                    break
                if (v > best) if is_max else (v < best):
                    best = v
                    k = j
        out[r] = k


@njit(cache=True, nogil=True)
def matmul_loops(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a @ b for 2-D operands of any dtype (ints and bools have no BLAS)."""
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            out[i, j] = 0
        for k in range(a.shape[1]):
            aik = a[i, k]
            for j in range(b.shape[1]):
                out[i, j] += aik * b[k, j]


@njit(cache=True, nogil=True)
def matmul_blas(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a @ b for 2-D float operands, through BLAS (numba's np.dot)."""
    if a.shape[1] == 0:
        fill_array(out, 0)
    elif out.shape[0] and out.shape[1]:
        np.dot(a, b, out)


@njit(cache=True, nogil=True)
def matmul_update(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float) -> None:
    """out += alpha * (a @ b) for 2-D float operands: one BLAS gemm with beta = 1, no temporary
    (an SGD step's ``w - lr * (x.T @ g)`` stored into ``w``; see ``kernels.blas``)."""
    gemm_accumulate(a, b, out, alpha)


# --------------------------------------------------------------------------------------------------
# Array plumbing for the programs. numba's own versions of these (slice assignment, transpose
# with axes, reshape, broadcast_to) are slow to compile; as cached functions they are compiled once
# per type signature for every graph, instead of once per graph.


@njit(cache=True, nogil=True)
def assign(out: np.ndarray, x: np.ndarray) -> None:
    """out[...] = x (x broadcasts, and is cast to out's dtype). Written as loops: numba's own
    ``out[...] = x`` took 3.1 s to compile the first time in a process and 0.9 s for each new
    signature (its general broadcasting setitem); these loops take 0.7 s and 0.45 s, and copy as
    fast (a flat loop when both are C-contiguous and of one shape)."""
    _assign(out, x)


def _assign(out, x):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    """``assign``, by rank: numba's np.broadcast_to cannot make a 0-d array."""


@overload(_assign, jit_options={"nogil": True})
def _assign_impl(out, x):  # type: ignore[no-untyped-def]
    if out.ndim == 0 and isinstance(x, types.Array):

        def impl_0d(out, x):  # type: ignore[no-untyped-def]
            out[()] = x[()]

        return impl_0d
    if out.ndim == 0:

        def impl_scalar(out, x):  # type: ignore[no-untyped-def]
            out[()] = x

        return impl_scalar

    def impl(out, x):  # type: ignore[no-untyped-def]
        if not _flat_copy(out, x):
            _copy_loops(out, np.broadcast_to(x, out.shape))

    return impl


def _flat_copy(out, x):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    """Copy ``x`` into ``out`` as flat arrays and return True, when both are C-contiguous arrays
    of one shape; else return False."""


@overload(_flat_copy, jit_options={"nogil": True})
def _flat_copy_impl(out, x):  # type: ignore[no-untyped-def]
    if not isinstance(x, types.Array) or out.layout != "C" or x.layout != "C":
        return lambda out, x: False

    def impl(out, x):  # type: ignore[no-untyped-def]
        if out.shape != x.shape:
            return False
        flat_out, flat_x = out.reshape(out.size), x.reshape(x.size)
        for i in range(flat_out.size):
            flat_out[i] = flat_x[i]
        return True

    return impl


def _copy_loops(out, src):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    """``out[...] = src`` for ``src`` of ``out``'s shape (a broadcast view, any strides)."""


@overload(_copy_loops, jit_options={"nogil": True})
def _copy_loops_impl(out, src):  # type: ignore[no-untyped-def]
    # one nest of loops per rank (numba has no loop over a rank known only when typing); past
    # rank 4, np.ndindex
    if out.ndim == 1:

        def impl(out, src):  # type: ignore[no-untyped-def]
            for i in range(out.shape[0]):
                out[i] = src[i]

    elif out.ndim == 2:

        def impl(out, src):  # type: ignore[no-untyped-def]
            for i in range(out.shape[0]):
                for j in range(out.shape[1]):
                    out[i, j] = src[i, j]

    elif out.ndim == 3:

        def impl(out, src):  # type: ignore[no-untyped-def]
            for i in range(out.shape[0]):
                for j in range(out.shape[1]):
                    for k in range(out.shape[2]):
                        out[i, j, k] = src[i, j, k]

    elif out.ndim == 4:

        def impl(out, src):  # type: ignore[no-untyped-def]
            for i in range(out.shape[0]):
                for j in range(out.shape[1]):
                    for k in range(out.shape[2]):
                        for m in range(out.shape[3]):
                            out[i, j, k, m] = src[i, j, k, m]

    else:

        def impl(out, src):  # type: ignore[no-untyped-def]
            for idx in np.ndindex(out.shape):
                out[idx] = src[idx]

    return impl


@njit(cache=True, nogil=True)
def fill(out: np.ndarray, value: float) -> None:
    """Every element of ``out`` set to ``value``."""
    fill_array(out, value)


@njit(inline="always", cache=True, nogil=True)
def permute(x: np.ndarray, axes: tuple) -> np.ndarray:
    """A view of ``x`` with its axes permuted (np.transpose)."""
    return np.transpose(x, axes)


@njit(inline="always", cache=True, nogil=True)
def reshape(x: np.ndarray, shape: tuple) -> np.ndarray:
    """``x`` reshaped row-major: a view when ``x`` is contiguous, else a contiguous copy."""
    return np.ascontiguousarray(x).reshape(shape)


@njit(inline="always", cache=True, nogil=True)
def broadcast_to(x: np.ndarray, shape: tuple) -> np.ndarray:
    return np.broadcast_to(x, shape)


extern.load_bound(globals())  # its cached code loads checked (extern.install_loader)
