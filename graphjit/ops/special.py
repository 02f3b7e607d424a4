"""Special functions: logaddexp, logaddexp2, erfc, erfinv.

Each is an op of its own, as in :mod:`graphjit.ops.elementwise`: written as compositions of
``exp`` and ``log`` they would overflow or lose their digits (``log(exp(1000) + 1)``,
``1 - erf(6)``). Values at the edges are numpy's and scipy's: ``erfinv(+-1) = +-inf``, nan beyond;
``logaddexp(inf, inf) = inf``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit.ir import TensorType
from graphjit.ops.dispatch import ArrayLike, Value, apply, write_out
from graphjit.ops.prims import exp
from graphjit.ops.registry import OpDef, binds, defop, jvp_from
from graphjit.ops.shape_rules import elementwise_type

__all__ = ["logaddexp", "logaddexp2", "erfc", "erfinv"]

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0


def _infer(name: str) -> Callable[..., TensorType]:
    def infer(*types: TensorType) -> TensorType:
        return elementwise_type(name, *types)

    return infer


def _math(name: str, impl: Any, *partials: Callable[..., Any]) -> OpDef:
    """A float-valued elementwise op whose derivative in input i is ``partials[i](*inputs, out)``;
    the template calls the prelude function of the same name."""
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


def _erfc_impl(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfc as scipy_erfc  # noqa: PLC0415 - scipy.special loads slowly

    return scipy_erfc(x)


def _erfinv_impl(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfinv as scipy_erfinv  # noqa: PLC0415 - as above

    return scipy_erfinv(x)


# d/dx log(e^x + e^y) = e^(x - out): the softmax weight of x, at most 1 (never overflows)
LOGADDEXP = _math(
    "logaddexp",
    np.logaddexp,
    lambda x, y, out: exp(x - out),
    lambda x, y, out: exp(y - out),
)
LOGADDEXP2 = _math(
    "logaddexp2",
    np.logaddexp2,
    lambda x, y, out: 2.0 ** (x - out),
    lambda x, y, out: 2.0 ** (y - out),
)
ERFC = _math("erfc", _erfc_impl, lambda x, out: -TWO_OVER_SQRT_PI * exp(-(x * x)))
ERFINV = _math("erfinv", _erfinv_impl, lambda x, out: SQRT_PI_OVER_TWO * exp(out * out))


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


logaddexp: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(
    LOGADDEXP, "log(exp(x1) + exp(x2)) without overflow, as numpy.logaddexp."
)
logaddexp2: Callable[[ArrayLike, ArrayLike], Value] = _binary_fn(
    LOGADDEXP2, "log2(2**x1 + 2**x2) without overflow, as numpy.logaddexp2."
)
erfc: Callable[[ArrayLike], Value] = _unary_fn(
    ERFC, "1 - erf(x) without cancellation, as scipy.special.erfc."
)
erfinv: Callable[[ArrayLike], Value] = _unary_fn(
    ERFINV, "The inverse of erf on [-1, 1], as scipy.special.erfinv."
)
