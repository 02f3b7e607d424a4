"""Bit casts between floats and same-width ints, as numba intrinsics (LLVM ``bitcast``).

They compile to no instruction at all and vectorise, which is what the polynomial math in
:mod:`graphjit.kernels.math` needs to build ``2**k`` from an exponent without calling ``ldexp``.
``fma`` is LLVM's fused multiply-add (one instruction where the CPU has FMA, a correctly rounded
libm call where it has not): the exact products of the large-argument trig reduction need it.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


def _bitcast(src: Any, dst: Any, llvm_dst: ir.Type) -> Any:
    @intrinsic
    def cast(typingctx: Any, x: Any) -> Any:
        if x != src:
            return None

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            return builder.bitcast(args[0], llvm_dst)

        return dst(src), codegen

    return cast


f64_as_i64 = _bitcast(types.float64, types.int64, ir.IntType(64))
i64_as_f64 = _bitcast(types.int64, types.float64, ir.DoubleType())
f32_as_i32 = _bitcast(types.float32, types.int32, ir.IntType(32))
i32_as_f32 = _bitcast(types.int32, types.float32, ir.FloatType())


@intrinsic
def fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` rounded once (float64)."""
    if not (a == b == c == types.float64):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen
