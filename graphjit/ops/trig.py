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
from graphjit.ir import TensorType
from graphjit.ops.dispatch import ArrayLike, Value, apply, astype, lift, write_out
from graphjit.ops.prims import equal, sqrt, where
from graphjit.ops.registry import OpDef, binds, defop, jvp_from
from graphjit.ops.shape_rules import elementwise_type

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


def _infer(name: str) -> Callable[..., TensorType]:
    def infer(*types: TensorType) -> TensorType:
        return elementwise_type(name, *types)

    return infer


def _math(name: str, impl: Any, *partials: Callable[..., Any]) -> OpDef:
    """A float-valued elementwise op of ``len(partials)`` inputs; ``partials[i](*inputs, out)`` is
    its derivative in input i. The template calls the prelude function of the same name."""
    args = ", ".join(f"{{{i}}}" for i in range(len(partials)))

    def vjp_rule(p: Callable[..., Any]) -> Callable[..., Any]:
        return lambda g, out, *xs: g * p(*xs, out)

    def jvp_rule(p: Callable[..., Any]) -> Callable[..., Any]:
        return lambda t, out, *xs: t * p(*xs, out)

    return defop(
        name,
        infer=_infer(name),
        impl=impl,
        vjps=tuple(vjp_rule(p) for p in partials),
        jvp=jvp_from(*(jvp_rule(p) for p in partials)),
        kind="elementwise",
        lower=f"{name}({args})",
        to_float=True,
        expensive=True,
    )


def _nonzero(x: Any) -> Any:
    """``x`` with its zeros replaced by 1: a safe denominator whose unused branch (and that
    branch's own derivative) stays finite."""
    return where(equal(x, 0), 1.0, x)


SINH = _math("sinh", np.sinh, lambda x, out: cosh(x))
COSH = _math("cosh", np.cosh, lambda x, out: sinh(x))
ARCSIN = _math("arcsin", np.arcsin, lambda x, out: 1.0 / sqrt(1.0 - x * x))
ARCCOS = _math("arccos", np.arccos, lambda x, out: -1.0 / sqrt(1.0 - x * x))
ARCSINH = _math("arcsinh", np.arcsinh, lambda x, out: 1.0 / sqrt(x * x + 1.0))
ARCCOSH = _math("arccosh", np.arccosh, lambda x, out: 1.0 / (sqrt(x - 1.0) * sqrt(x + 1.0)))
ARCTANH = _math("arctanh", np.arctanh, lambda x, out: 1.0 / (1.0 - x * x))
ARCTAN2 = _math(
    "arctan2",
    np.arctan2,
    lambda y, x, out: x / (x * x + y * y),
    lambda y, x, out: -y / (x * x + y * y),
)
HYPOT = _math(
    "hypot",
    np.hypot,
    lambda x, y, out: x / _nonzero(out),
    lambda x, y, out: y / _nonzero(out),
)


# --------------------------------------------------------------------------------------------------
# public functions


def _unary_fn(op: OpDef, doc: str) -> Callable[..., Value]:
    def fn(x: ArrayLike, *, out: Any = None) -> Value:
        return write_out(apply(op, x), out, op.name)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc
    return binds(op)(fn)


def _binary_fn(op: OpDef, doc: str) -> Callable[..., Value]:
    def fn(x1: ArrayLike, x2: ArrayLike, *, out: Any = None) -> Value:
        return write_out(apply(op, x1, x2), out, op.name)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc
    return binds(op)(fn)


def _doc(op: OpDef) -> str:
    return f"Elementwise {op.name}, as numpy.{op.name}."


sinh: Callable[[ArrayLike], Value] = _unary_fn(SINH, _doc(SINH))
cosh: Callable[[ArrayLike], Value] = _unary_fn(COSH, _doc(COSH))
arcsin: Callable[[ArrayLike], Value] = _unary_fn(ARCSIN, _doc(ARCSIN))
arccos: Callable[[ArrayLike], Value] = _unary_fn(ARCCOS, _doc(ARCCOS))
arcsinh: Callable[[ArrayLike], Value] = _unary_fn(ARCSINH, _doc(ARCSINH))
arccosh: Callable[[ArrayLike], Value] = _unary_fn(ARCCOSH, _doc(ARCCOSH))
arctanh: Callable[[ArrayLike], Value] = _unary_fn(ARCTANH, _doc(ARCTANH))
arctan2: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(
    ARCTAN2, "The angle of the point (x2, x1) (y = x1 first), as numpy.arctan2."
)
hypot: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(
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
