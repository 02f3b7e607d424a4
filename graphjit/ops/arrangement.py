"""Rearranging elements, composed from other families' ops (no op of its own): tile, repeat, roll,
rollaxis, tril, triu, kron, inner, cross, diff, gradient, select.

Each function is exact and differentiable through the ops it is built from: ``tile``, ``repeat``
and ``roll`` gather with a constant index array (``take``: one pass, its gradient a scatter-add),
``tril``/``triu`` select with a constant mask (``where``: zeros exactly, even next to inf),
``kron`` multiplies broadcast views, ``diff`` and ``gradient`` subtract slices.

An axis these functions gather along needs a size fixed when the graph is built (the index array
is a constant), except where a slice or a concatenation serves (``tile``'s copies, ``diff``).
PyTorch spellings accepted: ``dim=``/``dims=``/``shifts=`` for ``roll``, ``diagonal=`` for
``tril``/``triu``, ``dim=`` for ``repeat`` (torch.repeat_interleave), ``diff`` and ``cross``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.dtypes import is_float
from graphjit.ir import MAX_BYTES, Node, format_shape
from graphjit.ops import prims
from graphjit.ops.dispatch import ArrayLike, Value, is_tensor, lift
from graphjit.ops.shape_rules import (
    axis_or_dim,
    int_tuple,
    is_static_dim,
    normalize_axes,
    normalize_axis,
)

__all__ = [
    "tile",
    "repeat",
    "roll",
    "rollaxis",
    "tril",
    "triu",
    "kron",
    "inner",
    "cross",
    "diff",
    "gradient",
    "select",
]


def _fixed(name: str, x: Any, axis: int, why: str) -> int:
    n = x.shape[axis]
    if not is_static_dim(n):
        raise ValueError(
            f"{name}: axis {axis} of shape {format_shape(x.shape)} needs a size fixed when the "
            f"graph is built, {why}"
        )
    return int(n)


def _gather(x: Any, positions: np.ndarray, axis: int) -> Any:
    """``x`` gathered along ``axis`` at constant positions (the identity is left out)."""
    if positions.shape == (x.shape[axis],) and (positions == np.arange(positions.size)).all():
        return x
    return prims.take(x, positions.astype(np.int64), axis)


def _reshape_back(flat: Any, x: Any) -> Any:
    return flat if flat.ndim == x.ndim else prims.reshape_like(flat, x)


# --------------------------------------------------------------------------------------------------
# tile, repeat, roll, rollaxis


def tile(A: ArrayLike, reps: Any) -> Value:  # noqa: N803 - numpy's name
    """``A`` repeated ``reps`` times along each axis, as numpy.tile (a shorter ``reps`` is
    padded with leading 1s, a shorter ``A`` with leading size-1 dims). PyTorch's
    ``Tensor.repeat`` is this."""
    x = lift(A)
    r = int_tuple("tile", "reps", reps)
    if any(v < 0 for v in r):
        raise ValueError(f"tile: reps must be >= 0, got {reps!r}")
    if len(r) > x.ndim:
        x = prims.expand_dims(x, tuple(range(len(r) - x.ndim)))
    r = (1,) * (x.ndim - len(r)) + r
    for axis, k in enumerate(r):
        if k == 1:
            continue
        n = x.shape[axis]
        if is_static_dim(n):
            try:
                index = np.tile(np.arange(n), k)
            except MemoryError as exc:
                raise MemoryError(
                    f"tile: repeating axis {axis} (size {n}) {k} times makes {n * k} elements, "
                    f"more than fit in memory ({exc})"
                ) from exc
            x = _gather(x, index, axis)
        elif k == 0:
            raise ValueError(f"tile: cannot repeat axis {axis} of unknown size 0 times")
        else:  # the size is known when the graph runs: k copies, joined
            x = prims.concatenate([x] * k, axis)
    return x


def repeat(a: ArrayLike, repeats: Any, axis: Any = None, *, dim: Any = None) -> Value:
    """Each element repeated ``repeats`` times along ``axis`` (the flattened array when None), as
    numpy.repeat; ``repeats`` is an int or one count per element (known when the graph is built).
    torch.repeat_interleave is this (``dim=``)."""
    x = lift(a)
    axis = axis_or_dim("repeat", axis, dim)
    if axis is None:
        x = x if x.ndim == 1 else prims.reshape(x, (-1,))
        axis = 0
    if x.ndim == 0:
        x = prims.reshape(x, (1,))
    ax = normalize_axis(axis, x.ndim, "repeat")
    if isinstance(repeats, Node):
        raise TypeError(
            "repeat: repeats must be known when the graph is built (an int, a list or an eager "
            "tensor); the result's size would depend on data"
        )
    if is_tensor(repeats):  # an eager tensor's counts are known (read from a GPU, as PyTorch)
        repeats = repeats.cpu().numpy()
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise TypeError(f"repeat: repeats must be an int or a 1-D list of ints, got {repeats!r}")
    if (counts < 0).any():
        raise ValueError(f"repeat: repeats must be >= 0, got {repeats!r}")
    n = _fixed("repeat", x, ax, "to repeat its elements")
    if counts.ndim == 1 and counts.size not in (1, n):
        raise ValueError(f"repeat: {counts.size} counts for an axis of size {n}")
    # in Python ints: numpy's own int64 sum would wrap
    total = int(counts.sum(dtype=object)) if counts.size > 1 else int(counts.ravel()[0]) * n
    too_many = f"repeat: {total} elements along axis {ax} are more than"
    if total * np.dtype(x.dtype).itemsize > MAX_BYTES:
        raise ValueError(f"{too_many} an array can hold")
    try:
        index = np.repeat(np.arange(n), counts)
    except MemoryError as exc:
        raise MemoryError(f"{too_many} fit in memory ({exc})") from exc
    return _gather(x, index, ax)


def roll(
    a: ArrayLike, shift: Any = None, axis: Any = None, *, shifts: Any = None, dims: Any = None
) -> Value:
    """Elements shifted cyclically along ``axis`` (the flattened array when None), as numpy.roll;
    ``shift`` and ``axis`` may be sequences (broadcast together). (``shifts=``/``dims=`` are
    torch.roll's spellings.)"""
    x = lift(a)
    shift = axis_or_dim("roll", shift, shifts)
    axis = axis_or_dim("roll", axis, dims)
    if shift is None:
        raise TypeError("roll: missing the shift")
    if axis is None:
        if x.ndim == 0:
            return x
        flat = x if x.ndim == 1 else prims.reshape(x, (-1,))
        return _reshape_back(roll(flat, _one_shift(shift), 0), x)
    s = int_tuple("roll", "shift", shift)
    axes = [normalize_axis(v, x.ndim, "roll") for v in int_tuple("roll", "axis", axis)]
    if len(s) == 1:
        s = s * len(axes)
    if len(axes) == 1 and len(s) > 1:
        axes = axes * len(s)
    if len(s) != len(axes):
        raise ValueError(f"roll: {len(s)} shifts for {len(axes)} axes")
    total: dict[int, int] = {}
    for ax, k in zip(axes, s):
        total[ax] = total.get(ax, 0) + k
    for ax, k in total.items():
        n = _fixed("roll", x, ax, "to roll it")
        if n:
            x = _gather(x, (np.arange(n) - k) % n, ax)
    return x


def _one_shift(shift: Any) -> int:
    s = int_tuple("roll", "shift", shift)
    if len(s) != 1:
        raise ValueError("roll: with axis=None the shift must be one int")
    return s[0]


def rollaxis(a: ArrayLike, axis: int, start: int = 0) -> Value:
    """``axis`` moved to before position ``start``, as numpy.rollaxis (prefer moveaxis)."""
    x = lift(a)
    ax = normalize_axis(axis, x.ndim, "rollaxis")
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise TypeError(f"rollaxis: start must be an int, got {start!r}")
    st = int(start) + (x.ndim if start < 0 else 0)
    if not 0 <= st <= x.ndim:
        raise ValueError(f"rollaxis: start {start} is out of range for {x.ndim} dims")
    if ax < st:
        st -= 1
    if ax == st:
        return x
    order = [i for i in range(x.ndim) if i != ax]
    order.insert(st, ax)
    return prims.transpose(x, tuple(order))


# --------------------------------------------------------------------------------------------------
# triangles, products


def _triangle(name: str, m: ArrayLike, k: Any, diagonal: Any, upper: bool) -> Value:
    x = lift(m)
    if diagonal is not None:
        if k != 0:
            raise TypeError(f"{name}: give k or diagonal, not both")
        k = diagonal
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{name}: k must be an int, got {k!r}")
    if x.ndim < 2:
        raise ValueError(f"{name}: needs at least 2 dims, got shape {format_shape(x.shape)}")
    rows = _fixed(name, x, x.ndim - 2, "for its mask")
    cols = _fixed(name, x, x.ndim - 1, "for its mask")
    if upper:  # zeros strictly below the k-th diagonal
        return prims.where(np.tri(rows, cols, int(k) - 1, dtype=bool), prims.zeros_like(x), x)
    return prims.where(np.tri(rows, cols, int(k), dtype=bool), x, prims.zeros_like(x))


def tril(m: ArrayLike, k: int = 0, *, diagonal: Any = None) -> Value:
    """The lower triangle of the last two axes (on and below the ``k``-th diagonal), zeros
    above, as numpy.tril. (``diagonal=`` is torch.tril's spelling of ``k``.)"""
    return _triangle("tril", m, k, diagonal, upper=False)


def triu(m: ArrayLike, k: int = 0, *, diagonal: Any = None) -> Value:
    """The upper triangle of the last two axes (on and above the ``k``-th diagonal), zeros
    below, as numpy.triu. (``diagonal=`` is torch.triu's spelling of ``k``.)"""
    return _triangle("triu", m, k, diagonal, upper=True)


def kron(a: ArrayLike, b: ArrayLike) -> Value:
    """Kronecker product, as numpy.kron: blocks of ``b`` scaled by each element of ``a``
    (the shorter shape is padded with leading 1s; sizes must be fixed)."""
    x, y = lift(a), lift(b)
    nd = max(x.ndim, y.ndim)
    shapes = []
    for name, v in (("a", x), ("b", y)):
        if not all(is_static_dim(d) for d in v.shape):  # (a tensor's .type is a method)
            raise ValueError(f"kron: {name} needs a fixed shape, got {format_shape(v.shape)}")
        shapes.append((1,) * (nd - v.ndim) + tuple(v.shape))
    sa, sb = shapes
    xa = prims.reshape(x, tuple(d for s in sa for d in (s, 1)))
    yb = prims.reshape(y, tuple(d for s in sb for d in (1, s)))
    return prims.reshape(prims.multiply(xa, yb), tuple(p * q for p, q in zip(sa, sb)))


def inner(a: ArrayLike, b: ArrayLike) -> Value:
    """Sum of products over the last axes, as numpy.inner (a scalar operand multiplies)."""
    x, y = lift(a), lift(b)
    if x.ndim == 0 or y.ndim == 0:
        return prims.multiply(x, y)
    letters = "abcdefghijklmnopqrstuvwxyz"
    if x.ndim + y.ndim - 1 > len(letters):
        raise ValueError("inner: too many dims")
    la = letters[: x.ndim - 1]
    lb = letters[x.ndim - 1 : x.ndim + y.ndim - 2]
    return prims.einsum(f"{la}z,{lb}z->{la}{lb}", x, y)


def cross(
    a: ArrayLike,
    b: ArrayLike,
    axisa: int = -1,
    axisb: int = -1,
    axisc: int = -1,
    axis: Any = None,
    *,
    dim: Any = None,
) -> Value:
    """Cross product of 3-element vectors along the given axes (broadcast together), as
    numpy.cross; ``axis`` (or PyTorch's ``dim``) sets all three axes."""
    x, y = lift(a), lift(b)
    axis = axis_or_dim("cross", axis, dim)
    if axis is not None:
        axisa = axisb = axisc = axis
    comps = []
    for name, v, ax in (("a", x, axisa), ("b", y, axisb)):
        if v.ndim == 0:
            raise ValueError(f"cross: {name} must be an array of vectors, got a scalar")
        k = normalize_axis(ax, v.ndim, "cross")
        if v.shape[k] != 3:
            raise ValueError(
                f"cross: {name} has {v.shape[k]} components on axis {k}; only 3-element vectors "
                "are supported"
            )
        comps.append([prims.take(v, np.int64(i), k) for i in range(3)])
    (a0, a1, a2), (b0, b1, b2) = comps
    parts = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0]
    out = prims.concatenate([prims.expand_dims(p, -1) for p in parts], -1)
    c = normalize_axis(axisc, out.ndim, "cross")
    if c == out.ndim - 1:
        return out
    order = list(range(out.ndim - 1))
    order.insert(c, out.ndim - 1)
    return prims.transpose(out, tuple(order))


