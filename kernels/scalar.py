"""The scalar math prelude of generated CPU kernels: every name an elementwise ``lower`` template
uses (``exp``, ``log1p``, ``sigmoid``, ``relu``, ``maximum``, ``round_half_even``, ``cast``, ...).

``exp``, ``expm1`` and ``tanh`` are written here instead of calling libm because numba's
``math.exp`` is a scalar call that LLVM cannot vectorise. They use Cody-Waite range reduction, a
degree-13 polynomial and a bit-cast ``2**k``; the error is within about 2 ulp over the whole float64
range (tested against numpy, including inf, nan, denormals and overflow). They are compiled
without ``reassoc`` (the caller's fastmath flags do not reach them), so the scaling steps that
guard against overflow are not reordered away.

Float math is done in float64; the generated code casts each op's result to the op's dtype, so a
float32 graph stays float32 while its transcendental functions are correctly rounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from graphjit.kernels.bits import f64_as_i64, i64_as_f64
from numba import njit, types
from numba.extending import overload

# The functions are tiny and always inlined into a kernel by LLVM; 'contract' lets it use FMA.
_FLAGS: dict[str, Any] = {
    "cache": True,
    "fastmath": {"contract"},
    "nogil": True,
    "error_model": "numpy",
}

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_MAGIC = 4503599627370496.0 + 1023.0  # 2**52 + the exponent bias: k + _MAGIC holds k + 1023 bitwise
_INF = math.inf


@njit(**_FLAGS)
def _pow2(k: float) -> float:
    """2.0**k for an integral float k in [-1022, 1023], from the exponent bits."""
    return i64_as_f64(f64_as_i64(k + _MAGIC) << 52)


@njit(**_FLAGS)
def _exp_poly(r: float) -> float:
    """exp(r) - 1 for |r| <= ln2/2 (Taylor to degree 13: truncation below 1e-17)."""
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    return (p * r) * r + r


@njit(**_FLAGS)
def exp(x: float) -> float:
    x = float(x)
    xc = x if x < 710.0 else 710.0  # also maps nan to a finite value (no poison in the bit casts)
    xc = xc if xc > -746.0 else -746.0
    k = np.floor(xc * _LOG2E + 0.5)
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    p = _exp_poly(r) + 1.0
    # two factors so that results near overflow and in the denormal range are right
    k1 = np.floor(k * 0.5)
    y = (p * _pow2(k1)) * _pow2(k - k1)
    return y if x == x else x


@njit(**_FLAGS)
def _expm1_core(x: float) -> float:
    """expm1 for finite x in [-60, 709]."""
    k = np.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    q = _exp_poly(r)
    s = _pow2(k)
    return s * q + (s - 1.0)


@njit(**_FLAGS)
def expm1(x: float) -> float:
    x = float(x)
    xc = x if x < 709.0 else 709.0
    xc = xc if xc > -60.0 else -60.0
    y = _expm1_core(xc)
    if x > 709.0:
        y = exp(x)
    elif x < -60.0:
        y = -1.0
    return y if x == x else x


@njit(**_FLAGS)
def tanh(x: float) -> float:
    x = float(x)
    a = abs(x)
    a = a if a < 22.0 else 22.0  # tanh(22) rounds to 1; also maps nan to a finite value
    u = _expm1_core(2.0 * a)
    t = math.copysign(u / (u + 2.0), x)
    return t if x == x else x


@njit(**_FLAGS)
def sigmoid(x: float) -> float:
    x = float(x)
    e = exp(-abs(x))
    r = 1.0 / (1.0 + e)
    return r if x >= 0.0 else e * r


@njit(**_FLAGS)
def softplus(x: float) -> float:
    x = float(x)
    return (x if x > 0.0 else 0.0) + math.log1p(exp(-abs(x)))


@njit(**_FLAGS)
def exp2(x: float) -> float:
    return 2.0 ** float(x)


@njit(**_FLAGS)
def log(x: float) -> float:
    x = float(x)
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -_INF
    return math.log(x)


@njit(**_FLAGS)
def log2(x: float) -> float:
    x = float(x)
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -_INF
    return math.log2(x)


@njit(**_FLAGS)
def log1p(x: float) -> float:
    x = float(x)
    if x < -1.0:
        return math.nan
    if x == -1.0:
        return -_INF
    return math.log1p(x)


@njit(**_FLAGS)
def sqrt(x: float) -> float:
    x = float(x)
    return math.sqrt(x) if x >= 0.0 else (x if x != x else math.nan)


@njit(**_FLAGS)
def sin(x: float) -> float:
    x = float(x)
    return math.sin(x) if abs(x) < _INF else x - x


@njit(**_FLAGS)
def cos(x: float) -> float:
    x = float(x)
    return math.cos(x) if abs(x) < _INF else x - x


@njit(**_FLAGS)
def tan(x: float) -> float:
    x = float(x)
    return math.tan(x) if abs(x) < _INF else x - x


@njit(**_FLAGS)
def arctan(x: float) -> float:
    return math.atan(float(x))


@njit(**_FLAGS)
def erf(x: float) -> float:
    return math.erf(float(x))


@njit(**_FLAGS)
def relu(x: Any) -> Any:
    return x if not x <= 0 else x - x  # nan stays nan, as numpy.maximum(x, 0)


@njit(**_FLAGS)
def maximum(a: Any, b: Any) -> Any:
    return a if (a > b or a != a) else b  # nan-propagating, as numpy


@njit(**_FLAGS)
def minimum(a: Any, b: Any) -> Any:
    return a if (a < b or a != a) else b


@njit(**_FLAGS)
def sign(x: Any) -> Any:
    return 1 if x > 0 else (-1 if x < 0 else x)  # 0 stays 0, nan stays nan


def floor(x):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    raise NotImplementedError("floor is only callable from compiled code")


def ceil(x):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    raise NotImplementedError("ceil is only callable from compiled code")


def round_half_even(x):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    raise NotImplementedError("round_half_even is only callable from compiled code")


def _int_identity(x):  # type: ignore[no-untyped-def]
    return x


@overload(floor, jit_options=_FLAGS)
def _floor(x):  # type: ignore[no-untyped-def]
    if isinstance(x, (types.Integer, types.Boolean)):
        return _int_identity
    return lambda x: np.floor(x)


@overload(ceil, jit_options=_FLAGS)
def _ceil(x):  # type: ignore[no-untyped-def]
    if isinstance(x, (types.Integer, types.Boolean)):
        return _int_identity
    return lambda x: np.ceil(x)


@overload(round_half_even, jit_options=_FLAGS)
def _round_half_even(x):  # type: ignore[no-untyped-def]
    if isinstance(x, (types.Integer, types.Boolean)):
        return _int_identity
    return lambda x: np.rint(x)


@njit(**_FLAGS)
def power(a: Any, b: Any) -> Any:
    return a**b


@njit(**_FLAGS)
def cast(x: Any, to: Any) -> Any:
    """``x`` converted by the numba type class ``to`` (float -> int truncates, as numpy)."""
    return to(x)


__all__ = [
    "arctan", "cast", "ceil", "cos", "erf", "exp", "exp2", "expm1", "floor", "log", "log1p",
    "log2", "maximum", "minimum", "power", "relu", "round_half_even", "sigmoid", "sign", "sin",
    "softplus", "sqrt", "tan", "tanh",
]  # fmt: skip
