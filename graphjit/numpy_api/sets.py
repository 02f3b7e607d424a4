"""numpy's membership, set, counting and binning functions: ``isin``, ``digitize`` (graph nodes
and eager tensors), and, on eager tensors and arrays only (their result's size depends on the
values), ``unique_values``, ``unique_counts``, ``unique_inverse``, ``unique_all``, ``union1d``,
``intersect1d``, ``setdiff1d``, ``bincount``, ``histogram``.

Given a graph node, the eager-only functions raise TypeError, as ``gj.unique`` does. Their
results are tensors (on the input's device); ``bincount``'s weights keep their gradient.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from graphjit.dtypes import is_int
from graphjit.ir import Node
from graphjit.numpy_api.naming import reports_as_itself
from graphjit.ops import comparison, gather, joining, shape, sorting, truth
from graphjit.ops.dispatch import (
    ArrayLike,
    Value,
    astype,
    is_tensor,
    lift,
    lift_like,
    lift_together,
    untracked_array,
)

__all__ = ["isin", "digitize", "unique_values", "unique_counts", "unique_inverse", "unique_all",
           "union1d", "intersect1d", "setdiff1d", "bincount", "histogram", "UniqueCountsResult",
           "UniqueInverseResult", "UniqueAllResult"]  # fmt: skip


class UniqueCountsResult(NamedTuple):
    """numpy.unique_counts' result."""

    values: Any
    counts: Any


class UniqueInverseResult(NamedTuple):
    """numpy.unique_inverse's result."""

    values: Any
    inverse_indices: Any


class UniqueAllResult(NamedTuple):
    """numpy.unique_all's result."""

    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


@reports_as_itself
def isin(
    element: ArrayLike,
    test_elements: ArrayLike,
    assume_unique: bool = False,
    invert: bool = False,
    *,
    kind: str | None = None,
) -> Value:
    """Whether each element of ``element`` is among ``test_elements`` (a bool array of
    ``element``'s shape), as numpy.isin and torch.isin; ``invert`` negates it. NaN is in nothing.
    Works in graphs: every element is compared with every test element (memory is the product
    of their sizes)."""
    if kind not in (None, "sort", "table"):
        raise ValueError(f"isin: kind must be None, 'sort' or 'table', got {kind!r}")
    x, tests = lift_together(element, test_elements)
    if kind == "table" and not all(is_int(t.dtype) or t.dtype == "bool" for t in (x, tests)):
        raise ValueError("isin: kind='table' is only supported for boolean or integer arrays; "
                         "use kind=None or kind='sort'")  # fmt: skip
    tests = shape.reshape(tests, (-1,))
    found = truth.any(comparison.equal(shape.expand_dims(x, -1), tests), axis=-1)
    return comparison.logical_not(found) if invert else found


def _concrete_bins(bins: Any) -> np.ndarray | None:
    if isinstance(bins, Node):
        return None
    if is_tensor(bins):  # also one that requires grad, or lives on a GPU: its values decide
        return np.asarray(bins.detach().cpu().numpy())
    return np.asarray(bins)


@reports_as_itself
def digitize(x: ArrayLike, bins: ArrayLike, right: bool = False) -> Value:
    """The index of the bin each value of ``x`` falls in (int64), as numpy.digitize: with
    increasing ``bins``, ``i`` such that ``bins[i-1] <= x < bins[i]`` (``<``/``<=`` swapped with
    ``right=True``); decreasing ``bins`` are handled as numpy does. Bins given as a graph node
    must be increasing (they cannot be checked when the graph is built)."""
    edges = lift_together(bins, x)[0]
    if edges.ndim != 1:
        raise ValueError(f"digitize: bins must be 1-D, got {edges.ndim}-D")
    side = "left" if right else "right"
    known = _concrete_bins(bins)
    if known is not None and known.size > 1:
        steps = np.diff(known)
        if not (np.all(steps >= 0) or np.all(steps <= 0)):
            raise ValueError("digitize: bins must be monotonically increasing or decreasing")
        if np.all(steps <= 0) and not np.all(steps == 0):
            n = edges.shape[0]
            return n - sorting.searchsorted(joining.flip(edges, 0), x, side=side)
    return sorting.searchsorted(edges, x, side=side)


def _values(name: str, x: Any) -> tuple[np.ndarray, Any]:
    """The values of an eager tensor, array or list, and what the results are made like."""
    if isinstance(x, Node):
        raise TypeError(
            f"{name}: the size of the result is only known from the values, so {name} works "
            "on eager tensors and arrays, not graph nodes"
        )
    t = lift(x)
    return np.asarray(t.detach().cpu().numpy()), t


def _tensors(like: Any, *arrays: np.ndarray) -> list[Any]:
    # (np.ascontiguousarray would make a 0-d array 1-D)
    return [lift_like(np.ascontiguousarray(a).reshape(a.shape), like) for a in arrays]


@reports_as_itself
def unique_values(x: ArrayLike) -> Value:
    """The distinct values of ``x``, sorted (a 1-D tensor), as numpy.unique_values; NaNs are
    not merged (numpy's ``equal_nan=False``)."""
    arr, t = _values("unique_values", x)
    return _tensors(t, np.unique(arr, equal_nan=False))[0]


@reports_as_itself
def unique_counts(x: ArrayLike) -> UniqueCountsResult:
    """The distinct values and how often each occurs, as numpy.unique_counts."""
    arr, t = _values("unique_counts", x)
    values, counts = np.unique(arr, return_counts=True, equal_nan=False)
    return UniqueCountsResult(*_tensors(t, values, counts.astype(np.int64)))


