"""PyTorch-named methods of the eager ``Tensor``: each forwards to the ``gj.*`` function of the
same meaning, the way :mod:`graphjit._methods` does for the numpy names.

Where PyTorch and numpy disagree on a name, the tensor follows PyTorch: ``transpose(0, 1)`` swaps
two dims, ``max(dim)`` returns ``(values, indices)``, ``var``/``std`` are unbiased by default,
``float()`` is float32. numpy's spellings still work where they do not clash: ``axis=``,
``keepdims=``, ``transpose()``, ``transpose((1, 0, 2))``, ``max(axis=0)`` (values only), ``ddof=``.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit.ir import Node
from graphjit.ops.shapes import normalize_axis

__all__ = ["TorchMethods", "MaxMin"]


class MaxMin(NamedTuple):
    """``t.max(dim)`` / ``t.min(dim)``: the values and their indices along ``dim``."""

    values: Any
    indices: Any


def _dims(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` as a tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def _axis(dim: Any, axis: Any, fn: str) -> Any:
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{fn}: give dim or axis, not both")
        return axis
    return tuple(dim) if isinstance(dim, list) else dim


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdim if keepdims is None else keepdims)


def _ddof(unbiased: bool, correction: Any, ddof: Any) -> Any:
    if ddof is not None:
        return ddof
    if correction is not None:
        return correction
    return 1 if unbiased else 0


def _label(t: Any, label: str) -> Any:
    from graphjit.autograd import labelled
    from graphjit.tensor import Tensor

    return labelled(t, label) if isinstance(t, Tensor) else t  # a traced node has no tape


class TorchMethods:
    """Mixin for ``Tensor``; needs ``shape``, ``ndim``, ``reshape`` and ``to``."""

    __slots__ = ()
    if TYPE_CHECKING:

        @property
        def shape(self) -> tuple[builtins.int, ...]: ...
        @property
        def ndim(self) -> builtins.int: ...
        @property
        def dtype(self) -> str: ...
        def reshape(self, *shape: Any) -> Any: ...

    # -- shape
    def size(self, dim: builtins.int | None = None) -> Any:
        """The shape (a tuple), or the length of dimension ``dim`` (None for a graph node's
        open dim)."""
        return self.shape if dim is None else self.shape[dim]

    def view(self, *shape: Any) -> Any:
        return self.reshape(*shape)

    def view_as(self, other: Any) -> Any:
        return self.reshape(tuple(other.shape))

    reshape_as = view_as

    def t(self) -> Any:
        """The transpose of a 1-d or 2-d tensor."""
        if self.ndim > 2:
            raise ValueError(
                f"t() expects a tensor with <= 2 dims, got {self.ndim}; use .transpose"
            )
        return self if self.ndim < 2 else F.transpose(self)

    def transpose(self, *dims: Any) -> Any:
        """``transpose(d0, d1)`` swaps two dims (PyTorch); ``transpose()`` reverses them and
        ``transpose((2, 0, 1))`` permutes them (numpy)."""
        if len(dims) == 2 and all(isinstance(d, (int, np.integer)) for d in dims):
            perm = list(range(self.ndim))
            a, b = (normalize_axis(d, max(self.ndim, 1), "transpose") for d in dims)
            perm[a], perm[b] = perm[b], perm[a]
            return F.transpose(self, tuple(perm))
        axes = _dims(dims)
        return F.transpose(self, tuple(axes) if axes else None)

    def permute(self, *dims: Any) -> Any:
        return F.transpose(self, tuple(_dims(dims)))

    def unsqueeze(self, dim: builtins.int) -> Any:
        return F.expand_dims(self, dim)

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> Any:
        return F.squeeze(self, _axis(dim, axis, "squeeze"))

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Any:
        if self.ndim == 0:
            return self.reshape(1)
        s = normalize_axis(start_dim, self.ndim, "flatten")
        e = normalize_axis(end_dim, self.ndim, "flatten")
        return self.reshape((*self.shape[:s], -1, *self.shape[e + 1 :]))

    def expand(self, *sizes: Any) -> Any:
        """Broadcast to ``sizes``; -1 keeps a dim."""
        sizes = _dims(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(
            self.shape[i - lead] if (s == -1 and i >= lead) else s for i, s in enumerate(sizes)
        )
        return F.broadcast_to(self, shape)

    def expand_as(self, other: Any) -> Any:
        return F.broadcast_to(self, tuple(other.shape))

    def contiguous(self) -> Any:
        return self

    # -- reductions
    def sum(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
        dtype: Any = None,
    ) -> Any:
        return F.sum(self, _axis(dim, axis, "sum"), _keep(keepdim, keepdims), dtype=dtype)

    def mean(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
        dtype: Any = None,
    ) -> Any:
        out = F.mean(self, _axis(dim, axis, "mean"), _keep(keepdim, keepdims), dtype=dtype)
        return _label(out, "Mean")

    def prod(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
        dtype: Any = None,
    ) -> Any:
        return F.prod(self, _axis(dim, axis, "prod"), _keep(keepdim, keepdims), dtype=dtype)

    def _extreme(
        self, which: str, dim: Any, keepdim: builtins.bool, axis: Any, keepdims: Any
    ) -> Any:
        if isinstance(dim, (TorchMethods, Node)):  # t.max(other): elementwise, as PyTorch
            return (F.maximum if which == "max" else F.minimum)(self, dim)
        reduce = F.max if which == "max" else F.min
        keep = _keep(keepdim, keepdims)
        if axis is not None or dim is None:  # numpy spelling, or the whole tensor: values only
            return reduce(self, _axis(dim, axis, which), keep)
        arg = F.argmax if which == "max" else F.argmin
        return MaxMin(reduce(self, dim, keep), arg(self, dim, keep))

    def max(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        """The maximum; with ``dim`` (PyTorch) a ``(values, indices)`` pair; with ``axis``
        (numpy) the values only; given a tensor, the elementwise maximum."""
        return self._extreme("max", dim, keepdim, axis, keepdims)

    def min(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        """The minimum; see :meth:`max`."""
        return self._extreme("min", dim, keepdim, axis, keepdims)

    def amax(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return F.max(self, _axis(dim, None, "amax"), keepdim)

    def amin(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return F.min(self, _axis(dim, None, "amin"), keepdim)

    def argmax(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        return F.argmax(self, _axis(dim, axis, "argmax"), _keep(keepdim, keepdims))

    def argmin(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        return F.argmin(self, _axis(dim, axis, "argmin"), _keep(keepdim, keepdims))

    def var(
        self,
        dim: Any = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
        *,
        correction: Any = None,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
        ddof: Any = None,
    ) -> Any:
        """Variance; unbiased (``correction=1``) by default as in PyTorch (numpy: ``ddof=0``)."""
        ddof = _ddof(unbiased, correction, ddof)
        out = F.var(self, _axis(dim, axis, "var"), ddof=ddof, keepdims=_keep(keepdim, keepdims))
        return _label(out, "Var")

    def std(
        self,
        dim: Any = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
        *,
        correction: Any = None,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
        ddof: Any = None,
    ) -> Any:
        """Standard deviation; unbiased by default as in PyTorch."""
        ddof = _ddof(unbiased, correction, ddof)
        out = F.std(self, _axis(dim, axis, "std"), ddof=ddof, keepdims=_keep(keepdim, keepdims))
        return _label(out, "Std")

    def all(self) -> Any:
        return F.min(F.astype(self, "bool"))

    def any(self) -> Any:
        return F.max(F.astype(self, "bool"))

    # -- elementwise
    def add(self, other: Any, alpha: Any = 1) -> Any:
        return F.add(self, other if alpha == 1 else F.multiply(alpha, other))

    def sub(self, other: Any, alpha: Any = 1) -> Any:
        return F.subtract(self, other if alpha == 1 else F.multiply(alpha, other))

    def mul(self, other: Any) -> Any:
        return F.multiply(self, other)

    def div(self, other: Any) -> Any:
        return F.divide(self, other)

    multiply, divide, subtract = mul, div, sub

    def pow(self, exponent: Any) -> Any:
        return F.power(self, exponent)

    def matmul(self, other: Any) -> Any:
        return F.matmul(self, other)

    mm = matmul

    def neg(self) -> Any:
        return F.negative(self)

    def abs(self) -> Any:
        return F.abs(self)

    def sign(self) -> Any:
        return F.sign(self)

    def square(self) -> Any:
        return F.square(self)

    def reciprocal(self) -> Any:
        return F.reciprocal(self)

    def sin(self) -> Any:
        return F.sin(self)

    def cos(self) -> Any:
        return F.cos(self)

    def sigmoid(self) -> Any:
        return F.sigmoid(self)

    def relu(self) -> Any:
        return F.relu(self)

    def log1p(self) -> Any:
        return F.log1p(self)

    def expm1(self) -> Any:
        return F.expm1(self)

    def floor(self) -> Any:
        return F.floor(self)

    def ceil(self) -> Any:
        return F.ceil(self)

    def round(self) -> Any:
        return F.round(self)

    def softmax(self, dim: Any = -1) -> Any:
        return F.softmax(self, dim)

    def log_softmax(self, dim: Any = -1) -> Any:
        return F.log_softmax(self, dim)

    def clamp(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002
        return F.clip(self, min, max)

    def maximum(self, other: Any) -> Any:
        return F.maximum(self, other)

    def minimum(self, other: Any) -> Any:
        return F.minimum(self, other)

    def eq(self, other: Any) -> Any:
        return F.equal(self, other)

    def ne(self, other: Any) -> Any:
        return F.not_equal(self, other)

    def lt(self, other: Any) -> Any:
        return F.less(self, other)

    def le(self, other: Any) -> Any:
        return F.less_equal(self, other)

    def gt(self, other: Any) -> Any:
        return F.greater(self, other)

    def ge(self, other: Any) -> Any:
        return F.greater_equal(self, other)

    # -- dtype
    def float(self) -> Any:
        """As float32 (PyTorch's ``float``; graphjit's default float is float64)."""
        return F.astype(self, "float32")

    def double(self) -> Any:
        return F.astype(self, "float64")

    def long(self) -> Any:
        return F.astype(self, "int64")

    def int(self) -> Any:
        return F.astype(self, "int32")

    def bool(self) -> Any:
        return F.astype(self, "bool")

    def type(self, dtype: Any = None) -> Any:
        """The dtype name, or (given a dtype) the tensor converted to it."""
        return self.dtype if dtype is None else F.astype(self, dtype)
