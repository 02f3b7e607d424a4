"""The reference interpreter: evaluates any graph with the ops' numpy implementations.

It is ``backend="numpy"`` and the executable spec that every other backend is tested against. At
each node it re-runs the op's shape rule on the concrete input shapes, so a call-time size that
breaks a build-time assumption (a ``None`` dim that must equal another) raises a clear ValueError
naming the op, and it checks that the implementation returned the dtype the rule promised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.ir import Node, TensorType
from graphjit.ops.leaves import CONSTANT, PLACEHOLDER, VARIABLE, constant_value
from graphjit.viz import pprint_str


class GraphError(ValueError):
    """A graph could not be evaluated with the given inputs (names the node)."""


def leaf_value(node: Node, feed: Mapping[Node, np.ndarray]) -> np.ndarray:
    if node.op is PLACEHOLDER:
        try:
            return feed[node]
        except KeyError:
            raise ValueError(f"no value given for placeholder {node.name!r}") from None
    if node.op is CONSTANT:
        return constant_value(node)
    if node.op is VARIABLE:
        arr: np.ndarray = node.attrs["storage"].array
        return arr
    raise TypeError(f"{node!r} is not a leaf")


def eval_node(node: Node, args: Sequence[np.ndarray]) -> np.ndarray:
    """Run one op on concrete arrays, checking shapes with its rule and the result's dtype."""
    op = node.op
    try:
        expect = op.infer(*[TensorType(a.shape, a.dtype.name) for a in args], **node.attrs)
    except (ValueError, TypeError) as exc:
        raise type(exc)(
            f"while evaluating {op.name} with input shapes {[a.shape for a in args]}: {exc}"
        ) from None
    shapes = [a.shape for a in args]
    if op.kind == "elementwise":
        check_no_stretch(node, shapes, dict.fromkeys(range(len(args)), expect.shape))
    elif op.broadcasts is not None:
        check_no_stretch(node, shapes, op.broadcasts(node, shapes))
    assert op.impl is not None
    out = np.asarray(op.impl(*args, **node.attrs))
    if out.dtype.name != expect.dtype:
        raise AssertionError(
            f"internal error: {op.name} returned {out.dtype.name}, its rule says {expect.dtype}"
        )
    if out.shape != expect.shape:
        raise AssertionError(
            f"internal error: {op.name} returned shape {out.shape}, its rule says {expect.shape}"
        )
    return out


def check_no_stretch(
    node: Node, shapes: Sequence[tuple[int, ...]], targets: Mapping[int, tuple[Any, ...]]
) -> None:
    """Only a dim that is 1 when the graph is built may broadcast: a ``None`` or named dim that is
    1 at call time, meeting a larger size, would make the gradient graph (which sums exactly the
    statically broadcast axes) wrong, so it is an error. ``targets``: the shape each broadcast
    input (by position) broadcasts to."""
    for i, out in targets.items():
        x, shape = node.inputs[i], shapes[i]
        lead = len(out) - len(shape)
        for axis, (static, n) in enumerate(zip(x.shape, shape)):
            if static != 1 and n != out[lead + axis]:
                raise ValueError(
                    f"{node.op.name}: input {i} has size {n} on axis {axis}, which would "
                    f"broadcast to {out[lead + axis]}; only dims that are 1 when the graph is "
                    f"built broadcast (this one is {static!r}: give it size {out[lead + axis]}, or "
                    "declare it as 1)"
                )


def evaluate(outputs: Sequence[Node], feed: Mapping[Node, Any] | None = None) -> list[np.ndarray]:
    """Values of ``outputs`` given placeholder values in ``feed`` (iterative; any depth)."""
    feed = {k: np.asarray(v) for k, v in (feed or {}).items()}
    values: dict[int, np.ndarray] = {}
    order = ir.toposort(outputs)
    # free intermediate values once their last user has run, so long chains stay small in memory
    last_use: dict[int, int] = {}
    for i, n in enumerate(order):
        for x in n.inputs:
            last_use[id(x)] = i
    keep = {id(o) for o in outputs}
    for i, n in enumerate(order):
        if not n.inputs:
            values[id(n)] = leaf_value(n, feed)
        else:
            values[id(n)] = eval_node(n, [values[id(x)] for x in n.inputs])
            for x in n.inputs:
                if last_use.get(id(x)) == i and id(x) not in keep:
                    values.pop(id(x), None)
    return [values[id(o)] for o in outputs]


def listing(outputs: Sequence[Node], inputs: Sequence[Node] = ()) -> str:
    """A readable listing of the graph, one line per node (the numpy backend's ``source``)."""
    return pprint_str(outputs)
