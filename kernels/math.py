"""Vectorisable elementary functions for the generated CPU kernels.

numba lowers ``math.exp``, ``math.log``, ``math.sin``, ... to scalar libm calls, and a loop that
calls a function LLVM knows nothing about is not vectorised: each element costs a call. The
functions here are written so that, once LLVM inlines them into a loop, the whole loop body is
straight-line arithmetic it can turn into SIMD code (``<4 x double>`` / ``<8 x double>``):

* range reduction (Cody-Waite: the constant split so that ``k * C_hi`` is exact) and a polynomial
  or rational approximation on the reduced interval;
* exponents and mantissas taken apart and put together through bit casts
  (:mod:`graphjit.kernels.bits`), never ``frexp``/``ldexp`` calls;
* no branches: special inputs (nan, +-inf, +-0, denormals, overflow, the domain edges) are computed
  on a harmless stand-in value and their answer chosen with a select at the end. A select costs
  both sides, so every lane pays for the rare paths; they are kept short.

``sin``, ``cos`` and ``tan`` (:mod:`graphjit.kernels.trig`) reduce every argument by
Payne-Hanek: the bits of 2/pi that matter for the argument's exponent come from a table (a
gather) and are multiplied exactly with ``fma``. A libm fallback for huge arguments is not an
option for a vectorised loop: LLVM either refuses to vectorise a loop with an opaque call in it,
or speculates the call and runs it for every element.

``pow`` is ``exp(y * log|x|)`` with the log and the product kept as double-doubles (the product
reaches 745 and its absolute error is the result's relative error); its log and its exp each
reduce by a table of 128 entries, gathers again. Its special cases (zeros, infinities, nan,
negative bases, integer exponents of either parity, overflow and denormal results) are C99's,
which numpy follows.

Every function is compiled with ``forceinline`` (LLVM's alwaysinline): LLVM's own cost model
keeps the larger ones (log1p, erf, sin) as calls, and a loop with a call does not vectorise. The
price is compile time: each use inlines the function's code into the kernel (see the README's
performance section for the figures).

Accuracy (tested against numpy over millions of points per function, including the special
values): within 2 ulp in float64; float32 inputs are computed in float64 and the generated code
rounds the result to float32, which is within 1 ulp of numpy's float32 answer. Polynomial and
rational coefficients are fdlibm's (Sun Microsystems, freely redistributable) for log, log1p,
log2, sin, cos and erf; exp, exp2 and pow use Taylor coefficients (pow measures 0.51 ulp from
the true value).

They are compiled without ``reassoc`` (the caller's fastmath flags do not reach an inlined
function's instructions), so the error-compensating steps (``(a - b) - c`` tails, two-sums) are
not simplified away; ``contract`` lets LLVM use FMA.
"""

from __future__ import annotations

import math
import os
from decimal import Context, Decimal
from typing import Any

import numpy as np
from graphjit.kernels import extern, pow_tables
from graphjit.kernels.bits import f64_as_i64, fma, i64_as_f64
from graphjit.kernels.trig import cos, sin, tan
from numba import njit

FLAGS: dict[str, Any] = {
    "cache": True,
    "fastmath": {"contract"},
    "nogil": True,
    "error_model": "numpy",
    "forceinline": True,  # LLVM's alwaysinline: its cost model would keep the larger ones calls
}

_INF = math.inf
_LN2 = 0.6931471805599453
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln2's top 32 bits: k * _LN2_HI is exact for |k| < 2**21
_LN2_LO = 1.90821492927058770002e-10
_MAGIC = 4503599627370496.0 + 1023.0  # 2**52 + the exponent bias: k + _MAGIC holds k + 1023 bitwise
_I2F = 6755399441055744.0  # 1.5 * 2**52: the bits of an int64 k plus these bits are k + _I2F
_I2F_BITS = 0x4338000000000000
_MIN_NORMAL = 2.2250738585072014e-308
_TWO54 = 18014398509481984.0
_LOW32 = 0xFFFFFFFF
_HIGH32 = -4294967296  # 0xFFFFFFFF00000000 as an int64


