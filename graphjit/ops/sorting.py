"""Sorting and searching: argsort and searchsorted (the ops); sort and partition built on them.

Conventions:

* ``argsort`` is stable (ties keep their order, also with ``descending=True``) and puts NaN last
  (first when descending): numpy's ``kind="stable"``, PyTorch's ``stable=True``. numpy's default
  sort is not stable, so its argsort may order ties differently; the values agree.
* ``sort(x)`` is ``take_along_axis(x, argsort(x))``: its gradient goes back to each element's own
  position, ties included (each tied element keeps its own share, as in PyTorch).
* ``partition(x, kth)`` returns the array sorted along ``axis``, which is one valid partition
  (numpy leaves the order on either side of ``kth`` unspecified).
* ``searchsorted(a, v)``: ``a`` is 1-D and sorted (NaN last); int64 indices of ``v``'s shape.
  ``side="right"`` or PyTorch's ``right=True`` gives the index after equal elements.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from graphjit.ir import Node, TensorType
from graphjit.ops.dispatch import ArrayLike, Value, apply, lift
from graphjit.ops.prims import reshape, take_along_axis
from graphjit.ops.registry import DimBuilder, OpDef, defop, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import axis_or_dim, int_tuple, normalize_axis

__all__ = ["sort", "argsort", "partition", "searchsorted"]


# --------------------------------------------------------------------------------------------------
# argsort


def _argsort_infer(x: TensorType, *, axis: int, descending: bool) -> TensorType:
    if not isinstance(axis, int) or isinstance(axis, bool) or not 0 <= axis < x.ndim:
        raise ValueError(f"argsort: axis must be an int in range({x.ndim}), got {axis!r}")
    return TensorType(x.shape, "int64")


def _argsort_impl(x: np.ndarray, *, axis: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(x, axis=axis, kind="stable").astype(np.int64, copy=False)
    # stable descending: a stable ascending sort of the reversed slice, read backwards, keeps
    # ties in their original order (NaN, last when ascending, comes first)
    n = x.shape[axis]
    order = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return (n - 1 - np.flip(order, axis)).astype(np.int64)


def _same_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return list(ins[0])


ARGSORT: OpDef = defop(
    "argsort",
    infer=_argsort_infer,
    impl=_argsort_impl,
    vjp=zero_vjp,
    jvp=zero_jvp,
    call_dims=_same_dims,
    promote=None,
    doc="stable sorting permutation (int64) along axis; NaN last (first when descending)",
)


# --------------------------------------------------------------------------------------------------
# searchsorted


def _searchsorted_infer(a: TensorType, v: TensorType, *, right: bool) -> TensorType:
    if a.ndim != 1:
        raise ValueError(f"searchsorted: the sorted array must be 1-D, got {a.ndim}-D")
    return TensorType(v.shape, "int64")


def _searchsorted_impl(a: np.ndarray, v: np.ndarray, *, right: bool) -> np.ndarray:
    side: Any = "right" if right else "left"
    return np.asarray(np.searchsorted(a, v, side=side), dtype=np.int64)


def _searchsorted_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return list(ins[1])


SEARCHSORTED: OpDef = defop(
    "searchsorted",
    infer=_searchsorted_infer,
    impl=_searchsorted_impl,
    vjp=zero_vjp,
    jvp=zero_jvp,
    call_dims=_searchsorted_call_dims,
    doc="int64 insertion points of v in the sorted 1-D array a (side left, or right)",
)


# --------------------------------------------------------------------------------------------------
# public functions


def sort_axis(name: str, x: Any, axis: Any, dim: Any) -> tuple[Any, int, tuple | None]:
    """``x`` and the axis to sort along from numpy's ``axis`` (None: the flattened array) or
    PyTorch's ``dim``, and the shape to give the result back (a 0-d input), or None."""
    x = lift(x)
    axis = axis_or_dim(name, axis, dim, default=-1)
    if axis is None:
        return reshape(x, (-1,)), 0, None
    if x.ndim == 0:
        if isinstance(axis, bool) or axis not in (0, -1):
            raise ValueError(f"{name}: dim {axis!r} is out of range for a 0-d array")
        return reshape(x, (1,)), 0, ()
    return x, normalize_axis(axis, x.ndim, name), None


