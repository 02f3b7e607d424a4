"""Shape rules shared by the op families: broadcasting and axis normalisation.

Broadcasting is decided when the graph is built. Only a dim that is statically 1 broadcasts; a
``None`` or named dim never stretches, so a ``None`` dim meeting a size ``n`` must be ``n`` at call
time (PyTensor's rule). This keeps gradient graphs exact: which axes a gradient sums over is known
before the graph runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops.base import DimBuilder


def broadcast_dims(a: Dim, b: Dim) -> Dim:
    """The broadcast of two dims, or ValueError. Returns ``a`` when the dims must simply agree."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if isinstance(a, int) and isinstance(b, int):
        raise ValueError(f"sizes {a} and {b} do not broadcast")
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, int):  # a named dim meeting a size: the size wins, the name must match it
        return a
    if isinstance(b, int):
        return b
    return a


def broadcast_shapes(*shapes: Sequence[Dim], op: str = "broadcast") -> tuple[Dim, ...]:
    """numpy broadcasting of several shapes (with ``None`` and named dims), as a tuple."""
    ndim = max((len(s) for s in shapes), default=0)
    result: list[Dim] = [1] * ndim
    for s in shapes:
        pad = [1] * (ndim - len(s)) + list(s)
        for i, d in enumerate(pad):
            try:
                result[i] = broadcast_dims(result[i], d)
            except ValueError:
                shown = " and ".join(format_shape(x) for x in shapes)
                raise ValueError(
                    f"{op}: shapes {shown} cannot be broadcast together (axis {i - ndim}: "
                    f"{result[i]} vs {d})"
                ) from None
    return tuple(result)


def normalize_axis(axis: Any, ndim: int, op: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for an array of {ndim} dims")
    return axis % ndim if ndim else 0


def normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` (None, int, or a sequence of ints, negatives allowed) as a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(normalize_axis(a, ndim, op) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: repeated axis in {tuple(axis)!r}")
        return tuple(sorted(axes))
    return (normalize_axis(axis, ndim, op),)


def same_dim(a: Dim, b: Dim) -> bool:
    """True unless the two dims are known to differ."""
    return a is None or b is None or a == b or not (isinstance(a, int) and isinstance(b, int))


def elementwise_type(op: str, *types: TensorType, dtype: str | None = None) -> TensorType:
    shape = broadcast_shapes(*(t.shape for t in types), op=op)
    return TensorType(shape, dtype or types[0].dtype)


def reduced_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    """Call-time dims of a reduction over ``axes`` (``keepdims`` keeps them as 1s)."""
    axes, keep = node.attrs["axes"], node.attrs["keepdims"]
    return ["1" if i in axes else d for i, d in enumerate(ins[0]) if keep or i not in axes]