def _taylor_exp2(n: int) -> tuple[float, ...]:
    """ln2**i / i! for i = 1..n: the Taylor coefficients of 2**r - 1."""
    out, term = [], 1.0
    for i in range(1, n + 1):
        term = term * _LN2 / i
        out.append(term)
    return tuple(out)


_E2 = _taylor_exp2(13)
_E2_1, _E2_2, _E2_3, _E2_4, _E2_5, _E2_6, _E2_7 = _E2[:7]
_E2_8, _E2_9, _E2_10, _E2_11, _E2_12, _E2_13 = _E2[7:]


# ------------------------------------------------------------------------------------ helpers


@njit(**FLAGS)
def _pow2(k: float) -> float:
    """2.0**k for an integral float k in [-1022, 1023], from the exponent bits."""
    return i64_as_f64(f64_as_i64(k + _MAGIC) << 52)


@njit(**FLAGS)
def _int_to_float(k: int) -> float:
    """An int64 |k| < 2**51 as a float64 by bits (vectorises without AVX-512's conversions)."""
    return i64_as_f64(k + _I2F_BITS) - _I2F


@njit(**FLAGS)
def _scale(p: float, k: float) -> float:
    """p * 2**k for an integral float k in [-2044, 2046], in two exact steps so that results
    near overflow and in the denormal range are right (one rounding, at the second step)."""
    k1 = np.floor(k * 0.5)
    return (p * _pow2(k1)) * _pow2(k - k1)


# ------------------------------------------------------------------------- exp and friends


@njit(**FLAGS)
def _exp_poly(r: float) -> float:
    """exp(r) - 1 for |r| <= 0.45 (Taylor to degree 14: truncation below 1e-17)."""
    p = 1.0 / 87178291200.0
    p = p * r + 1.0 / 6227020800.0
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


@njit(**FLAGS)
def exp(x: float) -> float:
    x = np.float64(x)
    xc = x if x < 710.0 else 710.0  # also maps nan to a finite value (no poison in the bit casts)
    xc = xc if xc > -746.0 else -746.0
    k = np.floor(xc * _LOG2E + 0.5)
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    y = _scale(_exp_poly(r) + 1.0, k)
    return y if x == x else x


@njit(**FLAGS)
def exp2(x: float) -> float:
    x = np.float64(x)
    xc = x if x < 1025.0 else 1025.0
    xc = xc if xc > -1080.0 else -1080.0
    k = np.floor(xc + 0.5)
    r = xc - k  # exact, |r| <= 1/2
    p = _E2_13
    p = p * r + _E2_12
    p = p * r + _E2_11
    p = p * r + _E2_10
    p = p * r + _E2_9
    p = p * r + _E2_8
    p = p * r + _E2_7
    p = p * r + _E2_6
    p = p * r + _E2_5
    p = p * r + _E2_4
    p = p * r + _E2_3
    p = p * r + _E2_2
    p = (p * r) * r + _E2_1 * r
    y = _scale(p + 1.0, k)
    return y if x == x else x


@njit(**FLAGS)
def _expm1_core(x: float) -> float:
    """expm1 for finite x in [-60, 709]."""
    k = np.floor(x * _LOG2E + 0.5)
    k = 0.0 if abs(x) < 0.45 else k  # within the polynomial's range: no cancellation in s*q + s-1
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    c = (hi - r) - lo  # what rounding r lost: exp(r + c) - 1 = q + c * (1 + q)
    q = _exp_poly(r)
    q = q + (c + c * q)
    s = _pow2(k)
    return s * q + (s - 1.0)


@njit(**FLAGS)
def expm1(x: float) -> float:
    x = np.float64(x)
    xc = x if x < 709.0 else 709.0
    xc = xc if xc > -60.0 else -60.0
    y = _expm1_core(xc)
    y = exp(x) if x > 709.0 else y
    y = -1.0 if x < -60.0 else y
    return y if x == x and x != 0.0 else x  # nan and -0.0 as they are


