"""Reductions, scans and sorting with PyTorch's names and results (pairs as named tuples):
``gj.cummax``, ``gj.var_mean``, ``gj.median``, ``gj.topk``, ``gj.unique``, ...

Where a name is numpy's too (cumsum, sort, argsort, any, all) the numpy-named function in
graphjit.ops takes PyTorch's spelling as well; the functions here are PyTorch's only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from graphjit.dtypes import get_default_dtype, is_float
from graphjit.ir import Node
from graphjit.ops import comparison, floating, reductions, scans, shape, sorting, statistics
from graphjit.ops import elementwise as ew
from graphjit.ops import gather as gather_ops
from graphjit.ops.dispatch import ArrayLike, Value, apply, astype, lift, lift_like, write_out
from graphjit.ops.shape_rules import normalize_axes, normalize_axis

__all__ = ["cummax", "cummin", "logcumsumexp", "var_mean", "std_mean", "aminmax", "kthvalue",
           "median", "mode", "topk", "unique", "ValuesIndices", "MinMax"]  # fmt: skip
__all__ += ["norm", "dist", "renorm", "msort"]


class ValuesIndices(NamedTuple):
    """``torch.return_types`` of cummax, cummin, median(dim), mode, kthvalue, topk and sort."""

    values: Any
    indices: Any


class MinMax(NamedTuple):
    """``aminmax``'s result."""

    min: Any
    max: Any


def _cumulative_extreme(x: ArrayLike, dim: Any, op: Any, name: str) -> ValuesIndices:
    flat, axis, back = scans.scan_axis(name, x, None, dim)
    idx = apply(op, flat, axis=axis)
    values = gather_ops.take_along_axis(flat, idx, axis)
    if back is not None:
        return ValuesIndices(shape.reshape(values, back), shape.reshape(idx, back))
    return ValuesIndices(values, idx)


def cummax(x: ArrayLike, dim: Any) -> ValuesIndices:
    """Running maximum along ``dim`` and its indices, as torch.cummax (a tie moves the index to
    the later element; NaN holds). The gradient goes to the element each value came from."""
    return _cumulative_extreme(x, dim, scans.CUMARGMAX, "cummax")


def cummin(x: ArrayLike, dim: Any) -> ValuesIndices:
    """Running minimum along ``dim`` and its indices, as torch.cummin."""
    return _cumulative_extreme(x, dim, scans.CUMARGMIN, "cummin")


def logcumsumexp(x: ArrayLike, dim: Any) -> Value:
    """``log(cumsum(exp(x), dim))`` without overflow, as torch.logcumsumexp (ints give the
    default float dtype)."""
    flat, axis, back = scans.scan_axis("logcumsumexp", x, None, dim)
    if not is_float(flat.dtype):
        flat = astype(flat, get_default_dtype())
    return scans.apply_scan(scans.LOGCUMSUMEXP, flat, axis, back, reverse=False)


def _correction(correction: Any, unbiased: Any) -> Any:
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def _spread_and_mean(
    spread: Callable[..., Value],
    x: ArrayLike,
    dim: Any,
    correction: Any,
    keepdim: bool,
    unbiased: bool | None,
) -> tuple[Value, Value]:
    """``(spread, mean)`` over ``dim``: var_mean and std_mean, with PyTorch's ``correction``."""
    ddof = _correction(correction, unbiased)
    return (
        spread(x, dim=dim, ddof=ddof, keepdim=keepdim),
        statistics.mean(x, dim=dim, keepdim=keepdim),
    )


def var_mean(
    x: ArrayLike,
    dim: Any = None,
    *,
    correction: Any = None,
    keepdim: bool = False,
    unbiased: bool | None = None,
) -> tuple[Value, Value]:
    """``(var, mean)`` over ``dim``, as torch.var_mean: unbiased (``correction=1``) by default."""
    return _spread_and_mean(statistics.var, x, dim, correction, keepdim, unbiased)


