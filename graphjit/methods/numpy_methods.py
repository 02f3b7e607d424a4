"""The operators and methods with numpy's meaning, and the PyTorch spellings that mean the same in
both libraries: :class:`NumpyMethods`, which graph nodes and eager tensors get. A method whose
numpy meaning differs from PyTorch's is :class:`_Flavoured`: numpy's, unless nodes are
:func:`~graphjit.methods.flavour.torch_flavour`-ed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit import numpy_api, torch_api
from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit.dtypes import is_float
from graphjit.ir import Node
from graphjit.methods.flavour import torch_flavoured
from graphjit.methods.forwarding import dim_or_axis, forward, reflected, varargs_dims
from graphjit.methods.torch_methods import torch_method
from graphjit.tensor import Tensor, creation


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
        if torch_flavoured():
            return torch_method(obj, self.name)
        return self.fn.__get__(obj, owner)


# a function made into a method; typed Any so that a class may override it with any signature


class NumpyMethods:
    """Operators and methods with numpy's meaning, and the PyTorch spellings that mean the same in
    both libraries: installed on graph nodes and eager tensors. One line a method: ``x.exp()`` is
    ``gj.exp(x)``, ``x.mul(y)`` is ``gj.multiply(x, y)``."""

    __slots__ = ()
    __array_priority__ = 1000  # numpy defers to our reflected operators: ndarray + node -> node

    # operators (== and != are left to the classes: identity for graph nodes, elementwise for
    # tensors)
    __add__ = forward(F.add)
    __radd__ = reflected(F.add)
    __sub__ = forward(F.subtract)
    __rsub__ = reflected(F.subtract)
    __mul__ = forward(F.multiply)
    __rmul__ = reflected(F.multiply)
    __truediv__ = forward(F.divide)
    __rtruediv__ = reflected(F.divide)
    __pow__ = forward(F.power)
    __rpow__ = reflected(F.power)
    __matmul__ = forward(F.matmul)
    __rmatmul__ = reflected(F.matmul)
    # bitwise on integers, logical on bools (numpy's and PyTorch's meaning)
    __and__ = forward(F.bitwise_and)
    __rand__ = reflected(F.bitwise_and)
    __or__ = forward(F.bitwise_or)
    __ror__ = reflected(F.bitwise_or)
    __xor__ = forward(F.bitwise_xor)
    __rxor__ = reflected(F.bitwise_xor)
    __lshift__ = forward(F.left_shift)
    __rlshift__ = reflected(F.left_shift)
    __rshift__ = forward(F.right_shift)
    __rrshift__ = reflected(F.right_shift)
    __lt__ = forward(F.less)
    __le__ = forward(F.less_equal)
    __gt__ = forward(F.greater)
    __ge__ = forward(F.greater_equal)
    __neg__ = forward(F.negative)
    __abs__ = forward(F.abs)
    __invert__ = forward(F.bitwise_not)
    __getitem__ = forward(F.getitem)
    __floordiv__ = forward(F.floor_divide)  # floor division and its remainder: the same in
    __rfloordiv__ = reflected(F.floor_divide)  # numpy and PyTorch (since 1.13)
    __mod__ = forward(F.remainder)
    __rmod__ = reflected(F.remainder)

    def __pos__(self) -> Any:
        return self

    # numpy-named methods
    @property
    def T(self) -> Any:  # noqa: N802 - numpy spelling
        return F.transpose(self)

    sum = forward(F.sum)
    mean = forward(F.mean)
    prod = forward(F.prod)
    argmax = forward(F.argmax)
    argmin = forward(F.argmin)
    astype = forward(F.astype)
    clip = forward(F.clip)
    squeeze = _Flavoured(forward(F.squeeze), "squeeze")  # PyTorch's: no-op on a dim not of size 1
    dot = forward(F.dot)

    # where numpy and PyTorch disagree, nodes follow numpy except inside torch_flavour()
    max = _Flavoured(forward(F.max), "max")
    min = _Flavoured(forward(F.min), "min")
    var = _Flavoured(forward(F.var), "var")
    std = _Flavoured(forward(F.std), "std")

    @_Flavoured
    def transpose(self, *axes: Any) -> Any:
        return F.transpose(self, varargs_dims(axes) or None)

    def reshape(self, *shape: Any) -> Any:
        return F.reshape(self, varargs_dims(shape) if len(shape) == 1 else shape)

    # elementwise math, under both libraries' names
    exp = forward(F.exp)
    log = forward(F.log)
    log1p = forward(F.log1p)
    expm1 = forward(F.expm1)
    tanh = forward(F.tanh)
    sqrt = forward(F.sqrt)
    abs = forward(F.abs)
    sign = forward(F.sign)
    square = forward(F.square)
    reciprocal = forward(F.reciprocal)
    sin = forward(F.sin)
    cos = forward(F.cos)
    sigmoid = forward(F.sigmoid)
    relu = forward(F.relu)
    floor = forward(F.floor)
    ceil = forward(F.ceil)
    round = forward(F.round)
    maximum = forward(F.maximum)
    minimum = forward(F.minimum)
    softmax = forward(F.softmax)
    log_softmax = forward(F.log_softmax)

    # PyTorch spellings whose meaning is the same in numpy terms, so that eager-style code also
    # runs on graph nodes
    pow = forward(F.power)
    mul = multiply = forward(F.multiply)
    divide = forward(F.divide)
    div = forward(torch_api.div)  # rounding_mode=, as PyTorch's
    neg = forward(F.negative)
    matmul = forward(F.matmul)
    mm = forward(torch_api.mm)
    clamp = forward(torch_api.clamp)
    t = forward(torch_api.t)
    permute = forward(torch_api.permute)
    flatten = forward(torch_api.flatten)  # numpy's flatten() is PyTorch's with its defaults
    unsqueeze = forward(F.expand_dims)
    eq = forward(F.equal)
    ne = forward(F.not_equal)
    lt = forward(F.less)
    le = forward(F.less_equal)
    gt = forward(F.greater)
    ge = forward(F.greater_equal)

    # more elementwise math: numpy's names, and PyTorch's where they differ, meaning the same
    tan = forward(F.tan)
    arctan = atan = forward(F.arctan)
    arcsin = asin = forward(F.arcsin)
    arccos = acos = forward(F.arccos)
    arctan2 = atan2 = forward(F.arctan2)
    sinh = forward(F.sinh)
    cosh = forward(F.cosh)
    arcsinh = asinh = forward(F.arcsinh)
    arccosh = acosh = forward(F.arccosh)
    arctanh = atanh = forward(F.arctanh)
    hypot = forward(F.hypot)
    deg2rad = forward(F.deg2rad)
    rad2deg = forward(F.rad2deg)
    exp2 = forward(F.exp2)
    log2 = forward(F.log2)
    log10 = forward(F.log10)
    logaddexp = forward(F.logaddexp)
    logaddexp2 = forward(F.logaddexp2)
    erf = forward(F.erf)
    erfc = forward(F.erfc)
    erfinv = forward(F.erfinv)
    rsqrt = forward(torch_api.rsqrt)
    absolute = forward(F.abs)
    trunc = fix = forward(F.trunc)
    frac = forward(torch_api.frac)
    lerp = forward(torch_api.lerp)
    remainder = forward(F.remainder)
    floor_divide = forward(F.floor_divide)
    fmax = forward(F.fmax)
    fmin = forward(F.fmin)
    copysign = forward(F.copysign)
    heaviside = forward(F.heaviside)
    isnan = forward(F.isnan)
    isinf = forward(F.isinf)
    isfinite = forward(F.isfinite)
    signbit = forward(F.signbit)
    isclose = forward(F.isclose)
    allclose = forward(F.allclose)
    nan_to_num = forward(F.nan_to_num)
    conj = conjugate = forward(F.conj)
    angle = forward(F.angle)

    def view(self, *shape: Any) -> Any:
        return F.reshape(self, varargs_dims(shape))

    def float(self) -> Any:
        """As float32 (PyTorch's ``float``; graphjit's default float is float64)."""
        return F.astype(self, "float32")

    def double(self) -> Any:
        return F.astype(self, "float64")

    def dim(self) -> int:
        ndim: int = self.ndim  # type: ignore[attr-defined]
        return ndim

    # scans and searching: numpy's and PyTorch's spellings mean the same (``x.cumsum(1)``)
    cumsum = forward(F.cumsum)
    cumprod = forward(F.cumprod)
    argsort = forward(F.argsort)
    searchsorted = forward(F.searchsorted)
    any = forward(F.any)
    all = forward(F.all)

    # -- shapes, joining, indexing, gathers and scatters: the same meaning in numpy and PyTorch
    # (or a name only one of them has)
    diagonal = forward(F.diagonal)
    trace = forward(F.trace)
    swapaxes = swapdims = forward(F.swapaxes)
    moveaxis = movedim = forward(F.moveaxis)
    tril = forward(F.tril)
    triu = forward(F.triu)
    diag = forward(F.diag)
    take_along_axis = forward(F.take_along_axis)
    repeat_interleave = forward(torch_api.repeat_interleave)
    tensor_split = forward(torch_api.tensor_split)
    narrow = forward(torch_api.narrow)
    unflatten = forward(torch_api.unflatten)
    unfold = forward(torch_api.unfold)
    chunk = forward(torch_api.chunk)
    gather = forward(torch_api.gather)
    scatter = forward(torch_api.scatter)
    scatter_add = forward(torch_api.scatter_add)
    index_select = forward(torch_api.index_select)
    index_add = forward(torch_api.index_add)
    masked_fill = forward(torch_api.masked_fill)
    index_fill = forward(torch_api.index_fill)
    index_copy = forward(torch_api.index_copy)
    index_put = forward(torch_api.index_put)
    masked_scatter = forward(torch_api.masked_scatter)
    scatter_reduce = forward(torch_api.scatter_reduce)
    # numpy's repeat (each element) on graph nodes; PyTorch's (numpy's tile) on tensors
    repeat = _Flavoured(forward(F.repeat), "repeat")

    # numpy-named composites (graphjit.numpy_api) whose PyTorch method means the same
    ravel = forward(numpy_api.ravel)
    fliplr = forward(numpy_api.fliplr)
    flipud = forward(numpy_api.flipud)
    rot90 = forward(numpy_api.rot90)  # t.rot90(k, dims) as PyTorch: gj.rot90(m, k, axes)
    fmod = forward(numpy_api.fmod)
    sinc = forward(numpy_api.sinc)
    positive = forward(numpy_api.positive)
    float_power = forward(numpy_api.float_power)
    ldexp = forward(numpy_api.ldexp)
    logical_xor = forward(numpy_api.logical_xor)
    gcd = forward(numpy_api.gcd)
    lcm = forward(numpy_api.lcm)
    count_nonzero = forward(numpy_api.count_nonzero)  # t.count_nonzero(dim)
    vdot = forward(numpy_api.vdot)
    cov = forward(numpy_api.cov)  # PyTorch's keyword correction= is numpy's ddof
    corrcoef = forward(numpy_api.corrcoef)

    def flip(self, *dims_: Any, axis: Any = None, dims: Any = None) -> Any:
        """Reverse ``dims`` (``x.flip(0, 1)``, ``x.flip((0, 1))`` or ``x.flip(dims=(0, 1))``;
        all when none are given)."""
        if dims is not None and dims_:
            raise TypeError("flip: give the dims once (positionally or as dims=)")
        dims = varargs_dims(dims_) or (None if dims is None else dims)
        return F.flip(self, dim_or_axis(dims, axis, "flip"))

    def roll(self, shifts: Any, dims: Any = None, *, axis: Any = None) -> Any:
        """Shift cyclically along ``dims`` (the flattened array when None)."""
        return F.roll(self, shifts, dim_or_axis(dims, axis, "roll"))

    # -- products (PyTorch's names; gj.bmm, gj.addmm, ... in graphjit.torch_api.products)
    bmm = forward(torch_api.bmm)
    mv = forward(torch_api.mv)
    outer = forward(F.outer)
    ger = forward(torch_api.ger)
    inner = forward(F.inner)
    kron = forward(F.kron)
    addmm = forward(torch_api.addmm)
    addmv = forward(torch_api.addmv)
    addr = forward(torch_api.addr)
    addbmm = forward(torch_api.addbmm)
    baddbmm = forward(torch_api.baddbmm)
    dist = forward(torch_api.dist)

    def cross(self, other: Any, dim: Any = None) -> Any:
        """Cross product along ``dim``; without it, along the first dim of size 3 (PyTorch's
        ``Tensor.cross`` default; ``gj.cross`` takes numpy's last axis)."""
        if dim is None:
            shape = np.broadcast_shapes(
                *(tuple(1 if d is None else d for d in F.lift(v).shape) for v in (self, other))
            )
            dim = next((i for i, n in enumerate(shape) if n == 3), None)
            if dim is None:
                raise ValueError(f"cross: no dim of size 3 in the shape {shape}")
        return F.cross(self, other, dim=dim)

    # -- elementwise, compare and logic under PyTorch's method names
    addcmul = forward(torch_api.addcmul)
    addcdiv = forward(torch_api.addcdiv)
    clamp_min = forward(torch_api.clamp_min)
    clamp_max = forward(torch_api.clamp_max)
    xlogy = forward(torch_api.xlogy)
    logit = forward(torch_api.logit)
    sgn = forward(torch_api.sgn)
    negative = forward(F.negative)
    true_divide = forward(torch_api.true_divide)
    greater = forward(F.greater)
    greater_equal = forward(F.greater_equal)
    less = forward(F.less)
    less_equal = forward(F.less_equal)
    not_equal = forward(F.not_equal)
    logical_and = forward(F.logical_and)
    logical_or = forward(F.logical_or)
    logical_not = forward(F.logical_not)
    bitwise_and = forward(F.bitwise_and)
    bitwise_or = forward(F.bitwise_or)
    bitwise_xor = forward(F.bitwise_xor)
    bitwise_not = forward(F.bitwise_not)
    bitwise_left_shift = forward(F.left_shift)
    bitwise_right_shift = forward(F.right_shift)

    def subtract(self, other: Any, *, alpha: Any = 1) -> Any:
        """``self - alpha * other``, as torch.subtract."""
        return F.subtract(self, other if alpha == 1 else F.multiply(alpha, other))

    def where(self, condition: Any, other: Any) -> Any:
        """``self`` where ``condition`` holds, else ``other`` (``torch.where(condition, self,
        other)``)."""
        return F.where(condition, self, other)

    # -- reductions and shapes
    logsumexp = forward(F.logsumexp)
    norm = forward(torch_api.norm)
    renorm = forward(torch_api.renorm)
    msort = forward(torch_api.msort)
    diff = forward(F.diff)
    take = forward(F.take)
    take_along_dim = forward(torch_api.take_along_dim)
    broadcast_to = forward(F.broadcast_to)
    unbind = forward(torch_api.unbind)
    split_with_sizes = forward(torch_api.split_with_sizes)
    hsplit = forward(F.hsplit)
    vsplit = forward(F.vsplit)
    dsplit = forward(F.dsplit)
    sum_to_size = forward(torch_api.sum_to_size)
    narrow_copy = forward(torch_api.narrow_copy)

    def tile(self, *dims: Any) -> Any:
        """Repeated ``dims`` times along each dim (``x.tile(2, 1)`` or ``x.tile((2, 1))``)."""
        return F.tile(self, varargs_dims(dims))

    # -- dtype and size introspection (the tensor-only ones, stride and the like, are the
    # Tensor's own; graph nodes refuse them)
    def type_as(self, other: Any) -> Any:
        """Converted to ``other``'s dtype (``other`` a tensor or a graph value)."""
        if not isinstance(other, (Tensor, Node)):
            raise TypeError(f"type_as: other must be a tensor, got {type(other).__name__}")
        return F.astype(self, other.dtype)

    def is_floating_point(self) -> bool:
        return is_float(self.dtype)  # type: ignore[attr-defined]

    def is_complex(self) -> bool:
        return False  # graphjit has no complex dtype

    def is_signed(self) -> bool:
        return self.dtype not in ("bool", "uint8")  # type: ignore[attr-defined]

    def element_size(self) -> int:
        """Bytes per element."""
        return np.dtype(self.dtype).itemsize  # type: ignore[attr-defined]

    @property
    def itemsize(self) -> int:
        return np.dtype(self.dtype).itemsize  # type: ignore[attr-defined]

    @property
    def nbytes(self) -> int:
        """Bytes of the elements (the shape must be fixed)."""
        return torch_api.numel(self) * self.itemsize

    def ndimension(self) -> int:
        ndim: int = self.ndim  # type: ignore[attr-defined]
        return ndim

    # -- new tensors like this one: its dtype (and device) unless given
    def _new(self, fill: Callable[..., Any], size: Any, dtype: Any, device: Any, **kw: Any) -> Any:
        if device is None:
            device = getattr(self, "device", None)
        return fill(
            varargs_dims(size), dtype=self.dtype if dtype is None else dtype,  # type: ignore[attr-defined]
            device=device, **kw,
        )  # fmt: skip

    def new_zeros(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Any:
        """Zeros of ``size`` with this one's dtype and device (a tensor, also from a node)."""
        return self._new(creation.zeros, size, dtype, device, requires_grad=requires_grad)

    def new_ones(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Any:
        return self._new(creation.ones, size, dtype, device, requires_grad=requires_grad)

    def new_empty(
        self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Any:
        return self._new(creation.empty, size, dtype, device, requires_grad=requires_grad)

    def new_full(
        self,
        size: Any,
        fill_value: Any,
        *,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Any:
        """``size`` filled with ``fill_value`` (a number or a 0-d tensor), with this one's dtype
        and device unless given."""
        value = fill_value
        if isinstance(value, Tensor) and value.ndim == 0:
            value = value.item()
        if value is None or isinstance(value, (str, bytes, Tensor, Node)) or np.ndim(value):
            raise TypeError(
                f"new_full: fill_value must be a number or a 0-d tensor, got {fill_value!r}"
            )

        def fill(shape: Any, **kw: Any) -> Any:
            return creation.full(shape, value, **kw)

        return self._new(fill, (size,), dtype, device, requires_grad=requires_grad)