# --------------------------------------------------------------------------------------------------
# differences, select


def _along(x: Any, axis: int, start: Any, stop: Any) -> Any:
    slices: list[Any] = [None] * x.ndim
    slices[axis] = (start, stop, 1)
    return prims.slice_axes(x, slices)


def diff(
    a: ArrayLike,
    n: int = 1,
    axis: int = -1,
    prepend: Any = None,
    append: Any = None,
    *,
    dim: Any = None,
) -> Value:
    """The ``n``-th discrete difference along ``axis``, as numpy.diff (``prepend``/``append``
    are joined first; bools differ by ``!=``)."""
    x = lift(a)
    axis = axis_or_dim("diff", axis, dim, default=-1)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: order must be a non-negative int, got {n!r}")
    if x.ndim == 0:
        raise ValueError("diff: needs at least 1 dim")
    ax = normalize_axis(axis, x.ndim, "diff")
    parts = []
    for extra in (prepend, x, append):
        if extra is None:
            continue
        e = lift(extra)
        if e.ndim == 0:
            shape = list(x.shape)
            shape[ax] = 1
            if not all(is_static_dim(d) for d in shape):
                e = prims.broadcast_like(e, _along(x, ax, 0, 1))
            else:
                e = prims.broadcast_to(e, tuple(shape))
        parts.append(e)
    x = parts[0] if len(parts) == 1 else prims.concatenate(parts, ax)
    for _ in range(int(n)):
        hi, lo = _along(x, ax, 1, None), _along(x, ax, None, -1)
        x = ~prims.equal(hi, lo) if x.dtype == "bool" else hi - lo
    return x