@njit(**FLAGS)
def tanh(x: float) -> float:
    x = np.float64(x)
    a = abs(x)
    a = a if a < 22.0 else 22.0  # tanh(22) rounds to 1; also maps nan to a finite value
    u = _expm1_core(2.0 * a)
    y = math.copysign(u / (u + 2.0), x)
    return y if x == x else x


@njit(**FLAGS)
def sigmoid(x: float) -> float:
    x = np.float64(x)
    e = exp(-abs(x))
    r = 1.0 / (1.0 + e)
    return r if x >= 0.0 else e * r


# ------------------------------------------------------------------------- log and friends
# fdlibm's log: x = 2**k * m with m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f) and
# log(1 + f) = f - f*f/2 + s * (f*f/2 + R(s*s)).

_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_SQRT_HALF_HIGH = 0x3FE6A09E  # the high word of sqrt(2)/2
_IVLN2_HI = 1.44269504072144627571e00  # 1/ln2's top 33 bits
_IVLN2_LO = 1.67517131648865118353e-10


@njit(**FLAGS)
def _log_tail(f: float) -> tuple[float, float]:
    """(f*f/2, s * (f*f/2 + R)) for f = m - 1: log(1 + f) = f - hfsq + tail."""
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    return hfsq, s * (hfsq + t2 + t1)


@njit(**FLAGS)
def _log_split(x: float) -> tuple[float, float]:
    """(k, f) with x = 2**k * (1 + f), 1 + f in [sqrt(2)/2, sqrt(2)), for positive finite x
    (denormals included). Other x give some finite or nan (k, f): integer and float operations
    on bits, nothing traps, and the callers select their special answer for those lanes after.
    Masking x to 1.0 first instead made LLVM's 512-bit vector loop of log 2.4x slower."""
    tiny = x < _MIN_NORMAL
    x = x * _TWO54 if tiny else x
    ix = f64_as_i64(x)
    hx = (ix >> 32) + (0x3FF00000 - _SQRT_HALF_HIGH)
    k = _int_to_float((hx >> 20) - 0x3FF)
    k = k - 54.0 if tiny else k
    hx = (hx & 0x000FFFFF) + _SQRT_HALF_HIGH
    m = i64_as_f64((hx << 32) | (ix & _LOW32))
    return k, m - 1.0


@njit(**FLAGS)
def _log_special(x: float) -> float:
    """log's answer where x is not positive and finite: -inf at +-0, nan below, x for inf/nan."""
    return -_INF if x == 0.0 else (math.nan if x < 0.0 else x)


@njit(**FLAGS)
def log(x: float) -> float:
    x = np.float64(x)
    ok = (x > 0.0) & (x < _INF)
    k, f = _log_split(x)
    hfsq, tail = _log_tail(f)
    y = tail + k * _LN2_LO - hfsq + f + k * _LN2_HI
    return y if ok else _log_special(x)


@njit(**FLAGS)
def log2(x: float) -> float:
    x = np.float64(x)
    ok = (x > 0.0) & (x < _INF)
    k, f = _log_split(x)
    hfsq, tail = _log_tail(f)
    # log(1 + f) as hi + lo with hi's low word cleared, so hi * _IVLN2_HI is exact
    hi = i64_as_f64(f64_as_i64(f - hfsq) & _HIGH32)
    lo = f - hi - hfsq + tail
    val_hi = hi * _IVLN2_HI
    val_lo = (lo + hi) * _IVLN2_LO + lo * _IVLN2_HI
    w = k + val_hi
    val_lo += (k - w) + val_hi
    y = val_lo + w
    return y if ok else _log_special(x)


