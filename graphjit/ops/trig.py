"""Trigonometric and hyperbolic functions beyond elementwise's sin, cos, tan and arctan: sinh,
cosh, their inverses, arcsin, arccos, arctan2, hypot, and the angle conversions.

Each op is one ``defop`` call as in :mod:`graphjit.ops.elementwise` (numpy reference, derivative
from one partial per input, a scalar template the CPU prelude ``kernels/scalar.py`` resolves).
Outside an inverse's domain (``arccosh`` below 1, ``arcsin`` beyond +-1) the value is nan and
``arctanh(+-1)`` is +-inf, as numpy's. ``hypot``'s gradient at the origin is 0 (as ``abs'(0)``);
``arctan2``'s there is nan (0/0, as PyTorch's). The angle conversions multiply by a constant.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ops.dispatch import ArrayLike, Value, astype, lift, write_out
from graphjit.ops.prims import equal, sqrt, where
from graphjit.ops.templates import binary_function, float_math, unary_function

__all__ = [
    "sinh",
    "cosh",
    "arcsin",
    "arccos",
    "arcsinh",
    "arccosh",
    "arctanh",
    "arctan2",
    "hypot",
    "deg2rad",
    "rad2deg",
    "degrees",
    "radians",
]


def _nonzero(x: Any) -> Any:
    """``x`` with its zeros replaced by 1: a safe denominator whose unused branch (and that
    branch's own derivative) stays finite."""
    return where(equal(x, 0), 1.0, x)


SINH = float_math("sinh", np.sinh, lambda x, out: cosh(x))
COSH = float_math("cosh", np.cosh, lambda x, out: sinh(x))
ARCSIN = float_math("arcsin", np.arcsin, lambda x, out: 1.0 / sqrt(1.0 - x * x))
ARCCOS = float_math("arccos", np.arccos, lambda x, out: -1.0 / sqrt(1.0 - x * x))
ARCSINH = float_math("arcsinh", np.arcsinh, lambda x, out: 1.0 / sqrt(x * x + 1.0))
ARCCOSH = float_math("arccosh", np.arccosh, lambda x, out: 1.0 / (sqrt(x - 1.0) * sqrt(x + 1.0)))
ARCTANH = float_math("arctanh", np.arctanh, lambda x, out: 1.0 / (1.0 - x * x))
ARCTAN2 = float_math(
    "arctan2",
    np.arctan2,
    lambda y, x, out: x / (x * x + y * y),
    lambda y, x, out: -y / (x * x + y * y),
)
HYPOT = float_math(
    "hypot",
    np.hypot,
    lambda x, y, out: x / _nonzero(out),
    lambda x, y, out: y / _nonzero(out),
)


# --------------------------------------------------------------------------------------------------
# public functions


sinh: Callable[[ArrayLike], Value] = unary_function(SINH)
cosh: Callable[[ArrayLike], Value] = unary_function(COSH)
arcsin: Callable[[ArrayLike], Value] = unary_function(ARCSIN)
arccos: Callable[[ArrayLike], Value] = unary_function(ARCCOS)
arcsinh: Callable[[ArrayLike], Value] = unary_function(ARCSINH)
arccosh: Callable[[ArrayLike], Value] = unary_function(ARCCOSH)
arctanh: Callable[[ArrayLike], Value] = unary_function(ARCTANH)
arctan2: Callable[[ArrayLike, ArrayLike], Value] = binary_function(
    ARCTAN2, "The angle of the point (x2, x1) (y = x1 first), as numpy.arctan2."
)
hypot: Callable[[ArrayLike, ArrayLike], Value] = binary_function(
    HYPOT, "sqrt(x1**2 + x2**2) without overflow, as numpy.hypot."
)

_DEG_PER_RAD = 180.0 / math.pi
_RAD_PER_DEG = math.pi / 180.0


def _float_scaled(x: ArrayLike, factor: float) -> Value:
    x = lift(x)
    if not is_float(x.dtype):
        x = astype(x, "float64")  # numpy computes ints and bools in float
    return x * factor


def deg2rad(x: ArrayLike, *, out: Any = None) -> Value:
    """Degrees to radians, ``x * (pi / 180)`` (numpy's formula, so the same bits)."""
    return write_out(_float_scaled(x, _RAD_PER_DEG), out, "deg2rad")


def rad2deg(x: ArrayLike, *, out: Any = None) -> Value:
    """Radians to degrees, ``x * (180 / pi)``."""
    return write_out(_float_scaled(x, _DEG_PER_RAD), out, "rad2deg")


radians = deg2rad
degrees = rad2deg
