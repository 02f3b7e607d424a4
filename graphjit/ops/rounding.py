"""Rounding toward zero, floor division and its remainder, and sign manipulation: trunc,
floor_divide (``//``), remainder and mod (``%``), copysign, heaviside.

``remainder`` takes the divisor's sign and ``floor_divide`` rounds toward -inf, as numpy's (and
PyTorch's ``%`` and ``//`` since 1.13); ``floor_divide(a, b) * b + remainder(a, b) == a``. An int
divided by 0 gives 0 (numpy's answer, with no warning); a float gives inf or nan.

Gradients: ``trunc`` and ``floor_divide`` are piecewise constant (zero, as ``floor``);
``remainder`` has ``d/da = 1`` and ``d/db = -floor_divide(a, b)``; ``copysign(x, y)`` has
``d/dx = sign(x) * copysign(1, y)`` (0 at x = 0, as ``abs'(0)``) and none in ``y``;
``heaviside(x, h0)`` passes the gradient to ``h0`` where x == 0, and none to x.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit.ir import TensorType
from graphjit.ops.dispatch import ArrayLike, Value, astype
from graphjit.ops.prims import equal, where
from graphjit.ops.registry import defop, jvp_from, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import elementwise_type
from graphjit.ops.templates import binary_function, unary_function

__all__ = ["trunc", "floor_divide", "remainder", "mod", "copysign", "heaviside"]


def _infer(name: str, allow_bool: bool = True) -> Callable[..., TensorType]:
    def infer(*types: TensorType) -> TensorType:
        if not allow_bool and all(t.dtype == "bool" for t in types):
            raise TypeError(f"{name}: not defined for bool inputs; cast with .astype first")
        return elementwise_type(name, *types)

    return infer


def _quietly(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """numpy's function without its divide-by-zero warning (the result is the same)."""

    def impl(*xs: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(*xs)

    return impl


def _sign(x: Any) -> Any:
    """sign(x) from comparisons (0 at 0), in x's dtype."""
    return astype(x > 0, x.dtype) - astype(x < 0, x.dtype)


TRUNC = defop(
    "trunc",
    infer=_infer("trunc", allow_bool=False),
    impl=np.trunc,
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="elementwise",
    lower="trunc({0})",
    doc="rounded toward zero, as numpy.trunc (ints are kept)",
)
FLOOR_DIVIDE = defop(
    "floor_divide",
    infer=_infer("floor_divide", allow_bool=False),
    impl=_quietly(np.floor_divide),
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="elementwise",
    lower="floor_divide({0}, {1})",
    doc="a / b rounded toward -inf, as numpy.floor_divide and the // operator",
)
REMAINDER = defop(
    "remainder",
    infer=_infer("remainder", allow_bool=False),
    impl=_quietly(np.remainder),
    vjps=(lambda g, out, a, b: g, lambda g, out, a, b: -g * floor_divide(a, b)),
    jvp=jvp_from(lambda t, out, a, b: t, lambda t, out, a, b: -t * floor_divide(a, b)),
    kind="elementwise",
    lower="remainder({0}, {1})",
    doc="a - floor_divide(a, b) * b, with the divisor's sign, as numpy.remainder and %",
)
COPYSIGN = defop(
    "copysign",
    infer=_infer("copysign"),
    impl=np.copysign,
    vjps=(lambda g, out, x, y: g * (_sign(x) * copysign(1.0, y)), None),
    jvp=jvp_from(lambda t, out, x, y: t * (_sign(x) * copysign(1.0, y)), None),
    kind="elementwise",
    lower="copysign({0}, {1})",
    to_float=True,
    doc="|x| with the sign of y, as numpy.copysign",
)
HEAVISIDE = defop(
    "heaviside",
    infer=_infer("heaviside"),
    impl=np.heaviside,
    vjps=(None, lambda g, out, x, h0: where(equal(x, 0), g, 0.0)),
    jvp=jvp_from(None, lambda t, out, x, h0: where(equal(x, 0), t, 0.0)),
    kind="elementwise",
    lower="heaviside({0}, {1})",
    to_float=True,
    doc="0 where x < 0, 1 where x > 0, h0 where x == 0, as numpy.heaviside",
)


# --------------------------------------------------------------------------------------------------
# public functions


trunc: Callable[[ArrayLike], Value] = unary_function(
    TRUNC, "Rounded toward zero, as numpy.trunc (ints are kept)."
)
floor_divide: Callable[[ArrayLike, ArrayLike], Value] = binary_function(
    FLOOR_DIVIDE, "x1 / x2 rounded toward -inf, as numpy.floor_divide (//)."
)
remainder: Callable[[ArrayLike, ArrayLike], Value] = binary_function(
    REMAINDER, "x1 - floor_divide(x1, x2) * x2, as numpy.remainder (%)."
)
mod = remainder
copysign: Callable[[ArrayLike, ArrayLike], Value] = binary_function(
    COPYSIGN, "|x1| with the sign of x2, as numpy.copysign."
)
heaviside: Callable[[ArrayLike, ArrayLike], Value] = binary_function(
    HEAVISIDE, "0 below 0, 1 above, x2 at 0, as numpy.heaviside."
)