@njit(**FLAGS)
def log1p(x: float) -> float:
    x = np.float64(x)
    ok = (x > -1.0) & (x < _INF)
    xs = x if ok else 0.0
    u = 1.0 + xs
    iu = f64_as_i64(u)
    hu = (iu >> 32) + (0x3FF00000 - _SQRT_HALF_HIGH)
    ki = (hu >> 20) - 0x3FF
    # c ~ log(1 + x) - log(u): the rounding error of 1 + x, relative to u (0 once it is lost)
    c = (1.0 - (u - xs)) if ki >= 2 else (xs - (u - 1.0))
    c = c / u if ki < 54 else 0.0
    hu = (hu & 0x000FFFFF) + _SQRT_HALF_HIGH
    f = i64_as_f64((hu << 32) | (iu & _LOW32)) - 1.0
    near = ki == 0  # 1 + x in [sqrt(2)/2, sqrt(2)): use x itself, exactly
    f = xs if near else f
    c = 0.0 if near else c
    k = _int_to_float(ki)
    hfsq, tail = _log_tail(f)
    y = tail + (k * _LN2_LO + c) - hfsq + f + k * _LN2_HI
    y = x if xs == 0.0 else y  # keeps -0.0
    return y if ok else (-_INF if x == -1.0 else (math.nan if x < -1.0 else x))


@njit(**FLAGS)
def softplus(x: float) -> float:
    x = np.float64(x)
    return (x if x > 0.0 else 0.0) + log1p(exp(-abs(x)))


# ------------------------------------------------------------------------------------- erf
# fdlibm's erf has four intervals of |x|, each with its own rational approximation; here one
# rational function of degree 7/8 is evaluated with the interval's coefficients chosen by
# selects, so that every lane runs the same instructions:
#   |x| < 0.84375          erf = x + x * P(x*x) / Q(x*x)
#   0.84375 <= |x| < 1.25  erf = erx + P(|x| - 1) / Q(|x| - 1)
#   1.25 <= |x| < 6        erf = 1 - exp(-x*x - 0.5625 + P(1/x**2) / Q(1/x**2)) / |x|
#                          (two sets of coefficients, split at 1/0.35)
#   |x| >= 6               erf = 1 (to the last bit)

_ERX = 8.45062911510467529297e-01
# numerators P0..P7 and denominators Q1..Q8 (Q0 = 1) for the four intervals
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05, 0.0, 0.0, 0.0)  # fmt: skip
_QQ = (3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06, 0.0, 0.0, 0.0)  # fmt: skip
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03, 0.0)  # fmt: skip
_QA = (1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02,
       0.0, 0.0)  # fmt: skip
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e01,
       -6.23753324503260060396e01, -1.62396669462573470355e02, -1.84605092906711035994e02,
       -8.12874355063065934246e01, -9.81432934416914548592e00)  # fmt: skip
_SA = (1.96512716674392571292e01, 1.37657754143519042600e02, 4.34565877475229228821e02,
       6.45387271733267880336e02, 4.29008140027567833386e02, 1.08635005541779435134e02,
       6.57024977031928170135e00, -6.04244152148580987438e-02)  # fmt: skip
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e01,
       -1.60636384855821916062e02, -6.37566443368389627722e02, -1.02509513161107724954e03,
       -4.83519191608651397019e02, 0.0)  # fmt: skip
_SB = (3.03380607434824582924e01, 3.25792512996573918826e02, 1.53672958608443695994e03,
       3.19985821950859553908e03, 2.55305040643316442583e03, 4.74528541206955367215e02,
       -2.24409524465858183362e01, 0.0)  # fmt: skip
# coefficient i of each interval as one tuple, so the kernel picks it with three selects
_ERF_P = tuple(zip(_PP, _PA, _RA, _RB, strict=True))
_ERF_Q = tuple(zip(_QQ, _QA, _SA, _SB, strict=True))
(_P0, _P1, _P2, _P3, _P4, _P5, _P6, _P7) = _ERF_P
(_Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7, _Q8) = _ERF_Q


@njit(**FLAGS)
def _pick(c: tuple[float, float, float, float], small: bool, mid: bool, near: bool) -> float:
    return c[0] if small else (c[1] if mid else (c[2] if near else c[3]))


