"""Small helpers the rules share: building nodes, and recognising constants."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.ir import Node
from graphjit.ops.leaves import CONSTANT, constant, constant_value
from graphjit.ops.registry import OPS

# ops that only move or copy their first input's elements: a uniform input stays uniform
_UNIFORM_THROUGH = frozenset(
    {
        "broadcast_to",
        "broadcast_like",
        "reshape",
        "expand_dims",
        "squeeze",
        "transpose",
        "moveaxis",
        "swapaxes",
        "flip",
        "tile",
        "repeat",
    }
)

_uniform_cache: weakref.WeakKeyDictionary[Node, Any] = weakref.WeakKeyDictionary()
_NOT_UNIFORM = object()


def build(op: str, *inputs: Node, **attrs: Any) -> Node:
    """The node ``op(*inputs, **attrs)`` exactly (no dtype promotion, no casts inserted)."""
    return ir.make_node(OPS[op], inputs, attrs)


def const(value: Any, dtype: str) -> Node:
    """A constant node of ``dtype``."""
    return constant(np.asarray(value, dtype=dtype), dtype=dtype)


def is_op(node: Node, *names: str) -> bool:
    return node.op.name in names


def is_constant(node: Node) -> bool:
    return node.op is CONSTANT


def uniform_value(node: Node) -> Any:
    """The one value every element of ``node`` is known to have (a python scalar), else None.

    Sees through constants, casts, ops that only move elements (broadcasts, reshapes...) and
    ``full_like`` (``zeros_like``, ``ones_like``). An empty constant is not uniform; NaN never
    is."""
    try:
        cached = _uniform_cache[node]
    except KeyError:
        cached = _uniform(node)
        _uniform_cache[node] = cached
    return None if cached is _NOT_UNIFORM else cached


def _uniform(node: Node) -> Any:
    # walk down a chain of element-moving ops iteratively, then cast back up
    casts: list[str] = []
    while True:
        name = node.op.name
        if node.op is CONSTANT:
            arr = constant_value(node)
            if arr.size == 0:
                return _NOT_UNIFORM
            first = arr.flat[0]
            if not np.all(arr == first):
                return _NOT_UNIFORM
            value = first
            break
        if name == "astype":
            casts.append(node.dtype)
            node = node.inputs[0]
            continue
        if name in _UNIFORM_THROUGH and node.inputs:
            node = node.inputs[0]
            continue
        if name == "full_like":
            value = np.asarray(node.attrs["fill_value"], dtype=node.dtype)
            break
        return _NOT_UNIFORM
    with np.errstate(all="ignore"):
        for dtype in reversed(casts):
            value = np.asarray(value).astype(dtype)
    return np.asarray(value).item()


def has_value(node: Node, value: float) -> bool:
    """True when every element of ``node`` is known to equal ``value`` (bools excluded)."""
    u = uniform_value(node)
    return u is not None and not isinstance(u, bool) and u == value


def is_true(node: Node) -> bool | None:
    """True/False when ``node`` is a bool known to be all true/all false, else None."""
    if node.dtype != "bool":
        return None
    u = uniform_value(node)
    return None if u is None else bool(u)


def other(node: Node, operand: Node) -> Node:
    """The input of a binary ``node`` that is not ``operand`` (the second when both are)."""
    a, b = node.inputs
    return b if a is operand else a
