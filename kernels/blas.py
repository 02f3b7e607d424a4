"""BLAS calls numba's ``np.dot`` does not make: ``gemm`` with a scale and an accumulating output.

:func:`gemm_accumulate` is ``out += alpha * (a @ b)`` as one ``?gemm`` call with ``beta = 1``:
an SGD step's ``w - lr * (x.T @ g)`` with no temporary for the product and no pass over ``w``
after it. It goes through the same BLAS entry point as numba's own ``np.dot`` (``numba_xxgemm``,
which calls SciPy's BLAS), with the same mapping of row-major operands onto column-major BLAS:
``out.T = b.T @ a.T``. Operands that are neither C- nor Fortran-contiguous (an arbitrary strided
view) take the general path: the product, then the scaled add.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload
from numba.np.linalg import (
    check_blas_return,
    ensure_blas,
    get_blas_kind,
    ll_char,
    ll_void_p,
    make_constant_slot,
)

_BLAS_LAYOUTS = ("C", "F")


def gemm_accumulate(a: np.ndarray, b: np.ndarray, out: np.ndarray, alpha: float) -> None:
    """``out += alpha * (a @ b)`` for 2-D arrays of one float dtype (called from jitted code)."""
    out += alpha * (a @ b)


@overload(gemm_accumulate, jit_options={"nogil": True})
def _gemm_accumulate(a, b, out, alpha):  # type: ignore[no-untyped-def]  # (numba compares names)
    if not all(isinstance(t, types.Array) and t.ndim == 2 for t in (a, b, out)):
        return None
    if not (a.dtype == b.dtype == out.dtype and a.dtype in (types.float32, types.float64)):
        return None
    if a.layout in _BLAS_LAYOUTS and b.layout in _BLAS_LAYOUTS and out.layout == "C":

        def blas(a, b, out, alpha):  # type: ignore[no-untyped-def]
            if a.shape[1] != 0 and out.size != 0:
                _xxgemm_accumulate(a, b, out, alpha)

        return blas

    def general(a, b, out, alpha):  # type: ignore[no-untyped-def]
        if a.shape[1] != 0 and out.size != 0:
            p = np.dot(np.ascontiguousarray(a), np.ascontiguousarray(b))
            for i in range(out.shape[0]):
                for j in range(out.shape[1]):
                    out[i, j] += alpha * p[i, j]

    return general


@intrinsic
def _xxgemm_accumulate(typingctx: Any, a: Any, b: Any, out: Any, alpha: Any) -> Any:
    """``numba_xxgemm`` with ``alpha`` and ``beta = 1``; ``a``, ``b`` C or F, ``out`` C."""
    ensure_blas()
    sig = types.void(a, b, out, alpha)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> None:
        a_ty, b_ty, out_ty, alpha_ty = sig.args
        dtype = out_ty.dtype
        x = context.make_array(a_ty)(context, builder, args[0])
        y = context.make_array(b_ty)(context, builder, args[1])
        c = context.make_array(out_ty)(context, builder, args[2])
        m, k = cgutils.unpack_tuple(builder, x.shape)
        _, n = cgutils.unpack_tuple(builder, y.shape)
        _, ldc = cgutils.unpack_tuple(builder, c.shape)
        scale = context.cast(builder, args[3], alpha_ty, dtype)
        alpha_slot = cgutils.alloca_once_value(builder, scale)
        beta_slot = make_constant_slot(context, builder, dtype, 1.0)

        def operand(ty: Any, arr: Any) -> tuple[Any, Any, Any]:
            # column-major BLAS sees a C-contiguous matrix as its transpose: no flag for C
            rows, cols = cgutils.unpack_tuple(builder, arr.shape)
            trans = ir.Constant(ll_char, ord("n" if ty.layout == "C" else "t"))
            return trans, (cols if ty.layout == "C" else rows), builder.bitcast(arr.data, ll_void_p)

        transa, lda, data_a = operand(b_ty, y)  # out.T = b.T @ a.T
        transb, ldb, data_b = operand(a_ty, x)
        intp, ptr = cgutils.intp_t, ll_void_p
        fnty = ir.FunctionType(
            ir.IntType(32),
            [
                ll_char,
                ll_char,
                ll_char,
                intp,
                intp,
                intp,
                ptr,
                ptr,
                intp,
                ptr,
                intp,
                ptr,
                ptr,
                intp,
            ],
        )  # kind, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        kind = ir.Constant(ll_char, ord(get_blas_kind(dtype)))
        res = builder.call(
            fn,
            (
                kind,
                transa,
                transb,
                n,
                m,
                k,
                builder.bitcast(alpha_slot, ll_void_p),
                data_a,
                lda,
                data_b,
                ldb,
                builder.bitcast(beta_slot, ll_void_p),
                builder.bitcast(c.data, ll_void_p),
                ldc,
            ),
        )
        check_blas_return(context, builder, res)

    return sig, codegen
