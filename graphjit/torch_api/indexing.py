"""Indexing, gathers and scatters in PyTorch's spellings: ``gj.gather``, ``gj.scatter``,
``gj.index_select``, ``gj.masked_fill``, ``gj.masked_select``, ``gj.nonzero``, ...

``masked_select`` and ``nonzero`` are eager only (the result's size depends on the values); on
cuda tensors the positions are found on the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.dtypes import check_number_fits, is_float
from graphjit.ir import Node
from graphjit.ops import broadcast, comparison, joining, reductions, rounding, scans, shape
from graphjit.ops import elementwise as ew
from graphjit.ops import gather as gather_ops
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    astype,
    eager_flatnonzero,
    eager_nonzero,
    lift,
    lift_together,
)
from graphjit.ops.shape_rules import normalize_axis, same_dim
from graphjit.tensor.backend import device_flatnonzero, device_unravel

__all__ = ["take_along_dim", "gather", "scatter", "scatter_add", "index_select", "index_add",
           "masked_fill", "masked_select", "nonzero"]  # fmt: skip
__all__ += ["index_fill", "index_copy", "index_put", "masked_scatter", "scatter_reduce"]

take_along_dim = gather_ops.take_along_axis


def _index(index: ArrayLike, fn: str) -> Any:
    idx = lift(index)
    if idx.dtype not in ("int32", "int64"):
        raise TypeError(f"{fn}: index must be an int tensor, got {idx.dtype}")
    return idx


def _block(x: Any, idx: Any, d: Any, fn: str, what: str = "input") -> Any:
    """``x`` (the ``what``) cut to ``idx``'s extent on every dim but ``d`` (all dims when ``d``
    is None): PyTorch lets an index be smaller than the input and the source."""
    if idx.ndim != x.ndim:
        raise ValueError(
            f"{fn}: index must have as many dims as the {what} ({x.ndim}), got {idx.ndim}"
        )
    slices: list[Any] = [None] * x.ndim
    for k, (n, m) in enumerate(zip(x.shape, idx.shape)):
        if k == d or m == n or not isinstance(m, int) or not isinstance(n, int):
            continue
        if m > n:
            raise IndexError(f"{fn}: index has size {m} on dim {k}, the {what} only {n}")
        slices[k] = (0, m, 1)
    return joining.slice_axes(x, slices)


def gather(input: ArrayLike, dim: int, index: ArrayLike, *, sparse_grad: bool = False) -> Value:  # noqa: A002
    """``out[i][j] = input[index[i][j]][j]`` (for ``dim=0``), as torch.gather: the result has
    ``index``'s shape. Out-of-range indices raise IndexError (negative ones count from the end)."""
    x = lift(input)
    d = normalize_axis(dim, x.ndim, "gather")
    idx = _index(index, "gather")
    return gather_ops.take_along_axis(_block(x, idx, d, "gather"), idx, d)


def _scattered(x: Any, idx: Any, src: Any, d: int, fn: str, add: bool) -> Any:
    src = lift(src)
    if src.ndim == 0:
        src = broadcast.broadcast_like(astype(src, x.dtype), idx)
    else:
        src = _block(src, idx, None, fn, "source")
        _no_hidden_stretch(src, idx.shape, fn, ["index"] * idx.ndim)
    block = _block(x, idx, d, fn)
    op = gather_ops.add_along_axis if add else gather_ops.put_along_axis
    return _merge_block(x, block, op(block, idx, src, d), fn)


def _merge_block(x: Any, block: Any, new: Any, fn: str) -> Any:
    """``x`` with its leading corner ``block`` (a cut of ``x``) replaced by ``new``."""
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
    indices, which PyTorch leaves unspecified, write the last of their values (a scalar
    ``value`` is that value). ``reduce="add"`` is scatter_add, ``reduce="multiply"``
    scatter_reduce's ``"prod"`` (repeats multiply)."""
    x = lift(input)
    d = normalize_axis(dim, x.ndim, "scatter")
    idx = _index(index, "scatter")
    if (src is None) == (value is None):
        raise TypeError("scatter: give src or value")
    if reduce not in (None, "add", "multiply"):
        raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
    if reduce == "multiply":
        source = broadcast.full_like(idx, value, dtype=x.dtype) if src is None else src
        return scatter_reduce(x, dim, idx, _block(lift(source), idx, None, "scatter"), "prod")
    return _scattered(x, idx, value if src is None else src, d, "scatter", reduce == "add")


