"""Reverse mode (grad, vjp) and forward mode (jvp, hvp) over graphs, from the ops' own rules.

Because the rules build graph when given nodes, a gradient is itself a graph: it can be optimised,
compiled and differentiated again (Hessian-vector products, second derivatives).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphjit import ir
from graphjit.autodiff.sweep import (
    cast_like,
    depends_on,
    differentiable,
    node_parents,
    reverse_sweep,
    unbroadcast,
)
from graphjit.ir import Node
from graphjit.ops import prims
from graphjit.ops.dispatch import as_node, constant_node, is_tensor, lift
from graphjit.ops.shape_rules import broadcast_shapes, same_dim
from graphjit.rewrite import optimize


def _as_node_list(xs: Any, what: str) -> tuple[list[Node], bool]:
    single = isinstance(xs, Node) or is_tensor(xs)
    if not single and (isinstance(xs, (str, bytes)) or not isinstance(xs, Iterable)):
        raise TypeError(f"{what} must be a graph node or a list of them, got {type(xs).__name__}")
    items = [xs] if single else list(xs)
    # a model parameter (an eager tensor) stands for its graph variable
    items = [as_node(x) if is_tensor(x) else x for x in items]
    for i, x in enumerate(items):
        if not isinstance(x, Node):
            raise TypeError(f"{what}[{i}] is a {type(x).__name__}, expected a graph node")
    return items, single


def _check_fits(what: str, t: Any, target: Any) -> None:
    """``t`` must broadcast to exactly ``target``'s shape (a fixed size may stand for a ``None`` or
    named dim: a numpy tangent for a ``(None, 3)`` input has a concrete shape)."""
    try:
        shape = broadcast_shapes(t.shape, target.shape)
        ok = len(shape) == target.ndim and all(map(same_dim, shape, target.shape))
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{what} has shape {ir.format_shape(t.shape)}, expected {ir.format_shape(target.shape)}"
        )


def vjp(outputs: Any, wrt: Any, cotangents: Any) -> Any:
    """Vector-Jacobian product: sum_i cotangents[i] . d outputs[i] / d wrt, as graph nodes.

    Lists in give a list out; a single node in gives a single node out."""
    outs, _ = _as_node_list(outputs, "outputs")
    ws, single = _as_node_list(wrt, "wrt")
    cts = [cotangents] if not isinstance(cotangents, (list, tuple)) else list(cotangents)
    if len(cts) != len(outs):
        raise ValueError(f"vjp: {len(outs)} outputs but {len(cts)} cotangents")
    if all(w.is_leaf for w in ws):
        # differentiate the optimised outputs (leaves survive rewriting): the stability rewrites
        # then fix the gradient as well as the value, e.g. log(softmax(x)) is differentiated as
        # log_softmax(x), not through 1 / softmax(x), which is inf where softmax underflows
        outs = optimize(outs)
    seeds = []
    for i, (o, c) in enumerate(zip(outs, cts)):
        c = lift(c)
        if not isinstance(c, Node):
            c = constant_node(c)
        _check_fits(f"vjp: cotangent {i}", c, o)
        seeds.append((o, cast_like(unbroadcast(c, o), o) if differentiable(o) else c))
    order = ir.toposort(outs)
    reach = depends_on(order, ws, node_parents)
    cot = reverse_sweep(order, seeds, node_parents, lambda v: id(v) in reach)
    result = [cot.get(id(w)) for w in ws]
    result = [prims.zeros_like(w) if g is None else g for w, g in zip(ws, result)]
    return result[0] if single else result


def grad(y: Any, wrt: Any) -> Any:
    """Gradient graph of scalar ``y`` with respect to each node in ``wrt``.

    A list in gives a list out; a single node gives a single node. A ``wrt`` that ``y`` does not
    depend on gets zeros of its shape. ``y`` must be a float scalar. (``gj.grad`` also accepts
    PyTorch's ``create_graph``: gradients of graphs are always graphs.)"""
    if not isinstance(y, Node):
        raise TypeError(f"grad: y must be a graph node or tensor, got {type(y).__name__}")
    if y.ndim != 0:
        raise ValueError(
            f"grad: y must be a scalar (shape ()), got shape {ir.format_shape(y.shape)}; reduce it "
            "first (e.g. gj.sum(y)) or use gj.vjp with a cotangent"
        )
    if not differentiable(y):
        raise TypeError(f"grad: y must be a float scalar, got dtype {y.dtype}")
    one = constant_node(1.0, dtype=y.dtype)
    return vjp([y], wrt, [one])


def jvp(outputs: Any, wrt: Any, tangents: Any) -> Any:
    """Jacobian-vector product (forward mode): the tangent of each output when each ``wrt[i]``
    moves along ``tangents[i]``, as graph nodes."""
    outs, single = _as_node_list(outputs, "outputs")
    ws, _ = _as_node_list(wrt, "wrt")
    ts = [tangents] if isinstance(wrt, Node) else list(tangents)
    if len(ts) != len(ws):
        raise ValueError(f"jvp: {len(ws)} wrt nodes but {len(ts)} tangents")
    tan: dict[int, Any] = {}
    for i, (w, t) in enumerate(zip(ws, ts)):
        t = lift(t)
        if not isinstance(t, Node):
            t = constant_node(t)
        _check_fits(f"jvp: tangent {i}", t, w)
        tan[id(w)] = cast_like(t, w)
    for v in ir.toposort(outs):
        if id(v) in tan or not v.inputs:
            continue
        ins = [tan.get(id(x)) for x in v.inputs]
        if all(t is None for t in ins):
            continue
        t = v.op.jvp(ins, v, *v.inputs, **v.attrs) if v.op.jvp else None
        if t is None or not differentiable(v):
            continue
        if tuple(t.shape) != tuple(v.shape):
            t = prims.broadcast_like(t, v)
        tan[id(v)] = cast_like(t, v)
    result = [tan.get(id(o)) for o in outs]
    result = [prims.zeros_like(o) if t is None else t for o, t in zip(outs, result)]
    return result[0] if single else result


def hvp(y: Any, wrt: Any, vectors: Any) -> Any:
    """Hessian-vector product of scalar ``y``: grad(sum_i <grad_i, v_i>) (reverse over reverse)."""
    ws, single = _as_node_list(wrt, "wrt")
    vs = [vectors] if single else list(vectors)
    gs = grad(y, ws)
    total = None
    for g, v in zip(gs, vs):
        term = prims.sum(g * v)
        total = term if total is None else total + term
    assert total is not None
    result = grad(total, ws)
    return result[0] if single else result
