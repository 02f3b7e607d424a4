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
        return x - x if x > -_INF else 0.0 * x
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
    return x if not x <= 0 else x - x  # nan stays nan, as numpy.maximum(x, 0)


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


__all__ = [
    "arctan", "ceil", "cos", "erf", "exp", "exp2", "expm1", "floor", "log", "log1p",
    "log2", "maximum", "minimum", "power", "relu", "round_half_even", "sigmoid", "sign", "sin",
    "softplus", "sqrt", "tan", "tanh",
]  # fmt: skip
