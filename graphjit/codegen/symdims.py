"""Call-time dims and call-time checks (backend neutral).

Every node gets one source expression per dim: a literal for a static size, or a name bound in the
program for a call-time size. The expressions come from each op's own call-time shape rule,
``OpDef.call_dims`` (written next to the op's build-time ``infer``); elementwise ops share the
broadcast rule below. A rule returns the output's dims and asks the table to check the equalities
that the build-time rule could only assume (a ``None`` dim meeting a size, two ``None`` dims):
those become call-time checks that raise ``ValueError`` naming the op, so generated kernels never
read out of bounds. Equal dims are tracked with union-find, so each equality is checked once, and
the scheduler and the memory plan can ask whether two shapes are equal at call time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from graphjit import ir
from graphjit.errors import VARIABLE_RESHAPED
from graphjit.ir import Node

Dims = list[str]  # one source expression per axis


class Let(NamedTuple):
    """``name = expr`` in the program's prologue."""

    name: str
    expr: str


class Check(NamedTuple):
    """``if condition: raise ValueError(message)`` in the program's prologue."""

    condition: str
    message: str


def product(dims: Sequence[str]) -> str:
    """A source expression for the product of dims (literals folded)."""
    lit = math.prod(int(d) for d in dims if d.isdigit())
    names = [d for d in dims if not d.isdigit()]
    if not names:
        return str(lit)
    terms = names if lit == 1 else [*names, str(lit)]
    return " * ".join(terms)


STATIC_NAMED = 4  # the variables named in the message of the variables' shape check


class DimTable:
    """Dim expressions of every node, and the statements (lets and checks) that define them.
    It is the ``DimBuilder`` the ops' ``call_dims`` rules write to."""

    def __init__(self) -> None:
        self.dims: dict[Node, Dims] = {}
        self.stmts: list[Let | Check] = []
        self._parent: dict[str, str] = {}
        self._count = 0
        self._named: dict[str, str] = {}
        self._variable_checks: list[str] = []  # the variables' static dims (check_variables)
        self._variable_labels: list[str] = []  # each such variable's array and shape

    # -- union-find over expressions
    def representative(self, e: str) -> str:
        """The expression standing for every dim known equal to ``e`` at call time."""
        while self._parent.get(e, e) != e:
            e = self._parent[e]
        return e

    def known_equal(self, a: str, b: str) -> bool:
        return self.representative(a) == self.representative(b)

    def space_key(self, node: Node) -> tuple[str, ...]:
        """Equal for nodes whose shapes are equal at call time (given the program's checks)."""
        return tuple(self.representative(d) for d in self.dims[node])

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
            ra, rb = self.representative(a), self.representative(b)
            # keep literals as representatives, so later checks compare against them
            if ra.isdigit():
                self._parent[rb] = ra
            else:
                self._parent[ra] = rb

    def check_variables(self) -> None:
        """The check that every variable's array still has its static shape: one branch-free
        condition and one ``raise``, first in the prologue (it reads nothing else). numba
        compiles a function with a branch per array in time growing with arrays times branches
        (a 12-layer MLP's Adam step has 100 variables); the runtime names the variable."""
        if not self._variable_checks:
            return
        named = ", ".join(self._variable_labels[:STATIC_NAMED])
        more = len(self._variable_labels) - STATIC_NAMED
        if more > 0:
            named += f" and {more} more"
        condition = " | ".join(f"({c})" for c in self._variable_checks)
        self.stmts.insert(0, Check(condition, f"{VARIABLE_RESHAPED} ({named})"))

    def let(self, expr: str) -> str:
        if expr.isdigit() or expr.isidentifier():
            return expr
        name = f"n{self._count}"
        self._count += 1
        self.stmts.append(Let(name, expr))
        return name

    def product(self, dims: Sequence[str]) -> str:
        return product(dims)

    def leaf(self, node: Node, array: str, check_static: bool) -> None:
        out = []
        for j, d in enumerate(node.shape):
            if isinstance(d, int):
                out.append(str(d))
                if check_static:
                    self._variable_checks.append(f"{array}.shape[{j}] != {d}")
            elif isinstance(d, str) and d in self._named:
                out.append(self._named[d])
            else:
                name = self.let(f"{array}.shape[{j}]")
                if isinstance(d, str):
                    self._named[d] = name
                out.append(name)
        if check_static and any(isinstance(d, int) for d in node.shape):
            self._variable_labels.append(f"{array} {ir.format_shape(node.shape)}")
        self.dims[node] = out


def broadcast(table: DimTable, node: Node, ins: list[Dims]) -> Dims:
    """numpy broadcasting where only static 1s stretch: every other aligned dim must agree."""
    r = node.ndim
    out = []
    for j in range(r):
        cands = []
        for k, (x, d) in enumerate(zip(node.inputs, ins)):
            a = j - (r - x.ndim)
            if a < 0 or (x.shape[a] == 1 and node.shape[j] != 1):
                continue
            cands.append((k, a, d[a]))
        sd = node.shape[j]
        e = str(sd) if isinstance(sd, int) else (cands[0][2] if cands else "1")
        for k, a, c in cands:
            table.require_equal(
                c,
                e,
                f"{node.op.name}: input {k} has the wrong size on axis {a} at run time "
                "(the operands' shapes do not broadcast)",
            )
        out.append(e)
    return out


def node_dims(table: DimTable, node: Node) -> Dims:
    """The call-time dims of a non-leaf node, from its op's rule (checks go to the table)."""
    ins = [table.dims[x] for x in node.inputs]
    rule = node.op.call_dims
    if rule is not None:
        return list(rule(table, node, ins))
    if node.op.kind == "elementwise":
        return broadcast(table, node, ins)
    raise NotImplementedError(f"codegen: op {node.op.name!r} has no call-time shape rule")


def infer_all(
    order: Sequence[Node], leaf_arrays: Mapping[Node, str], variables: Sequence[Node]
) -> DimTable:
    """Dims of every node in ``order`` (topological): a placeholder's or variable's dims read
    from its array (a variable's static dims are checked: its array may have been replaced),
    a constant's are literals, and every other node's come from its op's rule."""
    table = DimTable()
    is_variable = set(variables)
    for n in order:
        if n.op.fusion == "leaf":
            if n in leaf_arrays:
                table.leaf(n, leaf_arrays[n], check_static=n in is_variable)
            else:
                table.dims[n] = [str(d) for d in n.shape]
        else:
            table.dims[n] = node_dims(table, n)
    table.check_variables()
    return table
