"""The state of one CUDA program being written: array names, kernel sources, the host program.

The host program is plain Python: it reads call-time sizes, runs the shape checks, takes buffers
from the allocator, launches the kernels and returns the results. Every array it handles is a
C-contiguous device array (the executable makes its inputs so), which lets kernels read arrays of
the iteration space's shape through flat indices, and makes a reshape free.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, int_tuple
from graphjit.codegen.pipeline import Lowered
from graphjit.codegen.writer import ProgramNames
from graphjit.ir import Node


def decompose(flat: str, dims: Sequence[str], names: Sequence[str]) -> list[str]:
    """Lines splitting a C-order flat index into one index per dim (``names[k]`` for dim k)."""
    if not dims:
        return []
    if len(dims) == 1:
        return [f"{names[0]} = {flat}"]
    lines = [f"r = {flat}"]
    for k in range(len(dims) - 1, 0, -1):
        lines.append(f"{names[k]} = r % {dims[k]}")
        lines.append(f"r = r // {dims[k]}")
    lines.append(f"{names[0]} = r")
    return lines


class CudaWriter(ProgramNames):
    """Names and source of one generated CUDA module (see ``program.generate``)."""

    def __init__(self, lowered: Lowered, arrays: dict[Node, str]) -> None:
        super().__init__(lowered, arrays)
        self.position = {n: i for i, n in enumerate(lowered.plan.values)}
        results = set(lowered.plan.results)
        # buffers holding a result are allocated fresh each call (the caller keeps them); the
        # others come from the executable's per-shape cache of scratch buffers
        self.result_buffers = {a.buffer for n, a in self.memory.allocations.items() if n in results}
        self.fresh_nodes: set[Node] = set()  # results whose arrays this call allocated for them

    # -------------------------------------------------------------------------------- memory
    def output_buffer(self, node: Node) -> str:
        """The buffer the memory plan gave ``node`` (taken from the allocator on first use)."""
        buf, reuse = self.memory.allocations[node]
        self.arrays[node] = buf
        if buf in self.result_buffers:
            self.fresh_nodes.add(node)
        if reuse is None:
            self.body.line(f"{buf} = {self.allocation(buf, self.dims(node), node.dtype)}")
        else:
            self.body.line(f"# {self.label(node)} {reuse} ({buf})")
        return buf

    def allocation(self, key: str, dims: Sequence[str], dtype: str) -> str:
        shape, dt = int_tuple(list(dims)), TYPE_NAMES[dtype]
        if key in self.result_buffers:
            return f"alloc.fresh({shape}, {dt})"
        return f"alloc.scratch({key!r}, {shape}, {dt})"

    def new_array(self, node: Node, dtype: str | None = None) -> str:
        """A buffer of its own for ``node`` (a materialised view, a lowering's output): fresh
        when it may be a result, else a scratch buffer."""
        name = f"v{len(self.arrays)}"
        self.arrays[node] = name
        dt = TYPE_NAMES[dtype or node.dtype]
        shape = int_tuple(self.dims(node))
        if node in self.lowered.plan.results:
            self.fresh_nodes.add(node)
            self.body.line(f"{name} = alloc.fresh({shape}, {dt})")
        else:
            self.body.line(f"{name} = alloc.scratch({name!r}, {shape}, {dt})")
        return name

    def scratch(self, dims: Sequence[str], dtype: str, prefix: str = "s") -> str:
        name = self.fresh(prefix)
        shape = int_tuple(list(dims))
        self.body.line(f"{name} = alloc.scratch({name!r}, {shape}, {TYPE_NAMES[dtype]})")
        return name

    # -------------------------------------------------------------------------------- kernels
    def add_kernel(self, name: str, params: Sequence[str], doc: str, body: SourceWriter) -> None:
        w = SourceWriter()
        w.line("@cuda.jit(**KERNEL)")
        with w.block(f"def {name}({', '.join(params)}):"):
            w.line(f'"""{doc}"""')
            w.extend(body)
        self.kernels.append(w.text())

    def launch(self, name: str, total: str, args: Sequence[str], blocks: str | None = None) -> None:
        """Launch a grid-stride kernel over ``total`` items (skipped when there are none)."""
        grid = blocks or f"launch.blocks({total})"
        with self.body.block(f"if {total} > 0:"):
            self.body.line(f"launch.run({', '.join([name, grid, *args])})")
