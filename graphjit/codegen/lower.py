"""Lowering an optimised graph to a plan of fused kernels (backend independent).

Two things happen here:

* **Partitioning** (:func:`partition`). Nodes are grouped into kernels. An elementwise node is
  fused into the group of its users when every user is in that one group and its shape is the
  group's iteration space (same rank, no size-1 dim broadcast against a larger one): a chain of
  elementwise ops with broadcasting becomes one loop nest, and the elementwise work feeding a
  ``sum``/``prod``/``max``/``min`` is computed inside the reduction loop, never materialised.
  Shape ops (transpose, reshape, slices, broadcast_to, expand_dims, squeeze) become views of their
  input. Every other op (matmul, einsum, gathers, concatenation, softmax, ...) is its own group.
  Inputs that an op reads only for their shape (``full_like``'s ``x``, ``size_of``'s ``x``, ...)
  are not computed at all.
* **Symbolic shapes** (:class:`DimTable`). Every node gets one source expression per dim (a
  literal for a static size, a name bound in the program for a call-time size), and the equalities
  that the build-time rules only assumed (a ``None`` dim meeting a size, two ``None`` dims) become
  call-time checks that raise ``ValueError`` naming the op. Equal dims are tracked with union-find,
  so each equality is checked once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from graphjit import ir
from graphjit.ir import Node

ELEMENTWISE_KINDS = ("elementwise",)
FUSED_REDUCTIONS = ("sum", "prod", "max", "min")
VIEW_OPS = (
    "transpose",
    "expand_dims",
    "squeeze",
    "reshape",
    "reshape_like",
    "broadcast_to",
    "broadcast_like",
    "slice_axes",
    "concatenate_part",
)
# inputs an op reads only for their shape: they are not computed for it
SHAPE_ONLY: dict[str, Callable[[int], bool]] = {
    "full_like": lambda i: i == 0,
    "size_of": lambda i: i == 0,
    "broadcast_like": lambda i: i == 1,
    "reshape_like": lambda i: i == 1,
    "slice_axes_grad": lambda i: i == 1,
    "concatenate_part": lambda i: i >= 1,
}
LEAF_OPS = ("placeholder", "variable", "constant")


def value_inputs(node: Node) -> list[Node]:
    """The inputs whose values ``node`` reads (not the ones it reads only for their shape)."""
    rule = SHAPE_ONLY.get(node.op.name)
    if rule is None:
        return list(node.inputs)
    return [x for i, x in enumerate(node.inputs) if not rule(i)]


def is_elementwise(node: Node) -> bool:
    return node.op.kind in ELEMENTWISE_KINDS or node.op.name == "full_like"


@dataclass(eq=False)
class Group:
    """One kernel: ``root`` is the value it materialises; ``members`` (topological order) are the
    elementwise nodes computed inside its loop nest (for a reduction: the fused producers of its
    input; for an elementwise group: including the root)."""

    index: int
    kind: str  # "elementwise" | "reduction" | "view" | "op"
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
        if self.kind not in ("elementwise", "reduction"):
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
        if n.op.name in LEAF_OPS:
            continue
        target = _fusion_target(n, users[n], group_of, result_set)
        if target is not None:
            target.members.append(n)
            group_of[n] = target
            continue
        if is_elementwise(n):
            kind = "elementwise"
        elif n.op.name in FUSED_REDUCTIONS:
            kind = "reduction"
        elif n.op.name in VIEW_OPS:
            kind = "view"
        else:
            kind = "op"
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
    if g.kind not in ("elementwise", "reduction"):
        return None
    if not same_space(n.shape, g.space_node.shape):
        return None
    return g


# --------------------------------------------------------------------------------------------------
# loop nests: several loop groups over one iteration space share one kernel

LOOP_KINDS = ("elementwise", "reduction")


def merge_loops(
    groups: Sequence[Group],
    group_of: dict[Node, Group],
    space_key: Callable[[Node], Hashable],
    may_join: Callable[[list[Group], Group], bool] = lambda parts, g: True,
) -> list[list[Group]]:
    """The schedule: groups in a topological order, each step a list of groups that run in one
    kernel. Loop groups (elementwise, reduction) over the same iteration space join one loop nest
    (multi-output fusion): a value that several kernels read is computed once and the loops that
    read it run in the same pass over memory, e.g. ``h = x + b`` with ``relu(h)`` and
    ``sum(g * (h > 0))``.

    A later group joins a nest when its space has the nest's dims (``space_key`` gives equal keys
    to shapes known equal at call time) and every value it reads is computed before the nest, or
    inside it elementwise (read at the same index: a reduction's result is not ready until the
    loop ends). Groups it reads that do not depend on the nest are hoisted before the nest (e.g.
    ``1 / n``). ``may_join`` lets the backend refuse (say, when the join would lose a parallel
    loop). The scan is linear per nest plus one pass over the steps after it per join, so long
    graphs schedule quickly."""
    steps: list[list[Group]] = [[g] for g in groups]
    inputs = {id(g): g.inputs() for g in groups}
    producers = {id(g): [group_of[x] for x in inputs[id(g)] if x in group_of] for g in groups}
    keys = {
        id(g): (g.space_node.ndim, space_key(g.space_node)) for g in groups if g.kind in LOOP_KINDS
    }
    shared = Counter(keys.values())  # a nest whose space no other group has: nothing to scan
    i = 0
    while i < len(steps):
        nest = steps[i]
        key = keys.get(id(nest[0]))
        if key is not None and shared[key] < 2:
            key = None
        j = i + 1
        taint: list[bool] | None = None  # per step after the nest: does it read the nest?
        while key is not None and j < len(steps):
            cand = steps[j]
            g = cand[0]
            if len(cand) != 1 or keys.get(id(g)) != key:
                j += 1
                continue
            if taint is None:
                position, taint = _schedule_facts(steps, i, producers)
            hoist = _hoistable(steps, i, j, position, taint, producers)
            if hoist is None or not _can_join(nest, g, inputs) or not may_join(nest, g):
                j += 1
                continue
            moved = [steps[k] for k in sorted(hoist)]
            keep = [s for k, s in enumerate(steps) if k not in hoist and k != j]
            steps = keep[:i] + moved + keep[i:]
            i += len(moved)
            nest.append(g)
            j, taint = i + 1, None  # the steps moved: rescan after the nest
        i += 1
    return steps


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


def _schedule_facts(
    steps: list[list[Group]], i: int, producers: dict[int, list[Group]]
) -> tuple[dict[int, int], list[bool]]:
    """Each group's step, and for each step after the nest at ``i`` whether it reads the nest,
    directly or through other steps (one forward pass: the steps are in topological order)."""
    position = {id(g): k for k, s in enumerate(steps) for g in s}
    taint = [False] * len(steps)
    for k in range(i + 1, len(steps)):
        for g in steps[k]:
            for q in producers[id(g)]:
                p = position[id(q)]
                if p == i or (p > i and taint[p]):
                    taint[k] = True
                    break
            if taint[k]:
                break
    return position, taint


def _hoistable(
    steps: list[list[Group]],
    i: int,
    j: int,
    position: dict[int, int],
    taint: list[bool],
    producers: dict[int, list[Group]],
) -> set[int] | None:
    """Positions (between ``i`` and ``j``) of the steps that step ``j`` needs, directly or not,
    which must move before the nest at ``i``; None when one of them reads the nest."""

    def between(k: int) -> list[int]:
        ps = [position[id(q)] for g in steps[k] for q in producers[id(g)]]
        return [p for p in ps if i < p < j]

    stack = between(j)
    if any(taint[k] for k in stack):
        return None
    need: set[int] = set()
    while stack:  # the steps j needs read nothing of the nest: none of theirs does either
        k = stack.pop()
        if k not in need:
            need.add(k)
            stack.extend(between(k))
    return need


def _can_join(nest: list[Group], g: Group, inputs: dict[int, list[Node]]) -> bool:
    """``g`` (same space as the nest) reads nothing the nest cannot give it at each index."""
    space = nest[0].space_node
    if not same_space(space.shape, g.space_node.shape):
        return False
    reductions = {p.root for p in nest if p.kind == "reduction"}
    computed = computed_in(nest)
    for x in inputs[id(g)]:
        if x in reductions:
            return False
        if x in computed and not same_space(x.shape, space.shape):
            return False
    return True


# --------------------------------------------------------------------------------------------------
# symbolic dims and call-time checks


@dataclass
class Let:
    name: str
    expr: str


@dataclass
class Check:
    condition: str  # raise when true
    message: str


class DimTable:
    """Dim expressions of every node, and the statements (lets and checks) that define them."""

    def __init__(self) -> None:
        self.dims: dict[Node, list[str]] = {}
        self.stmts: list[Let | Check] = []
        self._parent: dict[str, str] = {}
        self._count = 0
        self._named: dict[str, str] = {}

    # -- union-find over expressions
    def _find(self, e: str) -> str:
        while self._parent.get(e, e) != e:
            e = self._parent[e]
        return e

    def known_equal(self, a: str, b: str) -> bool:
        return self._find(a) == self._find(b)

    def require_equal(self, a: str, b: str, message: str, allow_one: bool = False) -> None:
        """Emit a check that dims ``a`` and ``b`` agree (or that ``a`` is 1, with allow_one)."""
        if self.known_equal(a, b):
            return
        if a.isdigit() and b.isdigit():
            if a != b and not (allow_one and a == "1"):
                raise AssertionError(f"internal error: static dims {a} and {b} differ: {message}")
            return
        cond = f"{a} != {b}" + (f" and {a} != 1" if allow_one else "")
        self.stmts.append(Check(cond, message))
        if not allow_one:
            ra, rb = self._find(a), self._find(b)
            # keep literals as representatives, so later checks compare against them
            if ra.isdigit():
                self._parent[rb] = ra
            else:
                self._parent[ra] = rb

    def let(self, expr: str) -> str:
        if expr.isdigit() or expr.isidentifier():
            return expr
        name = f"n{self._count}"
        self._count += 1
        self.stmts.append(Let(name, expr))
        return name

    def leaf(self, node: Node, array: str, check_static: bool) -> None:
        out = []
        for j, d in enumerate(node.shape):
            if isinstance(d, int):
                out.append(str(d))
                if check_static:
                    self.stmts.append(
                        Check(
                            f"{array}.shape[{j}] != {d}",
                            f"{node.op.name} {array}: its array no longer has shape "
                            f"{ir.format_shape(node.shape)}",
                        )
                    )
            elif isinstance(d, str) and d in self._named:
                out.append(self._named[d])
            else:
                name = self.let(f"{array}.shape[{j}]")
                if isinstance(d, str):
                    self._named[d] = name
                out.append(name)
        self.dims[node] = out


def product(dims: Sequence[str]) -> str:
    """A source expression for the product of dims (literals folded)."""
    lit = math.prod(int(d) for d in dims if d.isdigit())
    names = [d for d in dims if not d.isdigit()]
    if not names:
        return str(lit)
    terms = names if lit == 1 else [*names, str(lit)]
    return " * ".join(terms)
