"""numpy's shape, arrangement and construction functions composed of graphjit's ops: ``ravel``,
``fliplr``, ``flipud``, ``rot90``, ``broadcast_arrays``, ``broadcast_shapes``, ``append``,
``insert``, ``delete``, ``resize``, ``block``, ``trapezoid``, ``ediff1d``, ``meshgrid``,
``tri``, ``tril_indices``, ``triu_indices``, ``diag_indices``, ``empty_like``, ``identity``,
``ndim``, ``shape``, ``size``.

Positions given to ``insert``, ``delete`` and ``resize`` must be known when the graph is built
(python ints, slices or arrays), as must the size of the axis they work on: the result's shape
depends on them. The index constructors (``tril_indices``, ...) return numpy int64 arrays, which
index graph nodes and tensors alike.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from graphjit.dtypes import as_dtype, get_default_dtype
from graphjit.ir import Node
from graphjit.numpy_api.naming import reports_as_itself
from graphjit.ops import arrangement, broadcast, gather, joining, reductions
from graphjit.ops import shape as shape_ops
from graphjit.ops.dispatch import ArrayLike, Value, astype, is_tensor, lift, lift_together
from graphjit.ops.shape_rules import normalize_axis
from graphjit.tensor import creation

__all__ = ["ravel", "fliplr", "flipud", "rot90", "broadcast_arrays", "broadcast_shapes",
           "append", "insert", "delete", "resize", "block", "trapezoid", "ediff1d", "meshgrid",
           "tri", "tril_indices", "triu_indices", "diag_indices", "empty_like", "identity",
           "ndim", "shape", "size"]  # fmt: skip


@reports_as_itself
def ravel(a: ArrayLike, order: str = "C") -> Value:
    """``a`` as a 1-D array, as numpy.ravel: row-major (``order="C"``, also "A" and "K", graph
    values being contiguous) or column-major (``"F"``)."""
    if order not in ("C", "F", "A", "K"):
        raise ValueError(f"ravel: order must be one of 'C', 'F', 'A', 'K', got {order!r}")
    x = lift(a)
    if order == "F":
        x = shape_ops.transpose(x)
    return _flat(x)


def _flat(a: Any) -> Any:
    """``a`` flattened, row-major: ``ravel`` for the functions here (an error inside is then
    theirs, not ravel's)."""
    return shape_ops.reshape(lift(a), (-1,))


@reports_as_itself
def fliplr(m: ArrayLike) -> Value:
    """``m`` with its columns (axis 1) reversed, as numpy.fliplr (``m`` at least 2-D)."""
    x = lift(m)
    if x.ndim < 2:
        raise ValueError(f"fliplr: the input must be at least 2-D, got {x.ndim}-D")
    return joining.flip(x, 1)


@reports_as_itself
def flipud(m: ArrayLike) -> Value:
    """``m`` with its rows (axis 0) reversed, as numpy.flipud (``m`` at least 1-D)."""
    x = lift(m)
    if x.ndim < 1:
        raise ValueError("flipud: the input must be at least 1-D, got a 0-d array")
    return joining.flip(x, 0)


@reports_as_itself
def rot90(m: ArrayLike, k: int = 1, axes: Any = (0, 1), *, dims: Any = None) -> Value:
    """``m`` rotated by 90 degrees ``k`` times in the plane of ``axes`` (from the first axis
    towards the second), as numpy.rot90; torch.rot90's ``dims=`` too."""
    x = lift(m)
    axes = tuple(axes if dims is None else dims)
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name 2 axes, got {axes!r}")
    if x.ndim < 2:
        raise ValueError(f"rot90: the input must be at least 2-D, got {x.ndim}-D")
    a0, a1 = (normalize_axis(a, x.ndim, "rot90") for a in axes)
    if a0 == a1:
        raise ValueError(f"rot90: the axes must be different, got {axes!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"rot90: k must be an int, got {k!r}")
    k = int(k) % 4
    if k == 0:
        return x
    if k == 2:
        return joining.flip(joining.flip(x, a0), a1)
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return shape_ops.transpose(joining.flip(x, a1), tuple(perm))
    return joining.flip(shape_ops.transpose(x, tuple(perm)), a1)


@reports_as_itself
def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape that arrays of ``shapes`` broadcast to, as numpy.broadcast_shapes (ValueError
    when they do not)."""
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError as exc:
        raise ValueError(f"broadcast_shapes: {exc}") from None


def _broadcast_dims(name: str, shapes: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """numpy's broadcast of shapes that may hold None (a size known at call time)."""
    nd = builtins.max((len(s) for s in shapes), default=0)
    out: list[Any] = []
    for i in range(nd):
        dims = {s[i - nd + len(s)] for s in shapes if i - nd + len(s) >= 0} - {1}
        known = {d for d in dims if d is not None}
        if len(known) > 1:
            raise ValueError(f"{name}: shapes {shapes} cannot be broadcast together")
        out.append(known.pop() if known else (None if None in dims else 1))
    return tuple(out)


@reports_as_itself
def broadcast_arrays(*args: ArrayLike) -> tuple[Value, ...]:
    """The arguments broadcast against each other, as numpy.broadcast_arrays (a tuple)."""
    return _broadcast_all("broadcast_arrays", [lift(a) for a in args])


def _broadcast_all(name: str, xs: list[Any]) -> tuple[Any, ...]:
    target = _broadcast_dims(name, [tuple(x.shape) for x in xs])
    if None in target:  # a size known only at call time: broadcast against all of them
        ref = _zero_like_all(xs)
        return tuple(broadcast.broadcast_like(x, ref) for x in xs)
    return tuple(x if tuple(x.shape) == target else broadcast.broadcast_to(x, target) for x in xs)


def _zero_like_all(xs: list[Any]) -> Any:
    """A bool array of the broadcast shape of ``xs`` (sizes known at call time included)."""
    ref = broadcast.zeros_like(xs[0], "bool")
    for x in xs[1:]:
        ref = ref | broadcast.zeros_like(x, "bool")
    return ref


@reports_as_itself
def append(arr: ArrayLike, values: ArrayLike, axis: Any = None) -> Value:
    """``values`` appended to ``arr``, as numpy.append: both flattened when ``axis`` is None, else
    joined along ``axis`` (their other sizes must agree)."""
    if axis is None:
        return joining.concatenate([_flat(arr), _flat(values)], 0)
    x, v = lift_together(arr, values)
    return joining.concatenate([x, v], normalize_axis(axis, x.ndim, "append"))


def _axis_size(name: str, x: Any, axis: int) -> int:
    n = x.shape[axis]
    if not isinstance(n, int):
        raise ValueError(f"{name}: the size of axis {axis} must be known when the graph is built")
    return n


def _positions(name: str, obj: Any, n: int, axis: int, allow_end: bool) -> np.ndarray | int:
    """``obj`` (an int, a slice or an int sequence) as checked non-negative positions; an int
    stays a scalar."""
    if isinstance(obj, Node) or is_tensor(obj):
        raise TypeError(f"{name}: obj must be python ints, a slice or a numpy array, not a value")
    if isinstance(obj, slice):
        return np.arange(*obj.indices(n))
    idx = np.asarray(obj)
    if idx.dtype == bool:
        raise TypeError(f"{name}: a boolean obj is not supported; pass np.flatnonzero(mask)")
    if idx.size and idx.dtype.kind not in "iu":
        # numpy's classes: insert refuses them as TypeError, delete as IndexError
        error = IndexError if allow_end is False else TypeError
        raise error(f"{name}: arrays used as indices must be of integer type, got {obj!r:.60}")
    if allow_end and idx.ndim > 1:
        raise ValueError(f"{name}: index array argument obj to insert must be one dimensional "
                         f"or scalar, got {idx.ndim}-D")  # fmt: skip
    idx = idx.astype(np.int64)
    top = n if allow_end else n - 1
    bad = idx[(idx < -n) | (idx > top)]
    if bad.size:
        raise IndexError(f"{name}: index {int(bad[0])} is out of bounds for axis {axis} with "
                         f"size {n}")  # fmt: skip
    idx = np.where(idx < 0, idx + n, idx)
    return int(idx) if idx.ndim == 0 else idx.reshape(-1)


@reports_as_itself
def insert(arr: ArrayLike, obj: Any, values: ArrayLike, axis: Any = None) -> Value:
    """``values`` inserted before the positions ``obj`` along ``axis`` (None: the flattened
    array), as numpy.insert; ``values`` are cast to ``arr``'s dtype. ``obj`` (an int, a slice or
    ints) must be known when the graph is built."""
    x = lift(arr)
    if axis is None:
        x, ax = _flat(x), 0
    else:
        ax = normalize_axis(axis, x.ndim, "insert")
    n = _axis_size("insert", x, ax)
    where = _positions("insert", obj, n, ax, allow_end=True)
    v = astype(lift_together(values, x)[0], x.dtype)
    single = isinstance(where, int) or where.size == 1
    if single:
        at = int(where) if isinstance(where, int) else int(where[0])
        lead = (1,) * builtins.max(x.ndim - v.ndim, 0)
        v = shape_ops.reshape(v, lead + tuple(-1 if d is None else d for d in v.shape))
        if isinstance(where, int):
            v = shape_ops.moveaxis(v, 0, ax)
        count = v.shape[ax]
        order = np.concatenate([np.arange(at), n + np.arange(count), np.arange(at, n)])
    else:
        assert not isinstance(where, int)
        count = where.size
        new = where.copy()
        new[np.argsort(where, kind="stable")] += np.arange(count)
        order = np.empty(n + count, np.int64)
        old = np.ones(n + count, bool)
        old[new] = False
        order[old] = np.arange(n)
        order[new] = n + np.arange(count)
    target = list(x.shape)
    target[ax] = count
    v = broadcast.broadcast_to(v, tuple(target)) if tuple(v.shape) != tuple(target) else v
    return gather.take(joining.concatenate([x, v], ax), order, ax)


@reports_as_itself
def delete(arr: ArrayLike, obj: Any, axis: Any = None) -> Value:
    """``arr`` without the positions ``obj`` along ``axis`` (None: the flattened array), as
    numpy.delete. ``obj`` (an int, a slice, ints or a boolean mask of the axis' length) must be
    known when the graph is built."""
    x = lift(arr)
    if axis is None:
        x, ax = _flat(x), 0
    else:
        ax = normalize_axis(axis, x.ndim, "delete")
    n = _axis_size("delete", x, ax)
    mask = np.asarray(obj) if not isinstance(obj, (slice, Node)) and not is_tensor(obj) else None
    keep = np.ones(n, bool)
    if mask is not None and mask.dtype == bool:
        if mask.shape != (n,):
            raise ValueError(f"delete: boolean array argument obj to delete must be one "
                             f"dimensional and match the axis length of {n}")  # fmt: skip
        keep = ~mask
    else:
        keep[_positions("delete", obj, n, ax, allow_end=False)] = False
    return gather.take(x, np.flatnonzero(keep), ax)


@reports_as_itself
def resize(a: ArrayLike, new_shape: Any) -> Value:
    """``a`` resized to ``new_shape`` as numpy.resize: the flattened elements repeated cyclically
    (zeros if ``a`` is empty)."""
    x = _flat(a)
    dims = (new_shape,) if isinstance(new_shape, (int, np.integer)) else new_shape
    if not isinstance(dims, (tuple, list)) or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims
    ):
        raise TypeError(f"resize: new_shape must be an int or a tuple of ints, got {new_shape!r}")
    dims = tuple(int(d) for d in dims)
    if any(d < 0 for d in dims):
        raise ValueError("resize: all elements of new_shape must be non-negative")
    n = _axis_size("resize", x, 0)
    total = math.prod(dims)
    if n == 0 or total == 0:
        return _zeros(x, dims, x.dtype)
    return shape_ops.reshape(gather.take(x, np.arange(total) % n, 0), dims)


@reports_as_itself
def block(arrays: Any) -> Value:
    """An array assembled from nested lists of blocks, as numpy.block: the innermost lists are
    joined along the last axis, the next along the second last, and so on."""

    def depth(item: Any, at: list[int]) -> int:
        if isinstance(item, tuple):
            raise TypeError(f"block: arrays{''.join(f'[{i}]' for i in at)} is a tuple; only "
                            "lists can be used to arrange blocks")  # fmt: skip
        if isinstance(item, list):
            if not item:
                raise ValueError(f"block: arrays{''.join(f'[{i}]' for i in at)} is an empty list")
            found = {depth(sub, [*at, i]) for i, sub in enumerate(item)}
            if len(found) > 1:
                raise ValueError("block: list depths are mismatched")
            return found.pop() + 1
        return 0

    levels = depth(arrays, [])

    def leaves(item: Any) -> list[Any]:
        return [x for sub in item for x in leaves(sub)] if isinstance(item, list) else [item]

    ndim = builtins.max([levels, *(lift(v).ndim for v in leaves(arrays))])

    def assemble(item: Any, level: int) -> Any:
        if level == levels:
            x = lift(item)
            return shape_ops.reshape(x, (1,) * (ndim - x.ndim) + tuple(
                -1 if d is None else d for d in x.shape)) if x.ndim < ndim else x  # fmt: skip
        parts = [assemble(sub, level + 1) for sub in item]
        return joining.concatenate(parts, -(levels - level))

    return assemble(arrays, 0)


@reports_as_itself
def trapezoid(
    y: ArrayLike, x: ArrayLike = None, dx: float | None = 1.0, axis: int = -1, *, dim: Any = None
) -> Value:
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, as numpy.trapezoid: sample
    points ``x`` (1-D along the axis, or ``y``'s shape) or a spacing ``dx``; torch.trapezoid's
    ``dim=`` too."""
    if dim is not None:
        axis = dim
    if dx is None:
        dx = 1.0
    yv = lift(y)
    ax = normalize_axis(axis, yv.ndim, "trapezoid")
    if x is None:
        d: Any = dx
    else:
        xv = lift_together(x, yv)[0]
        if xv.ndim == 1:
            n, m = xv.shape[0], yv.shape[ax]
            if isinstance(n, int) and isinstance(m, int) and n != m:
                raise ValueError(f"trapezoid: x has {n} sample points, y {m} along axis {axis}")
            d = arrangement.diff(xv)
            d = shape_ops.reshape(d, tuple(-1 if i == ax else 1 for i in range(yv.ndim)))
        else:  # numpy: ``axis`` as given, of x and then of the product (x may have more dims)
            d = arrangement.diff(xv, axis=axis)
    upper = joining.slice_axes(yv, [slice(1, None) if i == ax else None for i in range(yv.ndim)])
    lower = joining.slice_axes(yv, [slice(None, -1) if i == ax else None for i in range(yv.ndim)])
    return reductions.sum(d * (upper + lower) / 2.0, axis)


@reports_as_itself
def ediff1d(ary: ArrayLike, to_end: ArrayLike = None, to_begin: ArrayLike = None) -> Value:
    """The differences of the flattened ``ary``, with ``to_begin`` and ``to_end`` (flattened)
    before and after, as numpy.ediff1d."""
    flat = _flat(ary)
    if flat.dtype == "bool":
        raise TypeError("ediff1d: not defined for bool arrays (numpy refuses boolean subtract)")
    parts = [arrangement.diff(flat)]
    for name, extra, front in (("to_begin", to_begin, True), ("to_end", to_end, False)):
        if extra is None:
            continue
        e = _flat(extra)
        if not np.can_cast(np.dtype(e.dtype), np.dtype(flat.dtype), casting="same_kind"):
            raise TypeError(f"ediff1d: dtype of {name} must be compatible with the input's "
                            f"({flat.dtype}) under the same_kind rule, got {e.dtype}")  # fmt: skip
        e = astype(e, flat.dtype)
        parts.insert(0, e) if front else parts.append(e)
    return parts[0] if len(parts) == 1 else joining.concatenate(parts, 0)


@reports_as_itself
def meshgrid(
    *xi: ArrayLike, copy: bool = True, sparse: bool = False, indexing: str = "xy"
) -> tuple[Value, ...]:
    """Coordinate arrays from 1-D coordinate vectors, as numpy.meshgrid (a tuple): ``indexing``
    "xy" (Cartesian: the first two axes swapped) or "ij" (matrix); ``sparse`` leaves them
    broadcastable instead of full."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: valid values for indexing are 'xy' and 'ij', got {indexing!r}")
    nd = len(xi)
    out = []
    for i, x in enumerate(xi):
        dims = [1] * nd
        dims[i] = -1
        if indexing == "xy" and nd > 1 and i < 2:
            dims[0], dims[1] = dims[1], dims[0]
        out.append(shape_ops.reshape(_flat(x), tuple(dims)))
    if sparse or nd < 2:
        return tuple(out)
    return _broadcast_all("meshgrid", out)


@reports_as_itself
def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:  # noqa: N803
    """An ``N`` x ``M`` tensor with ones at and below diagonal ``k``, zeros elsewhere, as
    numpy.tri (the default float dtype unless ``dtype`` is given)."""
    dt = as_dtype(dtype or get_default_dtype())
    return creation.tensor(np.tri(N, M, k, dtype=dt))


@reports_as_itself
def tril_indices(n: int, k: int = 0, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the lower triangle of an ``n`` x ``m`` array, as numpy.tril_indices (numpy
    int64 arrays, which index graph nodes and tensors)."""
    return tuple(i.astype(np.int64) for i in np.tril_indices(n, k, m))  # type: ignore[return-value]


@reports_as_itself
def triu_indices(n: int, k: int = 0, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the upper triangle, as numpy.triu_indices (numpy int64 arrays)."""
    return tuple(i.astype(np.int64) for i in np.triu_indices(n, k, m))  # type: ignore[return-value]


@reports_as_itself
def diag_indices(n: int, ndim: int = 2) -> tuple[np.ndarray, ...]:
    """The indices of the main diagonal of an ``n`` x ... x ``n`` array, as numpy.diag_indices."""
    return tuple(i.astype(np.int64) for i in np.diag_indices(n, ndim))


@reports_as_itself
def empty_like(prototype: ArrayLike, dtype: Any = None, *, shape: Any = None) -> Value:
    """An array like ``prototype`` (its shape and dtype unless given), as numpy.empty_like; its
    values are zeros (graphjit has no uninitialised memory to hand out)."""
    x = lift(prototype)
    dt = x.dtype if dtype is None else as_dtype(dtype)
    if shape is None:
        return broadcast.zeros_like(x, dt)
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _zeros(x, dims, dt)


def _zeros(like: Any, dims: tuple[int, ...], dtype: str) -> Any:
    """Zeros of ``dims``: a graph node when ``like`` is one, else a new tensor."""
    if isinstance(like, Node):
        zero = astype(broadcast.zeros_like(reductions.sum(like)), dtype)
        return broadcast.broadcast_to(zero, dims)
    return creation.zeros(*dims, dtype=dtype)


@reports_as_itself
def identity(n: int, dtype: Any = None) -> Any:
    """The ``n`` x ``n`` identity tensor, as numpy.identity (``gj.eye(n)``)."""
    return creation.eye(n, dtype=dtype)


def _shape_of(name: str, a: Any) -> tuple[Any, ...]:
    if isinstance(a, Node) or is_tensor(a) or isinstance(a, np.ndarray):
        return tuple(a.shape)
    try:
        return tuple(np.shape(a))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


@reports_as_itself
def ndim(a: Any) -> int:
    """The number of dimensions of ``a`` (a graph node, tensor, array, list or number), as
    numpy.ndim."""
    return len(_shape_of("ndim", a))


@reports_as_itself
def shape(a: Any) -> tuple[Any, ...]:
    """The shape of ``a``, as numpy.shape; a graph node's size known only at call time is None."""
    return _shape_of("shape", a)


@reports_as_itself
def size(a: Any, axis: Any = None) -> int:
    """The number of elements of ``a`` (on ``axis`` when given), as numpy.size. A graph node's
    size known only at call time raises ValueError (``gj.size_of`` is a node for it)."""
    dims = _shape_of("size", a)
    if axis is not None:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        picked = [normalize_axis(ax, len(dims), "size") for ax in axes]
        if len(set(picked)) != len(picked):
            raise ValueError(f"size: repeated axis in {axis!r}")
        dims = tuple(dims[i] for i in picked)
    if any(d is None for d in dims):
        raise ValueError("size: a size is only known when the graph runs; use gj.size_of(x)")
    return math.prod(dims)
