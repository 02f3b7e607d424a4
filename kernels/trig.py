"""Vectorisable sin, cos and tan in float64 (see :mod:`graphjit.kernels.math`).

An argument |x| >= pi/4 is reduced to r in [-pi/4, pi/4] and a quadrant q, with r kept as a
double-double (r0 + r1) so that the kernels lose nothing to the reduction. One reduction serves
every size of argument, up to the largest double (Payne-Hanek): for an argument of binary
exponent e only a window of the bits of 2/pi matters (higher bits give whole turns, lower ones
are below the precision needed). The window, as four doubles scaled by 2**(e - 52), is a row of
a table built at import from 2/pi to 1400 bits (a gather in the vector loop); the integer
mantissa times each part is exact with ``fma``, whole quarter turns are dropped, and the exact
terms are summed with two error-free passes, so that the result keeps full precision even for
the double closest to a multiple of pi/2 (6381956970095103 * 2**797, 2**-61 away).

A separate Cody-Waite path for moderate arguments was tried and dropped: both paths would run
for every element (a select, not a branch, keeps the loop vectorisable), so it only added code,
and compile time grows with the code inlined into every kernel. The kernels on [-pi/4, pi/4]
are fdlibm's (``__kernel_sin``/``__kernel_cos`` with the tail); tan is their quotient with its
rounding error fed back.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from graphjit.kernels import extern
from graphjit.kernels.bits import f64_as_i64, fma, i64_as_f64
from numba import njit

FLAGS: dict[str, Any] = {
    "cache": True,
    "fastmath": {"contract"},
    "nogil": True,
    "error_model": "numpy",
    "forceinline": True,  # LLVM's alwaysinline: its cost model would keep the larger ones calls
}

_PIO2_HI = 1.5707963267948966  # pi/2 as a double-double
_PIO2_LO = 6.123233995736766e-17
_PIO4 = 0.7853981633974483
_SIGN = -9223372036854775808  # the sign bit as an int64

_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11


# ------------------------------------------------------------------- the Payne-Hanek table
_PH_MIN_EXP = -1  # pi/4 > 2**-1: smaller arguments need no reduction
_PH_BITS = 1400


def _arctan_inv(n: int, one: int) -> int:
    """arctan(1/n) in fixed point (``one`` is 1.0)."""
    total, power, k, sign = 0, one // n, 1, 1
    while power:
        total += sign * (power // k)
        power //= n * n
        k += 2
        sign = -sign
    return total


def _two_over_pi_bits(bits: int) -> int:
    """floor(2/pi * 2**bits), from Machin's formula in integer arithmetic."""
    guard = 64
    one = 1 << (bits + guard)
    pi = 16 * _arctan_inv(5, one) - 4 * _arctan_inv(239, one)
    return (2 << (2 * (bits + guard))) // pi >> guard


def _payne_hanek_table() -> np.ndarray:
    """Row e: four doubles d_0..d_3 with sum(d_j) * M = x * 2/pi modulo 4 (up to ~2**-150),
    for x = M * 2**(e - 52) with an integer M in [2**52, 2**53): the bits of 2/pi from the
    first one x can turn into a fraction of a quarter turn, in 53-bit chunks, scaled by
    2**(e - 52)."""
    t = _two_over_pi_bits(_PH_BITS)
    rows = np.zeros((1024 - _PH_MIN_EXP, 4))
    for e in range(_PH_MIN_EXP, 1024):
        first = max(1, e - 53)  # bit i of 2/pi weighs 2**-i; bits before `first` give 4 * n
        for j in range(4):
            last = first + 53 * j + 52
            chunk = (t >> (_PH_BITS - last)) & ((1 << 53) - 1)
            rows[e - _PH_MIN_EXP, j] = math.ldexp(float(chunk), e - 52 - last)
    return rows


_PH = _payne_hanek_table()
_PH0 = np.ascontiguousarray(_PH[:, 0])
_PH1 = np.ascontiguousarray(_PH[:, 1])
_PH2 = np.ascontiguousarray(_PH[:, 2])
_PH3 = np.ascontiguousarray(_PH[:, 3])


# -------------------------------------------------------------------------------- reduction


@njit(**FLAGS)
def _two_sum(a: float, b: float) -> tuple[float, float]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(**FLAGS)
def _cascade(
    t0: float, t1: float, t2: float, t3: float, t4: float, t5: float, t6: float
) -> tuple[float, float, float, float, float, float, float]:
    """One error-free pass of two-sums: the same exact sum, its rounded value in the last term
    and the rounding errors in the others (a pass of Ogita, Rump and Oishi's SumK)."""
    t1, t0 = _two_sum(t0, t1)
    t2, t1 = _two_sum(t1, t2)
    t3, t2 = _two_sum(t2, t3)
    t4, t3 = _two_sum(t3, t4)
    t5, t4 = _two_sum(t4, t5)
    t6, t5 = _two_sum(t5, t6)
    return t0, t1, t2, t3, t4, t5, t6


