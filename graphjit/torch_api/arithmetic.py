"""Arithmetic, the matrix product and elementwise math under PyTorch's names: ``gj.mul``,
``gj.clamp``, ``gj.mm``, ``gj.asin``, ``gj.rsqrt``, ``gj.lerp``, ... Where the name is only an
alias, it is the numpy-named function itself."""

from __future__ import annotations

from typing import Any

from graphjit.ops import comparison, linalg, rounding, trig
from graphjit.ops import elementwise as ew
from graphjit.ops.dispatch import ArrayLike, Value, lift, write_out

__all__ = ["mul", "sub", "div", "pow", "neg", "clamp", "mm"]
__all__ += ["asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "arctan2", "rsqrt",
            "frac", "lerp", "fix"]  # fmt: skip

mul = ew.multiply
sub = ew.subtract
div = ew.divide
pow = ew.power
neg = ew.negative
clamp = ew.clamp  # PyTorch's gradient at the bounds (gj.clip splits it there)


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
