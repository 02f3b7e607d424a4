"""The PyTorch-named public functions: ``gj.mul``, ``gj.clamp``, ``gj.t``, ``gj.cat``, ...

Tutorials written for PyTorch call ``torch.mul``, ``torch.clamp`` or ``torch.unsqueeze``; with these
the same lines work with ``gj.`` in front, on graph nodes and eager tensors alike. Where the name is
only an alias, it is the numpy-named function itself. Each name is defined once, here; the
methods of the same names (:mod:`graphjit.methods`) call these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from graphjit.dtypes import get_default_dtype, is_float
from graphjit.ir import Node
from graphjit.ops import (
    arrangement,
    broadcast,
    comparison,
    joining,
    linalg,
    reductions,
    rounding,
    scans,
    shape,
    sorting,
    stacking,
    statistics,
    trig,
)
from graphjit.ops import elementwise as ew
from graphjit.ops import gather as gather_ops
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    apply,
    astype,
    eager_flatnonzero,
    eager_nonzero,
    lift,
    lift_like,
    write_out,
)
from graphjit.ops.shape_rules import normalize_axis
from graphjit.tensor.backend import device_flatnonzero, device_unravel

__all__ = ["mul", "sub", "div", "pow", "neg", "clamp", "mm", "t", "unsqueeze", "permute", "flatten",
           "numel", "cat", "concat"]  # fmt: skip
__all__ += ["asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "arctan2", "rsqrt",
            "frac", "lerp", "fix"]  # fmt: skip

mul = ew.multiply
sub = ew.subtract
div = ew.divide
pow = ew.power
neg = ew.negative
unsqueeze = shape.expand_dims
clamp = ew.clamp  # PyTorch's gradient at the bounds (gj.clip splits it there)


def mm(a: ArrayLike, b: ArrayLike, *, out: Any = None) -> Value:
    """Matrix product of two 2-D arrays, as torch.mm."""
    a, b = lift(a), lift(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects two 2-D arrays, got {a.ndim}-D and {b.ndim}-D; use matmul")
    return linalg.matmul(a, b, out=out)


def t(x: ArrayLike) -> Value:
    """Transpose of an array of at most 2 dims, as torch.t."""
    x = lift(x)
    if x.ndim > 2:
        raise ValueError(f"t: expects at most 2 dims, got {x.ndim}; use transpose or swapaxes")
    return shape.transpose(x)


def permute(x: ArrayLike, *dims: Any) -> Value:
    """Axes in the given order, as torch.permute (numpy: ``transpose(x, axes)``)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return shape.transpose(x, dims)


def flatten(x: ArrayLike, start_dim: int = 0, end_dim: int = -1) -> Value:
    """Dims ``start_dim..end_dim`` merged into one, as torch.flatten."""
    x = lift(x)
    if x.ndim == 0:
        return shape.reshape(x, (1,))
    start = start_dim % x.ndim
    end = end_dim % x.ndim
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    dims = list(x.shape)
    if any(not isinstance(d, int) for d in dims[:start] + dims[end + 1 :]):
        raise ValueError(
            "flatten: dims outside the flattened range must have fixed sizes in a graph"
        )
    return shape.reshape(x, (*dims[:start], -1, *dims[end + 1 :]))


def numel(x: ArrayLike) -> int:
    """Number of elements (fixed sizes only), as torch.numel."""
    x = lift(x)
    size = 1
    for d in x.shape:
        if not isinstance(d, int):
            raise ValueError("numel: the array has a dim whose size is only known at call time")
        size *= d
    return size


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: Any = None) -> Value:
    """Join tensors along an existing dim, as torch.cat (numpy: ``gj.concatenate``)."""
    return joining.concatenate(list(tensors), dim if axis is None else axis)


concat = cat


# --------------------------------------------------------------------------------------------------
# elementwise math under PyTorch's names

asin = trig.arcsin
acos = trig.arccos
atan = ew.arctan
atan2 = arctan2 = trig.arctan2
asinh = trig.arcsinh
acosh = trig.arccosh
atanh = trig.arctanh
fix = rounding.trunc