@njit(**FLAGS)
def _reduce_huge(a: float) -> tuple[float, float, float]:
    """(q, r0, r1) with a = q * pi/2 + r0 + r1 (mod 2 pi) for a >= 1/2 (Payne-Hanek)."""
    e = (f64_as_i64(a) >> 52) - 1023
    e = e if e > _PH_MIN_EXP else _PH_MIN_EXP
    e = e if e < 1023 else 1023
    m = a * i64_as_f64((1075 - e) << 52)  # the integer mantissa: a * 2**(52 - e)
    row = e - _PH_MIN_EXP
    d0, d1, d2, d3 = _PH0[row], _PH1[row], _PH2[row], _PH3[row]
    # a * 2/pi as seven exact terms: m * d_j = p_j + e_j exactly (fma), and m * d3 (tiny)
    p0, p1, p2 = m * d0, m * d1, m * d2
    n = np.rint(p0)
    q = n - 4.0 * np.floor(n * 0.25)  # whole quarter turns, modulo 4
    terms = _cascade(p0 - n, fma(m, d0, -p0), p1, fma(m, d1, -p1), p2, fma(m, d2, -p2), m * d3)
    t0, t1, t2, t3, t4, t5, t6 = terms
    n = np.rint(t6)
    q += n
    # the sum cancels to as little as 2**-61 near a multiple of pi/2: a second pass (SumK with
    # K = 2) keeps it exact enough (tested at the worst double)
    t0, t1, t2, t3, t4, t5, t6 = _cascade(t0, t1, t2, t3, t4, t5, t6 - n)
    h, lo = _two_sum(t6, ((t0 + t1) + (t2 + t3)) + (t4 + t5))
    # (h + lo) quarter turns to radians, as a double-double
    r0 = h * _PIO2_HI
    r1 = fma(h, _PIO2_HI, -r0) + (h * _PIO2_LO + lo * _PIO2_HI)
    y0 = r0 + r1
    return q, y0, r1 - (y0 - r0)


@njit(**FLAGS)
def _reduce(a: float) -> tuple[float, float, float]:
    """(quadrant in 0..3, r0, r1) for a finite a >= 0."""
    small = a < _PIO4  # no reduction
    q, r0, r1 = _reduce_huge(a if not small else 1.0)
    q = q - 4.0 * np.floor(q * 0.25)
    return (0.0 if small else q), (a if small else r0), (0.0 if small else r1)


# ---------------------------------------------------------------------------------- kernels


@njit(**FLAGS)
def _ksin(x: float, y: float) -> float:
    """sin(x + y) for |x| <= pi/4, |y| <= ulp(x)/2."""
    z = x * x
    v = z * x
    r = _S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))
    return x - ((z * (0.5 * y - v * r) - y) - v * _S1)


@njit(**FLAGS)
def _kcos(x: float, y: float) -> float:
    """cos(x + y) for |x| <= pi/4, |y| <= ulp(x)/2."""
    z = x * x
    w = z * z
    r = z * (_C1 + z * (_C2 + z * _C3)) + w * w * (_C4 + z * (_C5 + z * _C6))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + (z * r - x * y))


@njit(**FLAGS)
def _with_sign_of(v: float, x: float) -> float:
    """v with its sign flipped where x's sign bit is set (-0.0 included)."""
    return i64_as_f64(f64_as_i64(v) ^ (f64_as_i64(x) & _SIGN))


@njit(**FLAGS)
def sin(x_in: float) -> float:
    x = np.float64(x_in)
    a = abs(x)
    finite = a < math.inf
    q, r0, r1 = _reduce(a if finite else 0.0)
    s, c = _ksin(r0, r1), _kcos(r0, r1)
    odd = (q == 1.0) | (q == 3.0)
    v = c if odd else s
    v = -v if q >= 2.0 else v
    return _with_sign_of(v, x) if finite else x - x


@njit(**FLAGS)
def cos(x_in: float) -> float:
    x = np.float64(x_in)
    a = abs(x)
    finite = a < math.inf
    q, r0, r1 = _reduce(a if finite else 0.0)
    s, c = _ksin(r0, r1), _kcos(r0, r1)
    odd = (q == 1.0) | (q == 3.0)
    v = s if odd else c
    v = -v if (q == 1.0) | (q == 2.0) else v
    return v if finite else x - x


@njit(**FLAGS)
def tan(x_in: float) -> float:
    x = np.float64(x_in)
    a = abs(x)
    finite = a < math.inf
    q, r0, r1 = _reduce(a if finite else 0.0)
    s, c = _ksin(r0, r1), _kcos(r0, r1)
    odd = (q == 1.0) | (q == 3.0)
    num = -c if odd else s
    den = s if odd else c
    v = num / den
    v = v + fma(-v, den, num) / den  # the quotient's rounding error fed back
    return _with_sign_of(v, x) if finite else x - x


__all__ = ["cos", "sin", "tan"]


extern.load_bound(globals())  # its cached code loads checked (extern.install_loader)
