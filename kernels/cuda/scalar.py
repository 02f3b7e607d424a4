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

from graphjit.kernels import portable
from graphjit.kernels.cuda.counter_rng import counter_uniform
from graphjit.kernels.cuda.launch import SIMULATOR
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
    return (x if x > 0.0 else 0.0) + math.log1p(exp(-abs(x)))  # -inf gives 0, nan stays nan


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
    return math.pow(a, b)  # floats: the generated code casts to the op's dtype (ints: int_power)


def _c_pow(a, b):  # type: ignore[no-untyped-def]
    """Python's ``math.pow`` with C's answers where Python raises: an overflow is a signed inf,
    zero to a negative power inf (signed for an odd integer power), a negative base to a
    fractional power nan. libdevice's ``pow`` gives these on a GPU."""
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):
        odd = abs(b) < _INF and b == math.floor(b) and math.fmod(b, 2.0) != 0.0
        if a < 0.0 and not odd and b != math.floor(b):
            return _NAN
        return math.copysign(_INF, a) if odd else _INF


def _c_sinh(x):  # type: ignore[no-untyped-def]
    try:
        return math.sinh(float(x))
    except OverflowError:
        return math.copysign(_INF, x)


def _c_cosh(x):  # type: ignore[no-untyped-def]
    try:
        return math.cosh(float(x))
    except OverflowError:
        return _INF


# --------------------------------------------------------------------------------------------------
# the functions whose source every target shares (graphjit.kernels.portable), as device functions
_device = cuda.jit(device=True)
maximum = _device(portable.maximum)
minimum = _device(portable.minimum)
sign = _device(portable.sign)
fmax = _device(portable.fmax)
fmin = _device(portable.fmin)
copysign = _device(portable.copysign)
heaviside = _device(portable.heaviside)
isnan = _device(portable.isnan)
isinf = _device(portable.isinf)
isfinite = _device(portable.isfinite)
signbit = _device(portable.signbit)
sinh = _device(portable.sinh)
cosh = _device(portable.cosh)
if SIMULATOR:  # it runs these as Python, whose math raises where libdevice's returns inf or nan
    power, sinh, cosh = _device(_c_pow), _device(_c_sinh), _device(_c_cosh)
arcsin = _device(portable.arcsin)
arccos = _device(portable.arccos)
arcsinh = _device(portable.arcsinh)
arccosh = _device(portable.arccosh)
arctanh = _device(portable.arctanh)
arctan2 = _device(portable.arctan2)
hypot = _device(portable.hypot)
log10 = _device(portable.log10)
logaddexp2 = _device(portable.logaddexp2)
erfc = _device(portable.erfc)
erfinv = _device(portable.erfinv)


# --------------------------------------------------------------------------------------------------
# integer division and power in the operands' integer type (the generated code calls these for
# integer ops, the float64 functions below for float ones)
int_floor_divide = _device(portable.int_floor_divide)
int_remainder = _device(portable.int_remainder)
int_power = _device(portable.int_power)


@cuda.jit(device=True)
def int_power_checked(a, b, flag):  # type: ignore[no-untyped-def]
    """``a ** b``; a negative ``b`` raises ``flag[0]``, which the host turns into numpy's
    ValueError after the kernel."""
    if b < 0:
        flag[0] = 1
        return a - a
    return int_power(a, b)


# --------------------------------------------------------------------------------------------------
# more elementwise math, as the CPU prelude (kernels/scalar.py) computes it

_TWO_OVER_SQRT_PI = 1.1283791670955126
_LN2 = 0.6931471805599453
_LOG2E = 1.4426950408889634


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
def trunc(x):  # type: ignore[no-untyped-def]
    """A float rounded toward zero (the generated code keeps ints as they are)."""
    x = float(x)
    if x != x or abs(x) >= _BIG:
        return x  # nan, inf and floats this large are integral already
    return x - math.fmod(x, 1.0)


@cuda.jit(device=True)
def remainder(a, b):  # type: ignore[no-untyped-def]
    """numpy.remainder of floats, in float64 (the sign of the divisor)."""
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
    """numpy.floor_divide of floats, in float64, consistent with :func:`remainder`."""
    a, b = float(a), float(b)
    if b == 0.0:
        if a != a or a == 0.0:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)  # a / b, which the simulator refuses
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
__all__ += ["int_floor_divide", "int_power", "int_power_checked", "int_remainder"]

__all__ += ["counter_uniform"]  # from counter_rng, where the hash is explained
