"""Reductions: sum, prod, max, min, argmax, argmin, size_of. The statistics composed from them
(mean, var, std) are in :mod:`graphjit.ops.statistics`, the softmax family (logsumexp, softmax,
log_softmax) in :mod:`graphjit.ops.softmax_family`; all take their axis rules from
:mod:`graphjit.ops.shape_rules`.

Every reduction op takes ``axes`` (a sorted tuple of distinct non-negative axes; the public
functions normalise numpy's ``axis``: int, tuple, negative or None) and ``keepdims``. The public
functions also accept PyTorch's ``dim=`` and ``keepdim=``.

Conventions:

* dtypes follow numpy: ``sum``/``prod`` of bool or int give int64.
* ``max``/``min``: the gradient is split evenly among tied extrema (JAX's convention). NaN
  propagates as in numpy (a NaN slice gives NaN, and NaN gradients).
* ``prod``: the gradient is the product of the *other* elements, exact with zeros in the slice (also
  its second derivative, for up to two zeros in a slice).
* ``size_of`` is the number of elements on some axes when the graph runs (``mean``'s count of an
  axis whose size is only known then).
* ``max``/``min`` with ``dim=`` return the values only (numpy's meaning, not PyTorch's pair).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit.dtypes import as_dtype, is_float
from graphjit.ir import Node, TensorType
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    apply,
    astype,
    eager_result,
    is_tensor,
    lift,
    untracked_array,
)
from graphjit.ops.prims import broadcast_like, equal, expand_reduced, where
from graphjit.ops.registry import DimBuilder, OpDef, binds, defop, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import (
    axis_or_dim,
    check_axes,
    is_scalar_dim,
    keepdims_arg,
    normalize_axes,
    normalize_axis,
    reduced_call_dims,
    reduced_shape,
    reduction_axes,
)

__all__ = [
    "sum",
    "prod",
    "max",
    "min",
    "argmax",
    "argmin",
    "size_of",
]


# --------------------------------------------------------------------------------------------------
# shape rules


def _accumulator(dtype: str) -> str:
    """numpy's result dtype for sum/prod: bool and ints accumulate in int64."""
    return dtype if is_float(dtype) else "int64"


def _reduce_infer(name: str, dtype_rule: Any) -> Any:
    def infer(x: TensorType, *, axes: tuple[int, ...], keepdims: bool) -> TensorType:
        check_axes(name, x, axes)
        return TensorType(reduced_shape(x.shape, axes, keepdims), dtype_rule(x.dtype))

    return infer


def _same_dtype(dtype: str) -> str:
    return dtype


# --------------------------------------------------------------------------------------------------
# derivative helpers (written with gj functions: they build graph or compute eagerly)


def _is_float(x: Any) -> bool:
    return is_float(as_dtype(x.dtype))