def rsqrt(x: ArrayLike, *, out: Any = None) -> Value:
    """``1 / sqrt(x)``, as torch.rsqrt (inf at 0, nan below)."""
    return write_out(ew.reciprocal(ew.sqrt(x)), out, "rsqrt")


def frac(x: ArrayLike, *, out: Any = None) -> Value:
    """The fractional part ``x - trunc(x)`` (sign of x; exact in floating point), as torch.frac."""
    x = lift(x)
    return write_out(x - rounding.trunc(x), out, "frac")


def lerp(start: ArrayLike, end: ArrayLike, weight: Any, *, out: Any = None) -> Value:
    """``start + weight * (end - start)``, as torch.lerp: for ``|weight| >= 0.5`` computed from
    ``end`` (``end - (end - start) * (1 - weight)``), so that weight 1 gives ``end`` exactly."""
    start, end = lift(start), lift(end)
    diff = end - start
    near_start = ew.abs(weight) < 0.5
    return write_out(
        comparison.where(near_start, start + weight * diff, end - diff * (1 - weight)), out, "lerp"
    )


# reductions, scans and sorting with PyTorch's names and results (pairs as named tuples)
#
# Where a name is numpy's too (cumsum, sort, argsort, any, all) the numpy-named function in
# graphjit.ops takes PyTorch's spelling as well; the functions here are PyTorch's only.


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


def var_mean(
    x: ArrayLike,
    dim: Any = None,
    *,
    correction: Any = None,
    keepdim: bool = False,
    unbiased: bool | None = None,
) -> tuple[Value, Value]:
    """``(var, mean)`` over ``dim``, as torch.var_mean: unbiased (``correction=1``) by default."""
    ddof = _correction(correction, unbiased)
    return (
        statistics.var(x, dim=dim, ddof=ddof, keepdim=keepdim),
        statistics.mean(x, dim=dim, keepdim=keepdim),
    )


def std_mean(
    x: ArrayLike,
    dim: Any = None,
    *,
    correction: Any = None,
    keepdim: bool = False,
    unbiased: bool | None = None,
) -> tuple[Value, Value]:
    """``(std, mean)`` over ``dim``, as torch.std_mean: unbiased (``correction=1``) by default."""
    ddof = _correction(correction, unbiased)
    return (
        statistics.std(x, dim=dim, ddof=ddof, keepdim=keepdim),
        statistics.mean(x, dim=dim, keepdim=keepdim),
    )


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
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the
    index of its last occurrence, as torch.mode. Compares every pair in a slice: memory grows
    with the square of the slice's length."""
    flat, axis, back = sorting.sort_axis("mode", x, None, dim)
    n = _slice_size("mode", flat, axis)
    last = shape.moveaxis(flat, axis, -1)
    same = comparison.equal(shape.expand_dims(last, -1), shape.expand_dims(last, -2))
    counts = reductions.sum(same, -1)
    frequent = comparison.equal(counts, reductions.max(counts, -1, keepdims=True))
    largest = reductions.max(last, -1, keepdims=True)
    value = reductions.min(comparison.where(frequent, last, largest), -1, keepdims=True)
    positions = np.arange(n, dtype=np.int64)
    idx = reductions.max(comparison.where(comparison.equal(last, value), positions, -1), -1)
    idx = shape.expand_dims(idx, axis)
    values = gather_ops.take_along_axis(flat, idx, axis)
    if not (keepdim or back is not None):
        idx, values = shape.squeeze(idx, axis), shape.squeeze(values, axis)
    return _scalar_pair(ValuesIndices(values, idx), back)


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


__all__ += ["cummax", "cummin", "logcumsumexp", "var_mean", "std_mean", "aminmax", "kthvalue",
            "median", "mode", "topk", "unique", "ValuesIndices", "MinMax"]  # fmt: skip


# shapes, joining, indexing, gathers and scatters, in PyTorch's spellings
#
# Where PyTorch's function means what a numpy-named one does, it is that function (its PyTorch
# keywords, ``dim=``, ``dims=``, ``diagonal=``, are accepted there): ``gj.tril``, ``gj.flip``,
# ``gj.roll``, ``gj.diagonal``, ``gj.diag`` serve both. Where the two libraries disagree on a name,
# the gj function keeps numpy's meaning and the Tensor method PyTorch's (``repeat``: numpy's
# element repeat vs PyTorch's tile; ``split``: sections vs part sizes, PyTorch's when given
# ``dim=``; ``squeeze(dim)`` of a dim that is not 1: an error vs a no-op).

