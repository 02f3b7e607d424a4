"""Shape ops and reductions that do nothing, or that compose into one.

All exact: these only move elements (or sum a single one). Each rule checks that its replacement
has the node's exact type; where composing two ops would lose a static size that the graph knows,
the rule does not fire.
"""

from __future__ import annotations

from typing import Any

from graphjit.ir import Node
from graphjit.rewrite.engine import register
from graphjit.rewrite.patterns import build, is_op


def _try_build(node: Node, op: str, *inputs: Node, **attrs: Any) -> Node | None:
    """``op(*inputs, **attrs)`` when it builds and has ``node``'s type, else None."""
    try:
        new = build(op, *inputs, **attrs)
    except (ValueError, TypeError):
        return None
    return new if new.type == node.type else None


def _shape_known(shape: tuple[Any, ...]) -> bool:
    """A shape whose call-time sizes follow from its size: at most one dim not fixed."""
    return sum(not isinstance(d, int) for d in shape) <= 1


# --------------------------------------------------------------------------------------------------
# reshape


@register("reshape")
def reshape_noop(node: Node) -> Node | None:
    """``reshape(x, s)`` -> ``x`` when ``s`` is x's own shape. Exact."""
    (x,) = node.inputs
    return x if x.type == node.type and _shape_known(x.shape) else None


@register("reshape_like")
def reshape_like_noop(node: Node) -> Node | None:
    """``reshape_like(x, ref)`` -> ``x`` when x already has ref's shape. Exact."""
    x, _ = node.inputs
    return x if x.type == node.type and _shape_known(x.shape) else None


@register("reshape", "reshape_like")
def reshape_of_reshape(node: Node) -> Node | None:
    """A reshape of a reshape (or of expand_dims/squeeze, which are reshapes) -> one reshape of
    the original. Exact (row-major reshapes compose)."""
    inner = node.inputs[0]
    if not is_op(inner, "reshape", "reshape_like", "expand_dims", "squeeze"):
        return None
    return _try_build(node, node.op.name, inner.inputs[0], *node.inputs[1:], **node.attrs)


# --------------------------------------------------------------------------------------------------
# transpose, expand_dims, squeeze


@register("transpose")
def transpose_identity(node: Node) -> Node | None:
    """``transpose(x, (0, 1, ..., n-1))`` -> ``x``. Exact."""
    (x,) = node.inputs
    return x if tuple(node.attrs["axes"]) == tuple(range(x.ndim)) else None


@register("transpose")
def transpose_of_transpose(node: Node) -> Node | None:
    """``transpose(transpose(x, p), q)`` -> ``transpose(x, p[q])`` (``x`` when that is the
    identity). Exact."""
    (inner,) = node.inputs
    if not is_op(inner, "transpose"):
        return None
    p, q = inner.attrs["axes"], node.attrs["axes"]
    composed = tuple(p[i] for i in q)
    x = inner.inputs[0]
    if composed == tuple(range(x.ndim)):
        return x if x.type == node.type else None
    return _try_build(node, "transpose", x, axes=composed)


@register("squeeze")
def squeeze_of_expand_dims(node: Node) -> Node | None:
    """``squeeze(expand_dims(x, a), a)`` -> ``x``. Exact."""
    (inner,) = node.inputs
    if is_op(inner, "expand_dims") and inner.attrs["axes"] == node.attrs["axes"]:
        x = inner.inputs[0]
        return x if x.type == node.type else None
    return None


@register("expand_dims")
def expand_dims_of_squeeze(node: Node) -> Node | None:
    """``expand_dims(squeeze(x, a), a)`` -> ``x`` when those dims of x are statically 1. Exact."""
    (inner,) = node.inputs
    if is_op(inner, "squeeze") and inner.attrs["axes"] == node.attrs["axes"]:
        x = inner.inputs[0]
        return x if x.type == node.type else None
    return None


@register("squeeze", "expand_dims")
def no_axes_noop(node: Node) -> Node | None:
    """``squeeze(x, ())`` and ``expand_dims(x, ())`` -> ``x``. Exact."""
    x = node.inputs[0]
    return x if not node.attrs["axes"] and x.type == node.type else None


# --------------------------------------------------------------------------------------------------
# broadcasts


@register("broadcast_to", "broadcast_like")
def broadcast_noop(node: Node) -> Node | None:
    """A broadcast of ``x`` to x's own shape -> ``x``. Exact (a dim that is not statically 1
    never stretches, so equal shapes mean equal call-time sizes)."""
    x = node.inputs[0]
    return x if x.type == node.type else None