def _sum_op(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    return apply(SUM, x, axes=axes, keepdims=keepdims)


def _sum_vjp(g: Any, out: Any, x: Any, *, axes: tuple[int, ...], keepdims: bool) -> tuple:
    if not _is_float(x):
        return (None,)
    return (broadcast_like(expand_reduced(g, axes, keepdims), x),)


def _sum_jvp(tangents: Any, out: Any, x: Any, *, axes: tuple[int, ...], keepdims: bool) -> Any:
    (t,) = tangents
    return None if t is None else _sum_op(t, axes, keepdims)


def _prod_partials(x: Any, out: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """d prod / d x_i: the product of the other elements of x_i's slice, exact with zeros.

    With no zero in the slice it is ``out / x_i``. With one zero it is the product of the non-zeros
    at the zero and 0 elsewhere, written ``out / x_i`` there so that its derivative with respect to
    the zero is right. With two zeros each zero's partial is 0, written as ``P * (S - x_i)`` (``S``
    the sum of the zeros, ``P`` the product of the non-zeros) so its derivative with respect to the
    other zero is ``P``. Second derivatives are therefore exact for up to two zeros."""
    is_zero = equal(x, 0)
    n_zeros = _sum_op(is_zero.astype(x.dtype), axes, True)
    safe = where(is_zero, 1.0, x)
    nonzero_prod = apply(PROD, safe, axes=axes, keepdims=True)
    zeros_sum = _sum_op(where(is_zero, x, 0.0), axes, True)
    at_zero = where(
        equal(n_zeros, 1),
        nonzero_prod,
        where(equal(n_zeros, 2), nonzero_prod * (zeros_sum - x), 0.0),
    )
    return where(is_zero, at_zero, expand_reduced(out, axes, keepdims) / safe)


def _prod_vjp(g: Any, out: Any, x: Any, *, axes: tuple[int, ...], keepdims: bool) -> tuple:
    if not _is_float(x):
        return (None,)
    return (expand_reduced(g, axes, keepdims) * _prod_partials(x, out, axes, keepdims),)


def _prod_jvp(tangents: Any, out: Any, x: Any, *, axes: tuple[int, ...], keepdims: bool) -> Any:
    (t,) = tangents
    if t is None:
        return None
    return _sum_op(t * _prod_partials(x, out, axes, keepdims), axes, keepdims)


def _extremum_share(x: Any, out: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """1/(number of ties) where x attains the slice's max (or min), 0 elsewhere."""
    hit = equal(x, expand_reduced(out, axes, keepdims)).astype(x.dtype)
    return hit / _sum_op(hit, axes, True)


def _extremum_vjp(g: Any, out: Any, x: Any, *, axes: tuple[int, ...], keepdims: bool) -> tuple:
    if not _is_float(x):
        return (None,)
    return (expand_reduced(g, axes, keepdims) * _extremum_share(x, out, axes, keepdims),)


def _extremum_jvp(tangents: Any, out: Any, x: Any, *, axes: tuple[int, ...], keepdims: bool) -> Any:
    (t,) = tangents
    if t is None or not _is_float(x):
        return None
    return _sum_op(t * _extremum_share(x, out, axes, keepdims), axes, keepdims)


# --------------------------------------------------------------------------------------------------
# numpy references


_add_reduce: Any = np.add.reduce  # numpy's stubs want a literal keepdims


def _sum_impl(x: np.ndarray, *, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    acc: Any = x.dtype
    if acc.kind != "f":
        acc = np.int64  # bool and ints accumulate in int64
    return np.asarray(_add_reduce(x, axis=axes, keepdims=keepdims, dtype=acc))


def _prod_impl(x: np.ndarray, *, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    return np.asarray(np.prod(x, axis=axes, keepdims=keepdims, dtype=_accumulator(x.dtype.name)))


def _max_impl(x: np.ndarray, *, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    return np.asarray(np.max(x, axis=axes, keepdims=keepdims))


def _min_impl(x: np.ndarray, *, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    return np.asarray(np.min(x, axis=axes, keepdims=keepdims))


def _arg_infer(name: str) -> Any:
    def infer(x: TensorType, *, axis: int | None, keepdims: bool) -> TensorType:
        if axis is None:
            shape: tuple = (1,) * x.ndim if keepdims else ()
        else:
            if not isinstance(axis, int) or not 0 <= axis < x.ndim:
                raise ValueError(f"{name}: axis {axis!r} is out of range for {x.ndim} dims")
            shape = reduced_shape(x.shape, (axis,), keepdims)
        return TensorType(shape, "int64")

    return infer


def _argmax_impl(x: np.ndarray, *, axis: int | None, keepdims: bool) -> np.ndarray:
    return np.asarray(np.argmax(x, axis=axis, keepdims=keepdims), dtype=np.int64)


def _argmin_impl(x: np.ndarray, *, axis: int | None, keepdims: bool) -> np.ndarray:
    return np.asarray(np.argmin(x, axis=axis, keepdims=keepdims), dtype=np.int64)


def _size_of_infer(x: TensorType, *, axes: tuple[int, ...], dtype: str) -> TensorType:
    check_axes("size_of", x, axes)
    return TensorType((), dtype)


def _size_of_impl(x: np.ndarray, *, axes: tuple[int, ...], dtype: str) -> np.ndarray:
    return np.asarray(math.prod(x.shape[a] for a in axes), dtype=dtype)


# --------------------------------------------------------------------------------------------------
# the ops

SUM: OpDef = defop(
    "sum",
    infer=_reduce_infer("sum", _accumulator),
    impl=_sum_impl,
    vjp=_sum_vjp,
    jvp=_sum_jvp,
    kind="reduction",
    call_dims=reduced_call_dims,
    fusion="reduction",
    promote=None,
    doc="sum over axes; bool and int inputs accumulate in int64 (numpy)",
)
PROD: OpDef = defop(
    "prod",
    infer=_reduce_infer("prod", _accumulator),
    impl=_prod_impl,
    vjp=_prod_vjp,
    jvp=_prod_jvp,
    kind="reduction",
    call_dims=reduced_call_dims,
    fusion="reduction",
    promote=None,
    doc="product over axes; the gradient is exact with zeros in the slice",
)
MAX: OpDef = defop(
    "max",
    infer=_reduce_infer("max", _same_dtype),
    impl=_max_impl,
    vjp=_extremum_vjp,
    jvp=_extremum_jvp,
    kind="reduction",
    call_dims=reduced_call_dims,
    fusion="reduction",
    promote=None,
    doc="maximum over axes (NaN propagates); ties split the gradient evenly",
)
MIN: OpDef = defop(
    "min",
    infer=_reduce_infer("min", _same_dtype),
    impl=_min_impl,
    vjp=_extremum_vjp,
    jvp=_extremum_jvp,
    kind="reduction",
    call_dims=reduced_call_dims,
    fusion="reduction",
    promote=None,
    doc="minimum over axes (NaN propagates); ties split the gradient evenly",
)


def _arg_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    axis, keep = node.attrs["axis"], node.attrs["keepdims"]
    if axis is None:
        return ["1"] * len(ins[0]) if keep else []
    return ["1" if i == axis else d for i, d in enumerate(ins[0]) if keep or i != axis]


ARGMAX: OpDef = defop(
    "argmax",
    infer=_arg_infer("argmax"),
    impl=_argmax_impl,
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="reduction",
    call_dims=_arg_call_dims,
    promote=None,
    doc="index (int64) of the first maximum along axis, or in the flattened array for axis=None",
)
ARGMIN: OpDef = defop(
    "argmin",
    infer=_arg_infer("argmin"),
    impl=_argmin_impl,
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="reduction",
    call_dims=_arg_call_dims,
    promote=None,
    doc="index (int64) of the first minimum along axis, or in the flattened array for axis=None",
)


def _size_of_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return []


SIZE_OF: OpDef = defop(
    "size_of",
    infer=_size_of_infer,
    impl=_size_of_impl,
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="other",
    call_dims=_size_of_call_dims,
    shape_only_from=0,
    promote=None,
    doc="the number of elements on some axes of x, known when the graph runs (0-d)",
)


# --------------------------------------------------------------------------------------------------
# public functions


_EVERY_AXIS = {n: tuple(range(n)) for n in range(33)}


def _prepare(
    name: str, x: Any, axis: Any, dim: Any, keepdims: Any, keepdim: Any
) -> tuple[Any, tuple[int, ...], bool]:
    x = lift(x)
    return (x, *reduction_axes(name, x, axis, dim, keepdims, keepdim))


@binds(SUM)
def sum(
    x: ArrayLike,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dtype: Any = None,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Sum over ``axis`` (int, tuple, negative, or None for all), as numpy.sum.

    Bool and int inputs give int64. ``dtype`` casts the input first, and is the result's dtype
    (an int8 sum wraps as numpy's)."""
    defaults = axis is None and dim is None and dtype is None and keepdim is None
    if defaults and keepdims is False and is_tensor(x):  # the eager loss's ``t.sum()``
        every = _EVERY_AXIS.get(x.ndim)
        if every is not None:  # nothing to parse
            array = untracked_array(x)
            if array is not None:  # nothing to record: the reference impl, no dispatch
                return eager_result(_sum_impl(array, axes=every, keepdims=False))
            return apply(SUM, x, axes=every, keepdims=False)
    x, axes, keep = _prepare("sum", x, axis, dim, keepdims, keepdim)
    if dtype is None:
        return _sum_op(x, axes, keep)
    return astype(_sum_op(astype(x, dtype), axes, keep), dtype)  # ints sum in int64: cast back


def prod(
    x: ArrayLike,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dtype: Any = None,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Product over ``axis``, as numpy.prod (``dtype``, as :func:`sum`'s, is the result's). The
    gradient is exact with zeros in a slice."""
    x, axes, keep = _prepare("prod", x, axis, dim, keepdims, keepdim)
    if dtype is None:
        return apply(PROD, x, axes=axes, keepdims=keep)
    return astype(apply(PROD, astype(x, dtype), axes=axes, keepdims=keep), dtype)


def max(
    x: ArrayLike,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Maximum over ``axis``, as numpy.max (NaN propagates). Ties share the gradient evenly.

    With ``dim=`` this still returns the values only, not PyTorch's (values, indices)."""
    x, axes, keep = _prepare("max", x, axis, dim, keepdims, keepdim)
    return apply(MAX, x, axes=axes, keepdims=keep)


def min(
    x: ArrayLike,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Minimum over ``axis``, as numpy.min (NaN propagates). Ties share the gradient evenly."""
    x, axes, keep = _prepare("min", x, axis, dim, keepdims, keepdim)
    return apply(MIN, x, axes=axes, keepdims=keep)


def _arg_reduce(op: OpDef, x: Any, axis: Any, dim: Any, keepdims: Any, keepdim: Any) -> Any:
    x = lift(x)
    if dim is not None and x.ndim == 0 and is_scalar_dim(dim):
        dim = None  # PyTorch: dim 0 or -1 of a 0-d tensor is its only element
    axis = axis_or_dim(op.name, axis, dim)
    if axis is not None:
        if isinstance(axis, (tuple, list)):
            raise TypeError(f"{op.name}: axis must be an int or None, got {axis!r}")
        axis = normalize_axis(axis, x.ndim, op.name)
    return apply(op, x, axis=axis, keepdims=keepdims_arg(keepdims, keepdim))


def argmax(
    x: ArrayLike,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Index of the first maximum along ``axis`` (or of the flattened array), int64, as
    numpy.argmax. NaN counts as the maximum. Zero gradient."""
    return _arg_reduce(ARGMAX, x, axis, dim, keepdims, keepdim)


def argmin(
    x: ArrayLike,
    axis: Any = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
) -> Value:
    """Index of the first minimum along ``axis`` (or of the flattened array), int64, as
    numpy.argmin. NaN counts as the minimum. Zero gradient."""
    return _arg_reduce(ARGMIN, x, axis, dim, keepdims, keepdim)


@binds(SIZE_OF)
def size_of(x: ArrayLike, axes: Any = None, dtype: Any = "float64") -> Value:
    """A 0-d value of ``dtype``: the product of ``x``'s dims on ``axes`` (None: all), taken when
    the graph runs. Only ``x``'s shape is read; its gradient is zero."""
    x = lift(x)
    return apply(SIZE_OF, x, axes=normalize_axes(axes, x.ndim, "size_of"), dtype=as_dtype(dtype))
