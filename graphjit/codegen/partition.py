"""Fusion groups: which nodes each kernel computes (backend neutral).

An elementwise node (``OpDef.fusion == "elementwise"``) is fused into the group of its users when
every user is in that one group and its shape is the group's iteration space (same rank, no size-1
dim broadcast against a larger one): a chain of elementwise ops with broadcasting becomes one loop
nest, and the elementwise work feeding a fused reduction (``fusion == "reduction"``: sum, prod,
max, min) is computed inside the reduction loop, never materialised. View ops (``fusion ==
"view"``: transpose, reshape, slices, broadcasts...) become views of their input. Every other op
(matmul, einsum, gathers, concatenation, softmax, ...) is its own group. Inputs that an op reads
only for their shape (``OpDef.shape_only_from``, e.g. ``full_like``'s ``x``) are not computed at
all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from graphjit import ir
from graphjit.ir import Node

GroupKind = Literal["elementwise", "reduction", "view", "op"]
# the group kinds that are loop nests over an iteration space (several may share one nest)
LOOP_KINDS: tuple[GroupKind, ...] = ("elementwise", "reduction")


def value_inputs(node: Node) -> list[Node]:
    """The inputs whose values ``node`` reads (not the ones it reads only for their shape)."""
    stop = node.op.shape_only_from
    return list(node.inputs) if stop is None else list(node.inputs[:stop])


def is_elementwise(node: Node) -> bool:
    return node.op.fusion == "elementwise"


def is_leaf(node: Node) -> bool:
    return node.op.fusion == "leaf"


def is_constant(node: Node) -> bool:
    """A constant leaf (its array is baked into the program's arguments)."""
    return is_leaf(node) and node.op.name == "constant"


@dataclass(eq=False)
class Group:
    """One kernel: ``root`` is the value it materialises; ``members`` (topological order) are the
    elementwise nodes computed inside its loop nest (for a reduction: the fused producers of its
    input; for an elementwise group: including the root)."""

    index: int
    kind: GroupKind
    root: Node
    members: list[Node] = field(default_factory=list)

    @property
    def space_node(self) -> Node:
        """The node whose shape is the loop nest's iteration space."""
        return self.root.inputs[0] if self.kind == "reduction" else self.root

    def inputs(self) -> list[Node]:
        """Nodes read from arrays (outside the group), in first-use order."""
        inside = set(self.members) | {self.root}
        seen: dict[Node, None] = {}
        for n in [*self.members, self.root] if self.kind == "reduction" else self.members:
            for x in value_inputs(n):
                if x not in inside:
                    seen.setdefault(x, None)
        if self.kind not in LOOP_KINDS:
            for x in value_inputs(self.root):
                seen.setdefault(x, None)
        return list(seen)


@dataclass
class Plan:
    results: tuple[Node, ...]
    order: list[Node]  # every node the results depend on (shapes included), topological
    values: list[Node]  # the nodes whose values are computed, topological
    groups: list[Group]  # topological order of roots
    group_of: dict[Node, Group]


def same_space(a: Sequence[ir.Dim], b: Sequence[ir.Dim]) -> bool:
    """True when arrays of these static shapes have equal shapes at call time (given the checks
    the broadcast rule implies): same rank, equal static sizes, no static 1 against another."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, int) and isinstance(y, int):
            if x != y:
                return False
        elif x == 1 or y == 1:
            return False
    return True


def _group_kind(node: Node) -> GroupKind:
    fusion = node.op.fusion
    if fusion in ("elementwise", "reduction", "view"):
        return fusion  # type: ignore[return-value]
    return "op"


def partition(results: Sequence[Node]) -> Plan:
    results = tuple(results)
    order = ir.toposort(results)
    # value reachability (shape-only inputs are not computed)
    needed: set[Node] = set()
    stack = list(results)
    while stack:
        n = stack.pop()
        if n in needed:
            continue
        needed.add(n)
        stack.extend(value_inputs(n))
    values = [n for n in order if n in needed]
    users: dict[Node, list[Node]] = {n: [] for n in values}
    for n in values:
        for x in set(value_inputs(n)):
            users[x].append(n)
    result_set = set(results)
    group_of: dict[Node, Group] = {}
    groups: list[Group] = []
    for n in reversed(values):
        if is_leaf(n):
            continue
        target = _fusion_target(n, users[n], group_of, result_set)
        if target is not None:
            target.members.append(n)
            group_of[n] = target
            continue
        kind = _group_kind(n)
        g = Group(len(groups), kind, n, [n] if kind == "elementwise" else [])
        groups.append(g)
        group_of[n] = g
    groups.reverse()
    position = {n: i for i, n in enumerate(values)}
    for i, g in enumerate(groups):
        g.index = i
        g.members.sort(key=position.__getitem__)
    return Plan(results, order, values, groups, group_of)


def _fusion_target(
    n: Node, users: list[Node], group_of: dict[Node, Group], results: set[Node]
) -> Group | None:
    if not is_elementwise(n) or n in results or not users:
        return None
    groups = {id(group_of[u]): group_of[u] for u in users}
    if len(groups) != 1:
        return None
    (g,) = groups.values()
    if g.kind not in LOOP_KINDS:
        return None
    if not same_space(n.shape, g.space_node.shape):
        return None
    return g


def computed_in(parts: Sequence[Group]) -> set[Node]:
    """Values a loop nest computes per index (elementwise members, roots included)."""
    return {m for g in parts for m in g.members}


def nest_inputs(parts: Sequence[Group]) -> list[Node]:
    """Values a loop nest reads from arrays (computed before it), in first-use order."""
    inside = computed_in(parts)
    seen: dict[Node, None] = {}
    for g in parts:
        for x in g.inputs():
            if x not in inside:
                seen.setdefault(x, None)
    return list(seen)