__all__ += ["repeat_interleave", "tensor_split", "movedim", "swapdims", "take_along_dim",
            "narrow", "unflatten", "unfold", "chunk", "gather", "scatter", "scatter_add",
            "index_select", "index_add", "masked_fill", "masked_select", "nonzero"]  # fmt: skip

repeat_interleave = arrangement.repeat
tensor_split = stacking.array_split
movedim = shape.moveaxis
swapdims = shape.swapaxes
take_along_dim = gather_ops.take_along_axis


def _dim(x: Any, dim: Any, fn: str) -> int:
    return normalize_axis(dim, x.ndim, fn)


def _static(x: Any, dim: int, fn: str) -> int:
    n = x.shape[dim]
    if not isinstance(n, int):
        raise ValueError(f"{fn}: dim {dim} needs a size fixed when the graph is built")
    return n


def _window(x: Any, dim: int, start: Any, stop: Any) -> Any:
    slices: list[Any] = [None] * x.ndim
    slices[dim] = (start, stop, 1)
    return joining.slice_axes(x, slices)


def narrow(input: ArrayLike, dim: int, start: Any, length: int) -> Value:  # noqa: A002
    """``length`` elements of ``dim`` from ``start`` (negative counts from the end), a view, as
    torch.narrow."""
    x = lift(input)
    d = _dim(x, dim, "narrow")
    start, length = int(start), int(length)
    if length < 0:
        raise ValueError(f"narrow: length must be >= 0, got {length}")
    if start < 0:
        start += _static(x, d, "narrow")
    n = x.shape[d]
    if start < 0 or (isinstance(n, int) and start + length > n):
        raise IndexError(f"narrow: start {start} and length {length} exceed dim {d} of size {n}")
    return _window(x, d, start, start + length)


def unflatten(input: ArrayLike, dim: int, sizes: Sequence[int]) -> Value:  # noqa: A002
    """Dim ``dim`` split into dims of ``sizes`` (one may be -1), as torch.unflatten."""
    x = lift(input)
    d = _dim(x, dim, "unflatten")
    sizes = tuple(int(s) for s in sizes)
    rest = [s if isinstance(s, int) else -1 for i, s in enumerate(x.shape) if i != d]
    if rest.count(-1) + sizes.count(-1) > 1:
        raise ValueError("unflatten: only one dim of the result may have an unknown size")
    return shape.reshape(x, (*rest[:d], *sizes, *rest[d:]))


def unfold(input: ArrayLike, dimension: int, size: int, step: int) -> Value:  # noqa: A002
    """Sliding windows of ``size`` elements every ``step`` along ``dimension``, as
    ``Tensor.unfold``: that dim becomes the number of windows and a last dim of ``size`` is
    added. One gather with a constant index array (the dim's size must be fixed)."""
    x = lift(input)
    d = _dim(x, dimension, "unfold")
    n = _static(x, d, "unfold")
    if size < 0 or step <= 0:
        raise ValueError(f"unfold: size must be >= 0 and step > 0, got size={size}, step={step}")
    if size > n:
        raise ValueError(f"unfold: size {size} exceeds dim {d} of size {n}")
    starts = np.arange(0, n - size + 1, step)
    windows = gather_ops.take(x, starts[:, None] + np.arange(size)[None, :], d)
    return shape.moveaxis(windows, d + 1, -1)