@njit(**FLAGS)
def erf(x: float) -> float:
    x = np.float64(x)
    a = abs(x)
    a = a if a < 6.0 else 6.0  # also maps nan to a finite value
    small = a < 0.84375
    mid = a < 1.25
    near = a < 1.0 / 0.35
    inv = 1.0 / (a * a)
    t = a * a if small else (a - 1.0 if mid else inv)
    p = _pick(_P7, small, mid, near)
    p = p * t + _pick(_P6, small, mid, near)
    p = p * t + _pick(_P5, small, mid, near)
    p = p * t + _pick(_P4, small, mid, near)
    p = p * t + _pick(_P3, small, mid, near)
    p = p * t + _pick(_P2, small, mid, near)
    p = p * t + _pick(_P1, small, mid, near)
    p = p * t + _pick(_P0, small, mid, near)
    q = _pick(_Q8, small, mid, near)
    q = q * t + _pick(_Q7, small, mid, near)
    q = q * t + _pick(_Q6, small, mid, near)
    q = q * t + _pick(_Q5, small, mid, near)
    q = q * t + _pick(_Q4, small, mid, near)
    q = q * t + _pick(_Q3, small, mid, near)
    q = q * t + _pick(_Q2, small, mid, near)
    q = q * t + _pick(_Q1, small, mid, near)
    r = p / (q * t + 1.0)
    tail = 1.0 - exp(-a * a - 0.5625 + r) / a
    y = _ERX + r if mid else tail
    y = 1.0 if a >= 6.0 else y
    y = math.copysign(y, x)
    y = x + x * r if small else y  # keeps -0.0 and denormals
    return y if x == x else x


# ------------------------------------------------------------------------------------- pow
# pow(x, y) = exp(y * log|x|). y * log|x| can be as large as 745 and its absolute error is the
# result's relative error, so log|x| is a double-double (hi + lo, relative error near 2**-68)
# and so is the product; exp takes the double-double. Both reduce by a table of 128 entries (a
# gather in the vector loop) computed in decimal arithmetic (stored in kernels/pow_tables.py):
#   log: |x| = 2**k * z, z in [0.7057, 1.4114) split into 128 subintervals by its top mantissa
#        bits; log|x| = k*ln2 + log(c) + log1p(r), with 1/c the subinterval's centre's inverse
#        rounded to a multiple of 1/128, which makes r = z/c - 1 exact with one fma (|r| < 0.008;
#        c = 1 on the subinterval holding 1, where r = z - 1); log1p(r) by its Taylor series.
#   exp: t = (128*k + j) * ln2/128 + r, |r| <= ln2/256: exp(t) = 2**k * 2**(j/128) * exp(r).
# The special cases (C99's, which numpy follows) are chosen with selects at the end.

_POW_BITS = 7
_POW_N = 1 << _POW_BITS
_LOG_OFF = 0x3FE6955500000000  # the bits of 0.70572900772...: where z's range starts
_LOG_SHIFT = 52 - _POW_BITS  # z's top mantissa bits (after subtracting _LOG_OFF) index the table
_EXPONENT_BITS = -4503599627370496  # 0xFFF0000000000000 as an int64: sign and exponent
_DECIMAL = Context(prec=60)


def _split(v: Decimal, quantum: int) -> tuple[float, float]:
    """v as hi + lo: hi a multiple of 2**quantum (so that a product with a small integer, or a
    sum of such multiples below 2**(53 + quantum), is exact), lo the rest rounded to double."""
    n = int(_DECIMAL.multiply(v, Decimal(2**-quantum)).to_integral_value())
    hi = math.ldexp(float(n), quantum)
    return hi, float(_DECIMAL.subtract(v, Decimal(hi)))


def _bits_to_float(bits: int) -> float:
    return float(np.array(bits, dtype=np.int64).view(np.float64))


