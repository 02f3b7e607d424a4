"""The loop plan of an einsum, one definition for both emitters.

Every letter of the subscripts becomes a loop: the output's letters first (in the output's order),
then the contracted ones (sorted). A letter's size is the first operand dim that is not a
broadcast 1 (or 1 when all are); an operand reads index 0 on a dim of static size 1 that
broadcasts against a longer one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from graphjit.ir import Node


class EinsumPlan(NamedTuple):
    out_letters: str  # the output's letters, the first loops
    letters: list[str]  # every letter, in loop order (loop k runs over ``i{k}``)
    sizes: dict[str, str]  # each letter's call-time size (an expression)
    indices: list[list[str]]  # per operand, the index expression of each of its dims


def plan(node: Node, dims: Callable[[Node], list[str]]) -> EinsumPlan:
    """The plan of einsum ``node``; ``dims(x)`` gives an operand's call-time dims."""
    lhs, rhs = node.attrs["subscripts"].split("->")
    terms = lhs.split(",")
    sizes: dict[str, str] = {}
    for term, x in zip(terms, node.inputs):
        for c, sd, e in zip(term, x.shape, dims(x)):
            if (sd != 1 or c not in sizes) and (c not in sizes or sizes[c] == "1"):
                sizes[c] = e
    letters = list(rhs) + sorted(set("".join(terms)) - set(rhs))
    loop = {c: k for k, c in enumerate(letters)}
    indices = [
        ["0" if sd == 1 and sizes[c] != "1" else f"i{loop[c]}" for c, sd in zip(term, x.shape)]
        for term, x in zip(terms, node.inputs)
    ]
    return EinsumPlan(rhs, letters, sizes, indices)
