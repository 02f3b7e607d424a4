"""The scalar math of generated CUDA kernels: every name an elementwise ``lower`` template uses.

Each is a generic ``@cuda.jit(device=True)`` function, specialised per argument type: a float32
kernel calls the float32 libdevice function (``expf``: within 2 ulp), a float64 one the float64
one. The guards give numpy's results where the C library and numpy differ (``log`` of a negative
is nan, ``sqrt`` of a negative is nan, ``sin(inf)`` is nan) and keep the simulator, which runs
these functions as plain Python, from raising where numpy returns inf or nan (Python's ``math``
raises on overflow and domain errors).
"""

from __future__ import annotations

import math

from graphjit.kernels.cuda.counter_rng import counter_uniform
from numba import cuda

_INF = math.inf
_NAN = math.nan
_EXP_MAX = 709.0  # exp overflows float64 above ~709.78: the guard keeps the simulator quiet
_EXP_MIN = -745.0
_BIG = 4503599627370496.0  # 2**52: floats at least this large are integral


@cuda.jit(device=True)
def exp(x):  # type: ignore[no-untyped-def]
    if x != x:
        return x
    if x > _EXP_MAX:
        return math.exp(_EXP_MAX) * (x - x + 2.0) ** 2048 if x < _INF else x
    if x < _EXP_MIN:
        return x - x if x > -_INF else math.exp(x)  # 0, of x's type
    return math.exp(x)


@cuda.jit(device=True)
def exp2(x):  # type: ignore[no-untyped-def]
    return exp(x * 0.6931471805599453)


@cuda.jit(device=True)
def expm1(x):  # type: ignore[no-untyped-def]
    if x > _EXP_MAX:
        return exp(x)
    return math.expm1(x)


@cuda.jit(device=True)
def tanh(x):  # type: ignore[no-untyped-def]
    return math.tanh(x)


@cuda.jit(device=True)
def sigmoid(x):  # type: ignore[no-untyped-def]
    e = exp(-abs(x))
    r = 1.0 / (1.0 + e)
    return r if x >= 0.0 else e * r


@cuda.jit(device=True)
def softplus(x):  # type: ignore[no-untyped-def]
    return (x if x > 0.0 else 0.0 * x) + math.log1p(exp(-abs(x)))


@cuda.jit(device=True)
def log(x):  # type: ignore[no-untyped-def]
    if x < 0.0:
        return _NAN
    if x == 0.0:
        return -_INF
    return math.log(x)


@cuda.jit(device=True)
def log2(x):  # type: ignore[no-untyped-def]
    if x < 0.0:
        return _NAN
    if x == 0.0:
        return -_INF
    return math.log2(x)


@cuda.jit(device=True)
def log1p(x):  # type: ignore[no-untyped-def]
    if x < -1.0:
        return _NAN
    if x == -1.0:
        return -_INF
    return math.log1p(x)


@cuda.jit(device=True)
def sqrt(x):  # type: ignore[no-untyped-def]
    if x >= 0.0:
        return math.sqrt(x)
    return x if x != x else _NAN


@cuda.jit(device=True)
def sin(x):  # type: ignore[no-untyped-def]
    return math.sin(x) if abs(x) < _INF else x - x


@cuda.jit(device=True)
def cos(x):  # type: ignore[no-untyped-def]
    return math.cos(x) if abs(x) < _INF else x - x


@cuda.jit(device=True)
def tan(x):  # type: ignore[no-untyped-def]
    return math.tan(x) if abs(x) < _INF else x - x


@cuda.jit(device=True)
def arctan(x):  # type: ignore[no-untyped-def]
    return math.atan(x)


@cuda.jit(device=True)
def erf(x):  # type: ignore[no-untyped-def]
    return math.erf(x)


@cuda.jit(device=True)
def relu(x):  # type: ignore[no-untyped-def]
    return x if not x <= 0 else 0  # nan stays nan, -inf gives 0, as numpy.maximum(x, 0)


@cuda.jit(device=True)
def maximum(a, b):  # type: ignore[no-untyped-def]
    return a if (a > b or a != a) else b  # nan-propagating, as numpy


