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

import math
from typing import Any

from numba import njit, types
from numba.extending import overload

_FLAGS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


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
