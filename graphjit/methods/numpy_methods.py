"""The operators and methods with numpy's meaning, and the PyTorch spellings that mean the same in
both libraries: :class:`NumpyMethods`, which graph nodes and eager tensors get. A method whose
numpy meaning differs from PyTorch's is :class:`_Flavoured`: numpy's, unless nodes are
:func:`~graphjit.methods.flavour.torch_flavour`-ed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphjit import numpy_api, torch_api
from graphjit import ops as F  # noqa: N812 - the gj functions, as torch.nn.functional
from graphjit.methods.flavour import torch_flavoured
from graphjit.methods.forwarding import dim_or_axis, forward, reflected, varargs_dims
from graphjit.methods.torch_methods import torch_method


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
    __and__ = forward(F.logical_and)
    __rand__ = reflected(F.logical_and)
    __or__ = forward(F.logical_or)
    __ror__ = reflected(F.logical_or)
    __lt__ = forward(F.less)
    __le__ = forward(F.less_equal)
    __gt__ = forward(F.greater)
    __ge__ = forward(F.greater_equal)
    __neg__ = forward(F.negative)
    __abs__ = forward(F.abs)
    __invert__ = forward(F.logical_not)
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
    div = divide = forward(F.divide)
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

    def flip(self, *dims: Any, axis: Any = None) -> Any:
        """Reverse ``dims`` (``x.flip(0, 1)`` or ``x.flip((0, 1))``; all when none are given)."""
        return F.flip(self, dim_or_axis(varargs_dims(dims) or None, axis, "flip"))

    def roll(self, shifts: Any, dims: Any = None, *, axis: Any = None) -> Any:
        """Shift cyclically along ``dims`` (the flattened array when None)."""
        return F.roll(self, shifts, dim_or_axis(dims, axis, "roll"))
