"""Broadcasting ops and the ``*_like`` ops that take an input only for its shape: broadcast_to,
broadcast_like, full_like (with zeros_like and ones_like). Reshapes and axis permutations are in
:mod:`graphjit.ops.shape`.

Conventions (those of :mod:`graphjit.ops.shape`, and):

* ``broadcast_to`` takes int sizes, or ``None`` where ``x``'s own dim is kept.
* The derivative of a broadcast sums the cotangent over the broadcast axes (back to ``x``'s exact
  type); the ``*_like`` ops' reference input gets no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.dtypes import as_dtype
from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops import prims
from graphjit.ops.dispatch import ArrayLike, Value, apply, astype, is_tensor, lift
from graphjit.ops.registry import DimBuilder, OpDef, binds, defop, zero_jvp, zero_vjp
from graphjit.ops.shape_rules import broadcast_copy, is_static_dim, same_dim, scalar_fill

__all__ = ["broadcast_to", "broadcast_like", "zeros_like", "ones_like", "full_like"]


def _sum_to(g: Any, x: Any) -> Any:
    """The cotangent of ``x`` from ``g`` of a shape ``x`` broadcast to: sum the leading axes and
    the axes where ``x`` has a static 1."""
    lead = g.ndim - x.ndim
    if lead:
        g = prims.sum(g, tuple(range(lead)))
    ones = tuple(i for i, (d, gd) in enumerate(zip(x.shape, g.shape)) if d == 1 and gd != 1)
    if ones:
        g = prims.sum(g, ones, keepdims=True)
    return prims.exactly_shaped(g, x)


# --------------------------------------------------------------------------------------------------
# broadcasting


def _broadcast_to_dims(src: tuple[Dim, ...], target: tuple[Dim, ...]) -> tuple[Dim, ...]:
    def fail(why: str) -> ValueError:
        return ValueError(
            f"broadcast_to: cannot broadcast shape {format_shape(src)} to {format_shape(target)}: "
            f"{why}"
        )

    if not isinstance(target, tuple):
        raise fail("the shape must be a tuple")
    lead = len(target) - len(src)
    if lead < 0:
        raise fail("the new shape has fewer dims")
    out: list[Dim] = []
    for i, t in enumerate(target[:lead]):
        if not is_static_dim(t) or t < 0:  # type: ignore[operator]
            raise fail(f"new leading axis {i} needs a size >= 0, got {t!r}")
        out.append(t)
    for i, (d, t) in enumerate(zip(src, target[lead:]), start=lead):
        if t is None or isinstance(t, str):
            if not (t is None or d is None or d == t):
                raise fail(f"axis {i} is {d!r} in the input, not {t!r}")
            out.append(d if t is None else t)
        elif is_static_dim(t) and t >= 0:
            if is_static_dim(d) and d not in (1, t):
                raise fail(f"axis {i} has size {d}, which is neither 1 nor {t}")
            out.append(t)
        else:
            raise fail(f"axis {i}: a size must be an int >= 0 or None, got {t!r}")
    return tuple(out)


def _broadcast_to_infer(x: TensorType, *, shape: tuple[Dim, ...]) -> TensorType:
    return TensorType(_broadcast_to_dims(x.shape, shape), x.dtype)


def _broadcast_to_impl(x: np.ndarray, *, shape: tuple[Dim, ...]) -> np.ndarray:
    lead = len(shape) - x.ndim
    target = tuple(t if is_static_dim(t) else x.shape[i - lead] for i, t in enumerate(shape))
    return broadcast_copy(x, target)  # type: ignore[arg-type]


def _stretch(table: DimBuilder, node: Node, xd: list[str], target: list[str]) -> None:
    """Call-time checks that input 0 (dims ``xd``) broadcasts to ``target``."""
    x = node.inputs[0]
    lead = len(target) - len(xd)
    for i, d in enumerate(xd):
        if x.shape[i] != 1:
            table.require_equal(
                d,
                target[lead + i],
                f"{node.op.name}: axis {i} of the input has the wrong size at run time",
                allow_one=True,
            )


def _broadcast_to_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    shape, xd = node.attrs["shape"], ins[0]
    lead = len(shape) - len(xd)
    out = [str(t) if isinstance(t, int) else xd[i - lead] for i, t in enumerate(shape)]
    _stretch(table, node, xd, out)
    return out


BROADCAST_TO: OpDef = defop(
    "broadcast_to",
    infer=_broadcast_to_infer,
    impl=_broadcast_to_impl,
    vjps=(lambda g, out, x, shape: _sum_to(g, x),),
    jvp=lambda tangents, out, x, shape: (
        None if tangents[0] is None else apply(BROADCAST_TO, tangents[0], shape=shape)
    ),
    kind="shape",
    call_dims=_broadcast_to_call_dims,
    fusion="view",
    promote=None,
    doc="numpy broadcast_to; a None size keeps x's dim",
)


def _broadcast_like_infer(x: TensorType, ref: TensorType) -> TensorType:
    lead = ref.ndim - x.ndim
    ok = lead >= 0 and all(
        d == 1 or same_dim(d, r) for d, r in zip(x.shape, ref.shape[lead:] if lead >= 0 else ())
    )
    if not ok:
        raise ValueError(
            f"broadcast_like: cannot broadcast shape {format_shape(x.shape)} to the shape "
            f"{format_shape(ref.shape)} of the reference"
        )
    return TensorType(ref.shape, x.dtype)


def _broadcast_like_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    _stretch(table, node, ins[0], ins[1])
    return list(ins[1])


BROADCAST_LIKE: OpDef = defop(
    "broadcast_like",
    infer=_broadcast_like_infer,
    impl=lambda x, ref: broadcast_copy(x, ref.shape),
    vjps=(lambda g, out, x, ref: _sum_to(g, x), None),
    jvp=lambda tangents, out, x, ref: (
        None if tangents[0] is None else broadcast_like(tangents[0], ref)
    ),
    kind="shape",
    call_dims=_broadcast_like_call_dims,
    fusion="view",
    shape_only_from=1,
    promote=None,
    doc="x broadcast to the call-time shape of ref (x's dtype); ref's values are not read",
)


# --------------------------------------------------------------------------------------------------
# full_like


def _full_like_infer(x: TensorType, *, fill_value: Any, dtype: str) -> TensorType:
    return TensorType(x.shape, dtype)


def _full_like_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    return list(ins[0])


FULL_LIKE: OpDef = defop(
    "full_like",
    infer=_full_like_infer,
    impl=lambda x, fill_value, dtype: np.full(x.shape, fill_value, dtype=dtype),
    vjp=zero_vjp,
    jvp=zero_jvp,
    kind="other",
    call_dims=_full_like_call_dims,
    fusion="elementwise",
    shape_only_from=0,
    promote=None,
    doc="an array of x's shape filled with fill_value; x's values are not read",
)


@binds(BROADCAST_TO)
def broadcast_to(x: ArrayLike, shape: Any) -> Value:
    """``x`` broadcast to ``shape``, as numpy.broadcast_to. Sizes are ints; ``None`` is allowed
    where ``x`` has a dim of its own there (it is kept)."""
    x = lift(x)
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"broadcast_to: shape must be a tuple, got {shape!r}")
    target = tuple(int(d) if isinstance(d, np.integer) else d for d in shape)
    out = _broadcast_to_dims(tuple(x.shape), target)
    if out == tuple(x.shape):
        return x
    return apply(BROADCAST_TO, x, shape=target)


@binds(BROADCAST_LIKE)
def broadcast_like(x: ArrayLike, ref: ArrayLike) -> Value:
    """``x`` broadcast to the call-time shape of ``ref``, keeping ``x``'s dtype. ``ref`` is read
    only for its shape (it gets no gradient)."""
    x, ref = lift(x), lift(ref)
    if tuple(x.shape) == tuple(ref.shape):
        return x
    return apply(BROADCAST_LIKE, x, ref)


@binds(FULL_LIKE)
def full_like(x: ArrayLike, fill_value: Any, dtype: Any = None) -> Value:
    """An array of ``x``'s shape filled with ``fill_value`` (dtype: ``x``'s unless given), as
    numpy.full_like. Only ``x``'s shape is read; the gradient is zero. A graph node or tensor as
    ``fill_value`` is broadcast (and gets the gradient)."""
    x = lift(x)
    dt = as_dtype(x.dtype if dtype is None else dtype)
    if isinstance(fill_value, Node) or is_tensor(fill_value):
        return broadcast_like(astype(fill_value, dt), x)
    return apply(FULL_LIKE, x, fill_value=scalar_fill("full_like", fill_value, dt), dtype=dt)


def zeros_like(x: ArrayLike, dtype: Any = None) -> Value:
    """Zeros of ``x``'s shape (and dtype, unless given), as numpy.zeros_like."""
    return full_like(x, 0, dtype)


def ones_like(x: ArrayLike, dtype: Any = None) -> Value:
    """Ones of ``x``'s shape (and dtype, unless given), as numpy.ones_like."""
    return full_like(x, 1, dtype)