def scatter_add(input: ArrayLike, dim: int, index: ArrayLike, src: ArrayLike) -> Value:  # noqa: A002
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate), as
    torch.scatter_add."""
    x = lift(input)
    d = normalize_axis(dim, x.ndim, "scatter_add")
    return _scattered(x, _index(index, "scatter_add"), src, d, "scatter_add", True)


def index_select(input: ArrayLike, dim: int, index: ArrayLike) -> Value:  # noqa: A002
    """The slices of ``dim`` at the 1-D ``index``, as torch.index_select."""
    idx = _index(index, "index_select")
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 0-D or 1-D, got {idx.ndim} dims")
    x = lift(input)
    out = gather_ops.take(x, idx, normalize_axis(dim, x.ndim, "index_select"))
    return (
        out
        if idx.ndim == 1
        else shape.expand_dims(out, normalize_axis(dim, x.ndim, "index_select"))
    )


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
    d = normalize_axis(dim, x.ndim, "index_add")
    idx = _index_1d(index, "index_add")
    _check_source(x, idx, lift(source), d, "index_add")
    src = source if alpha == 1 else ew.multiply(alpha, source)
    return gather_ops.add_at(x, idx, src, d)


def masked_fill(input: ArrayLike, mask: ArrayLike, value: Any) -> Value:  # noqa: A002
    """``input`` with ``value`` (a number or a 0-d tensor) where ``mask`` is true (``input``'s
    dtype kept), as torch.masked_fill."""
    x = lift(input)
    m = lift(mask)
    if m.dtype != "bool":
        raise TypeError(f"masked_fill: mask must be bool, got {m.dtype}")
    if lift(value).ndim != 0:
        raise ValueError(
            f"masked_fill: value must be a number or a 0-d tensor, got {lift(value).ndim} dims"
        )
    return comparison.where(m, _fill_value(value, x.dtype, "masked_fill"), x)


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


def _fill_value(value: Any, dtype: str, fn: str) -> Any:
    """A fill value in the filled tensor's dtype; a number that does not fit it raises (the cast
    would wrap it), as PyTorch refuses it."""
    if isinstance(value, (bool, int, float, complex, np.generic)):
        number = value.item() if isinstance(value, np.generic) else value
        check_number_fits(number, np.dtype(dtype), fn)
    return astype(value, dtype)


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


def _hit_along(x: Any, idx: Any, d: int, fn: str) -> Any:
    """A bool mask of ``x``'s shape (broadcastable): the positions of dim ``d`` that the 1-D
    ``idx`` names."""
    n = x.shape[d]
    if not isinstance(n, int):
        raise ValueError(f"{fn}: dim {d} needs a size fixed when the graph is built")
    zeros, idx = lift_together(np.zeros(n, dtype=np.int64), idx)
    counts = gather_ops.add_at(zeros, idx, np.int64(1), 0)
    ones = [1] * x.ndim
    ones[d] = n
    return shape.reshape(comparison.greater(counts, 0), tuple(ones))


def _last_along(idx: Any, n: Any, d: int, ndim: int) -> Any:
    """Where each index of the 1-D ``idx`` (into a dim of size ``n``) is the last to name its
    position, shaped to broadcast along dim ``d`` of an ``ndim``-D source: a repeated index
    writes its last value, as numpy's in-order writes do."""
    keep = gather_ops.last_of_repeats(idx, 0, n)
    return shape.reshape(keep, tuple(-1 if k == d else 1 for k in range(ndim)))


