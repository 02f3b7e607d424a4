"""The scalar math prelude of generated CPU kernels: every name an elementwise ``lower`` template
uses (``exp``, ``log1p``, ``sigmoid``, ``relu``, ``maximum``, ``round_half_even``, ``cast``, ...).

The common transcendental functions (exp, exp2, expm1, log, log2, log1p, sin, cos, tan, tanh,
sigmoid, softplus, erf, and pow on floats) come from :mod:`graphjit.kernels.math`, written so
that a fused loop calling them vectorises (numba's ``math.exp`` and friends are scalar libm
calls, which LLVM cannot vectorise). The rarer functions below still call libm.

Float math is done in float64; the generated code casts each op's result to the op's dtype, so a
float32 graph stays float32 while its transcendental functions are correctly rounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from graphjit.kernels.counter_rng import counter_uniform
from graphjit.kernels.math import (
    cos,
    erf,
    exp,
    exp2,
    expm1,
    log,
    log1p,
    log2,
    sigmoid,
    sin,
    softplus,
    tan,
    tanh,
)
from graphjit.kernels.math import pow as float_pow
from numba import njit, types
from numba.extending import overload

# The functions are tiny and always inlined into a kernel by LLVM; 'contract' lets it use FMA.
_FLAGS: dict[str, Any] = {
    "cache": True,
    "fastmath": {"contract"},
    "nogil": True,
    "error_model": "numpy",
}

_INF = math.inf


@njit(**_FLAGS)
def sqrt(x: float) -> float:
    x = float(x)
    return math.sqrt(x) if x >= 0.0 else (x if x != x else math.nan)


@njit(**_FLAGS)
def arctan(x: float) -> float:
    return math.atan(float(x))


@njit(**_FLAGS)
def relu(x: Any) -> Any:
    # nan stays nan, as numpy.maximum(x, 0); the literal 0 (not x - x, which is nan at -inf)
    # unifies with x's type and the kernel casts it to the op's dtype
    return x if not x <= 0 else 0


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


def power(a, b):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    raise NotImplementedError("power is only callable from compiled code")


def _int_power(a, b):  # type: ignore[no-untyped-def]
    return a**b


def _float_power(a, b):  # type: ignore[no-untyped-def]
    return float_pow(np.float64(a), np.float64(b))


@overload(power, jit_options={**_FLAGS, "forceinline": True})
def _power(a, b):  # type: ignore[no-untyped-def]
    """Floats: the vectorisable pow of :mod:`graphjit.kernels.math`, in float64 (forced inline,
    so that a loop calling it vectorises). Integers: numba's integer power."""
    return _int_power if _both_int(a, b) else _float_power


@njit(**_FLAGS)
def cast(x: Any, to: Any) -> Any:
    """``x`` converted by the numba type class ``to`` (float -> int truncates, as numpy)."""
    return to(x)


# --------------------------------------------------------------------------------------------------
# more elementwise math: hyperbolic and inverse trig, log10, logaddexp, erfc/erfinv, rounding and
# integer division, float classification. numpy's answers at the domain edges (nan, +-inf) are
# spelled out rather than left to libm.

_TWO_OVER_SQRT_PI = 1.1283791670955126
_LN2 = 0.6931471805599453
_LOG2E = 1.4426950408889634


@njit(**_FLAGS)
def sinh(x: float) -> float:
    return math.sinh(float(x))


@njit(**_FLAGS)
def cosh(x: float) -> float:
    return math.cosh(float(x))


@njit(**_FLAGS)
def arcsin(x: float) -> float:
    x = float(x)
    return math.asin(x) if abs(x) <= 1.0 else (x if x != x else math.nan)


@njit(**_FLAGS)
def arccos(x: float) -> float:
    x = float(x)
    return math.acos(x) if abs(x) <= 1.0 else (x if x != x else math.nan)


@njit(**_FLAGS)
def arcsinh(x: float) -> float:
    return math.asinh(float(x))