def _back(y: Any, shape: tuple | None) -> Any:
    return y if shape is None else reshape(y, shape)


def argsort(
    a: ArrayLike,
    axis: Any = -1,
    kind: Any = None,
    order: Any = None,
    *,
    dim: Any = None,
    descending: bool = False,
    stable: bool = True,
) -> Value:
    """Indices (int64) that sort ``a`` along ``axis`` (None: the flattened array), as
    numpy.argsort; PyTorch's ``dim=`` and ``descending=`` too. Always stable (``kind`` and
    ``stable`` are accepted for compatibility); NaN sorts last (first when descending)."""
    if order is not None:
        raise TypeError("argsort: order= (structured arrays) is not supported")
    x, ax, back = sort_axis("argsort", a, axis, dim)
    return _back(apply(ARGSORT, x, axis=ax, descending=builtins.bool(descending)), back)


def sort(
    a: ArrayLike,
    axis: Any = -1,
    kind: Any = None,
    order: Any = None,
    *,
    dim: Any = None,
    descending: bool = False,
    stable: bool = True,
) -> Value:
    """``a`` sorted along ``axis`` (None: the flattened array), as numpy.sort; PyTorch's ``dim=``
    and ``descending=`` too. Returns the values only (the ``Tensor.sort`` method returns
    PyTorch's ``(values, indices)``). The gradient goes back to each element's position."""
    if order is not None:
        raise TypeError("sort: order= (structured arrays) is not supported")
    x, ax, back = sort_axis("sort", a, axis, dim)
    idx = apply(ARGSORT, x, axis=ax, descending=builtins.bool(descending))
    return _back(take_along_axis(x, idx, ax), back)


def partition(a: ArrayLike, kth: Any, axis: Any = -1, kind: Any = None, order: Any = None) -> Value:
    """A partition of ``a`` around ``kth`` along ``axis``, as numpy.partition: the kth element
    is where a sort would put it, smaller ones before, larger after. graphjit returns the fully
    sorted array (one valid partition)."""
    x, ax, back = sort_axis("partition", a, axis, None)
    n = x.shape[ax]
    for k in int_tuple("partition", "kth", kth):
        if isinstance(n, int) and not -n <= k < n:
            raise ValueError(f"partition: kth {k} is out of range for an axis of size {n}")
    idx = apply(ARGSORT, x, axis=ax, descending=False)
    return _back(take_along_axis(x, idx, ax), back)


def searchsorted(
    a: ArrayLike,
    v: ArrayLike,
    side: str = "left",
    sorter: Any = None,
    *,
    right: bool = False,
) -> Value:
    """Where ``v``'s values would go in the sorted 1-D ``a`` (int64, ``v``'s shape), as
    numpy.searchsorted; PyTorch's ``right=True`` is ``side="right"``. ``sorter`` (indices that
    sort ``a``) is applied first."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a = lift(a)
    if sorter is not None:
        order = lift(sorter)
        if order.ndim != 1 or a.ndim != 1:
            raise ValueError(
                f"searchsorted: a and sorter must be 1-D, got shapes {tuple(a.shape)} and "
                f"{tuple(order.shape)}"
            )
        n, m = a.shape[0], order.shape[0]
        if isinstance(n, builtins.int) and isinstance(m, builtins.int) and n != m:
            raise ValueError(
                f"searchsorted: sorter has {m} indices, a has {n} values (sorter.size must "
                "equal a.size)"
            )
        a = take_along_axis(a, order, 0)
    return apply(SEARCHSORTED, a, v, right=builtins.bool(right or side == "right"))