def _check_source(x: Any, idx: Any, src: Any, d: int, fn: str) -> None:
    """``source`` of index_copy/index_add: ``x``'s dims, with ``len(idx)`` slices along ``d``."""
    if src.ndim != x.ndim:
        raise ValueError(
            f"{fn}: source must have as many dims as the input ({x.ndim}), got {src.ndim}"
        )
    if not same_dim(src.shape[d], idx.shape[0]):
        raise IndexError(
            f"{fn}: the number of indices ({idx.shape[0]}) must equal the source's size on dim "
            f"{d} ({src.shape[d]})"
        )
    for k, (n, m) in enumerate(zip(x.shape, src.shape)):
        if k != d and not same_dim(n, m):
            raise ValueError(
                f"{fn}: source of shape {tuple(src.shape)} must match the input's shape "
                f"{tuple(x.shape)} on every dim but {d}"
            )
    want = (*x.shape[:d], idx.shape[0], *x.shape[d + 1 :])
    _no_hidden_stretch(src, want, fn, ["input"] * d + ["index"] + ["input"] * (x.ndim - d - 1))


def _no_hidden_stretch(src: Any, want: Sequence[Any], fn: str, whose: Sequence[str]) -> None:
    """A source's size 1 facing a size known only when a graph runs (``want[k]``, the size of
    ``whose[k]``): the scatter would broadcast it, where PyTorch refuses a source of the wrong
    size, and nothing checks that size when the graph runs, so the graph is refused."""
    for k, (m, n) in enumerate(zip(src.shape, want)):
        if m == 1 and not isinstance(n, int):
            raise ValueError(
                f"{fn}: the source has size 1 on dim {k}, where the {whose[k]}'s size is known "
                f"only when the graph runs ({n!r}); PyTorch does not broadcast a source, and a "
                f"graph cannot check the sizes when it runs: declare that dim of the source as "
                f"{n!r} too"
            )


def _in_range(idx: Any, n: int, d: int, fn: str) -> Any:
    """``idx`` with negatives counted from the end; an index outside ``[-n, n)`` raises
    IndexError (when a compiled graph runs, for a graph's index)."""
    positions, idx = lift_together(np.arange(n, dtype=np.int64), idx)  # on idx's device
    try:
        return gather_ops.take(positions, idx, 0)
    except IndexError as exc:
        raise IndexError(f"{fn}: an index is out of range for dim {d} of size {n} ({exc})") from exc


def _index_1d(index: ArrayLike, fn: str) -> Any:
    idx = _index(index, fn)
    if idx.ndim > 1:
        raise ValueError(f"{fn}: index must be 0-D or 1-D, got {idx.ndim} dims")
    return shape.reshape(idx, (-1,)) if idx.ndim == 0 else idx


