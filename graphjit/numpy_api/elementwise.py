"""numpy's elementwise functions composed of graphjit's ops: ``fmod``, ``cbrt``, ``sinc``,
``float_power``, ``ldexp``, ``rint``, ``positive``, ``logical_xor``, ``gcd``, ``lcm``.

numpy's bit operations (``bitwise_*``, ``invert``, the shifts) are ops of their own
(:mod:`graphjit.ops.bitwise`); ``nextafter``/``spacing`` are not provided.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit.dtypes import as_array, get_default_dtype, is_float, is_int
from graphjit.ir import Node
from graphjit.numpy_api.naming import reports_as_itself
from graphjit.ops import comparison, elementwise, rounding
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    astype,
    eager_result,
    is_tensor,
    lift,
    lift_together,
    result_dtype,
    untracked_array,
    write_out,
)

__all__ = ["fmod", "cbrt", "sinc", "float_power", "ldexp", "rint", "positive", "logical_xor",
           "gcd", "lcm"]  # fmt: skip


def _as_float(x: Any) -> Any:
    return x if is_float(x.dtype) else astype(x, get_default_dtype())


@reports_as_itself
def fmod(x1: ArrayLike, x2: ArrayLike, *, out: Any = None) -> Value:
    """C's remainder of ``x1 / x2``, with the sign of the dividend ``x1``, as numpy.fmod and
    torch.fmod (``remainder``/``%`` takes the divisor's sign). ``fmod(x, 0)`` is NaN for floats
    and 0 for ints (numpy). Exact: the remainder of the magnitudes, given ``x1``'s sign. The
    gradient is ``1`` for ``x1`` and ``-trunc(x1 / x2)`` for ``x2``."""
    dtype = result_dtype([x1, x2])
    if dtype == "bool":
        raise TypeError("fmod: not defined for bool inputs; cast with .astype first")
    a, b = _operands(x1, x2, dtype)
    if is_float(dtype):
        magnitude = rounding.remainder(elementwise.abs(a), elementwise.abs(b))
        result = rounding.copysign(magnitude, a)
    else:  # from the divisor-signed remainder: |x| of the most negative int does not exist
        rem = rounding.remainder(a, b)
        other_sign = comparison.not_equal(rem < 0, a < 0)
        moved = comparison.logical_and(comparison.not_equal(rem, 0), other_sign)
        result = comparison.where(moved, rem - b, rem)
    return write_out(result, out, "fmod")


def _operands(x1: Any, x2: Any, dtype: str) -> tuple[Any, Any]:
    """``x1`` and ``x2`` lifted together in ``dtype``; a python int that does not fit it raises
    IntegerOutOfRangeError, as numpy raises OverflowError (a cast would wrap it)."""
    fitted = [as_array(v, dtype) if type(v) is int else v for v in (x1, x2)]
    a, b = lift_together(*fitted)
    return astype(a, dtype), astype(b, dtype)


@reports_as_itself
def cbrt(x: ArrayLike, *, out: Any = None) -> Value:
    """The real cube root, as numpy.cbrt (ints give float64): ``copysign(|x| ** (1/3), x)``,
    within an ulp or two of numpy's correctly rounded ``cbrt``."""
    v = _as_float(lift(x))
    return write_out(rounding.copysign(elementwise.abs(v) ** (1.0 / 3.0), v), out, "cbrt")


@reports_as_itself
def sinc(x: ArrayLike) -> Value:
    """The normalised sinc ``sin(pi x) / (pi x)`` (1 at 0), as numpy.sinc and torch.sinc, with
    numpy's formula (so equal to it bit for bit). At 0 the value comes from the Taylor series
    ``1 - (pi x)**2 / 6 + (pi x)**4 / 120``, whose derivatives (0, then ``-pi**2 / 3``) are
    sinc's there."""
    v = _as_float(lift(x))
    zero = comparison.equal(v, 0)
    y = math.pi * comparison.where(zero, 1.0e-20, v)
    z = (math.pi * v) ** 2
    series = 1 - z / 6 + z * z / 120
    return comparison.where(zero, series, elementwise.sin(y) / y)


@reports_as_itself
def float_power(x1: ArrayLike, x2: ArrayLike, *, out: Any = None) -> Value:
    """``x1 ** x2`` computed in float64, as numpy.float_power and torch.float_power."""
    a, b = lift_together(x1, x2)
    result = elementwise.power(astype(a, "float64"), astype(b, "float64"))
    return write_out(result, out, "float_power")


@reports_as_itself
def ldexp(x1: ArrayLike, x2: ArrayLike, *, out: Any = None) -> Value:
    """``x1 * 2 ** x2`` for integer ``x2``, as numpy.ldexp and torch.ldexp (ints ``x1`` give
    float64). Scaled in two halves so that a large exponent with a small mantissa does not
    overflow on the way."""
    mantissa, exponent = lift_together(x1, x2)
    mantissa = _as_float(mantissa)
    if exponent.dtype == "bool":  # numpy takes bools as the ints 0 and 1
        exponent = astype(exponent, "int8")
    if not is_int(exponent.dtype):
        raise TypeError(f"ldexp: the exponent x2 must be an integer array, got {exponent.dtype}")
    half = rounding.floor_divide(exponent, 2)
    step = elementwise.power(2.0, astype(half, mantissa.dtype))
    rest = elementwise.power(2.0, astype(exponent - half, mantissa.dtype))
    return write_out(mantissa * step * rest, out, "ldexp")


@reports_as_itself
def rint(x: ArrayLike, *, out: Any = None) -> Value:
    """Round to the nearest integer, ties to even, as numpy.rint (ints and bools give float64,
    as numpy)."""
    return write_out(elementwise.round(_as_float(lift(x))), out, "rint")


@reports_as_itself
def positive(x: ArrayLike, *, out: Any = None) -> Value:
    """``+x``, a copy, as numpy.positive and torch.positive (bools are refused, as numpy)."""
    v = lift(x)
    if v.dtype == "bool":
        raise TypeError("positive: not defined for bool inputs")
    return write_out(v * 1, out, "positive")


@reports_as_itself
def logical_xor(x1: ArrayLike, x2: ArrayLike, *, out: Any = None) -> Value:
    """Elementwise exclusive or of the truth values, as numpy.logical_xor and torch.logical_xor
    (a bool array)."""
    a, b = (astype(v, "bool") for v in lift_together(x1, x2))
    return write_out(comparison.not_equal(a, b), out, "logical_xor")


# Euclid's algorithm takes at most as many steps as the largest Fibonacci number that fits the
# dtype has predecessors (Lamé), and one more when the first argument is the smaller: unrolled to
# that count, the loop fits a graph.
_EUCLID_STEPS = {"uint8": 14, "int8": 13, "int16": 25, "int32": 48, "int64": 94}


def _int_pair(name: str, x1: Any, x2: Any) -> tuple[Any, Any, str]:
    dtype = result_dtype([x1, x2])
    if not is_int(dtype):
        raise TypeError(f"{name}: needs integer inputs, got {dtype}")
    x1, x2 = (as_array(v, dtype) if type(v) is int else v for v in (x1, x2))
    return x1, x2, dtype


def _host_values(*xs: Any) -> list[Any] | None:
    """The arguments as numpy values when none is a graph node or a tensor off the host (ints
    record nothing on the tape), else None."""
    out = []
    for x in xs:
        if isinstance(x, Node):
            return None
        if is_tensor(x):
            arr = untracked_array(x)
            if arr is None:
                return None
            out.append(arr)
        else:
            out.append(x)
    return out


def _euclid(a: Any, b: Any, dtype: str) -> Any:
    a, b = (elementwise.abs(astype(v, dtype)) for v in lift_together(a, b))
    for _ in range(_EUCLID_STEPS[dtype]):
        done = comparison.equal(b, 0)
        step = rounding.remainder(a, comparison.where(done, 1, b))
        a, b = comparison.where(done, a, b), comparison.where(done, 0, step)
    return a


@reports_as_itself
def gcd(x1: ArrayLike, x2: ArrayLike, *, out: Any = None) -> Value:
    """The greatest common divisor of ``|x1|`` and ``|x2|`` (integers; ``gcd(0, 0)`` is 0), as
    numpy.gcd and torch.gcd. In a graph, Euclid's algorithm unrolled to its longest run for the
    dtype (94 steps for int64)."""
    x1, x2, dtype = _int_pair("gcd", x1, x2)
    values = _host_values(x1, x2)
    if values is not None:
        result = eager_result(np.asarray(np.gcd(*values, dtype=dtype)))
    else:
        result = _euclid(x1, x2, dtype)
    return write_out(result, out, "gcd")


@reports_as_itself
def lcm(x1: ArrayLike, x2: ArrayLike, *, out: Any = None) -> Value:
    """The least common multiple of ``|x1|`` and ``|x2|`` (integers; 0 if either is 0), as
    numpy.lcm and torch.lcm: ``|x1| // gcd * |x2|``."""
    x1, x2, dtype = _int_pair("lcm", x1, x2)
    values = _host_values(x1, x2)
    if values is not None:
        return write_out(eager_result(np.asarray(np.lcm(*values, dtype=dtype))), out, "lcm")
    a, b = (elementwise.abs(astype(v, dtype)) for v in lift_together(x1, x2))
    divisor = _euclid(a, b, dtype)
    safe = comparison.where(comparison.equal(divisor, 0), 1, divisor)
    result = comparison.where(comparison.equal(divisor, 0), 0, rounding.floor_divide(a, safe) * b)
    return write_out(result, out, "lcm")