@njit(**_FLAGS)
def arccosh(x: float) -> float:
    x = float(x)
    return math.acosh(x) if x >= 1.0 else (x if x != x else math.nan)


@njit(**_FLAGS)
def arctanh(x: float) -> float:
    x = float(x)
    a = abs(x)
    if a < 1.0:
        return math.atanh(x)
    if a == 1.0:
        return math.copysign(_INF, x)
    return x if x != x else math.nan


@njit(**_FLAGS)
def arctan2(y: float, x: float) -> float:
    return math.atan2(float(y), float(x))


@njit(**_FLAGS)
def hypot(x: float, y: float) -> float:
    return math.hypot(float(x), float(y))


@njit(**_FLAGS)
def log10(x: float) -> float:
    x = float(x)
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -_INF
    return math.log10(x)


@njit(**_FLAGS)
def logaddexp(x: float, y: float) -> float:
    """log(exp(x) + exp(y)) without overflow, as numpy's (equal infinities give themselves)."""
    x, y = float(x), float(y)
    if x == y:
        return x + _LN2
    d = x - y
    if d > 0.0:
        return x + log1p(exp(-d))
    if d <= 0.0:
        return y + log1p(exp(d))
    return d  # nan


@njit(**_FLAGS)
def logaddexp2(x: float, y: float) -> float:
    x, y = float(x), float(y)
    if x == y:
        return x + 1.0
    d = x - y
    if d > 0.0:
        return x + _LOG2E * math.log1p(2.0**-d)
    if d <= 0.0:
        return y + _LOG2E * math.log1p(2.0**d)
    return d


@njit(**_FLAGS)
def erfc(x: float) -> float:
    return math.erfc(float(x))


@njit(**_FLAGS)
def _erfinv_guess(y: float) -> float:
    """M. Giles' single-precision approximation of erfinv(y), |y| < 1 (relative error ~1e-7)."""
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w = w - 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    return p * y


@njit(**_FLAGS)
def erfinv(y: float) -> float:
    """The inverse of erf: Giles' guess, then Newton steps: on erf(x) = y for |y| <= 0.5, and on
    log(erfc(x)) = log(1 - y) beyond (1 - y is exact there, and the log makes the tail's equation
    nearly linear, so the steps converge from a guess that is poor near +-1)."""
    y = float(y)
    a = abs(y)
    if not a < 1.0:
        if a == 1.0:
            return math.copysign(_INF, y)
        return y if y != y else math.nan
    if a == 0.0:
        return 0.0  # +0 for -0 too, as scipy
    x = _erfinv_guess(a)
    if a <= 0.5:
        for _ in range(2):
            x -= (math.erf(x) - a) / (_TWO_OVER_SQRT_PI * math.exp(-x * x))
    else:
        log_q = math.log(1.0 - a)
        for _ in range(12):
            e = math.erfc(x)
            step = (math.log(e) - log_q) * e / (_TWO_OVER_SQRT_PI * math.exp(-x * x))
            x += step
            if abs(step) <= 1e-16 * x:
                break
    return math.copysign(x, y)


@njit(**_FLAGS)
def copysign(x: float, y: float) -> float:
    return math.copysign(float(x), float(y))


@njit(**_FLAGS)
def heaviside(x: float, h0: float) -> float:
    """0 below 0, 1 above, ``h0`` at 0, nan at nan (numpy.heaviside)."""
    x = float(x)
    if x < 0.0:
        return 0.0
    if x > 0.0:
        return 1.0
    return float(h0) if x == 0.0 else x


@njit(**_FLAGS)
def fmax(a: Any, b: Any) -> Any:
    return a if (a > b or b != b) else b  # nan-ignoring; b on ties (signed zeros), as numpy


@njit(**_FLAGS)
def fmin(a: Any, b: Any) -> Any:
    return a if (a < b or b != b) else b