def gradient(f: ArrayLike, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """The gradient by central differences inside and one-sided ones at the edges, as
    numpy.gradient: one array per axis (a list, or one array for one axis). Spacings are
    scalars (one, or one per axis); ``edge_order`` is 1 or 2."""
    x = lift(f)
    if not is_float(x.dtype):
        x = prims.astype(x, "float64")
    axes = normalize_axes(axis, x.ndim, "gradient") if axis is not None else tuple(range(x.ndim))
    if axis is not None and not isinstance(axis, (tuple, list)):
        axes = (normalize_axis(axis, x.ndim, "gradient"),)
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    if len(varargs) == 0:
        spacing: Sequence[Any] = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError(f"gradient: {len(varargs)} spacings for {len(axes)} axes")
    for h in spacing:
        if np.ndim(h) != 0 or isinstance(h, Node) or is_tensor(h):
            raise TypeError(
                "gradient: spacings must be python or numpy scalars (coordinates "
                "arrays are not supported)"
            )
    out = []
    for ax, h in zip(axes, spacing):
        n = _fixed("gradient", x, ax, "to place its edges")
        if n < edge_order + 1:
            raise ValueError(
                f"gradient: axis {ax} has {n} elements; edge_order={edge_order} needs at least "
                f"{edge_order + 1}"
            )

        def at(i: int, stop: Any = "one", ax: int = ax) -> Any:
            return _along(x, ax, i, (i + 1 or None) if stop == "one" else stop)

        h = float(h)
        inner_part = (_along(x, ax, 2, None) - _along(x, ax, None, -2)) / (2.0 * h)
        if edge_order == 1:
            first = (at(1) - at(0)) / h
            last = (at(-1) - at(-2)) / h
        else:
            first = (at(0) * -3.0 + at(1) * 4.0 - at(2)) / (2.0 * h)
            last = (at(-1) * 3.0 - at(-2) * 4.0 + at(-3)) / (2.0 * h)
        out.append(prims.concatenate([first, inner_part, last], ax))
    return out[0] if len(out) == 1 else out


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Value:
    """Elements from the choice of the first true condition (``default`` where none is), as
    numpy.select; conditions and choices broadcast together."""
    conds, choices = list(condlist), list(choicelist)
    if len(conds) != len(choices):
        raise ValueError(
            f"select: {len(conds)} conditions but {len(choices)} choices; they must pair up"
        )
    if not conds:
        raise ValueError("select: need at least one condition")
    out = lift(default)
    for c, v in reversed(list(zip(conds, choices))):
        c = lift(c)
        if c.dtype != "bool":
            raise TypeError(f"select: conditions must be bool arrays, got {c.dtype}")
        out = prims.where(c, v, out)
    return out
