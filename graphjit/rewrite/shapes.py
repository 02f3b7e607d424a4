"""Shape ops and reductions that do nothing, or that compose into one.

All exact: these only move elements (or sum a single one). Each rule checks that its replacement
has the node's exact type; where composing two ops would lose a static size that the graph knows,
the rule does not fire.
"""

from __future__ import annotations

from typing import Any

from graphjit.ir import Node
from graphjit.ops.shape_rules import FULL_SLICE, canonical_slice
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
# gradients of slices that tile an axis

# past this many summands, a sum of slice gradients is left as it is
_MAX_SLICE_SUMMANDS = 64


def _pieces_along(node: Node) -> tuple[int, list[tuple[Node, int, int]]] | None:
    """For a ``slice_axes_grad`` whose slice is full on every axis but one, where it is a static
    step-1 range: that axis, and the cotangent as pieces ``(array, start, stop)`` along it (a
    cotangent concatenated along the axis, as this rule builds, in its parts); else None."""
    if not is_op(node, "slice_axes_grad"):
        return None
    cut = [(k, t) for k, t in enumerate(node.attrs["slices"]) if t != FULL_SLICE]
    size = node.shape[cut[0][0]] if len(cut) == 1 else None
    if not isinstance(size, int) or cut[0][1][2] != 1:
        return None
    k, (start, stop, _) = cut[0]
    r = range(*slice(start, stop).indices(size))
    if not r:
        return None
    g = node.inputs[0]
    sizes = [x.shape[k] for x in g.inputs] if is_op(g, "concatenate") else []
    if not sizes or g.attrs["axis"] != k or not all(isinstance(n, int) for n in sizes):
        return k, [(g, r.start, r.stop)]
    pieces, at = [], r.start
    for x, n in zip(g.inputs, sizes):
        assert isinstance(n, int)
        pieces.append((x, at, at + n))
        at += n
    return k, pieces


def _summands(node: Node) -> list[Node]:
    """The leaves of the tree of ``add`` nodes of ``node``'s type under ``node`` (none when
    there are more than ``_MAX_SLICE_SUMMANDS``)."""
    leaves: list[Node] = []
    stack = [node]
    while stack and len(leaves) <= _MAX_SLICE_SUMMANDS:
        x = stack.pop()
        if is_op(x, "add") and x.type == node.type:
            stack.extend(reversed(x.inputs))
        else:
            leaves.append(x)
    return leaves if not stack else []


@register("add")
def tiled_slice_gradients(node: Node) -> Node | None:
    """A sum of gradients of slices of one array along one axis, over disjoint ranges (the
    gradient of ``z`` used as ``z[:, :H]``, ``z[:, H:2H]``, ...: an LSTM's gates, attention's
    heads) -> one ``slice_axes_grad`` of the concatenated cotangents per run of adjacent ranges,
    and just the concatenation where they tile the axis: one buffer written once, instead of a
    zeroed buffer per slice and the adds. Exact: each element of the sum has at most one
    nonzero term."""
    leaves = _summands(node)
    found = [p for p in map(_pieces_along, leaves) if p is not None]
    if len(leaves) < 2 or len(found) != len(leaves):
        return None
    frame = leaves[0].inputs[1]  # the array sliced (only its shape is read)
    axis = found[0][0]
    if any(x.inputs[1] is not frame or k != axis for x, (k, _) in zip(leaves, found)):
        return None
    runs: list[list[tuple[Node, int, int]]] = []  # adjacent pieces, by start
    for piece in sorted((p for _, ps in found for p in ps), key=lambda p: p[1]):
        end = runs[-1][-1][2] if runs else None
        if end is not None and piece[1] < end:
            return None  # overlapping ranges: the sum really adds
        if piece[1] == end:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    if len(runs) == len(leaves):
        return None  # nothing adjacent: nothing to merge
    parts = []
    for run in runs:
        arrays = [x for x, _, _ in run]
        g = arrays[0] if len(run) == 1 else build("concatenate", *arrays, axis=axis)
        slices = [FULL_SLICE] * node.ndim
        slices[axis] = canonical_slice((run[0][1], run[-1][2], 1), node.shape[axis])
        whole = g.type == node.type and all(t == FULL_SLICE for t in slices)
        parts.append(g if whole else build("slice_axes_grad", g, frame, slices=tuple(slices)))
    total = parts[0]
    for part in parts[1:]:
        total = build("add", total, part)
    return total if total.type == node.type else None


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
