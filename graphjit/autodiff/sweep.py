"""The reverse sweep, generic over "vertices": graph nodes (:mod:`graphjit.autodiff.graph`) and
eager tensors on the tape (:mod:`graphjit.autodiff.tape`), each passing its own ``parents``
function, so the derivative table is written once, in the OpDefs. :func:`unbroadcast` is the one
place where the gradients of broadcasting ops are reduced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from graphjit.dtypes import is_float
from graphjit.ir import Node
from graphjit.ops import prims
from graphjit.ops.registry import OpDef


class VjpOp(Protocol):
    """What the sweep differentiates through: an :class:`OpDef`, or the tape op of a compiled
    ``gj.jit`` call (:mod:`graphjit.jit_grad`)."""

    @property
    def name(self) -> str: ...

    def backward(
        self, g: Any, out: Any, inputs: Sequence[Any], attrs: dict[str, Any], needs: Sequence[bool]
    ) -> list[Any]: ...


# parents(vertex) -> (op, inputs, attrs), or None for a leaf
Parents = Callable[[Any], "tuple[VjpOp, Sequence[Any], dict[str, Any]] | None"]


def node_parents(n: Node) -> tuple[OpDef, Sequence[Node], dict[str, Any]] | None:
    if not n.inputs:
        return None
    return n.op, n.inputs, dict(n.attrs)


def unbroadcast(g: Any, like: Any) -> Any:
    """Sum (or broadcast) cotangent ``g`` to the shape of ``like``: the one place where the
    gradients of broadcasting ops are reduced. Works on nodes and on eager tensors."""
    gshape, shape = tuple(g.shape), tuple(like.shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead > 0:
        g = prims.sum(g, tuple(range(lead)), keepdims=False)
        gshape = tuple(g.shape)
    ones = tuple(
        i
        for i, (gd, d) in enumerate(zip(gshape[-len(shape) :] if shape else (), shape))
        if d == 1 and gd != 1
    )
    if ones and lead >= 0:
        g = prims.sum(g, ones, keepdims=True)
        gshape = tuple(g.shape)
    if gshape != shape:
        g = prims.broadcast_like(g, like)
    return g


def cast_like(g: Any, x: Any) -> Any:
    return g if g.dtype == x.dtype else g.astype(x.dtype)


def _accumulate(store: dict[int, Any], key: Any, g: Any) -> None:
    k = id(key)
    prev = store.get(k)
    store[k] = g if prev is None else prev + g


def differentiable(x: Any) -> bool:
    return is_float(x.dtype)


def reverse_sweep(
    order: Sequence[Any],
    seeds: Sequence[tuple[Any, Any]],
    parents: Parents,
    active: Callable[[Any], bool],
    on_gradient: Callable[[Any, Any], Any] | None = None,
) -> dict[int, Any]:
    """Propagate cotangents from ``seeds`` back through ``order`` (a topological order).

    ``active(v)`` says whether a cotangent for ``v`` is wanted (v leads to a requested input).
    ``on_gradient(v, g)``, when given, sees each vertex's whole cotangent once, before it flows
    on, and returns the cotangent to use (the tape's tensor hooks).
    Returns cotangents keyed by ``id(vertex)``.
    """
    cot: dict[int, Any] = {}
    for v, g in seeds:
        _accumulate(cot, v, g)
    for v in reversed(order):
        g = cot.get(id(v))
        if g is None:
            continue
        if on_gradient is not None:
            g = cot[id(v)] = on_gradient(v, g)
        p = parents(v)
        if p is None:
            continue
        op, inputs, attrs = p
        needs = [active(x) and differentiable(x) for x in inputs]
        if not any(needs):
            continue
        grads = op.backward(g, v, inputs, attrs, needs)
        for x, gx, need in zip(inputs, grads, needs):
            if need and gx is not None:
                _accumulate(cot, x, cast_like(unbroadcast(gx, x), x))
    return cot


def depends_on(order: Sequence[Any], wrt: Sequence[Any], parents: Parents) -> set[int]:
    """ids of the vertices in ``order`` that depend on some vertex in ``wrt``."""
    reach = {id(w) for w in wrt}
    for v in order:
        p = parents(v)
        if p is not None and any(id(x) in reach for x in p[1]):
            reach.add(id(v))
    return reach
