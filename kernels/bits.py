"""Bit casts between floats and same-width ints, as numba intrinsics (LLVM ``bitcast``).

They compile to no instruction at all and vectorise, which is what the polynomial math in
:mod:`graphjit.kernels.scalar` needs to build ``2**k`` from an exponent without calling ``ldexp``.
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