def std_mean(
    x: ArrayLike,
    dim: Any = None,
    *,
    correction: Any = None,
    keepdim: bool = False,
    unbiased: bool | None = None,
) -> tuple[Value, Value]:
    """``(std, mean)`` over ``dim``, as torch.std_mean: unbiased (``correction=1``) by default."""
    return _spread_and_mean(statistics.std, x, dim, correction, keepdim, unbiased)


def aminmax(x: ArrayLike, *, dim: Any = None, keepdim: bool = False) -> MinMax:
    """``(min, max)`` over ``dim`` (None: all), as torch.aminmax."""
    return MinMax(
        reductions.min(x, dim=dim, keepdim=keepdim), reductions.max(x, dim=dim, keepdim=keepdim)
    )


def _pick(x: Any, order: Any, position: Any, axis: int, keepdim: bool) -> ValuesIndices:
    """The element of each slice at ``position`` (kept dims) of the sorting ``order``."""
    idx = gather_ops.take_along_axis(order, position, axis)
    values = gather_ops.take_along_axis(x, idx, axis)
    if not keepdim:
        idx, values = shape.squeeze(idx, axis), shape.squeeze(values, axis)
    return ValuesIndices(values, idx)


def _slice_size(name: str, x: Any, axis: int) -> int:
    n = x.shape[axis]
    if not isinstance(n, int):
        raise ValueError(f"{name}: the size of dim {axis} must be known when the graph is built")
    return n


def kthvalue(x: ArrayLike, k: int, dim: Any = -1, keepdim: bool = False) -> ValuesIndices:
    """The ``k``-th smallest element (1-based) along ``dim`` and its index, as torch.kthvalue.
    Among ties the index is the one a stable sort puts there (PyTorch may pick another)."""
    flat, axis, back = sorting.sort_axis("kthvalue", x, None, dim)
    n = _slice_size("kthvalue", flat, axis)
    if not 1 <= k <= n:
        raise ValueError(f"kthvalue: k must be in [1, {n}], got {k}")
    order = sorting.argsort(flat, axis)
    position = np.full([1] * flat.ndim, k - 1, dtype=np.int64)
    result = _pick(flat, order, position, axis, keepdim or back is not None)
    return _scalar_pair(result, back)


def _scalar_pair(result: ValuesIndices, back: tuple | None) -> ValuesIndices:
    if back is None:
        return result
    return ValuesIndices(shape.reshape(result.values, back), shape.reshape(result.indices, back))