def compute_pow_tables() -> dict[str, list[float]]:
    """The tables of pow's log and exp, computed in 60-digit decimal arithmetic. They are stored
    in :mod:`graphjit.kernels.pow_tables` (computing them took 25 ms of every process's first
    compile); ``write_pow_tables()`` writes that module again, and a test checks it agrees.

    * ``LOG_INVC``, ``LOG_C_HI``, ``LOG_C_LO``: 1/c, and log(c) high and low, per subinterval of
      z; the high parts are multiples of 2**-43 like _POW_LN2_HI, so that
      ``k * _POW_LN2_HI + log(c)_hi`` is exact for |k| < 1100;
    * ``EXP2_HI``, ``EXP2_LO``: 2**(j/128) for j = 0..127 as a double-double."""
    tables: dict[str, list[float]] = {n: [] for n in _POW_TABLES}
    for i in range(_POW_N):
        a = _bits_to_float(_LOG_OFF + (i << _LOG_SHIFT))
        b = _bits_to_float(_LOG_OFF + ((i + 1) << _LOG_SHIFT))
        invc = 1.0 if a <= 1.0 < b else round(2 * _POW_N / (a + b)) / _POW_N
        hi, lo = _split(-_DECIMAL.ln(Decimal(invc)), -43)
        tables["LOG_INVC"].append(invc)
        tables["LOG_C_HI"].append(hi)
        tables["LOG_C_LO"].append(lo)
        v = _DECIMAL.power(Decimal(2), _DECIMAL.divide(Decimal(i), Decimal(_POW_N)))
        tables["EXP2_HI"].append(float(v))
        tables["EXP2_LO"].append(float(_DECIMAL.subtract(v, Decimal(float(v)))))
    return tables


_POW_TABLES = ("LOG_INVC", "LOG_C_HI", "LOG_C_LO", "EXP2_HI", "EXP2_LO")


def pow_tables_source() -> str:
    """The source of :mod:`graphjit.kernels.pow_tables`: each table as exact hex floats."""
    lines = [
        '"""Tables of pow in kernels/math.py, written by ``math.write_pow_tables()`` from',
        "``math.compute_pow_tables()`` (60-digit decimal arithmetic); do not edit. The hex",
        "floats are exact.",
        '"""',
        "",
        "import numpy as np",
        "",
        "",
        "def _table(hex_floats: str) -> np.ndarray:",
        "    return np.array([float.fromhex(h) for h in hex_floats.split()])",
        "",
    ]
    for name, values in compute_pow_tables().items():
        lines.append("")
        lines.append(f'{name} = _table("""')
        hexes = [v.hex() for v in values]
        lines += [" ".join(hexes[k : k + 4]) for k in range(0, len(hexes), 4)]
        lines.append('""")')
    return "\n".join(lines) + "\n"


