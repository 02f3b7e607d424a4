"""Shapes and joining in PyTorch's spellings: ``gj.t``, ``gj.permute``, ``gj.flatten``,
``gj.cat``, ``gj.narrow``, ``gj.unfold``, ``gj.chunk``, ...

Where PyTorch's function means what a numpy-named one does, it is that function (its PyTorch
keywords, ``dim=``, ``dims=``, ``diagonal=``, are accepted there): ``gj.tril``, ``gj.flip``,
``gj.roll``, ``gj.diagonal``, ``gj.diag`` serve both. Where the two libraries disagree on a name,
the gj function keeps numpy's meaning and the Tensor method PyTorch's (``repeat``: numpy's
element repeat vs PyTorch's tile; ``split``: sections vs part sizes, PyTorch's when given
``dim=``; ``squeeze(dim)`` of a dim that is not 1: an error vs a no-op).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.ops import arrangement, joining, reductions, shape, stacking
from graphjit.ops import gather as gather_ops
from graphjit.ops.dispatch import ArrayLike, Value, lift
from graphjit.ops.shape_rules import normalize_axis

__all__ = ["t", "unsqueeze", "permute", "flatten", "numel", "cat", "concat"]
__all__ += ["repeat_interleave", "tensor_split", "movedim", "swapdims", "narrow", "unflatten",
            "unfold", "chunk"]  # fmt: skip
__all__ += ["unbind", "split_with_sizes", "narrow_copy", "sum_to_size"]

unsqueeze = shape.expand_dims


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

repeat_interleave = arrangement.repeat
tensor_split = stacking.array_split
movedim = shape.moveaxis
swapdims = shape.swapaxes


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


def unbind(input: ArrayLike, dim: int = 0) -> tuple[Any, ...]:  # noqa: A002
    """The slices along ``dim``, which goes, as a tuple, as torch.unbind (the dim's size must
    be fixed)."""
    x = lift(input)
    d = _dim(x, dim, "unbind")
    return tuple(gather_ops.take(x, np.int64(i), d) for i in range(_static(x, d, "unbind")))


def split_with_sizes(input: ArrayLike, split_sizes: Sequence[int], dim: int = 0) -> list[Any]:  # noqa: A002
    """Parts of the given sizes along ``dim``, which must add up to its size, as
    torch.split_with_sizes."""
    x = lift(input)
    d = _dim(x, dim, "split_with_sizes")
    n = _static(x, d, "split_with_sizes")
    sizes = [int(s) for s in split_sizes]
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise ValueError(
            f"split_with_sizes: split_sizes {sizes} must be non-negative and add up to the size "
            f"of dim {d} ({n})"
        )
    return joining.split(x, sizes, dim=d)


narrow_copy = narrow  # a graph value is never a view, nor is an eager tensor's narrow


def sum_to_size(input: ArrayLike, *size: Any) -> Value:  # noqa: A002
    """``input`` summed down to ``size``, which must broadcast to its shape (the reverse of
    ``expand``), as ``Tensor.sum_to_size``."""
    x = lift(input)
    one_sequence = len(size) == 1 and isinstance(size[0], (tuple, list))
    target = tuple(int(s) for s in (size[0] if one_sequence else size))
    lead = x.ndim - len(target)
    ok = lead >= 0 and all(
        t == 1 or t == n for t, n in zip(target, x.shape[lead:]) if isinstance(n, int)
    )
    if not ok:
        raise ValueError(
            f"sum_to_size: size {target} is not expandable to the input's shape {tuple(x.shape)}"
        )
    keep = tuple(i + lead for i, t in enumerate(target) if t == 1 and x.shape[i + lead] != 1)
    if keep:
        x = reductions.sum(x, keep, keepdims=True)
    if lead:
        x = reductions.sum(x, tuple(range(lead)))
    return x
