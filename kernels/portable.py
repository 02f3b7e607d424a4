"""Scalar math that is the same source on every target: numpy's special values for the C
library's functions (``log10`` of a negative is nan, ``arcsin`` outside [-1, 1] is nan, ...), the
IEEE helpers (``fmax``, ``copysign``, ``signbit``, ...) and ``erfinv``.

These are plain functions; :mod:`graphjit.kernels.scalar` compiles them for the CPU with
``njit`` and :mod:`graphjit.kernels.cuda.scalar` as CUDA device functions, so a fix made here
reaches both backends. Arguments are converted to float64 where the C function is float64 only.
"""

from __future__ import annotations

import math
from typing import Any

from numba.extending import register_jitable

_INF = math.inf
_TWO_OVER_SQRT_PI = 1.1283791670955126
_LOG2E = 1.4426950408889634


def maximum(a: Any, b: Any) -> Any:
    return a if (a > b or a != a) else b  # nan-propagating, as numpy


def minimum(a: Any, b: Any) -> Any:
    return a if (a < b or a != a) else b


def sign(x: Any) -> Any:
    return 1 if x > 0 else (-1 if x < 0 else x)  # 0 stays 0, nan stays nan


def fmax(a: Any, b: Any) -> Any:
    return a if (a > b or b != b) else b  # nan-ignoring; b on ties (signed zeros), as numpy


def fmin(a: Any, b: Any) -> Any:
    return a if (a < b or b != b) else b


def copysign(x: float, y: float) -> float:
    return math.copysign(float(x), float(y))


def heaviside(x: float, h0: float) -> float:
    """0 below 0, 1 above, ``h0`` at 0, nan at nan (numpy.heaviside)."""
    x = float(x)
    if x < 0.0:
        return 0.0
    if x > 0.0:
        return 1.0
    return float(h0) if x == 0.0 else x


def isnan(x: Any) -> bool:
    return x != x


def isinf(x: Any) -> bool:
    return abs(x * 1.0) == _INF  # * 1.0: ints and bools as floats


def isfinite(x: Any) -> bool:
    return abs(x * 1.0) < _INF


def signbit(x: Any) -> bool:
    return math.copysign(1.0, x * 1.0) < 0.0  # * 1.0 keeps -0.0 (+ 0.0 would not)


def sinh(x: float) -> float:
    return math.sinh(float(x))


def cosh(x: float) -> float:
    return math.cosh(float(x))


def arcsin(x: float) -> float:
    x = float(x)
    return math.asin(x) if abs(x) <= 1.0 else (x if x != x else math.nan)


def arccos(x: float) -> float:
    x = float(x)
    return math.acos(x) if abs(x) <= 1.0 else (x if x != x else math.nan)


def arcsinh(x: float) -> float:
    return math.asinh(float(x))


def arccosh(x: float) -> float:
    x = float(x)
    return math.acosh(x) if x >= 1.0 else (x if x != x else math.nan)


def arctanh(x: float) -> float:
    x = float(x)
    a = abs(x)
    if a < 1.0:
        return math.atanh(x)
    if a == 1.0:
        return math.copysign(_INF, x)
    return x if x != x else math.nan


def arctan2(y: float, x: float) -> float:
    return math.atan2(float(y), float(x))


def hypot(x: float, y: float) -> float:
    return math.hypot(float(x), float(y))


def log10(x: float) -> float:
    x = float(x)
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -_INF
    return math.log10(x)


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


def erfc(x: float) -> float:
    return math.erfc(float(x))


@register_jitable  # erfinv calls it: callable from jitted code on every target
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


# integer division and power, as numpy's: in the operands' integer type, never through float64
# (which loses the low bits of int64 past 2**53); a caller casts the result to the op's dtype,
# which wraps as numpy's


def int_floor_divide(a: Any, b: Any) -> Any:
    """numpy.floor_divide of ints: 0 for a zero divisor, and ``// -1`` the negation, wrapping
    (the smallest int stays itself) where C's division would trap."""
    if b == 0:
        return a - a
    if b == -1:
        return (a ^ -1) + 1
    q = a // b
    return q if (a % b == 0 or (a % b < 0) == (b < 0)) else q - 1  # floored under C's rule too


def int_remainder(a: Any, b: Any) -> Any:
    """numpy.remainder of ints: the divisor's sign, 0 for a zero divisor (and for -1)."""
    if b == 0 or b == -1:
        return a - a
    m = a % b
    return m if (m == 0 or (m < 0) == (b < 0)) else m + b


def int_power(a: Any, b: Any) -> Any:
    """``a ** b`` for an exponent ``b >= 0``, by squaring (wrapping, as numpy's)."""
    r = a - a + 1
    while b > 0:
        if b & 1:
            r = r * a
        a = a * a
        b = b >> 1
    return r
