"""The operators and methods of graph nodes and eager tensors, installed from one table.

Every method forwards to the public function of the same meaning (:mod:`graphjit.ops` for numpy's
names, :mod:`graphjit.torch_api` for PyTorch's), which dispatches on its arguments: graph nodes
build graph, eager tensors compute. Two tables say what the methods mean:

* :class:`NumpyMethods`: operators, numpy's methods, and the PyTorch spellings whose meaning is the
  same in both libraries (``x.pow``, ``x.view``, ``x.t()``). Graph nodes and tensors get these.
* :class:`TorchMethods`: PyTorch's meaning where it differs (``transpose(0, 1)`` swaps two dims,
  ``max(dim)`` returns values and indices, ``var`` is unbiased) and PyTorch-only methods
  (``size()``, ``expand``). Tensors get these over the numpy ones; graph nodes see them only inside
  :func:`torch_flavour` (``gj.jit`` tracing a function called with tensors), so a function traces
  to what it computes eagerly.

:func:`install` puts both on :class:`~graphjit.ir.Node` and :class:`~graphjit.tensor.Tensor`; the
IR and the Tensor define no op methods of their own, so they sit below the ops they would call.
``graphjit/__init__.py`` calls it once.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from types import FunctionType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit import torch_api
from graphjit.autodiff.tape import labelled
from graphjit.ir import Node
from graphjit.ops.shape_rules import normalize_axis
from graphjit.serialize import reduce_node
from graphjit.tensor import Tensor

__all__ = [
    "MaxMin",
    "NumpyMethods",
    "TorchMethods",
    "TensorMethods",
    "install",
    "torch_flavour",
    "torch_flavoured",
]

_TENSOR_TYPES = (Tensor,)


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
    return labelled(t, label) if isinstance(t, Tensor) else t  # a traced node has no tape


_TORCH_FLAVOUR: ContextVar[bool] = ContextVar("graphjit_torch_flavour", default=False)


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
    fn = getattr(TorchMethods, name, None)
    return fn.__get__(obj, type(obj)) if callable(fn) else None


class _Flavoured:
    """A method whose numpy meaning differs from PyTorch's: numpy's, unless nodes are
    :func:`torch_flavour`-ed (tensors get PyTorch's version installed over this one)."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self.fn
        if _TORCH_FLAVOUR.get():
            return torch_method(obj, self.name)
        return self.fn.__get__(obj, owner)


# a function made into a method; typed Any so that a class may override it with any signature
# (Tensor's in-place operators, say)
Method = Any


def _forward(fn: Callable[..., Any]) -> Method:
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


def _reflected(fn: Callable[..., Any]) -> Method:
    """The reflected operator ``other (op) x`` that is ``fn(other, x)``."""

    def method(self: Any, other: Any) -> Any:
        return fn(other, self)

    method.__name__ = method.__qualname__ = fn.__name__
    return method


class NumpyMethods:
    """Operators and methods with numpy's meaning, and the PyTorch spellings that mean the same in
    both libraries: installed on graph nodes and eager tensors. One line a method: ``x.exp()`` is
    ``gj.exp(x)``, ``x.mul(y)`` is ``gj.multiply(x, y)``."""

    __slots__ = ()
    __array_priority__ = 1000  # numpy defers to our reflected operators: ndarray + node -> node

    # operators (== and != are left to the classes: identity for graph nodes, elementwise for
    # tensors)
    __add__ = _forward(F.add)
    __radd__ = _reflected(F.add)
    __sub__ = _forward(F.subtract)
    __rsub__ = _reflected(F.subtract)
    __mul__ = _forward(F.multiply)
    __rmul__ = _reflected(F.multiply)
    __truediv__ = _forward(F.divide)
    __rtruediv__ = _reflected(F.divide)
    __pow__ = _forward(F.power)
    __rpow__ = _reflected(F.power)
    __matmul__ = _forward(F.matmul)
    __rmatmul__ = _reflected(F.matmul)
    __and__ = _forward(F.logical_and)
    __rand__ = _reflected(F.logical_and)
    __or__ = _forward(F.logical_or)
    __ror__ = _reflected(F.logical_or)
    __lt__ = _forward(F.less)
    __le__ = _forward(F.less_equal)
    __gt__ = _forward(F.greater)
    __ge__ = _forward(F.greater_equal)
    __neg__ = _forward(F.negative)
    __abs__ = _forward(F.abs)
    __invert__ = _forward(F.logical_not)
    __getitem__ = _forward(F.getitem)
    __floordiv__ = _forward(F.floor_divide)  # floor division and its remainder: the same in
    __rfloordiv__ = _reflected(F.floor_divide)  # numpy and PyTorch (since 1.13)
    __mod__ = _forward(F.remainder)
    __rmod__ = _reflected(F.remainder)

    def __pos__(self) -> Any:
        return self

    # numpy-named methods
    @property
    def T(self) -> Any:  # noqa: N802 - numpy spelling
        return F.transpose(self)

    sum = _forward(F.sum)
    mean = _forward(F.mean)
    prod = _forward(F.prod)
    argmax = _forward(F.argmax)
    argmin = _forward(F.argmin)
    astype = _forward(F.astype)
    clip = _forward(F.clip)
    squeeze = _Flavoured(_forward(F.squeeze), "squeeze")  # PyTorch's: no-op on a dim not of size 1
    dot = _forward(F.dot)

    # where numpy and PyTorch disagree, nodes follow numpy except inside torch_flavour()
    max = _Flavoured(_forward(F.max), "max")
    min = _Flavoured(_forward(F.min), "min")
    var = _Flavoured(_forward(F.var), "var")
    std = _Flavoured(_forward(F.std), "std")

    @_Flavoured
    def transpose(self, *axes: Any) -> Any:
        return F.transpose(self, _dims(axes) or None)

    def reshape(self, *shape: Any) -> Any:
        return F.reshape(self, _dims(shape) if len(shape) == 1 else shape)

    # elementwise math, under both libraries' names
    exp = _forward(F.exp)
    log = _forward(F.log)
    log1p = _forward(F.log1p)
    expm1 = _forward(F.expm1)
    tanh = _forward(F.tanh)
    sqrt = _forward(F.sqrt)
    abs = _forward(F.abs)
    sign = _forward(F.sign)
    square = _forward(F.square)
    reciprocal = _forward(F.reciprocal)
    sin = _forward(F.sin)
    cos = _forward(F.cos)
    sigmoid = _forward(F.sigmoid)
    relu = _forward(F.relu)
    floor = _forward(F.floor)
    ceil = _forward(F.ceil)
    round = _forward(F.round)
    maximum = _forward(F.maximum)
    minimum = _forward(F.minimum)
    softmax = _forward(F.softmax)
    log_softmax = _forward(F.log_softmax)

    # PyTorch spellings whose meaning is the same in numpy terms, so that eager-style code also
    # runs on graph nodes
    pow = _forward(F.power)
    mul = multiply = _forward(F.multiply)
    div = divide = _forward(F.divide)
    neg = _forward(F.negative)
    matmul = _forward(F.matmul)
    mm = _forward(torch_api.mm)
    clamp = _forward(torch_api.clamp)
    t = _forward(torch_api.t)
    permute = _forward(torch_api.permute)
    flatten = _forward(torch_api.flatten)  # numpy's flatten() is PyTorch's with its defaults
    unsqueeze = _forward(F.expand_dims)
    eq = _forward(F.equal)
    ne = _forward(F.not_equal)
    lt = _forward(F.less)
    le = _forward(F.less_equal)
    gt = _forward(F.greater)
    ge = _forward(F.greater_equal)

    # more elementwise math: numpy's names, and PyTorch's where they differ, meaning the same
    tan = _forward(F.tan)
    arctan = atan = _forward(F.arctan)
    arcsin = asin = _forward(F.arcsin)
    arccos = acos = _forward(F.arccos)
    arctan2 = atan2 = _forward(F.arctan2)
    sinh = _forward(F.sinh)
    cosh = _forward(F.cosh)
    arcsinh = asinh = _forward(F.arcsinh)
    arccosh = acosh = _forward(F.arccosh)
    arctanh = atanh = _forward(F.arctanh)
    hypot = _forward(F.hypot)
    deg2rad = _forward(F.deg2rad)
    rad2deg = _forward(F.rad2deg)
    exp2 = _forward(F.exp2)
    log2 = _forward(F.log2)
    log10 = _forward(F.log10)
    logaddexp = _forward(F.logaddexp)
    logaddexp2 = _forward(F.logaddexp2)
    erf = _forward(F.erf)
    erfc = _forward(F.erfc)
    erfinv = _forward(F.erfinv)
    rsqrt = _forward(torch_api.rsqrt)
    absolute = _forward(F.abs)
    trunc = fix = _forward(F.trunc)
    frac = _forward(torch_api.frac)
    lerp = _forward(torch_api.lerp)
    remainder = _forward(F.remainder)
    floor_divide = _forward(F.floor_divide)
    fmax = _forward(F.fmax)
    fmin = _forward(F.fmin)
    copysign = _forward(F.copysign)
    heaviside = _forward(F.heaviside)
    isnan = _forward(F.isnan)
    isinf = _forward(F.isinf)
    isfinite = _forward(F.isfinite)
    signbit = _forward(F.signbit)
    isclose = _forward(F.isclose)
    allclose = _forward(F.allclose)
    nan_to_num = _forward(F.nan_to_num)
    conj = conjugate = _forward(F.conj)
    angle = _forward(F.angle)

    def view(self, *shape: Any) -> Any:
        return F.reshape(self, _dims(shape))

    def float(self) -> Any:
        """As float32 (PyTorch's ``float``; graphjit's default float is float64)."""
        return F.astype(self, "float32")

    def double(self) -> Any:
        return F.astype(self, "float64")

    def dim(self) -> int:
        ndim: int = self.ndim  # type: ignore[attr-defined]
        return ndim

    # scans and searching: numpy's and PyTorch's spellings mean the same (``x.cumsum(1)``)
    cumsum = _forward(F.cumsum)
    cumprod = _forward(F.cumprod)
    argsort = _forward(F.argsort)
    searchsorted = _forward(F.searchsorted)
    any = _forward(F.any)
    all = _forward(F.all)

    # -- shapes, joining, indexing, gathers and scatters: the same meaning in numpy and PyTorch
    # (or a name only one of them has)
    diagonal = _forward(F.diagonal)
    trace = _forward(F.trace)
    swapaxes = swapdims = _forward(F.swapaxes)
    moveaxis = movedim = _forward(F.moveaxis)
    tril = _forward(F.tril)
    triu = _forward(F.triu)
    diag = _forward(F.diag)
    take_along_axis = _forward(F.take_along_axis)
    repeat_interleave = _forward(torch_api.repeat_interleave)
    tensor_split = _forward(torch_api.tensor_split)
    narrow = _forward(torch_api.narrow)
    unflatten = _forward(torch_api.unflatten)
    unfold = _forward(torch_api.unfold)
    chunk = _forward(torch_api.chunk)
    gather = _forward(torch_api.gather)
    scatter = _forward(torch_api.scatter)
    scatter_add = _forward(torch_api.scatter_add)
    index_select = _forward(torch_api.index_select)
    index_add = _forward(torch_api.index_add)
    masked_fill = _forward(torch_api.masked_fill)
    # numpy's repeat (each element) on graph nodes; PyTorch's (numpy's tile) on tensors
    repeat = _Flavoured(_forward(F.repeat), "repeat")

    def flip(self, *dims: Any, axis: Any = None) -> Any:
        """Reverse ``dims`` (``x.flip(0, 1)`` or ``x.flip((0, 1))``; all when none are given)."""
        return F.flip(self, _axis(_dims(dims) or None, axis, "flip"))

    def roll(self, shifts: Any, dims: Any = None, *, axis: Any = None) -> Any:
        """Shift cyclically along ``dims`` (the flattened array when None)."""
        return F.roll(self, shifts, _axis(dims, axis, "roll"))


def _torch_reduction(fn: Callable[..., Any], label: str | None = None) -> Method:
    """The reduction ``fn`` as a method taking PyTorch's ``(dim, keepdim)`` or numpy's
    ``(axis=, keepdims=)``; ``label`` names its tape entry (``MeanBackward0``)."""

    def method(
        self: Any,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
        **kwargs: Any,
    ) -> Any:
        if dim is None and axis is None and keepdims is None and not keepdim and not kwargs:
            out = fn(self)  # ``t.sum()``, the common case: every default
            return out if label is None else _label(out, label)
        keep = _keep(keepdim, keepdims)
        if dim is not None and axis is None:  # PyTorch's dim: 0 or -1 of a 0-d tensor too
            out = fn(self, dim=_axis(dim, None, fn.__name__), keepdims=keep, **kwargs)
        else:
            out = fn(self, _axis(dim, axis, fn.__name__), keep, **kwargs)
        return out if label is None else _label(out, label)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


def _torch_spread(fn: Callable[..., Any], label: str) -> Method:
    """``var``/``std`` with PyTorch's defaults (unbiased) and spellings, and numpy's ``ddof``."""

    def method(
        self: Any,
        dim: Any = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
        *,
        correction: Any = None,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
        ddof: Any = None,
    ) -> Any:
        ddof = _ddof(unbiased, correction, ddof)
        keep = _keep(keepdim, keepdims)
        if dim is not None and axis is None:  # PyTorch's dim: 0 or -1 of a 0-d tensor too
            out = fn(self, dim=_axis(dim, None, fn.__name__), ddof=ddof, keepdims=keep)
        else:
            out = fn(self, _axis(dim, axis, fn.__name__), ddof=ddof, keepdims=keep)
        return _label(out, label)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


class TorchMethods:
    """Methods with PyTorch's meaning where it differs from numpy's, and PyTorch-only methods:
    installed on eager tensors (over :class:`NumpyMethods`), and seen by graph nodes inside
    :func:`torch_flavour`. Needs ``shape``, ``ndim`` and ``reshape``."""

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

    def view_as(self, other: Any) -> Any:
        return self.reshape(tuple(other.shape))

    reshape_as = view_as

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

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> Any:
        """Remove size-1 dims; a named dim whose size is not 1 is left as it is (PyTorch: a
        no-op there, where numpy raises). On a graph (traced with PyTorch's flavour) a named dim
        of unknown size raises ValueError: whether it goes depends on its size (``gj.jit`` then
        traces with concrete sizes)."""
        dims = _axis(dim, axis, "squeeze")
        if dims is None:
            return F.squeeze(self)
        named = dims if isinstance(dims, tuple) else (dims,)
        axes = [normalize_axis(a, self.ndim, "squeeze") for a in named]
        for a in axes:
            if not isinstance(self.shape[a], int):
                raise ValueError(
                    f"squeeze: PyTorch's squeeze(dim) removes dim {a} only if its size is 1, "
                    "and its size is not known when the graph is built"
                )
        left = tuple(a for a in axes if self.shape[a] == 1)
        return F.squeeze(self, left) if left else self

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

    # -- reductions: PyTorch's (dim, keepdim) and numpy's (axis=, keepdims=) spellings
    sum = _torch_reduction(F.sum)
    mean = _torch_reduction(F.mean, label="Mean")
    prod = _torch_reduction(F.prod)
    argmax = _torch_reduction(F.argmax)
    argmin = _torch_reduction(F.argmin)

    def _extreme(
        self, which: str, dim: Any, keepdim: builtins.bool, axis: Any, keepdims: Any
    ) -> Any:
        if isinstance(dim, (Node, *_TENSOR_TYPES)):  # t.max(other): elementwise, as PyTorch
            return (F.maximum if which == "max" else F.minimum)(self, dim)
        reduce = F.max if which == "max" else F.min
        keep = _keep(keepdim, keepdims)
        dim = _axis(dim, axis, which)  # PyTorch's rule for numpy's axis= spelling too
        if dim is None:  # the whole tensor: the value only
            return reduce(self, None, keep)
        if isinstance(dim, tuple):
            raise TypeError(
                f"{which}: dim must be an int for (values, indices); use a{which}(dim) for "
                "several dims"
            )
        arg = F.argmax if which == "max" else F.argmin
        return MaxMin(reduce(self, dim=dim, keepdim=keep), arg(self, dim=dim, keepdim=keep))

    def max(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        """The maximum; with ``dim`` (or numpy's ``axis=``) a ``(values, indices)`` pair, as
        PyTorch; given a tensor, the elementwise maximum."""
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
        return F.max(self, dim=_axis(dim, None, "amax"), keepdim=keepdim)

    def amin(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return F.min(self, dim=_axis(dim, None, "amin"), keepdim=keepdim)

    # unbiased (correction=1) by default, as in PyTorch (numpy: ddof=0)
    var = _torch_spread(F.var, "Var")
    std = _torch_spread(F.std, "Std")

    def all(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        return F.all(self, axis, keepdims=_keep(keepdim, keepdims), dim=_axis(dim, None, "all"))

    def any(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        return F.any(self, axis, keepdims=_keep(keepdim, keepdims), dim=_axis(dim, None, "any"))

    # -- elementwise
    def add(self, other: Any, alpha: Any = 1) -> Any:
        return F.add(self, other if alpha == 1 else F.multiply(alpha, other))

    def sub(self, other: Any, alpha: Any = 1) -> Any:
        return F.subtract(self, other if alpha == 1 else F.multiply(alpha, other))

    # -- dtype
    def long(self) -> Any:
        return F.astype(self, "int64")

    def int(self) -> Any:
        return F.astype(self, "int32")

    def bool(self) -> Any:
        return F.astype(self, "bool")

    def type(self, dtype: Any = None) -> Any:
        """The dtype name, or (given a dtype) the tensor converted to it."""
        return self.dtype if dtype is None else F.astype(self, dtype)

    # -- scans, sorting and order statistics (PyTorch's results: (values, indices) pairs)
    def byte(self) -> Any:
        return F.astype(self, "uint8")

    def char(self) -> Any:
        return F.astype(self, "int8")

    def short(self) -> Any:
        return F.astype(self, "int16")

    def cummax(self, dim: Any) -> Any:
        return torch_api.cummax(self, dim)

    def cummin(self, dim: Any) -> Any:
        return torch_api.cummin(self, dim)

    def logcumsumexp(self, dim: Any) -> Any:
        return torch_api.logcumsumexp(self, dim)

    def sort(
        self,
        dim: Any = -1,
        descending: builtins.bool = False,
        stable: builtins.bool = False,
        *,
        axis: Any = None,
    ) -> Any:
        """``(values, indices)`` sorted along ``dim`` (stable, NaN last), as PyTorch's."""
        d = dim if axis is None else axis
        return torch_api.ValuesIndices(
            F.sort(self, dim=d, descending=descending),
            F.argsort(self, dim=d, descending=descending),
        )

    def argsort(self, dim: Any = -1, descending: builtins.bool = False, *, axis: Any = None) -> Any:
        return F.argsort(self, dim=dim if axis is None else axis, descending=descending)

    def median(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return torch_api.median(self, dim, keepdim)

    def mode(self, dim: Any = -1, keepdim: builtins.bool = False) -> Any:
        return torch_api.mode(self, dim, keepdim)

    def kthvalue(self, k: builtins.int, dim: Any = -1, keepdim: builtins.bool = False) -> Any:
        return torch_api.kthvalue(self, k, dim, keepdim)

    def topk(
        self,
        k: builtins.int,
        dim: Any = -1,
        largest: builtins.bool = True,
        sorted: builtins.bool = True,  # noqa: A002 - PyTorch's name
    ) -> Any:
        return torch_api.topk(self, k, dim, largest, sorted)

    def aminmax(self, *, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return torch_api.aminmax(self, dim=dim, keepdim=keepdim)

    def unique(
        self,
        sorted: builtins.bool = True,  # noqa: A002 - PyTorch's name
        return_inverse: builtins.bool = False,
        return_counts: builtins.bool = False,
        dim: Any = None,
    ) -> Any:
        return torch_api.unique(self, sorted, return_inverse, return_counts, dim)

    # -- shapes, joining and indexing where PyTorch's meaning differs from numpy's, and its
    # eager-only methods
    def repeat(self, *sizes: Any) -> Any:
        """Tiled ``sizes`` times along each dim (PyTorch's repeat is numpy's tile; numpy's
        repeat is ``repeat_interleave``)."""
        return F.tile(self, _dims(sizes))

    def split(self, split_size_or_sections: Any, dim: builtins.int = 0) -> Any:
        """Parts of ``split_size_or_sections`` elements (an int; the last may be smaller) or of
        the given sizes (a list) along ``dim``, as torch.split."""
        return F.split(self, split_size_or_sections, dim=dim)

    def select(self, dim: builtins.int, index: builtins.int) -> Any:
        """The slice at ``index`` of ``dim``, which goes (torch.select; numpy's select is
        ``gj.select``)."""
        return F.take(self, index, dim)

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Any:
        return torch_api.nonzero(self, as_tuple=as_tuple)

    def masked_select(self, mask: Any) -> Any:
        return torch_api.masked_select(self, mask)


class TensorMethods(TorchMethods, NumpyMethods):
    """What a Tensor has: PyTorch's methods over numpy's (for static typing of Tensor)."""

    __slots__ = ()


# --------------------------------------------------------------------------------------------------
# installation


# what a class body defines that is not a method to install
_CLASS_ATTRS = frozenset(
    {"__slots__", "__doc__", "__module__", "__qualname__", "__dict__", "__weakref__",
     "__annotations__", "__firstlineno__", "__static_attributes__"}
)  # fmt: skip


def _table(*classes: type) -> dict[str, Any]:
    """The methods of ``classes``, later classes winning."""
    return {
        name: attr
        for cls in classes
        for name, attr in vars(cls).items()
        if name not in _CLASS_ATTRS
    }


def _node_getattr(self: Node, name: str) -> Any:
    # only reached for a missing attribute: inside torch_flavour() (gj.jit tracing a function
    # called with tensors), nodes also have the tensor-only methods (size(), expand, ...)
    if torch_flavoured() and not name.startswith("__"):
        method = torch_method(self, name)
        if method is not None:
            return method
    raise AttributeError(f"graph node has no attribute {name!r}")


def _install_on(cls: type, table: dict[str, Any]) -> None:
    for name, attr in table.items():
        if name not in vars(cls):  # what the class defines itself (Tensor.__eq__, ...) wins
            setattr(cls, name, attr)


_installed = False


def install() -> None:
    """Give :class:`Node` numpy's methods (PyTorch's inside :func:`torch_flavour`) and
    :class:`Tensor` PyTorch's over numpy's. Idempotent."""
    global _installed
    if _installed:
        return
    # nodes pickle by structure (graphjit.serialize): op names, input indices and plain attributes
    node_extras = {"__getattr__": _node_getattr, "__reduce__": reduce_node}
    _install_on(Node, {**_table(NumpyMethods), **node_extras})
    _install_on(Tensor, _table(NumpyMethods, TorchMethods))
    _installed = True