def index_fill(input: ArrayLike, dim: int, index: ArrayLike, value: Any) -> Value:  # noqa: A002
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor, which gets the gradient of
    every filled element) in the slices of ``dim`` that ``index`` names, as torch.index_fill."""
    x = lift(input)
    d = normalize_axis(dim, max(x.ndim, 1), "index_fill")
    v = lift(value)
    if v.ndim != 0:
        raise ValueError(f"index_fill: value must be a number or a 0-d tensor, got {v.ndim} dims")
    if x.ndim == 0:
        x1 = shape.reshape(x, (1,))
        return shape.reshape(index_fill(x1, 0, index, value), ())
    hit = _hit_along(x, _index_1d(index, "index_fill"), d, "index_fill")
    return comparison.where(hit, _fill_value(value, x.dtype, "index_fill"), x)


def index_copy(input: ArrayLike, dim: int, index: ArrayLike, source: ArrayLike) -> Value:  # noqa: A002
    """A copy of ``input`` with the slices of ``source`` along ``dim`` written at ``index``, as
    torch.index_copy (a repeated index, which PyTorch leaves unspecified, writes its last
    slice, as numpy's in-order writes)."""
    x = lift(input)
    d = normalize_axis(dim, x.ndim, "index_copy")
    idx = _index_1d(index, "index_copy")
    src = lift(source)
    _check_source(x, idx, src, d, "index_copy")
    hit = _hit_along(x, idx, d, "index_copy")
    src = comparison.where(_last_along(idx, x.shape[d], d, src.ndim), astype(src, x.dtype), 0)
    written = gather_ops.add_at(broadcast.zeros_like(x), idx, src, d)
    return comparison.where(hit, written, x)


def _static_shape(x: Any, fn: str) -> tuple[int, ...]:
    if not all(isinstance(n, int) for n in x.shape):
        raise ValueError(f"{fn}: the input's shape must be fixed when the graph is built")
    return tuple(x.shape)


def index_put(
    input: ArrayLike,  # noqa: A002
    indices: Any,
    values: ArrayLike,
    accumulate: bool = False,
) -> Value:
    """A copy of ``input`` with ``values`` written at ``input[indices]`` (a tuple of int index
    tensors for the leading dims, broadcast together; negatives count from the end), or added
    there with ``accumulate=True``, as torch.index_put. A repeated index without
    ``accumulate`` writes its last value, as numpy's in-order writes."""
    x = lift(input)
    if not isinstance(indices, (tuple, list)) or not indices:
        raise TypeError("index_put: indices must be a non-empty tuple of index tensors")
    if len(indices) > x.ndim:
        raise IndexError(f"index_put: {len(indices)} indices for a {x.ndim}-D input")
    sizes = _static_shape(x, "index_put")
    k = len(indices)
    flat: Any = None
    for i, index in enumerate(indices):
        idx = _in_range(_index(index, "index_put"), sizes[i], i, "index_put")
        flat = idx if flat is None else ew.add(ew.multiply(flat, sizes[i]), idx)
    rest = sizes[k:]
    rows = shape.reshape(x, (int(np.prod(sizes[:k], dtype=np.int64)), *rest))
    positions = shape.reshape(flat, (-1,))
    vals = broadcast.broadcast_to(astype(values, x.dtype), (*flat.shape, *rest))
    vals = shape.reshape(vals, (-1, *rest))
    if accumulate:
        return shape.reshape(gather_ops.add_at(rows, positions, vals), sizes)
    vals = comparison.where(_last_along(positions, rows.shape[0], 0, vals.ndim), vals, 0)
    added = gather_ops.add_at(broadcast.zeros_like(rows), positions, vals)
    hit = _hit_along(rows, positions, 0, "index_put")
    return shape.reshape(comparison.where(hit, added, rows), sizes)


def masked_scatter(input: ArrayLike, mask: ArrayLike, source: ArrayLike) -> Value:  # noqa: A002
    """A copy of ``input`` whose elements where ``mask`` (broadcast to it) is true take the
    elements of ``source`` in order (row-major), as torch.masked_scatter. ``source`` needs at
    least as many elements as the mask has true values (IndexError otherwise)."""
    x, m = lift(input), lift(mask)
    if m.dtype != "bool":
        raise TypeError(f"masked_scatter: mask must be bool, got {m.dtype}")
    sizes = _static_shape(x, "masked_scatter")
    if m.ndim > len(sizes) or not all(
        a == 1 or same_dim(a, b) for a, b in zip(reversed(m.shape), reversed(sizes))
    ):
        raise ValueError(
            f"masked_scatter: mask of shape {tuple(m.shape)} does not broadcast to the input's "
            f"shape {sizes}"
        )
    m = broadcast.broadcast_to(m, sizes)
    src = shape.reshape(astype(source, x.dtype), (-1,))
    flat_mask = shape.reshape(m, (-1,))
    order = ew.subtract(scans.cumsum(flat_mask, 0), 1)
    if src.shape[0] == 0:  # nothing to take: the input where the mask is false, and a true
        src = shape.reshape(x, (-1,))  # mask element asks for one past its end (IndexError)
        order = comparison.where(flat_mask, src.shape[0], 0)
    try:
        picked = gather_ops.take(src, comparison.where(flat_mask, order, 0), 0)
    except IndexError as exc:
        raise IndexError(
            "masked_scatter: source has fewer elements than the mask has true values"
        ) from exc
    out = comparison.where(flat_mask, picked, shape.reshape(x, (-1,)))
    return shape.reshape(out, sizes)


_REDUCE = ("sum", "prod", "mean", "amax", "amin")


def _extreme_of(dtype: str, highest: bool) -> Any:
    """The value no element is above (``highest``) or below: what an empty max/min gives."""
    if dtype == "bool":
        return np.array(highest)
    if is_float(dtype):
        return np.array(np.inf if highest else -np.inf, dtype=dtype)
    info = np.iinfo(dtype)
    return np.array(info.max if highest else info.min, dtype=dtype)


def scatter_reduce(
    input: ArrayLike,  # noqa: A002
    dim: int,
    index: ArrayLike,
    src: ArrayLike,
    reduce: str,
    *,
    include_self: bool = True,
) -> Value:
    """``input`` with the elements of ``src`` reduced into the positions ``index`` names along
    ``dim`` (``reduce``: 'sum', 'prod', 'mean', 'amax' or 'amin'), together with the element
    already there unless ``include_self=False``, as torch.scatter_reduce. Gradients as PyTorch's:
    exact through zeros for 'prod', shared evenly among ties for 'amax'/'amin'. Every index is
    compared with every position of its slice: memory grows with ``index.shape[dim]`` times
    ``input.shape[dim]``. Negative indices count from the end, as in the other scatters; one
    out of range raises IndexError."""
    if reduce not in _REDUCE:
        raise ValueError(f"scatter_reduce: reduce must be one of {_REDUCE}, got {reduce!r}")
    x = lift(input)
    d = normalize_axis(dim, x.ndim, "scatter_reduce")
    idx = _index(index, "scatter_reduce")
    source = _block(astype(src, x.dtype), idx, None, "scatter_reduce")
    block = _block(x, idx, d, "scatter_reduce")
    n = block.shape[d]
    if not isinstance(n, int):
        raise ValueError(f"scatter_reduce: dim {d} needs a size fixed when the graph is built")
    idx = _in_range(idx, n, d, "scatter_reduce")
    # which source element lands where: (..., n, m) with the slice's positions before the
    # index's, both moved last
    last_idx = shape.expand_dims(shape.moveaxis(idx, d, -1), -2)
    last_src = shape.expand_dims(shape.moveaxis(source, d, -1), -2)
    here = shape.moveaxis(block, d, -1)
    lands = comparison.equal(last_idx, np.arange(n, dtype=np.int64)[:, None])
    count = reductions.sum(lands, -1)
    hit = comparison.greater(count, 0)
    if reduce in ("amax", "amin"):
        filler = _extreme_of(x.dtype, highest=reduce == "amin")
        spread = comparison.where(lands, last_src, filler)
        if include_self:
            spread = joining.concatenate([shape.expand_dims(here, -1), spread], -1)
        extreme = reductions.max if reduce == "amax" else reductions.min
        new = extreme(spread, -1)
    elif reduce == "prod":
        new = reductions.prod(comparison.where(lands, last_src, np.ones((), x.dtype)), -1)
        new = ew.multiply(here, new) if include_self else new
    else:
        total = reductions.sum(comparison.where(lands, last_src, np.zeros((), x.dtype)), -1)
        if include_self:
            total = ew.add(here, total)
        if reduce == "mean":
            size = ew.add(count, 1) if include_self else ew.maximum(count, 1)
            divide = ew.divide if is_float(x.dtype) else rounding.floor_divide
            total = astype(divide(total, astype(size, x.dtype)), x.dtype)
        new = total
    new = comparison.where(hit, new, here)
    return _merge_block(x, block, shape.moveaxis(astype(new, x.dtype), -1, d), "scatter_reduce")
