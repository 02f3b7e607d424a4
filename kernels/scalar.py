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
from graphjit.kernels import extern, portable
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
from numba.extending import intrinsic, overload

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
    if b < 0:  # as numpy (numba's power gave 0, or garbage for a zero base)
        raise ValueError("Integers to negative integer powers are not allowed.")
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
# the functions whose source every target shares (graphjit.kernels.portable), compiled for the CPU
_cpu = njit(**_FLAGS)
maximum = _cpu(portable.maximum)
minimum = _cpu(portable.minimum)
sign = _cpu(portable.sign)
fmax = _cpu(portable.fmax)
fmin = _cpu(portable.fmin)
copysign = _cpu(portable.copysign)
heaviside = _cpu(portable.heaviside)
isnan = _cpu(portable.isnan)
isinf = _cpu(portable.isinf)
isfinite = _cpu(portable.isfinite)
signbit = _cpu(portable.signbit)
sinh = _cpu(portable.sinh)
cosh = _cpu(portable.cosh)
arcsin = _cpu(portable.arcsin)
arccos = _cpu(portable.arccos)
arcsinh = _cpu(portable.arcsinh)
arccosh = _cpu(portable.arccosh)
arctanh = _cpu(portable.arctanh)
arctan2 = _cpu(portable.arctan2)
hypot = _cpu(portable.hypot)
log10 = _cpu(portable.log10)
logaddexp2 = _cpu(portable.logaddexp2)
erfc = _cpu(portable.erfc)
erfinv = _cpu(portable.erfinv)
int_floor_divide = _cpu(portable.int_floor_divide)
int_remainder = _cpu(portable.int_remainder)


# --------------------------------------------------------------------------------------------------
# more elementwise math: hyperbolic and inverse trig, log10, logaddexp, erfc/erfinv, rounding and
# integer division, float classification. numpy's answers at the domain edges (nan, +-inf) are
# spelled out rather than left to libm.

_TWO_OVER_SQRT_PI = 1.1283791670955126
_LN2 = 0.6931471805599453
_LOG2E = 1.4426950408889634


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
    return (lambda a, b: int_remainder(a, b)) if _both_int(a, b) else _float_remainder


@overload(floor_divide, jit_options=_FLAGS)
def _floor_divide(a, b):  # type: ignore[no-untyped-def]
    return (lambda a, b: int_floor_divide(a, b)) if _both_int(a, b) else _float_floor_divide


# A reduction's accumulation, the one place in a program that reassociates. Fast math's
# ``reassoc`` lets LLVM vectorise a float sum (partial sums per lane, added at the end), but given
# to a whole function it also lets LLVM cancel terms: ``x - x`` became 0 where numpy gives nan
# (x inf or nan), and ``(a + b) - a`` b. So programs compile without it, and their accumulators
# add and multiply through these, one instruction each carrying the flag.
def _reassociating(op: str) -> Any:
    def typer(typingctx: Any, acc: Any, value: Any) -> Any:
        if not (isinstance(acc, types.Float) and isinstance(value, (types.Number, types.Boolean))):
            return None

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            x = context.cast(builder, args[1], sig.args[1], sig.return_type)
            emit = builder.fadd if op == "add" else builder.fmul
            return emit(args[0], x, flags=("reassoc", "contract", "nsz"))

        return acc(acc, value), codegen

    typer.__name__ = f"accumulate_{op}"
    return intrinsic(typer)


accumulate_add = _reassociating("add")
accumulate_multiply = _reassociating("multiply")


# A loop calling the vector math of kernels/math.py is bound by the vector units, not by memory,
# and on a CPU with AVX-512 512-bit vectors do twice the work per instruction (the chain
# tanh(1.3x + 0.2) * exp(-x*x) + 0.5: 1.55x faster). LLVM's tuning for Intel's AVX-512 cores
# prefers 256-bit vectors (the oldest of them lower their clock for 512-bit code), so such a loop
# asks for 512 bits for the function it is compiled into: an LLVM function attribute, no
# instruction. A CPU without AVX-512 keeps its widest vectors; the attribute changes nothing.
@intrinsic
def wide_vectors(typingctx: Any) -> Any:
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        # llvmlite's attribute set takes only the attribute names it knows: a key="value"
        # attribute goes in as the text it prints (valid LLVM IR, read by LLVM's X86 backend).
        # An llvmlite whose attributes are not a set leaves LLVM's own choice of width
        attributes = builder.function.attributes
        if isinstance(attributes, set):
            set.add(attributes, WIDE_VECTORS_ATTRIBUTE)
        return context.get_dummy_value()

    return types.void(), codegen


WIDE_VECTORS_ATTRIBUTE = '"prefer-vector-width"="512"'


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

__all__ += ["accumulate_add", "accumulate_multiply", "wide_vectors"]
__all__ += ["counter_uniform"]  # from counter_rng, where the hash is explained


extern.load_bound(globals())  # its cached code loads checked (extern.install_loader)