@register("broadcast_to", "broadcast_like")
def broadcast_of_broadcast(node: Node) -> Node | None:
    """A broadcast of a broadcast of ``x`` -> one broadcast of ``x``. Exact."""
    inner = node.inputs[0]
    if not is_op(inner, "broadcast_to", "broadcast_like"):
        return None
    return _try_build(node, node.op.name, inner.inputs[0], *node.inputs[1:], **node.attrs)


# --------------------------------------------------------------------------------------------------
# reductions

_REDUCTIONS = ("sum", "prod", "max", "min", "logsumexp")


@register(*_REDUCTIONS)
def reduce_over_nothing(node: Node) -> Node | None:
    """A reduction over no axes, or only over axes of static size 1 with ``keepdims``, -> ``x``
    (the dtype permitting: a sum of int32 is int64). Exact, except that a sum turns a ``-0.0``
    into ``+0.0`` (numpy adds to a ``+0.0`` start); ``logsumexp`` of one element is that element,
    inf and NaN included."""
    (x,) = node.inputs
    axes = node.attrs["axes"]
    if not all(x.shape[a] == 1 for a in axes):
        return None
    if axes and not node.attrs["keepdims"]:
        return _try_build(node, "squeeze", x, axes=axes)
    return x if x.type == node.type else None


@register("sum")
def sum_of_sum(node: Node) -> Node | None:
    """``sum(sum(x, a), b)`` -> ``sum(x, a | b)`` when both keep (or both drop) the reduced dims.
    CHANGES NUMERICS (the order of the additions), as any reassociation of a sum."""
    (inner,) = node.inputs
    if not is_op(inner, "sum") or inner.attrs["keepdims"] != node.attrs["keepdims"]:
        return None
    x = inner.inputs[0]
    a, b = inner.attrs["axes"], node.attrs["axes"]
    if node.attrs["keepdims"]:
        axes = tuple(sorted(set(a) | set(b)))
    else:
        kept = [i for i in range(x.ndim) if i not in a]  # inner's output axis j is x's kept[j]
        axes = tuple(sorted(set(a) | {kept[j] for j in b}))
    return _try_build(node, "sum", x, axes=axes, keepdims=node.attrs["keepdims"])


# --------------------------------------------------------------------------------------------------
# inputs read only for their shape

# op -> positions of the inputs whose values it never reads (only their call-time shapes)
SHAPE_ONLY_INPUTS: dict[str, tuple[int, ...]] = {
    "full_like": (0,),
    "broadcast_like": (1,),
    "reshape_like": (1,),
    "slice_axes_grad": (1,),
}


def _same_shape_inputs(node: Node) -> tuple[Node, ...]:
    """Inputs of ``node`` known to have its call-time shape."""
    name = node.op.name
    if node.op.kind == "elementwise" or name in ("softmax", "log_softmax"):
        return tuple(x for x in node.inputs if x.shape == node.shape)
    if name == "full_like":
        return (node.inputs[0],)
    if name in ("broadcast_like", "reshape_like"):
        return (node.inputs[1],)
    if name == "slice_axes_grad":
        return (node.inputs[1],)
    return ()


State = tuple[Node, tuple[int, ...]]


def _earliest(start: State, steps: Any, budget: int = 1000) -> State:
    """Follow ``steps(state) -> [next states]`` from ``start`` (depth first, iteratively, at most
    ``budget`` states): the first leaf reached, else the end of the first path."""
    stack = [start]
    seen = {start[0]}
    first_end: State | None = None
    while stack and budget > 0:
        budget -= 1
        state = stack.pop()
        nxt = [s for s in steps(state) if s[0] not in seen]
        if not state[0].inputs:
            return state
        if not nxt and first_end is None:
            first_end = state
        for s in reversed(nxt):
            seen.add(s[0])
            stack.append(s)
    return first_end or start


def shape_source(node: Node) -> Node:
    """The earliest node (a leaf if one is reachable) known to have ``node``'s call-time shape:
    reading the shape there does not keep the computation in between alive."""

    def steps(state: State) -> list[State]:
        return [(x, ()) for x in _same_shape_inputs(state[0])]

    return _earliest((node, ()), steps)[0]