def chunk(input: ArrayLike, chunks: int, dim: int = 0) -> list[Any]:  # noqa: A002
    """At most ``chunks`` parts of ``ceil(size / chunks)`` elements along ``dim`` (the last may
    be smaller), as torch.chunk."""
    x = lift(input)
    d = _dim(x, dim, "chunk")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be > 0, got {chunks}")
    n = _static(x, d, "chunk")
    size = max(1, -(-n // chunks))
    return joining.split(x, size, dim=d)


def _index(index: ArrayLike, fn: str) -> Any:
    idx = lift(index)
    if idx.dtype not in ("int32", "int64"):
        raise TypeError(f"{fn}: index must be an int tensor, got {idx.dtype}")
    return idx


def _block(x: Any, idx: Any, d: Any, fn: str) -> Any:
    """``x`` cut to ``idx``'s extent on every dim but ``d`` (all dims when ``d`` is None):
    PyTorch lets an index be smaller than the input and the source."""
    if idx.ndim != x.ndim:
        raise ValueError(
            f"{fn}: index must have as many dims as the input ({x.ndim}), got {idx.ndim}"
        )
    slices: list[Any] = [None] * x.ndim
    for k, (n, m) in enumerate(zip(x.shape, idx.shape)):
        if k == d or m == n or not isinstance(m, int) or not isinstance(n, int):
            continue
        if m > n:
            raise IndexError(f"{fn}: index has size {m} on dim {k}, the input only {n}")
        slices[k] = (0, m, 1)
    return joining.slice_axes(x, slices)


def gather(input: ArrayLike, dim: int, index: ArrayLike, *, sparse_grad: bool = False) -> Value:  # noqa: A002
    """``out[i][j] = input[index[i][j]][j]`` (for ``dim=0``), as torch.gather: the result has
    ``index``'s shape. Out-of-range indices raise IndexError (negative ones count from the end)."""
    x = lift(input)
    d = _dim(x, dim, "gather")
    idx = _index(index, "gather")
    return gather_ops.take_along_axis(_block(x, idx, d, "gather"), idx, d)


def _scattered(x: Any, idx: Any, src: Any, d: int, fn: str, add: bool) -> Any:
    src = lift(src)
    if src.ndim == 0:
        src = broadcast.broadcast_like(astype(src, x.dtype), idx)
    else:
        src = _block(src, idx, None, fn)
    block = _block(x, idx, d, fn)
    op = gather_ops.add_along_axis if add else gather_ops.put_along_axis
    new = op(block, idx, src, d)
    if block is x:
        return new
    widths = [(0, n - b) for n, b in zip(x.shape, block.shape)]
    if not all(isinstance(w, int) for _, w in widths):
        raise ValueError(f"{fn}: an index smaller than the input needs the input's sizes fixed")
    mask = np.zeros(x.shape, dtype=bool)
    mask[tuple(slice(0, b) for b in block.shape)] = True
    return comparison.where(mask, joining.pad(new, widths), x)


def scatter(
    input: ArrayLike,  # noqa: A002
    dim: int,
    index: ArrayLike,
    src: Any = None,
    *,
    value: Any = None,
    reduce: Any = None,
) -> Value:
    """A copy of ``input`` with ``src`` (or the scalar ``value``) written at ``index`` along
    ``dim``, as torch.scatter (``out[index[i][j]][j] = src[i][j]`` for ``dim=0``). Repeated
    indices, which PyTorch leaves unspecified, write the sum of their values.
    ``reduce="add"`` is scatter_add."""
    x = lift(input)
    d = _dim(x, dim, "scatter")
    idx = _index(index, "scatter")
    if (src is None) == (value is None):
        raise TypeError("scatter: give src or value")
    if reduce not in (None, "add"):
        raise ValueError(f"scatter: reduce={reduce!r} is not supported (only 'add')")
    return _scattered(x, idx, value if src is None else src, d, "scatter", reduce == "add")


def scatter_add(input: ArrayLike, dim: int, index: ArrayLike, src: ArrayLike) -> Value:  # noqa: A002
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate), as
    torch.scatter_add."""
    x = lift(input)
    d = _dim(x, dim, "scatter_add")
    return _scattered(x, _index(index, "scatter_add"), src, d, "scatter_add", True)


def index_select(input: ArrayLike, dim: int, index: ArrayLike) -> Value:  # noqa: A002
    """The slices of ``dim`` at the 1-D ``index``, as torch.index_select."""
    idx = _index(index, "index_select")
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 0-D or 1-D, got {idx.ndim} dims")
    x = lift(input)
    out = gather_ops.take(x, idx, _dim(x, dim, "index_select"))
    return out if idx.ndim == 1 else shape.expand_dims(out, _dim(x, dim, "index_select"))


def index_add(
    input: ArrayLike,  # noqa: A002
    dim: int,
    index: ArrayLike,
    source: ArrayLike,
    *,
    alpha: Any = 1,
) -> Value:
    """A copy of ``input`` with ``alpha * source`` added at the 1-D ``index`` along ``dim``
    (repeats accumulate), as torch.index_add."""
    x = lift(input)
    idx = _index(index, "index_add")
    if idx.ndim != 1:
        raise ValueError(f"index_add: index must be 1-D, got {idx.ndim} dims")
    src = source if alpha == 1 else ew.multiply(alpha, source)
    return gather_ops.add_at(x, idx, src, _dim(x, dim, "index_add"))


def masked_fill(input: ArrayLike, mask: ArrayLike, value: Any) -> Value:  # noqa: A002
    """``input`` with ``value`` where ``mask`` is true (``input``'s dtype kept), as
    torch.masked_fill."""
    x = lift(input)
    m = lift(mask)
    if m.dtype != "bool":
        raise TypeError(f"masked_fill: mask must be bool, got {m.dtype}")
    return comparison.where(m, astype(value, x.dtype), x)


def masked_select(input: ArrayLike, mask: ArrayLike) -> Value:  # noqa: A002
    """The elements where ``mask`` (broadcast with ``input``) is true, as a 1-D tensor, as
    torch.masked_select. Eager tensors only: the result's size depends on the mask's values. On
    cuda tensors the positions are found on the device (their number is read to the host) and
    the gather, and its gradient, run there."""
    x, m = lift(input), lift(mask)
    if isinstance(m, Node):
        raise TypeError(
            "masked_select: the mask must be known (an eager tensor or array): the result's size "
            "depends on its values; on a graph use gj.where(mask, x, 0)"
        )
    if m.dtype != "bool":
        raise TypeError(f"masked_select: mask must be bool, got {m.dtype}")
    full = np.broadcast_shapes(tuple(x.shape), tuple(m.shape))
    if tuple(x.shape) != full:
        x = broadcast.broadcast_to(x, full)
    if _is_cuda(x) or _is_cuda(m):
        return _masked_select_on_device(x, m, full)
    return x[np.broadcast_to(np.asarray(m.numpy()), full)]


def _is_cuda(x: Any) -> bool:
    return bool(getattr(x, "is_cuda", False))


def _masked_select_on_device(x: Any, m: Any, full: tuple[int, ...]) -> Value:
    if isinstance(x, Node) or not (_is_cuda(x) and _is_cuda(m)):
        where = "input" if _is_cuda(m) else "mask"
        raise RuntimeError(
            f"masked_select: expected the input and the mask on the same device, but the {where} "
            "is not on cuda:0; move it with .to('cuda') (or both with .cpu())"
        )
    if tuple(m.shape) != full:
        m = broadcast.broadcast_to(m, full)
    positions = device_flatnonzero(m)
    return gather_ops.take(shape.reshape(x, (-1,)), positions, axis=0)


def nonzero(input: ArrayLike, *, as_tuple: bool = False) -> Any:  # noqa: A002
    """The indices of the non-zero elements as torch.nonzero: an ``(n, ndim)`` int64 tensor, or
    (``as_tuple=True``, numpy's np.nonzero) one 1-D tensor per dim. Eager tensors only; on cuda
    tensors the indices are computed on the device (their number is read to the host)."""
    x = lift(input)
    if isinstance(x, Node):
        raise TypeError(
            "nonzero: eager tensors only: the number of non-zero elements depends on the data"
        )
    if as_tuple or x.ndim == 0:  # numpy.nonzero, which refuses a 0-d array (ValueError)
        return eager_nonzero(x)
    if _is_cuda(x):
        return device_unravel(eager_flatnonzero(x), tuple(x.shape))
    found = np.nonzero(np.asarray(x.numpy()))
    return lift(np.stack(found, axis=1).astype(np.int64).reshape(-1, x.ndim))