def write_pow_tables() -> None:
    """Write :mod:`graphjit.kernels.pow_tables` again (after a change to
    ``compute_pow_tables``)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pow_tables.py")
    with open(path, "w") as f:
        f.write(pow_tables_source())


_LOG_INVC, _LOG_C_HI, _LOG_C_LO = pow_tables.LOG_INVC, pow_tables.LOG_C_HI, pow_tables.LOG_C_LO
_EXP2_HI, _EXP2_LO = pow_tables.EXP2_HI, pow_tables.EXP2_LO
_POW_LN2_HI, _POW_LN2_LO = _split(_DECIMAL.ln(Decimal(2)), -43)
# ln2/128 with a high part of 34 bits: kd * _EXP_C_HI is exact for |kd| < 2**18
_EXP_C_HI, _EXP_C_LO = _split(_DECIMAL.divide(_DECIMAL.ln(Decimal(2)), Decimal(_POW_N)), -42)
_EXP_INV_C = _POW_N / _LN2


@njit(**FLAGS)
def _log_dd(x: float) -> tuple[float, float]:
    """log(x) as a double-double (hi, lo) for positive finite x (denormals included)."""
    tiny = x < _MIN_NORMAL
    ix = f64_as_i64(x * _TWO54 if tiny else x)
    tmp = ix - _LOG_OFF
    i = (tmp >> _LOG_SHIFT) & (_POW_N - 1)
    k = _int_to_float(tmp >> 52) - (54.0 if tiny else 0.0)
    z = i64_as_f64(ix - (tmp & _EXPONENT_BITS))
    r = fma(z, _LOG_INVC[i], -1.0)  # exact
    t1 = k * _POW_LN2_HI + _LOG_C_HI[i]  # exact
    t2 = t1 + r
    bb = t2 - t1
    lo2 = (t1 - (t2 - bb)) + (r - bb)  # t1 + r = t2 + lo2 exactly
    ar = -0.5 * r
    ar2 = ar * r
    lo3 = fma(ar, r, -ar2)  # ar * r = ar2 + lo3 exactly
    hi = t2 + ar2
    lo4 = (t2 - hi) + ar2  # |t2| >= |ar2|: t2 + ar2 = hi + lo4 exactly
    # log1p(r) - r + r*r/2 to degree 10 (the next term is below 2**-80)
    p = -0.1
    p = p * r + 1.0 / 9.0
    p = p * r - 0.125
    p = p * r + 1.0 / 7.0
    p = p * r - 1.0 / 6.0
    p = p * r + 0.2
    p = p * r - 0.25
    p = p * r + 1.0 / 3.0
    p = p * (r * r * r)
    lo = (k * _POW_LN2_LO + _LOG_C_LO[i]) + lo2 + lo3 + lo4 + p
    y = hi + lo
    return y, (hi - y) + lo


@njit(**FLAGS)
def _exp_dd(hi: float, lo: float) -> float:
    """exp(hi + lo) for a double-double with |lo| <= ulp(hi); inf above 710 and 0 below -746
    (nan gives 0: the caller chooses the answer for nan)."""
    ok = (hi < 710.0) & (hi > -746.0)
    h = hi if ok else (710.0 if hi > 0.0 else -746.0)
    lo = lo if ok else 0.0
    kj = h * _EXP_INV_C + _I2F  # 128*k + j, rounded to an integer
    ki = f64_as_i64(kj) - _I2F_BITS
    kd = kj - _I2F
    r = (h - kd * _EXP_C_HI) - kd * _EXP_C_LO + lo
    j = ki & (_POW_N - 1)
    q = 1.0 / 720.0
    q = q * r + 1.0 / 120.0
    q = q * r + 1.0 / 24.0
    q = q * r + 1.0 / 6.0
    q = q * r + 0.5
    q = (q * r) * r + r  # exp(r) - 1, the next term below 2**-70
    t = _EXP2_HI[j]
    return _scale(t + (_EXP2_LO[j] + t * q), _int_to_float(ki >> _POW_BITS))


@njit(**FLAGS)
def _pow_edge(ax: float, y: float) -> float:
    """pow(|x|, y) where x is +-0 or +-inf or y is +-inf (and neither is nan, y is not 0)."""
    return 1.0 if ax == 1.0 else (_INF if (ax < 1.0) == (y < 0.0) else 0.0)


@njit(**FLAGS)
def pow(x: float, y: float) -> float:
    x = np.float64(x)
    y = np.float64(y)
    ax = abs(x)
    x_finite = (ax > 0.0) & (ax < _INF)  # and not 0 (nor nan)
    y_finite = abs(y) < _INF
    lhi, llo = _log_dd(ax if x_finite else 1.0)
    yc = y if y_finite else 0.0
    ehi = yc * lhi
    elo = fma(yc, lhi, -ehi) + yc * llo
    mag = _exp_dd(ehi, elo)
    mag = mag if x_finite & y_finite else _pow_edge(ax, y)
    integral = y_finite & (np.floor(y) == y)
    odd = integral & (np.floor(0.5 * y) != 0.5 * y)
    res = -mag if odd & (f64_as_i64(x) < 0) else mag
    res = math.nan if (x < 0.0) & (x > -_INF) & y_finite & (not integral) else res
    res = x + y if (x != x) | (y != y) else res
    return 1.0 if (y == 0.0) | (x == 1.0) else res


__all__ = [
    "cos", "erf", "exp", "exp2", "expm1", "log", "log1p", "log2", "pow", "sigmoid", "sin",
    "softplus", "tan", "tanh",
]  # fmt: skip


extern.load_bound(globals())  # its cached code loads checked (extern.install_loader)
