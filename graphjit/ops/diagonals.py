"""Diagonals: the ``diagonal`` op (numpy.diagonal) and its transpose ``diagonal_grad`` (a diagonal
written into zeros), with ``trace`` and ``diag`` built on them.

``diagonal(x, offset, axis1, axis2)`` removes ``axis1`` and ``axis2`` and appends the diagonal as
the last axis, as numpy does. Its length is ``max(0, min(n1, n2 - offset))`` for ``offset >= 0``
and ``max(0, min(n1 + offset, n2))`` below; with a ``None`` dim it is computed when the graph runs.
``diagonal_grad(g, x)`` is zeros of ``x``'s shape with ``g`` on that diagonal (``x`` is read only
for its call-time shape): each op is the other's transpose, so derivatives of every order stay
within the pair. einsum's repeated indices (``'ii->i'``, ``'ii'``) go through ``diagonal`` too
(see :mod:`graphjit.ops.linalg`).

PyTorch spellings accepted: ``dim1=``/``dim2=`` for ``diagonal``, ``diagonal=`` for ``diag``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops import prims
from graphjit.ops.dispatch import ArrayLike, Value, apply, lift, lift_like
from graphjit.ops.registry import DimBuilder, OpDef, binds, defop
from graphjit.ops.shape_rules import fresh_copy, is_static_dim, normalize_axis, same_dim

__all__ = ["diagonal", "trace", "diag"]


def _diag_len(n1: Dim, n2: Dim, offset: int) -> Dim:
    if not (is_static_dim(n1) and is_static_dim(n2)):
        return None
    if offset >= 0:
        return max(0, min(n1, n2 - offset))  # type: ignore[operator, type-var]
    return max(0, min(n1 + offset, n2))  # type: ignore[operator, type-var]


def _check_attrs(op: str, x: TensorType, offset: Any, axis1: Any, axis2: Any) -> None:
    ok = (
        isinstance(offset, int)
        and all(isinstance(a, int) and 0 <= a < x.ndim for a in (axis1, axis2))
        and axis1 != axis2
    )
    if not ok:
        raise ValueError(
            f"{op}: needs two distinct axes of shape {format_shape(x.shape)} and an int offset, "
            f"got axis1={axis1!r}, axis2={axis2!r}, offset={offset!r}"
        )


def _diagonal_shape(x: TensorType, offset: int, axis1: int, axis2: int) -> tuple[Dim, ...]:
    rest = tuple(d for i, d in enumerate(x.shape) if i not in (axis1, axis2))
    return (*rest, _diag_len(x.shape[axis1], x.shape[axis2], offset))


def _diagonal_infer(x: TensorType, *, offset: int, axis1: int, axis2: int) -> TensorType:
    _check_attrs("diagonal", x, offset, axis1, axis2)
    return TensorType(_diagonal_shape(x, offset, axis1, axis2), x.dtype)


def _diagonal_impl(x: np.ndarray, *, offset: int, axis1: int, axis2: int) -> np.ndarray:
    return fresh_copy(np.diagonal(x, offset, axis1, axis2))


def _len_expr(table: DimBuilder, static: Dim, k: int, n1: str, n2: str) -> str:
    """The diagonal's length (its static size, or an expression of the two axes' sizes)."""
    if is_static_dim(static):
        return str(static)
    if k >= 0:
        return table.let(f"max(0, min({n1}, {n2} - {k}))")
    return table.let(f"max(0, min({n1} - {-k}, {n2}))")


def _diagonal_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    a1, a2 = node.attrs["axis1"], node.attrs["axis2"]
    xd = ins[0]
    rest = [d for i, d in enumerate(xd) if i not in (a1, a2)]
    return [*rest, _len_expr(table, node.shape[-1], node.attrs["offset"], xd[a1], xd[a2])]


DIAGONAL: OpDef = defop(
    "diagonal",
    infer=_diagonal_infer,
    impl=_diagonal_impl,
    vjps=(lambda g, out, x, **attrs: apply(DIAGONAL_GRAD, g, x, **attrs),),
    jvp=lambda tangents, out, x, **attrs: (
        None if tangents[0] is None else apply(DIAGONAL, tangents[0], **attrs)
    ),
    kind="index",
    call_dims=_diagonal_call_dims,
    promote=None,
    doc="the diagonal of axes axis1 and axis2 (shifted by offset), as the last axis",
)


def _diagonal_grad_infer(
    g: TensorType, x: TensorType, *, offset: int, axis1: int, axis2: int
) -> TensorType:
    _check_attrs("diagonal_grad", x, offset, axis1, axis2)
    want = _diagonal_shape(x, offset, axis1, axis2)
    if g.ndim != len(want) or not all(same_dim(a, b) for a, b in zip(g.shape, want)):
        raise ValueError(
            f"diagonal_grad: a diagonal of shape {format_shape(g.shape)} does not fit the "
            f"diagonal {format_shape(want)} of shape {format_shape(x.shape)}"
        )
    return TensorType(x.shape, g.dtype)


def _diagonal_grad_impl(
    g: np.ndarray, x: np.ndarray, *, offset: int, axis1: int, axis2: int
) -> np.ndarray:
    out = np.zeros(x.shape, g.dtype)
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    i = np.arange(g.shape[-1])
    view[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return out


def _diagonal_grad_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    a1, a2 = node.attrs["axis1"], node.attrs["axis2"]
    xd = ins[1]
    rest = [d for i, d in enumerate(xd) if i not in (a1, a2)]
    k = node.attrs["offset"]
    want = [*rest, _len_expr(table, node.inputs[0].shape[-1], k, xd[a1], xd[a2])]
    for i, (gd, w) in enumerate(zip(ins[0], want)):
        table.require_equal(gd, w, f"diagonal_grad: the diagonal's axis {i} has the wrong size")
    return list(xd)


DIAGONAL_GRAD: OpDef = defop(
    "diagonal_grad",
    infer=_diagonal_grad_infer,
    impl=_diagonal_grad_impl,
    vjps=(
        lambda ct, out, g, x, **attrs: prims.exactly_shaped(apply(DIAGONAL, ct, **attrs), g),
        None,
    ),
    jvp=lambda tangents, out, g, x, **attrs: (
        None if tangents[0] is None else apply(DIAGONAL_GRAD, tangents[0], x, **attrs)
    ),
    kind="index",
    call_dims=_diagonal_grad_call_dims,
    shape_only_from=1,
    promote=None,
    doc="zeros of x's shape with g written on its diagonal (the transpose of diagonal)",
)


# --------------------------------------------------------------------------------------------------
# public functions


def _pick(name: str, numpy_value: Any, torch_value: Any, default: Any, what: str) -> Any:
    if torch_value is not None:
        if numpy_value is not default:
            raise TypeError(f"{name}: give {what} once (numpy's or PyTorch's spelling)")
        return torch_value
    return numpy_value


@binds(DIAGONAL)
def diagonal(
    a: ArrayLike,
    offset: int = 0,
    axis1: int = 0,
    axis2: int = 1,
    *,
    dim1: Any = None,
    dim2: Any = None,
) -> Value:
    """The diagonal of ``axis1`` and ``axis2``, as numpy.diagonal: both axes are removed and the
    diagonal (above the main one for ``offset > 0``, below for ``offset < 0``) becomes the last
    axis. (``dim1=``/``dim2=`` are torch.diagonal's spellings.)"""
    a = lift(a)
    if a.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dims, got shape {format_shape(a.shape)}")
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)):
        raise TypeError(f"diagonal: offset must be an int, got {offset!r}")
    ax1 = normalize_axis(_pick("diagonal", axis1, dim1, 0, "axis1"), a.ndim, "diagonal")
    ax2 = normalize_axis(_pick("diagonal", axis2, dim2, 1, "axis2"), a.ndim, "diagonal")
    if ax1 == ax2:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same axis ({ax1})")
    return apply(DIAGONAL, a, offset=int(offset), axis1=ax1, axis2=ax2)


