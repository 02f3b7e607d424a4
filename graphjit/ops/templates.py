"""Templates the op families share: an elementwise float function defined by its partial
derivatives, and the public numpy-style function over an elementwise op (``out=`` included).

A family module defines each op with one call (``SINH = float_math("sinh", np.sinh, ...)``) and
its public name with another (``sinh = unary_function(SINH)``); the families still never import
each other, only this module, beside :mod:`graphjit.ops.prims` and
:mod:`graphjit.ops.shape_rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphjit.ir import TensorType
from graphjit.ops.dispatch import ArrayLike, Value, apply, write_out
from graphjit.ops.registry import OpDef, binds, defop, jvp_from
from graphjit.ops.shape_rules import elementwise_type

__all__ = ["elementwise_infer", "float_math", "unary_function", "binary_function"]


def elementwise_infer(name: str) -> Callable[..., TensorType]:
    """The type rule of an elementwise op: the inputs' broadcast shape and promoted dtype."""

    def infer(*types: TensorType) -> TensorType:
        return elementwise_type(name, *types)

    return infer


def float_math(name: str, impl: Any, *partials: Callable[..., Any]) -> OpDef:
    """A float-valued elementwise op of ``len(partials)`` inputs; ``partials[i](*inputs, out)`` is
    its derivative in input ``i``. The CPU template calls the prelude function of the same name
    (``kernels/scalar.py``)."""
    args = ", ".join(f"{{{i}}}" for i in range(len(partials)))

    def vjp_rule(p: Callable[..., Any]) -> Callable[..., Any]:
        return lambda g, out, *xs: g * p(*xs, out)

    def jvp_rule(p: Callable[..., Any]) -> Callable[..., Any]:
        return lambda t, out, *xs: t * p(*xs, out)

    return defop(
        name,
        infer=elementwise_infer(name),
        impl=impl,
        vjps=tuple(vjp_rule(p) for p in partials),
        jvp=jvp_from(*(jvp_rule(p) for p in partials)),
        kind="elementwise",
        lower=f"{name}({args})",
        to_float=True,
        expensive=True,
    )


def unary_function(op: OpDef, doc: str = "") -> Callable[..., Value]:
    """The public ``name(x, *, out=None)`` applying the one-input ``op``, numpy's way."""

    def fn(x: ArrayLike, *, out: Any = None) -> Value:
        return write_out(apply(op, x), out, op.name)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc or f"Elementwise {op.name}, as numpy.{op.name}."
    return binds(op)(fn)


def binary_function(op: OpDef, doc: str = "") -> Callable[..., Value]:
    """The public ``name(x1, x2, *, out=None)`` applying the two-input ``op`` with numpy
    broadcasting."""

    def fn(x1: ArrayLike, x2: ArrayLike, *, out: Any = None) -> Value:
        return write_out(apply(op, x1, x2), out, op.name)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = doc or f"Elementwise {op.name} with numpy broadcasting, as numpy.{op.name}."
    return binds(op)(fn)