def _size_axes_sources(state: State) -> list[State]:
    """Inputs of ``x`` (with axes of theirs) whose dims have the call-time sizes of x's ``axes``."""
    x, axes = state
    name = x.op.name
    if x.op.kind == "elementwise" or name in ("softmax", "log_softmax"):
        found = []
        for y in x.inputs:
            lead = x.ndim - y.ndim
            if all(a >= lead and y.shape[a - lead] == x.shape[a] for a in axes):
                found.append((y, tuple(a - lead for a in axes)))
        return found
    if name in _REDUCTIONS and x.inputs[0].ndim:
        (y,) = x.inputs
        if x.attrs["keepdims"]:
            return [(y, axes)] if not set(axes) & set(x.attrs["axes"]) else []
        kept = [i for i in range(y.ndim) if i not in x.attrs["axes"]]
        return [(y, tuple(kept[a] for a in axes))]
    if name == "transpose":
        perm = x.attrs["axes"]
        return [(x.inputs[0], tuple(sorted(perm[a] for a in axes)))]
    if name == "full_like":
        return [(x.inputs[0], axes)]
    if name in ("broadcast_like", "reshape_like", "slice_axes_grad"):
        return [(x.inputs[1], axes)]
    return []


@register("size_of")
def size_of_source(node: Node) -> Node | None:
    """``size_of(x, axes)`` reads the sizes from the earliest node known to share them
    (through elementwise ops, reductions, transposes: ``size_of(sum(y, 1), 0)`` ->
    ``size_of(y, 0)``), so the computation in between can become dead. Exact."""
    start = (node.inputs[0], node.attrs["axes"])
    x, axes = _earliest(start, _size_axes_sources)
    if x is start[0]:
        return None
    return _try_build(node, "size_of", x, axes=axes, dtype=node.attrs["dtype"])


@register(*SHAPE_ONLY_INPUTS)
def shape_from_source(node: Node) -> Node | None:
    """An input read only for its shape is replaced by the earliest node of the same call-time
    shape (``size_of(square(x - t))`` -> ``size_of(t)``), so the computation that produced it can
    become dead. Exact."""
    ins = list(node.inputs)
    changed = False
    for pos in SHAPE_ONLY_INPUTS[node.op.name]:
        src = shape_source(ins[pos])
        if src is not ins[pos] and src.shape == ins[pos].shape:
            ins[pos] = src
            changed = True
    if not changed:
        return None
    return _try_build(node, node.op.name, *ins, **node.attrs)


# --------------------------------------------------------------------------------------------------
# broadcasting that an elementwise op would do anyway


_MOVES = (
    "broadcast_to",
    "broadcast_like",
    "expand_dims",
    "reshape",
    "reshape_like",
    "squeeze",
    "transpose",
)


def _implicit_sources(x: Node) -> list[Node]:
    """Nodes that an elementwise op could use in place of its operand ``x``, deepest first: what
    a chain of explicit broadcasts (and leading size-1 dims) over it broadcasts, or a single
    element that a chain of element-moving ops spreads (a scalar seed reshaped and broadcast)."""
    found: list[Node] = []
    pure = True  # only broadcasts and leading expand_dims so far: every node keeps its layout
    node = x
    for _ in range(10_000):
        if not is_op(node, *_MOVES):
            break
        leading = is_op(node, "expand_dims") and node.attrs["axes"] == tuple(
            range(len(node.attrs["axes"]))
        )
        pure = pure and (is_op(node, "broadcast_to", "broadcast_like") or leading)
        node = node.inputs[0]
        if pure or node.type.size == 1:
            found.append(node)
    return found[::-1]


@register()
def drop_implicit_broadcast(node: Node) -> Node | None:
    """An operand of an elementwise op that is an explicit broadcast (or leading size-1 dims) ->
    the unbroadcast operand, when the op's own broadcasting gives the same type:
    ``broadcast_like(s, y) * y`` -> ``s * y``; likewise a single element moved by reshapes and
    broadcasts (``expand_dims(broadcast_like(expand_dims(s), r), 1) * y`` -> ``s * y``). Exact:
    the same elements meet."""
    if node.op.kind != "elementwise" or len(node.inputs) < 2:
        return None
    for i, x in enumerate(node.inputs):
        for src in _implicit_sources(x):
            ins = list(node.inputs)
            ins[i] = src
            new = _try_build(node, node.op.name, *ins, **node.attrs)
            if new is not None:
                return new
    return None
