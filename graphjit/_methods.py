"""Operators and numpy-style methods shared by graph ``Node`` and eager ``Tensor``.

Every method forwards to the public ``gj.*`` function of the same meaning, which dispatches on the
argument kinds (graph node or eager tensor). The function namespace is bound once by
``graphjit.ops`` at import time, so ``ir`` does not import the op modules.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

_F: Any = None  # the graphjit.ops namespace, bound by graphjit.ops.__init__
_TORCH_FLAVOUR: ContextVar[bool] = ContextVar("graphjit_torch_flavour", default=False)


def bind(namespace: Any) -> None:
    global _F
    _F = namespace


@contextlib.contextmanager
def torch_flavour() -> Iterator[None]:
    """Inside, graph nodes' methods follow PyTorch where it disagrees with numpy
    (``x.transpose(0, 1)``, ``x.max(1)`` with indices, ``x.var()`` unbiased, ``x.size(0)``) and
    nodes also have the tensor-only methods (``expand``, ``view_as``, ...). ``gj.jit`` traces a
    function called with tensors this way, so it traces the way it runs eagerly."""
    token = _TORCH_FLAVOUR.set(True)
    try:
        yield
    finally:
        _TORCH_FLAVOUR.reset(token)


def torch_flavoured() -> bool:
    return _TORCH_FLAVOUR.get()


def torch_method(obj: Any, name: str) -> Any:
    """``TorchMethods.<name>`` bound to ``obj``, or None when there is no such method."""
    from graphjit._torch_methods import TorchMethods

    fn = getattr(TorchMethods, name, None)
    return fn.__get__(obj, type(obj)) if callable(fn) else None


class _Flavoured:
    """A method whose numpy meaning differs from PyTorch's: numpy's, unless nodes are
    :func:`torch_flavour`-ed (tensors resolve PyTorch's version before reaching this one)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self.fn
        if _TORCH_FLAVOUR.get():
            return torch_method(obj, self.name)
        return self.fn.__get__(obj, owner)


class ArrayMethods:
    __slots__ = ()
    __array_priority__ = 1000  # numpy defers to our reflected operators: ndarray + node -> node

    # arithmetic
    def __add__(self, other: Any) -> Any:
        return _F.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return _F.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return _F.subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return _F.subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return _F.multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return _F.multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return _F.divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _F.divide(other, self)

    def __pow__(self, other: Any) -> Any:
        return _F.power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return _F.power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return _F.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _F.matmul(other, self)

    def __neg__(self) -> Any:
        return _F.negative(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _F.abs(self)

    # comparisons (== and != are left to subclasses: identity for graph nodes)
    def __lt__(self, other: Any) -> Any:
        return _F.less(self, other)

    def __le__(self, other: Any) -> Any:
        return _F.less_equal(self, other)

    def __gt__(self, other: Any) -> Any:
        return _F.greater(self, other)

    def __ge__(self, other: Any) -> Any:
        return _F.greater_equal(self, other)

    def __and__(self, other: Any) -> Any:
        return _F.logical_and(self, other)

    def __rand__(self, other: Any) -> Any:
        return _F.logical_and(other, self)

    def __or__(self, other: Any) -> Any:
        return _F.logical_or(self, other)

    def __ror__(self, other: Any) -> Any:
        return _F.logical_or(other, self)

    def __invert__(self) -> Any:
        return _F.logical_not(self)

    def __getitem__(self, index: Any) -> Any:
        return _F.getitem(self, index)

    # numpy-named methods
    @property
    def T(self) -> Any:  # noqa: N802 - numpy spelling
        return _F.transpose(self)

    def sum(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.sum(self, axis, keepdims, **kw)

    def mean(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.mean(self, axis, keepdims, **kw)

    @_Flavoured
    def max(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.max(self, axis, keepdims, **kw)

    @_Flavoured
    def min(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.min(self, axis, keepdims, **kw)

    def prod(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.prod(self, axis, keepdims, **kw)

    @_Flavoured
    def var(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.var(self, axis, keepdims=keepdims, **kw)

    @_Flavoured
    def std(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.std(self, axis, keepdims=keepdims, **kw)

    def argmax(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.argmax(self, axis, keepdims, **kw)

    def argmin(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Any:
        return _F.argmin(self, axis, keepdims, **kw)

    def reshape(self, *shape: Any) -> Any:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _F.reshape(self, shape)

    @_Flavoured
    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _F.transpose(self, axes or None)

    def astype(self, dtype: Any) -> Any:
        return _F.astype(self, dtype)

    def exp(self) -> Any:
        return _F.exp(self)

    def log(self) -> Any:
        return _F.log(self)

    def tanh(self) -> Any:
        return _F.tanh(self)

    def sqrt(self) -> Any:
        return _F.sqrt(self)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Any:
        return _F.clip(self, a_min, a_max)

    @_Flavoured
    def flatten(self) -> Any:
        return _F.reshape(self, (-1,))

    def squeeze(self, axis: Any = None) -> Any:
        return _F.squeeze(self, axis)

    def dot(self, other: Any) -> Any:
        return _F.dot(self, other)

    # PyTorch spellings whose meaning is the same in numpy terms, so that eager-style code also
    # runs on graph nodes. Where the two libraries disagree (the @_Flavoured methods: transpose(0,
    # 1), max(dim) returning indices, var's default ddof) nodes follow numpy, except inside
    # torch_flavour() (gj.jit tracing a function called with tensors).
    def pow(self, exponent: Any) -> Any:
        return _F.power(self, exponent)

    def mul(self, other: Any) -> Any:
        return _F.multiply(self, other)

    def div(self, other: Any) -> Any:
        return _F.divide(self, other)

    def neg(self) -> Any:
        return _F.negative(self)

    def matmul(self, other: Any) -> Any:
        return _F.matmul(self, other)

    def mm(self, other: Any) -> Any:
        return _F.mm(self, other)

    def clamp(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - PyTorch's names
        return _F.clip(self, min, max)

    def t(self) -> Any:
        return _F.t(self)

    def view(self, *shape: Any) -> Any:
        return self.reshape(*shape)

    def unsqueeze(self, dim: int) -> Any:
        return _F.expand_dims(self, dim)

    def permute(self, *dims: Any) -> Any:
        return _F.permute(self, *dims)

    def float(self) -> Any:
        return _F.astype(self, "float32")

    def double(self) -> Any:
        return _F.astype(self, "float64")

    def dim(self) -> int:
        ndim: int = self.ndim  # type: ignore[attr-defined]
        return ndim
