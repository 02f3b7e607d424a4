"""What ``gj.compile`` is given, checked before anything is optimised or compiled: inputs that
are placeholders, each listed once and covering every placeholder the results need, and updates
that map variables to new values of their shape and of a dtype that casts to theirs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from graphjit import ir
from graphjit.ir import Node
from graphjit.ops.dispatch import astype, constant_node, lift
from graphjit.ops.leaves import PLACEHOLDER, Variable


def check_placeholder(x: Any, i: int) -> Node:
    if not isinstance(x, Node) or x.op is not PLACEHOLDER:
        what = x.op.name if isinstance(x, Node) else type(x).__name__
        raise TypeError(f"compile: inputs[{i}] must be a gj.placeholder, got {what}")
    return x


def check_listed(value: Any, what: str, items: str) -> None:
    """``value`` is a list (any iterable but a string) of ``items``, or a TypeError naming it."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"compile: {what} must be a list of {items}, got {type(value).__name__}")


def check_updates(updates: Any) -> list[tuple[Variable, Node]]:
    if updates is None:
        return []
    if not isinstance(updates, Mapping):
        check_listed(updates, "updates", "(variable, new value) pairs or a dict")
    items = list(updates.items()) if isinstance(updates, Mapping) else list(updates)
    result: list[tuple[Variable, Node]] = []
    seen: set[int] = set()
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(
                f"compile: updates[{i}] must be a (variable, new value) pair, got {item!r:.60}"
            )
        var, new = item
        if not isinstance(var, Variable):
            raise TypeError(f"updates: keys must be gj.variable nodes, got {var!r}")
        if id(var) in seen:
            raise ValueError(f"updates: variable {var.name!r} is updated twice")
        seen.add(id(var))
        new = lift(new)
        if not isinstance(new, Node):
            new = constant_node(np.asarray(new))
        if len(new.shape) != len(var.shape) or any(
            isinstance(a, int) and a != b for a, b in zip(new.shape, var.shape)
        ):
            raise ValueError(
                f"updates: new value for variable {var.name!r} has shape "
                f"{ir.format_shape(new.shape)}, the variable has {ir.format_shape(var.shape)}"
            )
        if new.dtype != var.dtype:
            if not np.can_cast(new.dtype, var.dtype, casting="same_kind"):
                raise TypeError(
                    f"updates: new value for variable {var.name!r} is {new.dtype}, the variable "
                    f"is {var.dtype}"
                )
            new = astype(new, var.dtype)
        result.append((var, new))
    return result


def check_inputs_given(inputs: Sequence[Node], results: Sequence[Node]) -> None:
    given = {id(x) for x in inputs}
    missing = [n for n in ir.leaves(results, "placeholder") if id(n) not in given]
    if missing:
        names = ", ".join(repr(n.name) for n in missing)
        raise ValueError(
            f"compile: the outputs need placeholder(s) {names}, which are not listed in inputs"
        )
