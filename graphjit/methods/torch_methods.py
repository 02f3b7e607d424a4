"""The methods with PyTorch's meaning where it differs from numpy's, and PyTorch-only methods:
:class:`TorchMethods`. Eager tensors get them over the numpy ones; graph nodes see them only
inside :func:`~graphjit.methods.flavour.torch_flavour`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit import torch_api
from graphjit.autodiff.tape import labelled
from graphjit.ir import Node
from graphjit.methods.forwarding import Method, dim_or_axis, varargs_dims
from graphjit.ops.shape_rules import normalize_axis
from graphjit.tensor import Tensor, creation

_TENSOR_TYPES = (Tensor,)


class MaxMin(NamedTuple):
    """``t.max(dim)`` / ``t.min(dim)``: the values and their indices along ``dim``."""

    values: Any
    indices: Any


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
            out = fn(self, dim=dim_or_axis(dim, None, fn.__name__), keepdims=keep, **kwargs)
        else:
            out = fn(self, dim_or_axis(dim, axis, fn.__name__), keep, **kwargs)
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
            out = fn(self, dim=dim_or_axis(dim, None, fn.__name__), ddof=ddof, keepdims=keep)
        else:
            out = fn(self, dim_or_axis(dim, axis, fn.__name__), ddof=ddof, keepdims=keep)
        return _label(out, label)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


def _in_place(fn: Callable[..., Any], name: str) -> Method:
    """The in-place method ``name`` (``x.addcmul_(a, b)``): ``x`` becomes ``fn(x, ...)``, on the
    tape when autograd is involved (see ``Tensor._inplace``). Graph values never change, so a
    graph node refuses it."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(self, Tensor):
            raise TypeError(
                f"{name}: a graph value never changes in place; use {name[:-1]}, which returns "
                "a new one"
            )
        return self._inplace(lambda s, *a: fn(s, *a, **kwargs), *args, what=name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{name[:-1]}`` in place; returns the tensor."
    return method


def _subtract(x: Any, other: Any, alpha: Any = 1) -> Any:
    return F.subtract(x, other if alpha == 1 else F.multiply(alpha, other))


# PyTorch's in-place methods: name -> the function they apply
_IN_PLACE: dict[str, Callable[..., Any]] = {
    "abs_": F.abs, "neg_": F.negative, "negative_": F.negative, "exp_": F.exp,
    "expm1_": F.expm1, "log_": F.log, "log1p_": F.log1p, "log2_": F.log2, "log10_": F.log10,
    "sqrt_": F.sqrt, "rsqrt_": torch_api.rsqrt, "sigmoid_": F.sigmoid, "tanh_": F.tanh,
    "relu_": F.relu, "sin_": F.sin, "cos_": F.cos, "tan_": F.tan, "floor_": F.floor,
    "ceil_": F.ceil, "round_": F.round, "trunc_": F.trunc, "frac_": torch_api.frac,
    "sign_": F.sign, "sgn_": torch_api.sgn, "reciprocal_": F.reciprocal, "square_": F.square,
    "erf_": F.erf, "logit_": torch_api.logit, "xlogy_": torch_api.xlogy,
    "true_divide_": F.divide, "divide_": F.divide, "multiply_": F.multiply,
    "subtract_": _subtract, "remainder_": F.remainder, "floor_divide_": F.floor_divide,
    "atan2_": F.arctan2, "hypot_": F.hypot, "copysign_": F.copysign, "lerp_": torch_api.lerp,
    "clamp_min_": torch_api.clamp_min, "clamp_max_": torch_api.clamp_max,
    "addcmul_": torch_api.addcmul, "addcdiv_": torch_api.addcdiv, "addmm_": torch_api.addmm,
    "addmv_": torch_api.addmv, "addr_": torch_api.addr, "addbmm_": torch_api.addbmm,
    "baddbmm_": torch_api.baddbmm, "renorm_": torch_api.renorm,
    "masked_fill_": torch_api.masked_fill, "masked_scatter_": torch_api.masked_scatter,
    "index_fill_": torch_api.index_fill, "index_copy_": torch_api.index_copy,
    "index_put_": torch_api.index_put, "index_add_": torch_api.index_add,
    "scatter_": torch_api.scatter, "scatter_add_": torch_api.scatter_add,
    "scatter_reduce_": torch_api.scatter_reduce,
}  # fmt: skip


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
        axes = varargs_dims(dims)
        return F.transpose(self, tuple(axes) if axes else None)

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> Any:
        """Remove size-1 dims; a named dim whose size is not 1 is left as it is (PyTorch: a
        no-op there, where numpy raises). On a graph (traced with PyTorch's flavour) a named dim
        of unknown size raises ValueError: whether it goes depends on its size (``gj.jit`` then
        traces with concrete sizes)."""
        dims = dim_or_axis(dim, axis, "squeeze")
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
        sizes = varargs_dims(sizes)
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
        dim = dim_or_axis(dim, axis, which)  # PyTorch's rule for numpy's axis= spelling too
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
        return F.max(self, dim=dim_or_axis(dim, None, "amax"), keepdim=keepdim)

    def amin(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return F.min(self, dim=dim_or_axis(dim, None, "amin"), keepdim=keepdim)

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
        return F.all(
            self, axis, keepdims=_keep(keepdim, keepdims), dim=dim_or_axis(dim, None, "all")
        )

    def any(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        return F.any(
            self, axis, keepdims=_keep(keepdim, keepdims), dim=dim_or_axis(dim, None, "any")
        )

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
        return F.tile(self, varargs_dims(sizes))

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

    def new_tensor(
        self,
        data: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: builtins.bool = False,
    ) -> Any:
        """A new leaf tensor of ``data`` (copied), with this tensor's dtype and device unless
        given."""
        return creation.tensor(
            data.detach() if isinstance(data, Tensor) else data,
            dtype=self.dtype if dtype is None else dtype,
            device=getattr(self, "device", None) if device is None else device,
            requires_grad=requires_grad,
        )


for _name, _fn in _IN_PLACE.items():
    setattr(TorchMethods, _name, _in_place(_fn, _name))
IN_PLACE_NAMES = tuple(_IN_PLACE)  # graph nodes get these too, to refuse them with a TypeError


def torch_method(obj: Any, name: str) -> Any:
    """``TorchMethods.<name>`` bound to ``obj``, or None when there is no such method."""
    fn = getattr(TorchMethods, name, None)
    return fn.__get__(obj, type(obj)) if callable(fn) else None
