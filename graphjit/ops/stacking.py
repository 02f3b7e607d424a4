"""Stacking and splitting in numpy's conveniences, composed from reshapes, concatenation and
slices (no op of its own): atleast_1d/2d/3d, hstack, vstack (row_stack), dstack, column_stack,
array_split, hsplit, vsplit, dsplit.

The splits return lists of slices of their input (views in compiled code). ``array_split`` into
``n`` sections needs the axis' size fixed when the graph is built; split points work on ``None``
dims too (python slice semantics).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.ir import Node, format_shape
from graphjit.ops import prims
from graphjit.ops.dispatch import ArrayLike, Value, is_tensor, lift
from graphjit.ops.shape_rules import axis_or_dim, int_tuple, is_static_dim, normalize_axis

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "hstack",
    "vstack",
    "row_stack",
    "dstack",
    "column_stack",
    "array_split",
    "hsplit",
    "vsplit",
    "dsplit",
]


def _one_or_list(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items


def _at_least(x: Any, ndim: int) -> Any:
    """numpy's placement: 0-d -> (1, 1, 1), 1-d (n) -> (1, n, 1), 2-d (m, n) -> (m, n, 1)."""
    x = lift(x)
    if x.ndim >= ndim:
        return x
    if x.ndim == 0:
        return prims.reshape(x, (1,) * ndim)
    axes = {1: (), 2: (0,), 3: (0, 2) if x.ndim == 1 else (2,)}[ndim]
    return prims.expand_dims(x, axes) if axes else x


def atleast_1d(*arys: ArrayLike) -> Any:
    """Each input with at least 1 dim (one array for one input, else a list), as numpy's."""
    return _one_or_list([_at_least(a, 1) for a in arys])


def atleast_2d(*arys: ArrayLike) -> Any:
    """Each input with at least 2 dims (a 1-D array becomes one row), as numpy's."""
    return _one_or_list([_at_least(a, 2) for a in arys])


def atleast_3d(*arys: ArrayLike) -> Any:
    """Each input with at least 3 dims (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` -> ``(m, n, 1)``),
    as numpy's."""
    return _one_or_list([_at_least(a, 3) for a in arys])


def _arrays(name: str, tup: Any) -> list[Any]:
    if isinstance(tup, (Node, np.ndarray)) or is_tensor(tup):
        raise TypeError(f"{name}: expected a sequence of arrays, got a single array")
    items = list(tup)
    if not items:
        raise ValueError(f"{name}: need at least one array")
    return items


def hstack(tup: Sequence[Any]) -> Value:
    """Join along the second axis (the first for 1-D arrays), as numpy.hstack."""
    items = [_at_least(a, 1) for a in _arrays("hstack", tup)]
    return prims.concatenate(items, 0 if items[0].ndim == 1 else 1)


def vstack(tup: Sequence[Any]) -> Value:
    """Join along the first axis, 1-D arrays as rows, as numpy.vstack."""
    return prims.concatenate([_at_least(a, 2) for a in _arrays("vstack", tup)], 0)


row_stack = vstack


def dstack(tup: Sequence[Any]) -> Value:
    """Join along the third axis (after atleast_3d), as numpy.dstack."""
    return prims.concatenate([_at_least(a, 3) for a in _arrays("dstack", tup)], 2)


def column_stack(tup: Sequence[Any]) -> Value:
    """1-D arrays as columns, joined along the second axis with 2-D arrays, as
    numpy.column_stack."""
    items = []
    for a in _arrays("column_stack", tup):
        x = lift(a)
        items.append(prims.expand_dims(x, 1) if x.ndim == 1 else _at_least(x, 2))
    return prims.concatenate(items, 1)


# --------------------------------------------------------------------------------------------------
# splits


def _slices(x: Any, ax: int, bounds: Sequence[tuple[Any, Any]]) -> list[Any]:
    parts = []
    for start, stop in bounds:
        slices: list[Any] = [None] * x.ndim
        slices[ax] = (start, stop, 1)
        parts.append(prims.slice_axes(x, slices))
    return parts


def _section_bounds(name: str, x: Any, ax: int, sections: int, equal: bool) -> list[tuple]:
    if sections <= 0:
        raise ValueError(f"{name}: the number of sections must be > 0, got {sections}")
    n = x.shape[ax]
    if not is_static_dim(n):
        raise ValueError(
            f"{name}: axis {ax} of shape {format_shape(x.shape)} has no fixed size, so it cannot "
            f"be split into {sections} sections; give split indices instead"
        )
    if equal and n % sections:
        raise ValueError(f"{name}: axis {ax} of size {n} does not divide into {sections} sections")
    size, extra = divmod(int(n), sections)
    edges = np.cumsum([0] + [size + 1] * extra + [size] * (sections - extra)).tolist()
    return list(itertools.pairwise(edges))


def _split(name: str, x: Any, spec: Any, ax: int, equal: bool) -> list[Any]:
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, (bool, np.bool_)):
        return _slices(x, ax, _section_bounds(name, x, ax, int(spec), equal))
    idx = list(int_tuple(name, "indices", spec))
    return _slices(x, ax, list(zip([0, *idx], [*idx, None])))


def array_split(
    ary: ArrayLike, indices_or_sections: Any, axis: int = 0, *, dim: Any = None
) -> list[Any]:
    """Split into a list of arrays along ``axis``, as numpy.array_split: ``n`` sections need not
    divide the axis (the first ``size % n`` get one element more); a sequence gives split points.
    (torch.tensor_split is this, with ``dim=``.)"""
    x = lift(ary)
    axis = axis_or_dim("array_split", axis, dim, default=0)
    if x.ndim == 0:
        raise ValueError("array_split: cannot split a 0-d array")
    ax = normalize_axis(axis, x.ndim, "array_split")
    return _split("array_split", x, indices_or_sections, ax, False)


def hsplit(ary: ArrayLike, indices_or_sections: Any) -> list[Any]:
    """numpy.hsplit: split along the second axis (the first for 1-D arrays); ``n`` sections must
    divide it."""
    x = lift(ary)
    if x.ndim == 0:
        raise ValueError("hsplit: needs at least 1 dim")
    return _split("hsplit", x, indices_or_sections, 1 if x.ndim > 1 else 0, True)


def vsplit(ary: ArrayLike, indices_or_sections: Any) -> list[Any]:
    """numpy.vsplit: split along the first axis of an array of at least 2 dims."""
    x = lift(ary)
    if x.ndim < 2:
        raise ValueError(f"vsplit: needs at least 2 dims, got shape {format_shape(x.shape)}")
    return _split("vsplit", x, indices_or_sections, 0, True)


def dsplit(ary: ArrayLike, indices_or_sections: Any) -> list[Any]:
    """numpy.dsplit: split along the third axis of an array of at least 3 dims."""
    x = lift(ary)
    if x.ndim < 3:
        raise ValueError(f"dsplit: needs at least 3 dims, got shape {format_shape(x.shape)}")
    return _split("dsplit", x, indices_or_sections, 2, True)