def trace(
    a: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None
) -> Value:
    """Sum along a diagonal, as numpy.trace (ints and bools sum as ints)."""
    d = diagonal(a, offset, axis1, axis2)
    if dtype is not None:
        d = prims.astype(d, dtype)
    elif d.dtype == "bool":
        d = prims.astype(d, "int64")
    return prims.sum(d, -1)


def diag(v: ArrayLike, k: int = 0, *, diagonal: Any = None) -> Value:
    """numpy.diag: the ``k``-th diagonal of a 2-D array, or a 2-D array with the 1-D ``v`` on its
    ``k``-th diagonal and zeros elsewhere (``v``'s length must be fixed for that).
    (``diagonal=`` is torch.diag's spelling of ``k``.)"""
    v = lift(v)
    k = _pick("diag", k, diagonal, 0, "the diagonal")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"diag: the diagonal must be an int, got {k!r}")
    k = int(k)
    if v.ndim == 2:
        return apply(DIAGONAL, v, offset=k, axis1=0, axis2=1)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {format_shape(v.shape)}")
    n = v.shape[0]
    if not is_static_dim(n):
        raise ValueError(
            "diag: building a matrix from a vector needs its length fixed when the graph is "
            f"built, got shape {format_shape(v.shape)}"
        )
    size = int(n) + abs(k)
    zeros = prims.broadcast_to(lift_like(np.zeros((), v.dtype), v), (size, size))
    return apply(DIAGONAL_GRAD, v, zeros, offset=k, axis1=0, axis2=1)