@njit(**_FLAGS)
def isnan(x: Any) -> bool:
    return x != x


@njit(**_FLAGS)
def isinf(x: Any) -> bool:
    return abs(x * 1.0) == _INF  # * 1.0: ints and bools as floats


@njit(**_FLAGS)
def isfinite(x: Any) -> bool:
    return abs(x * 1.0) < _INF


@njit(**_FLAGS)
def signbit(x: Any) -> bool:
    return math.copysign(1.0, x * 1.0) < 0.0  # * 1.0 keeps -0.0 (+ 0.0 would not)


def trunc(x):  # type: ignore[no-untyped-def]  (numba wants the overload's exact signature)
    raise NotImplementedError("trunc is only callable from compiled code")


def remainder(a, b):  # type: ignore[no-untyped-def]
    raise NotImplementedError("remainder is only callable from compiled code")


def floor_divide(a, b):  # type: ignore[no-untyped-def]
    raise NotImplementedError("floor_divide is only callable from compiled code")


@overload(trunc, jit_options=_FLAGS)
def _trunc(x):  # type: ignore[no-untyped-def]
    if isinstance(x, (types.Integer, types.Boolean)):
        return _int_identity
    return lambda x: np.trunc(x)


def _int_remainder(a, b):  # type: ignore[no-untyped-def]
    if b == 0:
        return a - a  # numpy gives 0 (with a warning)
    m = a % b
    return m if (m == 0 or (m < 0) == (b < 0)) else m + b


def _int_floor_divide(a, b):  # type: ignore[no-untyped-def]
    if b == 0:
        return a - a
    q = a // b
    return q if (a % b == 0 or (a % b < 0) == (b < 0)) else q - 1


def _float_remainder(a, b):  # type: ignore[no-untyped-def]
    a, b = float(a), float(b)
    m = np.fmod(a, b)
    if b == 0.0:
        return m
    if m != 0.0:
        if (b < 0.0) != (m < 0.0):
            m += b
    else:
        m = math.copysign(0.0, b)
    return m


def _float_floor_divide(a, b):  # type: ignore[no-untyped-def]
    """numpy's npy_floor_divide: the quotient consistent with numpy.remainder."""
    a, b = float(a), float(b)
    if b == 0.0:
        return a / b if a == a and a != 0.0 else math.nan
    m = np.fmod(a, b)
    div = (a - m) / b
    if m != 0.0 and (b < 0.0) != (m < 0.0):
        div -= 1.0
    if div != 0.0:
        q = np.floor(div)
        if div - q > 0.5:
            q += 1.0
        return q
    return math.copysign(0.0, a / b)


def _both_int(a, b):  # type: ignore[no-untyped-def]
    ints = (types.Integer, types.Boolean)
    return isinstance(a, ints) and isinstance(b, ints)


@overload(remainder, jit_options=_FLAGS)
def _remainder(a, b):  # type: ignore[no-untyped-def]
    return _int_remainder if _both_int(a, b) else _float_remainder


@overload(floor_divide, jit_options=_FLAGS)
def _floor_divide(a, b):  # type: ignore[no-untyped-def]
    return _int_floor_divide if _both_int(a, b) else _float_floor_divide


__all__ = [
    "arctan", "cast", "ceil", "cos", "erf", "exp", "exp2", "expm1", "floor", "log", "log1p",
    "log2", "maximum", "minimum", "power", "relu", "round_half_even", "sigmoid", "sign", "sin",
    "softplus", "sqrt", "tan", "tanh",
]  # fmt: skip
__all__ += [
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan2", "arctanh", "copysign", "cosh", "erfc",
    "erfinv", "floor_divide", "fmax", "fmin", "heaviside", "hypot", "isfinite", "isinf", "isnan",
    "log10", "logaddexp", "logaddexp2", "remainder", "signbit", "sinh", "trunc",
]  # fmt: skip

__all__ += ["counter_uniform"]  # from counter_rng, where the hash is explained
