"""How a public function becomes a method, and the argument spellings methods share.

A method forwards to the public function of the same meaning (``x.exp()`` is ``gj.exp(x)``):
:func:`forward` makes ``fn`` the method ``x.name(*args)``, :func:`reflected` the reflected
operator ``other (op) x``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

# a function made into a method; typed Any so that a class may override it with any signature
# (Tensor's in-place operators, say)
Method = Any


def forward(fn: Callable[..., Any]) -> Method:
    """The method ``x.name(*args, **kwargs)`` that is ``fn(x, *args, **kwargs)``: a python
    function is that method already (bound to ``x`` as its first argument, with no wrapper call
    in between, which is most of a small eager op's cost); anything else callable is wrapped."""
    if isinstance(fn, FunctionType):
        return fn

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


def reflected(fn: Callable[..., Any]) -> Method:
    """The reflected operator ``other (op) x`` that is ``fn(other, x)``."""

    def method(self: Any, other: Any) -> Any:
        return fn(other, self)

    method.__name__ = method.__qualname__ = fn.__name__
    return method


def varargs_dims(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` as a tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def dim_or_axis(dim: Any, axis: Any, fn: str) -> Any:
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{fn}: give dim or axis, not both")
        return axis
    return tuple(dim) if isinstance(dim, list) else dim