def median(x: ArrayLike, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median (for an even count, the smaller middle element) as torch.median: of all
    elements without ``dim`` (the value), else ``(values, indices)`` along ``dim``. A slice with
    NaN gives NaN. numpy's median averages the middle two; this is PyTorch's."""
    x = lift(x)
    if dim is None:
        return median(shape.reshape(x, (-1,)), 0).values
    flat, axis, back = sorting.sort_axis("median", x, None, dim)
    n = _slice_size("median", flat, axis)
    if n == 0:
        raise ValueError("median: cannot take the median of an empty slice")
    nans = reductions.sum(comparison.not_equal(flat, flat), axis, keepdims=True)
    position = comparison.where(nans > 0, n - nans, (n - 1) // 2)  # NaN sorts last
    order = sorting.argsort(flat, axis)
    return _scalar_pair(_pick(flat, order, position, axis, keepdim or back is not None), back)


def mode(x: ArrayLike, dim: Any = -1, keepdim: bool = False) -> ValuesIndices:
    """The most frequent value along ``dim`` (the smallest among equally frequent ones, NaN
    counting as one value above every number, as the sorts order it) and the index of its last
    occurrence, as torch.mode. Compares every pair in a slice: memory grows with the square of
    the slice's length."""
    flat, axis, back = sorting.sort_axis("mode", x, None, dim)
    n = _slice_size("mode", flat, axis)
    last = shape.moveaxis(flat, axis, -1)
    counts = reductions.sum(_same(shape.expand_dims(last, -1), shape.expand_dims(last, -2)), -1)
    frequent = comparison.equal(counts, reductions.max(counts, -1, keepdims=True))
    order = sorting.argsort(last, -1)  # NaN last
    first = reductions.argmax(gather_ops.take_along_axis(frequent, order, -1), -1, keepdims=True)
    value = gather_ops.take_along_axis(last, gather_ops.take_along_axis(order, first, -1), -1)
    positions = np.arange(n, dtype=np.int64)
    idx = reductions.max(comparison.where(_same(last, value), positions, -1), -1)
    idx = shape.expand_dims(idx, axis)
    values = gather_ops.take_along_axis(flat, idx, axis)
    if not (keepdim or back is not None):
        idx, values = shape.squeeze(idx, axis), shape.squeeze(values, axis)
    return _scalar_pair(ValuesIndices(values, idx), back)


def _same(a: Any, b: Any) -> Any:
    """a == b, with NaN equal to NaN (a value of its own, as torch.mode and unique count it)."""
    if not is_float(a.dtype):
        return comparison.equal(a, b)
    both_nan = comparison.logical_and(floating.isnan(a), floating.isnan(b))
    return comparison.logical_or(comparison.equal(a, b), both_nan)


def topk(
    x: ArrayLike,
    k: int,
    dim: Any = -1,
    largest: bool = True,
    sorted: bool = True,  # noqa: A002
) -> ValuesIndices:
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim`` and their indices,
    as torch.topk; always in sorted order, ties in their original order."""
    flat, axis, back = sorting.sort_axis("topk", x, None, dim)
    n = _slice_size("topk", flat, axis)
    if not 0 <= k <= n:
        raise ValueError(f"topk: k must be in [0, {n}], got {k}")
    order = sorting.argsort(flat, axis, descending=largest)
    idx = gather_ops.take(order, np.arange(k, dtype=np.int64), axis)
    values = gather_ops.take_along_axis(flat, idx, axis)
    return _scalar_pair(ValuesIndices(values, idx), back if k == 1 else None)  # 0-d: k is 0 or 1


def unique(
    x: ArrayLike,
    sorted: bool = True,  # noqa: A002 - PyTorch's name
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: Any = None,
) -> Any:
    """The distinct values (sorted), as torch.unique; with ``return_inverse`` and
    ``return_counts`` a tuple. Eager only: the result's size depends on the values. A cuda
    tensor's values are copied to the host for numpy's sort and the results copied back (the
    device's sort is one thread per line: far slower on one long line than a copy each way)."""
    if isinstance(x, Node):
        raise TypeError(
            "unique: the number of distinct values is only known from the values, so unique "
            "works on eager tensors, not graph nodes"
        )
    t = lift(x)
    arr = t.detach().cpu().numpy()
    values, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True, axis=dim)
    if dim is None:
        inverse = inverse.reshape(arr.shape)
    out = [values]
    if return_inverse:
        out.append(inverse.astype(np.int64))
    if return_counts:
        out.append(counts.astype(np.int64))
    tensors = [lift_like(np.ascontiguousarray(a), t) for a in out]
    return tensors[0] if len(tensors) == 1 else tuple(tensors)


def _safe_root(total: Any, root: Callable[[Any], Any]) -> Any:
    """``root(total)``, whose derivative is 0 where ``total`` is 0 (PyTorch's norm gradient at
    the zero vector), not ``0 * inf``."""
    zero = comparison.equal(total, 0)
    return comparison.where(zero, 0, root(comparison.where(zero, 1, total)))


def _vector_norm(x: Any, p: Any, axes: Any, keepdim: bool) -> Any:
    if p == "fro" or p == 2:
        return _safe_root(reductions.sum(ew.square(x), axes, keepdims=keepdim), ew.sqrt)
    magnitude = ew.abs(x)
    if p == float("inf"):
        return reductions.max(magnitude, axes, keepdims=keepdim)
    if p == float("-inf"):
        return reductions.min(magnitude, axes, keepdims=keepdim)
    if p == 0:
        count = reductions.sum(comparison.not_equal(x, 0), axes, keepdims=keepdim)
        return astype(count, x.dtype)
    if p == 1:
        return reductions.sum(magnitude, axes, keepdims=keepdim)
    total = reductions.sum(ew.power(magnitude, p), axes, keepdims=keepdim)
    return _safe_root(total, lambda t: ew.power(t, 1.0 / p))


def _norm_order(fn: str, p: Any) -> Any:
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(f"{fn}: p={p!r} is not supported (a number, inf, -inf or 'fro')")
        return p
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: p must be a number or 'fro', got {type(p).__name__}")
    return float(p)


def norm(
    input: ArrayLike,  # noqa: A002
    p: Any = "fro",
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Any = None,
) -> Value:
    """The vector p-norm of ``input`` over ``dim`` (all elements when None), as torch.norm:
    ``p`` is a number (``sum(|x|**p) ** (1/p)``), ``inf``/``-inf`` (the largest/smallest
    magnitude), 0 (the count of non-zeros) or ``'fro'`` (the 2-norm, over any dims). Float
    inputs only. At the zero vector the gradient is 0, as PyTorch's; at ties of the inf-norm it
    is split evenly."""
    x = lift(input)
    order = _norm_order("norm", "fro" if p is None else p)  # None: torch.norm's default
    if dtype is not None:
        x = astype(x, dtype)
    if not is_float(x.dtype):
        raise TypeError(f"norm: expects a floating point input, got {x.dtype}")
    axes = None if dim is None else normalize_axes(dim, max(x.ndim, 1), "norm")
    if x.ndim == 0 and axes is not None:
        axes = None
    return write_out(_vector_norm(x, order, axes, keepdim), out, "norm")


def dist(input: ArrayLike, other: ArrayLike, p: Any = 2) -> Value:  # noqa: A002
    """The p-norm of ``input - other`` (broadcast together), as torch.dist (``p`` a number)."""
    if isinstance(p, str):
        raise TypeError(f"dist: p must be a number, got {p!r}")
    return norm(ew.subtract(input, other), _norm_order("dist", p))


def renorm(input: ArrayLike, p: Any, dim: int, maxnorm: Any) -> Value:  # noqa: A002
    """``input`` with each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to
    norm ``maxnorm`` (by ``maxnorm / (norm + 1e-7)``, as torch.renorm); the gradient goes
    through the norm too."""
    x = lift(input)
    order = _norm_order("renorm", p)
    if order == "fro":
        raise TypeError("renorm: p must be a number")
    if not order > 0:
        raise ValueError(f"renorm: p must be > 0, got {p}")
    if not is_float(x.dtype):
        raise TypeError(f"renorm: expects a floating point input, got {x.dtype}")
    if x.ndim == 0:
        raise ValueError("renorm: input needs at least 1 dim")
    d = normalize_axis(dim, x.ndim, "renorm")
    if isinstance(maxnorm, bool) or not isinstance(maxnorm, (int, float, np.integer, np.floating)):
        raise TypeError(f"renorm: maxnorm must be a number, got {type(maxnorm).__name__}")
    if maxnorm < 0:
        raise ValueError(f"renorm: maxnorm must be >= 0, got {maxnorm}")
    others = tuple(a for a in range(x.ndim) if a != d)
    size = _vector_norm(x, order, others, keepdim=True)
    factor = comparison.where(size > maxnorm, maxnorm / (size + 1e-7), 1)
    return ew.multiply(x, astype(factor, x.dtype))


def msort(input: ArrayLike, *, out: Any = None) -> Value:  # noqa: A002
    """``input`` sorted along its first dim (values only), as torch.msort."""
    return write_out(sorting.sort(input, 0), out, "msort")
