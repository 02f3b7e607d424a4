"""What every emitter's program writer shares: the arrays' names in the program, fresh names,
the call-time dims, 0-d constants as literals and the labels of the header comments.

``numba_cpu.writer.ProgramWriter`` and ``cuda.writer.CudaWriter`` add their kernels and bodies.
"""

from __future__ import annotations

from graphjit.codegen.emit import SourceWriter
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.partition import Group, is_constant
from graphjit.codegen.pipeline import Lowered
from graphjit.ir import Node
from graphjit.ops.leaves import constant_value

# a group's title (kernel docstrings, comments) names at most this many of its ops
TITLE_OPS = 16


class ProgramNames:
    """Names and source of one generated program, whatever the backend."""

    def __init__(self, lowered: Lowered, arrays: dict[Node, str]) -> None:
        self.lowered = lowered
        self.table = lowered.table
        self.memory = lowered.memory
        self.arrays = dict(arrays)  # node -> array name in the program
        self.constants: list[Node] = []  # array constants, passed after the variables
        self.kernels: list[str] = []  # source of each kernel function
        self.body = SourceWriter()
        self.graph_ids = {n: f"%{i}" for i, n in enumerate(lowered.plan.order)}
        self._counter = 0
        self._literals: dict[Node, str | None] = {}  # scalar_literal's answers

    def fresh(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def dims(self, node: Node) -> list[str]:
        return self.table.dims[node]

    def array(self, node: Node) -> str:
        """The program's array name for a computed node (constants become arguments on demand)."""
        name = self.arrays.get(node)
        if name is not None:
            return name
        if is_constant(node):
            name = f"c{len(self.constants)}"
            self.constants.append(node)
            self.arrays[node] = name
            return name
        raise AssertionError(f"internal error: {node!r} has no array yet")

    def scalar_literal(self, node: Node) -> str | None:
        """A 0-d constant as a literal (so it folds into the expression), else None."""
        if node in self._literals:
            return self._literals[node]
        lit = None
        if is_constant(node) and node.ndim == 0:
            lit = render_literal(constant_value(node)[()], node.dtype)
        self._literals[node] = lit
        return lit

    def label(self, node: Node) -> str:
        return self.graph_ids.get(node, "?")

    def kernel_index(self, node: Node) -> int:
        """The index of the group computing ``node`` (kernel names carry it)."""
        return self.lowered.group_of(node).index

    def group_title(self, g: Group) -> str:
        nodes = g.members if g.kind == "elementwise" else [*g.members, g.root]
        named = [f"{self.label(n)} {n.op.name}" for n in nodes]
        if len(named) > TITLE_OPS:  # a long fused chain: its ends say what it is
            hidden = len(named) - TITLE_OPS
            named = [*named[: TITLE_OPS - 3], f"... {hidden} more ...", *named[-3:]]
        return f"{g.kind} {self.label(g.root)}: {', '.join(named)}"
