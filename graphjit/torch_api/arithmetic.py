"""Arithmetic, the matrix product and elementwise math under PyTorch's names: ``gj.mul``,
``gj.clamp``, ``gj.mm``, ``gj.asin``, ``gj.rsqrt``, ``gj.lerp``, ... Where the name is only an
alias, it is the numpy-named function itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.dtypes import get_default_dtype, is_float
from graphjit.ops import comparison, floating, linalg, rounding, trig
from graphjit.ops import elementwise as ew
from graphjit.ops.dispatch import ArrayLike, Value, astype, lift, write_out

__all__ = ["mul", "sub", "div", "pow", "neg", "clamp", "mm"]
__all__ += ["asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "arctan2", "rsqrt",
            "frac", "lerp", "fix"]  # fmt: skip
__all__ += ["addcmul", "addcdiv", "clamp_min", "clamp_max", "xlogy", "logit", "sgn",
            "true_divide"]  # fmt: skip

mul = ew.multiply
sub = ew.subtract
pow = ew.power
neg = ew.negative
clamp = ew.clamp  # PyTorch's gradient at the bounds (gj.clip splits it there)


def div(input: ArrayLike, other: ArrayLike, *, rounding_mode: Any = None, out: Any = None) -> Value:  # noqa: A002
    """``input / other``, as torch.div: true division (``rounding_mode=None``), rounded toward
    -inf (``'floor'``, as ``//``) or toward zero (``'trunc'``). Rounded division of ints stays
    int; an int divided by zero gives 0, as numpy's ``//`` (PyTorch raises)."""
    if rounding_mode is None:
        result = ew.divide(input, other)
    elif rounding_mode == "floor":
        result = rounding.floor_divide(input, other)
    elif rounding_mode == "trunc":
        result = _trunc_divide(input, other)
    else:
        raise ValueError(
            f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"
        )
    return result if out is None else write_out(result, out, "div")


def _trunc_divide(a: ArrayLike, b: ArrayLike) -> Value:
    a, b = lift(a), lift(b)
    if is_float(a.dtype) or is_float(b.dtype):
        return rounding.trunc(ew.divide(a, b))
    q = rounding.floor_divide(a, b)
    # the floored quotient is one below the truncated one where the division is inexact and
    # the signs differ
    inexact = comparison.not_equal(rounding.remainder(a, b), 0)
    signs_differ = comparison.not_equal(comparison.less(a, 0), comparison.less(b, 0))
    return ew.add(q, astype(comparison.logical_and(inexact, signs_differ), q.dtype))


def mm(a: ArrayLike, b: ArrayLike, *, out: Any = None) -> Value:
    """Matrix product of two 2-D arrays, as torch.mm."""
    a, b = lift(a), lift(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects two 2-D arrays, got {a.ndim}-D and {b.ndim}-D; use matmul")
    return linalg.matmul(a, b, out=out)


asin = trig.arcsin
acos = trig.arccos
atan = ew.arctan
atan2 = arctan2 = trig.arctan2
asinh = trig.arcsinh
acosh = trig.arccosh
atanh = trig.arctanh
fix = rounding.trunc


def rsqrt(x: ArrayLike, *, out: Any = None) -> Value:
    """``1 / sqrt(x)``, as torch.rsqrt (inf at 0, nan below)."""
    return write_out(ew.reciprocal(ew.sqrt(x)), out, "rsqrt")


def frac(x: ArrayLike, *, out: Any = None) -> Value:
    """The fractional part ``x - trunc(x)`` (sign of x; exact in floating point), as torch.frac."""
    x = lift(x)
    return write_out(x - rounding.trunc(x), out, "frac")


def lerp(start: ArrayLike, end: ArrayLike, weight: Any, *, out: Any = None) -> Value:
    """``start + weight * (end - start)``, as torch.lerp: for ``|weight| >= 0.5`` computed from
    ``end`` (``end - (end - start) * (1 - weight)``), so that weight 1 gives ``end`` exactly."""
    start, end = lift(start), lift(end)
    diff = end - start
    near_start = ew.abs(weight) < 0.5
    return write_out(
        comparison.where(near_start, start + weight * diff, end - diff * (1 - weight)), out, "lerp"
    )


sgn = ew.sign  # the sign; for real numbers PyTorch's sgn is sign
true_divide = ew.divide


def _scaled(value: Any, x: Any) -> Any:
    return x if isinstance(value, (int, float)) and value == 1 else ew.multiply(value, x)


def addcmul(
    input: ArrayLike,  # noqa: A002
    tensor1: ArrayLike,
    tensor2: ArrayLike,
    *,
    value: Any = 1,
    out: Any = None,
) -> Value:
    """``input + value * tensor1 * tensor2`` (broadcast together), as torch.addcmul (for
    integer tensors ``value`` must be an integer)."""
    x, t1, t2 = lift(input), lift(tensor1), lift(tensor2)
    if isinstance(value, (float, np.floating)) and not any(is_float(t.dtype) for t in (x, t1, t2)):
        raise TypeError(f"addcmul: for integer inputs, value must be an integer, got {value!r}")
    return write_out(ew.add(x, _scaled(value, ew.multiply(t1, t2))), out, "addcmul")


def addcdiv(
    input: ArrayLike,  # noqa: A002
    tensor1: ArrayLike,
    tensor2: ArrayLike,
    *,
    value: Any = 1,
    out: Any = None,
) -> Value:
    """``input + value * tensor1 / tensor2``, as torch.addcdiv (integer division is refused, as
    in PyTorch)."""
    t1, t2 = lift(tensor1), lift(tensor2)
    if not (is_float(t1.dtype) or is_float(t2.dtype)):
        raise TypeError(
            f"addcdiv: integer division of {t1.dtype} by {t2.dtype} is not supported; give a "
            "float tensor1 or tensor2"
        )
    return write_out(ew.add(input, _scaled(value, ew.divide(t1, t2))), out, "addcdiv")


def clamp_min(input: ArrayLike, min: Any, *, out: Any = None) -> Value:  # noqa: A002
    """``max(input, min)`` with clamp's gradient rule, as torch.clamp_min."""
    return ew.clamp(input, min, None, out=out)


def clamp_max(input: ArrayLike, max: Any, *, out: Any = None) -> Value:  # noqa: A002
    """``min(input, max)`` with clamp's gradient rule, as torch.clamp_max."""
    return ew.clamp(input, None, max, out=out)


def _floating(x: Any) -> Any:
    x = lift(x)
    return x if is_float(x.dtype) else astype(x, get_default_dtype())


def xlogy(input: ArrayLike, other: ArrayLike, *, out: Any = None) -> Value:  # noqa: A002
    """``input * log(other)``, 0 where ``input`` is 0 (even where ``other`` is 0), NaN where
    ``other`` is NaN, as torch.xlogy (ints give the default float dtype). Where ``input`` is 0
    both derivatives are 0 (PyTorch gives NaN for ``other`` at ``0 * log(0)``)."""
    x, y = lift(input), lift(other)
    if not (is_float(x.dtype) or is_float(y.dtype)):
        x = _floating(x)
    zero = comparison.equal(x, 0)
    safe_y = comparison.where(zero, 1, y)  # no log(0) in the branch not taken: no 0 * inf
    result = comparison.where(zero, 0, ew.multiply(x, ew.log(safe_y)))
    if is_float(y.dtype):
        result = comparison.where(floating.isnan(y), y, result)
    return write_out(result, out, "xlogy")


def logit(input: ArrayLike, eps: Any = None, *, out: Any = None) -> Value:  # noqa: A002
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given
    (the gradient is then 0 outside that range), as torch.logit: ``p < eps`` gives ``eps``,
    else ``p > 1 - eps`` gives ``1 - eps`` (which decides when ``eps > 0.5``)."""
    p = _floating(input)
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
            raise TypeError(f"logit: eps must be a number or None, got {type(eps).__name__}")
        p = comparison.where(p < eps, eps, comparison.where(p > 1 - eps, 1 - eps, p))
    return write_out(ew.log(ew.divide(p, ew.subtract(1, p))), out, "logit")
