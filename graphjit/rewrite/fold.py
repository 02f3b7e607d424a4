"""Constant folding: run an op's numpy reference on constant inputs at optimisation time.

The reference implementation is the spec, so a folded value is exactly what the interpreter would
compute at run time. Two limits keep folding from bloating a graph: a result over ``MAX_ELEMENTS``
is never folded, and a result larger than all of its inputs (a broadcast that expands a scalar, say)
is folded only while small (``MAX_GROWTH_ELEMENTS``), since a backend computes an expansion for free
while a baked array costs memory and bandwidth.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from graphjit.interp import eval_node
from graphjit.ir import Node
from graphjit.ops.leaves import constant, constant_value
from graphjit.rewrite.engine import register
from graphjit.rewrite.patterns import const, is_constant

MAX_ELEMENTS = 1_000_000
MAX_GROWTH_ELEMENTS = 1024

# ops that must never run at optimisation time (their value is not a function of their inputs)
UNFOLDABLE: set[str] = {"random_uniform", "random_normal", "dropout", "rand", "randn"}


def _foldable_size(node: Node, input_sizes: list[int]) -> bool:
    size = node.type.size
    if size is None or size > MAX_ELEMENTS:
        return False
    return size <= max(input_sizes, default=0) or size <= MAX_GROWTH_ELEMENTS


@register()
def fold_constants(node: Node) -> Node | None:
    """An op whose inputs are all constants becomes a constant (its reference impl, run now).

    Exact: the value is what the reference interpreter computes. Skipped for big or expanding
    results (see the module docstring), for impure ops, and when the impl raises (the error is then
    raised at run time, where it belongs)."""
    if node.op.impl is None or node.op.name in UNFOLDABLE or getattr(node.op, "impure", False):
        return None
    if not all(is_constant(x) for x in node.inputs):
        return None
    if not _foldable_size(node, [x.type.size or 0 for x in node.inputs]):
        return None
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = eval_node(node, [constant_value(x) for x in node.inputs])
    except Exception:  # a failing op is left for run time to report
        return None
    return constant(value, dtype=node.dtype)


@register("size_of")
def fold_static_size(node: Node) -> Node | None:
    """``size_of(x, axes)`` is a constant when those dims of ``x`` are known now. Exact."""
    (x,) = node.inputs
    dims = [x.shape[a] for a in node.attrs["axes"]]
    if not all(isinstance(d, int) for d in dims):
        return None
    return const(math.prod(dims), node.dtype)


@register("full_like")
def fold_static_fill(node: Node) -> Node | None:
    """``full_like(x, v)`` (``zeros_like``, ``ones_like``) of a small static shape is a constant.
    Exact."""
    size = node.type.size
    if size is None or size > MAX_GROWTH_ELEMENTS or is_constant(node.inputs[0]):
        return None  # (a constant input is left to fold_constants)
    shape = tuple(int(d) for d in node.shape)  # type: ignore[arg-type]  # static: size is known
    value = np.full(shape, node.attrs["fill_value"], dtype=node.dtype)
    return constant(value, dtype=node.dtype)