@cuda.jit(device=True)
def minimum(a, b):  # type: ignore[no-untyped-def]
    return a if (a < b or a != a) else b


@cuda.jit(device=True)
def sign(x):  # type: ignore[no-untyped-def]
    return 1 if x > 0 else (-1 if x < 0 else x)  # 0 stays 0, nan stays nan


@cuda.jit(device=True)
def floor(x):  # type: ignore[no-untyped-def]
    if not abs(x) < _BIG:  # nan, inf and large floats are integral already (ints too)
        return x
    return math.floor(x)


@cuda.jit(device=True)
def ceil(x):  # type: ignore[no-untyped-def]
    if not abs(x) < _BIG:
        return x
    return math.ceil(x)


@cuda.jit(device=True)
def round_half_even(x):  # type: ignore[no-untyped-def]
    if not abs(x) < _BIG:
        return x
    f = math.floor(x)
    d = x - f
    if d > 0.5 or (d == 0.5 and f % 2 != 0):
        f += 1
    return f


@cuda.jit(device=True)
def power(a, b):  # type: ignore[no-untyped-def]
    return math.pow(a, b)  # the generated code casts to the op's dtype (int powers too)


# --------------------------------------------------------------------------------------------------
# more elementwise math, as the CPU prelude (kernels/scalar.py) computes it; integer division and
# trunc run in float64 here (exact for ints below 2**53)

_TWO_OVER_SQRT_PI = 1.1283791670955126
_LN2 = 0.6931471805599453
_LOG2E = 1.4426950408889634


@cuda.jit(device=True)
def sinh(x):  # type: ignore[no-untyped-def]
    return math.sinh(float(x))


@cuda.jit(device=True)
def cosh(x):  # type: ignore[no-untyped-def]
    return math.cosh(float(x))


@cuda.jit(device=True)
def arcsin(x):  # type: ignore[no-untyped-def]
    x = float(x)
    return math.asin(x) if abs(x) <= 1.0 else (x if x != x else math.nan)


@cuda.jit(device=True)
def arccos(x):  # type: ignore[no-untyped-def]
    x = float(x)
    return math.acos(x) if abs(x) <= 1.0 else (x if x != x else math.nan)


@cuda.jit(device=True)
def arcsinh(x):  # type: ignore[no-untyped-def]
    return math.asinh(float(x))


@cuda.jit(device=True)
def arccosh(x):  # type: ignore[no-untyped-def]
    x = float(x)
    return math.acosh(x) if x >= 1.0 else (x if x != x else math.nan)


@cuda.jit(device=True)
def arctanh(x):  # type: ignore[no-untyped-def]
    x = float(x)
    a = abs(x)
    if a < 1.0:
        return math.atanh(x)
    if a == 1.0:
        return math.copysign(_INF, x)
    return x if x != x else math.nan


@cuda.jit(device=True)
def arctan2(y, x):  # type: ignore[no-untyped-def]
    return math.atan2(float(y), float(x))


@cuda.jit(device=True)
def hypot(x, y):  # type: ignore[no-untyped-def]
    return math.hypot(float(x), float(y))


@cuda.jit(device=True)
def log10(x):  # type: ignore[no-untyped-def]
    x = float(x)
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -_INF
    return math.log10(x)


@cuda.jit(device=True)
def logaddexp(x, y):  # type: ignore[no-untyped-def]
    """log(exp(x) + exp(y)) without overflow, as numpy's (equal infinities give themselves)."""
    x, y = float(x), float(y)
    if x == y:
        return x + _LN2
    d = x - y
    if d > 0.0:
        return x + math.log1p(exp(-d))
    if d <= 0.0:
        return y + math.log1p(exp(d))
    return d  # nan


@cuda.jit(device=True)
def logaddexp2(x, y):  # type: ignore[no-untyped-def]
    x, y = float(x), float(y)
    if x == y:
        return x + 1.0
    d = x - y
    if d > 0.0:
        return x + _LOG2E * math.log1p(2.0**-d)
    if d <= 0.0:
        return y + _LOG2E * math.log1p(2.0**d)
    return d


