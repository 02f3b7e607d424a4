"""Reverse mode (grad, vjp) and forward mode (jvp) over graphs, from the ops' own rules.

The sweeps are generic over "vertices": graph nodes here, eager tensors in
``graphjit.tensor`` (which passes its own ``parents`` function), so the derivative table is
written once, in the OpDefs.
Because the rules build graph when given nodes, a gradient is itself a graph: it can be optimised,
compiled and differentiated again (Hessian-vector products, second derivatives).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphjit import ir
from graphjit.ir import Node, is_float
from graphjit.ops import base
from graphjit.ops.shapes import broadcast_shapes, same_dim

# parents(vertex) -> (op, inputs, attrs), or None for a leaf
Parents = Callable[[Any], "tuple[base.OpDef, Sequence[Any], dict[str, Any]] | None"]


def _node_parents(n: Node) -> tuple[base.OpDef, Sequence[Node], dict[str, Any]] | None:
    if not n.inputs:
        return None
    return n.op, n.inputs, dict(n.attrs)


def _sum(x: Any, axis: tuple[int, ...], keepdims: bool) -> Any:
    from graphjit.ops.reductions import sum as reduce_sum

    return reduce_sum(x, axis=axis, keepdims=keepdims)


def unbroadcast(g: Any, like: Any) -> Any:
    """Sum (or broadcast) cotangent ``g`` to the shape of ``like``: the one place where the
    gradients of broadcasting ops are reduced. Works on nodes and on eager tensors."""
    gshape, shape = tuple(g.shape), tuple(like.shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead > 0:
        g = _sum(g, tuple(range(lead)), keepdims=False)
        gshape = tuple(g.shape)
    ones = tuple(
        i
        for i, (gd, d) in enumerate(zip(gshape[-len(shape) :] if shape else (), shape))
        if d == 1 and gd != 1
    )
    if ones and lead >= 0:
        g = _sum(g, ones, keepdims=True)
        gshape = tuple(g.shape)
    if gshape != shape:
        from graphjit.ops.shape import broadcast_like

        g = broadcast_like(g, like)
    return g


def _cast_like(g: Any, x: Any) -> Any:
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
) -> dict[int, Any]:
    """Propagate cotangents from ``seeds`` back through ``order`` (a topological order).

    ``active(v)`` says whether a cotangent for ``v`` is wanted (v leads to a requested input).
    Returns cotangents keyed by ``id(vertex)``.
    """
    cot: dict[int, Any] = {}
    for v, g in seeds:
        _accumulate(cot, v, g)
    for v in reversed(order):
        g = cot.get(id(v))
        if g is None:
            continue
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
                _accumulate(cot, x, _cast_like(unbroadcast(gx, x), x))
    return cot


def _depends_on(order: Sequence[Any], wrt: Sequence[Any], parents: Parents) -> set[int]:
    """ids of the vertices in ``order`` that depend on some vertex in ``wrt``."""
    reach = {id(w) for w in wrt}
    for v in order:
        p = parents(v)
        if p is not None and any(id(x) in reach for x in p[1]):
            reach.add(id(v))
    return reach


def _as_node_list(xs: Any, what: str) -> tuple[list[Node], bool]:
    single = isinstance(xs, Node) or base.is_tensor(xs)
    items = [xs] if single else list(xs)
    # a model parameter (an eager tensor) stands for its graph variable
    items = [base.as_node(x) if base.is_tensor(x) else x for x in items]
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


def _zeros_like(x: Any) -> Any:
    from graphjit.ops.shape import zeros_like

    return zeros_like(x)


def _eager_args(outputs: Any) -> bool:
    """True when ``outputs`` (one or a list) are eager tensors rather than graph nodes."""
    first = outputs[0] if isinstance(outputs, (list, tuple)) and outputs else outputs
    return base.is_tensor(first)


def vjp(outputs: Any, wrt: Any, cotangents: Any) -> Any:
    """Vector-Jacobian product: sum_i cotangents[i] . d outputs[i] / d wrt, as graph nodes.

    Lists in give a list out; a single node in gives a single node out."""
    if _eager_args(outputs):
        from graphjit.autograd import vjp as tensor_vjp  # eager tensors: the tape does it

        return tensor_vjp(outputs, wrt, cotangents)
    outs, _ = _as_node_list(outputs, "outputs")
    ws, single = _as_node_list(wrt, "wrt")
    cts = [cotangents] if not isinstance(cotangents, (list, tuple)) else list(cotangents)
    if len(cts) != len(outs):
        raise ValueError(f"vjp: {len(outs)} outputs but {len(cts)} cotangents")
    if all(w.is_leaf for w in ws):
        # differentiate the optimised outputs (leaves survive rewriting): the stability rewrites
        # then fix the gradient as well as the value, e.g. log(softmax(x)) is differentiated as
        # log_softmax(x), not through 1 / softmax(x), which is inf where softmax underflows
        from graphjit.rewrite import optimize

        outs = optimize(outs)
    seeds = []
    for i, (o, c) in enumerate(zip(outs, cts)):
        c = base.lift(c)
        if not isinstance(c, Node):
            c = base.constant_node(c)
        _check_fits(f"vjp: cotangent {i}", c, o)
        seeds.append((o, _cast_like(unbroadcast(c, o), o) if differentiable(o) else c))
    order = ir.toposort(outs)
    reach = _depends_on(order, ws, _node_parents)
    cot = reverse_sweep(order, seeds, _node_parents, lambda v: id(v) in reach)
    result = [cot.get(id(w)) for w in ws]
    result = [_zeros_like(w) if g is None else g for w, g in zip(ws, result)]
    return result[0] if single else result


def grad(y: Any, wrt: Any, create_graph: bool = False, retain_graph: bool | None = None) -> Any:
    """Gradient graph of scalar ``y`` with respect to each node in ``wrt``.

    A list in gives a list out; a single node gives a single node. A ``wrt`` that ``y`` does not
    depend on gets zeros of its shape. ``y`` must be a float scalar. (``create_graph`` is accepted
    for PyTorch compatibility; gradients of graphs are always graphs.)"""
    if _eager_args(y):
        from graphjit.autograd import grad as tensor_grad  # eager tensors: the tape does it

        return tensor_grad(y, wrt, create_graph=create_graph, retain_graph=retain_graph)
    if not isinstance(y, Node):
        raise TypeError(f"grad: y must be a graph node or tensor, got {type(y).__name__}")
    if y.ndim != 0:
        raise ValueError(
            f"grad: y must be a scalar (shape ()), got shape {ir.format_shape(y.shape)}; reduce it "
            "first (e.g. gj.sum(y)) or use gj.vjp with a cotangent"
        )
    if not differentiable(y):
        raise TypeError(f"grad: y must be a float scalar, got dtype {y.dtype}")
    one = base.constant_node(1.0, dtype=y.dtype)
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
        t = base.lift(t)
        if not isinstance(t, Node):
            t = base.constant_node(t)
        _check_fits(f"jvp: tangent {i}", t, w)
        tan[id(w)] = _cast_like(t, w)
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
            from graphjit.ops.shape import broadcast_like

            t = broadcast_like(t, v)
        tan[id(v)] = _cast_like(t, v)
    result = [tan.get(id(o)) for o in outs]
    result = [_zeros_like(o) if t is None else t for o, t in zip(outs, result)]
    return result[0] if single else result


def hvp(y: Any, wrt: Any, vectors: Any) -> Any:
    """Hessian-vector product of scalar ``y``: grad(sum_i <grad_i, v_i>) (reverse over reverse)."""
    ws, single = _as_node_list(wrt, "wrt")
    vs = [vectors] if single else list(vectors)
    gs = grad(y, ws)
    from graphjit.ops.reductions import sum as reduce_sum

    total = None
    for g, v in zip(gs, vs):
        term = reduce_sum(g * v)
        total = term if total is None else total + term
    assert total is not None
    result = grad(total, ws)
    return result[0] if single else result