@reports_as_itself
def unique_inverse(x: ArrayLike) -> UniqueInverseResult:
    """The distinct values and, for each element of ``x`` (``x``'s shape), the index of its
    value among them, as numpy.unique_inverse."""
    arr, t = _values("unique_inverse", x)
    values, inverse = np.unique(arr, return_inverse=True, equal_nan=False)
    return UniqueInverseResult(*_tensors(t, values, inverse.reshape(arr.shape).astype(np.int64)))


@reports_as_itself
def unique_all(x: ArrayLike) -> UniqueAllResult:
    """The distinct values, the index of each one's first occurrence in the flattened ``x``, the
    inverse indices (``x``'s shape) and the counts, as numpy.unique_all."""
    arr, t = _values("unique_all", x)
    values, first, inverse, counts = np.unique(
        arr, return_index=True, return_inverse=True, return_counts=True, equal_nan=False
    )
    parts = (values, first.astype(np.int64), inverse.reshape(arr.shape).astype(np.int64),
             counts.astype(np.int64))  # fmt: skip
    return UniqueAllResult(*_tensors(t, *parts))


@reports_as_itself
def union1d(ar1: ArrayLike, ar2: ArrayLike) -> Value:
    """The sorted distinct values in either input (both flattened), as numpy.union1d."""
    a, t = _values("union1d", ar1)
    b, _ = _values("union1d", ar2)
    return _tensors(t, np.union1d(a, b))[0]


@reports_as_itself
def intersect1d(
    ar1: ArrayLike, ar2: ArrayLike, assume_unique: bool = False, return_indices: bool = False
) -> Any:
    """The sorted distinct values in both inputs, as numpy.intersect1d; with ``return_indices``
    also the positions of their first occurrences in each flattened input."""
    a, t = _values("intersect1d", ar1)
    b, _ = _values("intersect1d", ar2)
    if return_indices:
        common, i1, i2 = np.intersect1d(a, b, assume_unique, return_indices=True)
        return tuple(_tensors(t, common, i1.astype(np.int64), i2.astype(np.int64)))
    return _tensors(t, np.intersect1d(a, b, assume_unique))[0]


@reports_as_itself
def setdiff1d(ar1: ArrayLike, ar2: ArrayLike, assume_unique: bool = False) -> Value:
    """The sorted distinct values of ``ar1`` that are not in ``ar2``, as numpy.setdiff1d."""
    a, t = _values("setdiff1d", ar1)
    b, _ = _values("setdiff1d", ar2)
    return _tensors(t, np.setdiff1d(a, b, assume_unique))[0]


@reports_as_itself
def bincount(x: ArrayLike, weights: ArrayLike = None, minlength: int = 0) -> Value:
    """How often each value ``0, 1, ..., max(x)`` occurs in the 1-D non-negative ints ``x`` (at
    least ``minlength`` bins), as numpy.bincount and torch.bincount; with ``weights``, their sums
    per value (float64; the gradient reaches the weights)."""
    if isinstance(minlength, bool) or not isinstance(minlength, (int, np.integer)):
        raise TypeError(f"bincount: minlength must be an int, got {minlength!r}")
    if isinstance(x, (list, tuple)) and not x:  # numpy reads an empty list as no ints
        x = np.zeros(0, np.int64)
    arr, t = _values("bincount", x)
    if arr.ndim != 1:
        raise ValueError(f"bincount: x must be 1-D, got {arr.ndim}-D")
    if not is_int(t.dtype) and t.dtype != "bool":
        raise TypeError(f"bincount: x must hold ints, got {t.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError("bincount: x must have no negative elements")
    if minlength < 0:
        raise ValueError("bincount: minlength must be non-negative")
    bins = max(int(arr.max()) + 1 if arr.size else 0, int(minlength))
    if weights is None:
        return _tensors(t, np.bincount(arr.astype(np.int64), minlength=bins))[0]
    if isinstance(weights, Node):
        raise TypeError("bincount: weights must be an eager tensor or array, not a graph node")
    w = astype(lift_like(weights, t), "float64")
    if tuple(w.shape) != tuple(arr.shape):
        raise ValueError(f"bincount: weights have shape {tuple(w.shape)}, x {arr.shape}")
    zeros = lift_like(np.zeros(bins), t)
    return gather.add_at(zeros, lift_like(arr.astype(np.int64), t), w, 0)


@reports_as_itself
def histogram(
    a: ArrayLike,
    bins: Any = 10,
    range: Any = None,  # noqa: A002 - numpy's name
    density: Any = None,
    weights: Any = None,
) -> tuple[Value, Value]:
    """``(hist, bin_edges)`` of ``a``'s values, as numpy.histogram (``bins`` a count or the
    edges). Not differentiable: weights that require grad are refused."""
    arr, t = _values("histogram", a)
    w = None
    if weights is not None:
        if isinstance(weights, Node) or (is_tensor(weights) and untracked_array(weights) is None):
            raise TypeError("histogram: weights that require grad (or graph nodes) are not "
                            "supported; histogram is not differentiable")  # fmt: skip
        w = np.asarray(weights.numpy() if is_tensor(weights) else weights)
    if is_tensor(bins) or isinstance(bins, Node):
        bins, _ = _values("histogram", bins)
    hist, edges = np.histogram(arr, bins=bins, range=range, density=density, weights=w)
    if hist.dtype.kind in "iu":
        hist = hist.astype(np.int64)
    hist_t, edges_t = _tensors(t, hist, edges)
    return hist_t, edges_t
