"""Scalar twins of the vectorisable functions, for code that runs one element at a time.

The functions of :mod:`graphjit.kernels.math` pay off inside a loop LLVM vectorises: there the
range reduction and the selects of every special case run on four or eight lanes at once. Called
once per element from a function that is not inlined into a loop (the segment functions a very
long fused chain is outlined into, see ``graphjit.codegen.numba_cpu.loops``), they cannot
vectorise, and their branch-free bodies cost more than libm's, which branch on the rare inputs
(``sin`` is about 3x slower), and they make every segment slower to compile.

These call libm through numba's ``math`` module instead. glibc's functions are within 1 ulp of
the correctly rounded result, inside the 2 ulp that the vectorised ones keep to numpy, and they
follow numpy on the special values (nan in, nan out; ``log`` of a negative number is nan and of
zero -inf, under ``error_model="numpy"``). Arguments are computed in float64 like the vectorised
functions; the generated code casts a float32 op's result back.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import llvmlite.binding as ll
from graphjit.kernels import extern
from numba import cfunc, njit, types
from numba.extending import overload

_FLAGS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


# LLVM rewrites ``pow(x, (double)n)`` into its powi intrinsic, which becomes a call into the
# compiler's runtime library: ``__powidf2`` (``__powisf2`` for float32). numba's JIT resolves
# symbols from the libraries loaded globally, which need not include libgcc_s, and an unresolved
# call jumps to address 0: ``power`` below, given an exponent cast from an int or a bool, crashed
# the process (fuzzer seed 828). So both are bound: from libgcc_s where it loads, else to these
# equivalents of compiler-rt's (repeated squaring, the reciprocal for a negative exponent).
def _powi(a: float, b: int) -> float:
    recip = b < 0
    r = 1.0
    while True:
        if b & 1:
            r *= a
        b = int(b / 2)  # C's division, towards zero
        if b == 0:
            break
        a *= a
    return 1.0 / r if recip else r


def _bind_powi(library: str = "libgcc_s.so.1", rebind: bool = False) -> None:
    """Bind the powi symbols the process lacks (``rebind``: all of them) from ``library``, or
    to the equivalents compiled here where it does not load."""
    names = {"__powidf2": "float64(float64, int32)", "__powisf2": "float32(float32, int32)"}
    runtime = None
    for name, signature in names.items():
        if ll.address_of_symbol(name) and not rebind:
            continue  # the process has it already (macOS: libSystem)
        if runtime is None:
            try:
                runtime = ctypes.CDLL(library)
            except OSError:
                runtime = False
        found = getattr(runtime, name, None) if runtime else None
        if found is not None:
            ll.add_symbol(name, ctypes.cast(found, ctypes.c_void_p).value)
        else:
            compiled = cfunc(signature, cache=True, error_model="numpy")(_powi)
            ll.add_symbol(name, compiled.address)


_bind_powi()


@njit(**_FLAGS)
def exp(x: float) -> float:
    return math.exp(float(x))


@njit(**_FLAGS)
def expm1(x: float) -> float:
    return math.expm1(float(x))


@njit(**_FLAGS)
def log(x: float) -> float:
    return math.log(float(x))


@njit(**_FLAGS)
def log2(x: float) -> float:
    return math.log2(float(x))


@njit(**_FLAGS)
def log1p(x: float) -> float:
    return math.log1p(float(x))


@njit(**_FLAGS)
def sin(x: float) -> float:
    return math.sin(float(x))


@njit(**_FLAGS)
def cos(x: float) -> float:
    return math.cos(float(x))


@njit(**_FLAGS)
def tan(x: float) -> float:
    return math.tan(float(x))


@njit(**_FLAGS)
def tanh(x: float) -> float:
    return math.tanh(float(x))


@njit(**_FLAGS)
def erf(x: float) -> float:
    return math.erf(float(x))


def power(a, b):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    raise NotImplementedError("power is only callable from compiled code")


def _int_power(a, b):  # type: ignore[no-untyped-def]
    return a**b


def _float_power(a, b):  # type: ignore[no-untyped-def]
    return float(a) ** float(b)


@overload(power, jit_options=_FLAGS)
def _power(a, b):  # type: ignore[no-untyped-def]
    """Floats: libm's pow in float64. Integers: numba's integer power (as the vector loops)."""
    ints = (types.Integer, types.Boolean)
    return _int_power if isinstance(a, ints) and isinstance(b, ints) else _float_power


TWINS = ("cos", "erf", "exp", "expm1", "log", "log1p", "log2", "power", "sin", "tan", "tanh")


extern.load_bound(globals())  # its cached code loads checked (extern.install_loader)
