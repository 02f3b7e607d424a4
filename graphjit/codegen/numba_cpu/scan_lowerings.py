"""Lowerings of the scans and sorts: one generated kernel per op, plain loops along one axis.

A scan (cumsum, cumprod, logcumsumexp, the running arg-extrema) loops over every index of the other
axes and, inside, walks the scan axis once carrying its accumulator. argsort copies each slice to a
buffer and sorts it with numba's stable mergesort; searchsorted is a binary search per value.
They register with :func:`graphjit.codegen.numba_cpu.lowerings.lowering` like any other op;
``program`` imports this module so they are there before a program is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graphjit.codegen import scans
from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, index_expr
from graphjit.codegen.numba_cpu.loops import loop_nest
from graphjit.codegen.numba_cpu.lowerings import lowering
from graphjit.codegen.numba_cpu.writer import ProgramWriter
from graphjit.codegen.scans import LineBody
from graphjit.ir import Node


def _along_axis_kernel(
    b: ProgramWriter, node: Node, doc: str, body: LineBody, setup: Sequence[str] = ()
) -> None:
    """A kernel ``k<i>_<op>(n0, ..., x, out)`` looping over the axes other than ``axis`` and
    running ``body`` on each slice, and the program's call of it."""
    x = node.inputs[0]
    rank, axis = x.ndim, node.attrs["axis"]
    name = f"k{b.kernel_index(node)}_{node.op.name}"
    sizes = [f"n{k}" for k in range(rank)]
    outer = [k for k in range(rank) if k != axis]

    def at(j: str) -> str:
        return index_expr([j if k == axis else f"i{k}" for k in range(rank)])

    w = SourceWriter()
    w.line("@njit(**KERNEL)")
    with w.block(f"def {name}({', '.join([*sizes, 'x', 'out'])}):"):
        w.line(f'"""{doc}"""')
        for text in setup:
            w.line(text)

        def nest(level: int) -> None:
            if level == len(outer):
                body(w, at, f"n{axis}")
                return
            k = outer[level]
            with w.block(f"for i{k} in range(n{k}):  # axis {k}"):
                nest(level + 1)

        nest(0)
    b.add_kernel(w)
    out = b.output_buffer(node)
    b.body.line(f"{name}({', '.join([*b.dims(x), b.array(x), out])})")


@lowering("cumsum", "cumprod")
def _cumulative(b: ProgramWriter, node: Node) -> None:
    _along_axis_kernel(b, node, *scans.cumulative(node))


@lowering("logcumsumexp")
def _logcumsumexp(b: ProgramWriter, node: Node) -> None:
    _along_axis_kernel(b, node, *scans.logcumsumexp(node, "np.log1p", "np.exp"))


@lowering("cumargmax", "cumargmin")
def _cumarg(b: ProgramWriter, node: Node) -> None:
    _along_axis_kernel(b, node, *scans.cumulative_arg(node))


@lowering("argsort")
def _argsort(b: ProgramWriter, node: Node) -> None:
    x = node.inputs[0]
    axis = node.attrs["axis"]
    descending = bool(node.attrs["descending"])
    buf_type = TYPE_NAMES["uint8" if x.dtype == "bool" else x.dtype]

    def body(w: SourceWriter, at: Callable[[str], str], n: str) -> None:
        # descending and stable: sort the reversed slice, read the order backwards
        src = f"{n} - 1 - j" if descending else "j"
        with w.block(f"for j in range({n}):"):
            w.line(f"buf[j] = x[{at(src)}]")
        w.line('order = np.argsort(buf, kind="mergesort")  # stable; NaN last')
        with w.block(f"for j in range({n}):"):
            if descending:
                w.line(f"out[{at('j')}] = {n} - 1 - order[{n} - 1 - j]")
            else:
                w.line(f"out[{at('j')}] = order[j]")

    direction = "descending" if descending else "ascending"
    doc = f"stable {direction} sorting permutation along axis {axis}"
    _along_axis_kernel(b, node, doc, body, setup=[f"buf = np.empty(n{axis}, {buf_type})"])


@lowering("searchsorted")
def _searchsorted(b: ProgramWriter, node: Node) -> None:
    a, v = node.inputs
    rank = v.ndim
    name = f"k{b.kernel_index(node)}_searchsorted"
    idx = index_expr([f"i{k}" for k in range(rank)])
    doc, inner = scans.binary_search(node, f"v[{idx}]", f"out[{idx}]")
    w = SourceWriter()
    w.line("@njit(**KERNEL)")
    params = [f"n{k}" for k in range(rank)] + ["m", "a", "v", "out"]
    with w.block(f"def {name}({', '.join(params)}):"):
        w.line(f'"""{doc}"""')
        loop_nest(w, rank, inner, False)
    b.add_kernel(w)
    out = b.output_buffer(node)
    args = [*b.dims(v), b.dims(a)[0], b.array(a), b.array(v), out]
    b.body.line(f"{name}({', '.join(args)})")