@cuda.jit(device=True)
def erfc(x):  # type: ignore[no-untyped-def]
    return math.erfc(float(x))


@cuda.jit(device=True)
def _erfinv_guess(y):  # type: ignore[no-untyped-def]
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


@cuda.jit(device=True)
def erfinv(y):  # type: ignore[no-untyped-def]
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


@cuda.jit(device=True)
def copysign(x, y):  # type: ignore[no-untyped-def]
    return math.copysign(float(x), float(y))


@cuda.jit(device=True)
def heaviside(x, h0):  # type: ignore[no-untyped-def]
    """0 below 0, 1 above, ``h0`` at 0, nan at nan (numpy.heaviside)."""
    x = float(x)
    if x < 0.0:
        return 0.0
    if x > 0.0:
        return 1.0
    return float(h0) if x == 0.0 else x


@cuda.jit(device=True)
def fmax(a, b):  # type: ignore[no-untyped-def]
    return a if (a > b or b != b) else b  # nan-ignoring; b on ties (signed zeros), as numpy


@cuda.jit(device=True)
def fmin(a, b):  # type: ignore[no-untyped-def]
    return a if (a < b or b != b) else b


@cuda.jit(device=True)
def isnan(x):  # type: ignore[no-untyped-def]
    return x != x


@cuda.jit(device=True)
def isinf(x):  # type: ignore[no-untyped-def]
    return abs(x * 1.0) == _INF  # * 1.0: ints and bools as floats


@cuda.jit(device=True)
def isfinite(x):  # type: ignore[no-untyped-def]
    return abs(x * 1.0) < _INF


@cuda.jit(device=True)
def signbit(x):  # type: ignore[no-untyped-def]
    return math.copysign(1.0, x * 1.0) < 0.0  # * 1.0 keeps -0.0 (+ 0.0 would not)


@cuda.jit(device=True)
def trunc(x):  # type: ignore[no-untyped-def]
    """Rounded toward zero (ints pass through the float64 path: exact below 2**53)."""
    x = float(x)
    if x != x or abs(x) >= _BIG:
        return x  # nan, inf and floats this large are integral already
    return x - math.fmod(x, 1.0)


@cuda.jit(device=True)
def remainder(a, b):  # type: ignore[no-untyped-def]
    """numpy.remainder in float64 (the sign of the divisor; ints exact below 2**53)."""
    a, b = float(a), float(b)
    if b == 0.0:
        return _NAN if (a == a) else a
    if a != a or b != b or abs(a) == _INF:
        return _NAN
    m = math.fmod(a, b)
    if m != 0.0:
        if (b < 0.0) != (m < 0.0):
            m += b
    else:
        m = math.copysign(0.0, b)
    return m


@cuda.jit(device=True)
def floor_divide(a, b):  # type: ignore[no-untyped-def]
    """numpy.floor_divide in float64, consistent with :func:`remainder`."""
    a, b = float(a), float(b)
    if b == 0.0:
        return a / b if a == a and a != 0.0 else _NAN
    if a != a or b != b or abs(a) == _INF:
        return _NAN
    m = math.fmod(a, b)
    div = (a - m) / b
    if m != 0.0 and (b < 0.0) != (m < 0.0):
        div -= 1.0
    if div != 0.0:
        q = float(math.floor(div))
        if div - q > 0.5:
            q += 1.0
        return q
    return math.copysign(0.0, a / b)


__all__ = [
    "arctan", "ceil", "cos", "erf", "exp", "exp2", "expm1", "floor", "log", "log1p",
    "log2", "maximum", "minimum", "power", "relu", "round_half_even", "sigmoid", "sign", "sin",
    "softplus", "sqrt", "tan", "tanh",
]  # fmt: skip
__all__ += [
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan2", "arctanh", "copysign", "cosh", "erfc",
    "erfinv", "floor_divide", "fmax", "fmin", "heaviside", "hypot", "isfinite", "isinf", "isnan",
    "log10", "logaddexp", "logaddexp2", "remainder", "signbit", "sinh", "trunc",
]  # fmt: skip

__all__ += ["counter_uniform"]  # from counter_rng, where the hash is explained
