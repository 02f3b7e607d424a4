"""Scans and sorts of the CUDA backend: one thread per line along the axis.

A scan (cumsum, cumprod, logcumsumexp, the running arg-extrema) gives each line along its axis to
one thread of a grid-stride loop, which walks the line once carrying its accumulator, in the
CPU backend's order and arithmetic (so the results are the same bits on every run, and cumprod
is exact through zeros). argsort is a stable insertion sort of each line's indices (NaN last,
as numpy); searchsorted a binary search per value.
"""

from __future__ import annotations

from collections.abc import Callable

from graphjit.codegen import scans
from graphjit.codegen.cuda.lowerings import lowering
from graphjit.codegen.cuda.writer import CudaWriter, decompose
from graphjit.codegen.emit import SourceWriter
from graphjit.codegen.scans import LineBody
from graphjit.codegen.symdims import product
from graphjit.ir import Node


def _line_kernel(b: CudaWriter, node: Node, doc: str, body: LineBody) -> None:
    """A kernel ``k<i>_<op>(nlines, n0, ..., x, out)`` giving each line along ``axis`` to one
    thread, running ``body`` on it, and the program's launch of it."""
    x = node.inputs[0]
    rank, axis = x.ndim, node.attrs["axis"]
    name = f"k{b.kernel_index(node)}_{node.op.name}"
    sizes = [f"n{k}" for k in range(rank)]
    outer = [k for k in range(rank) if k != axis]

    def at(j: str) -> str:
        return ", ".join(j if k == axis else f"i{k}" for k in range(rank))

    w = SourceWriter()
    with w.block("for line in range(cuda.grid(1), nlines, cuda.gridsize(1)):"):
        for text in decompose("line", [sizes[k] for k in outer], [f"i{k}" for k in outer]):
            w.line(text)
        body(w, at, f"n{axis}")
    b.add_kernel(name, ["nlines", *sizes, "x", "out"], f"{b.label(node)} {doc}", w)
    out = b.output_buffer(node)
    dims = b.dims(x)
    nlines = b.fresh("nlines")
    b.body.line(f"{nlines} = {product([dims[k] for k in outer])}")
    b.launch(name, nlines, [nlines, *dims, b.array(x), out])


@lowering("cumsum", "cumprod")
def _cumulative(b: CudaWriter, node: Node) -> None:
    _line_kernel(b, node, *scans.cumulative(node))


@lowering("logcumsumexp")
def _logcumsumexp(b: CudaWriter, node: Node) -> None:
    _line_kernel(b, node, *scans.logcumsumexp(node, "log1p", "exp"))


@lowering("cumargmax", "cumargmin")
def _cumarg(b: CudaWriter, node: Node) -> None:
    _line_kernel(b, node, *scans.cumulative_arg(node))


@lowering("argsort")
def _argsort(b: CudaWriter, node: Node) -> None:
    descending = bool(node.attrs["descending"])
    # "value a goes before value b": NaN sorts last ascending, first descending (numpy's stable
    # sort of the reversed line, read backwards); ties keep the index order either way
    before = (
        "va > vb or (va != va and vb == vb)" if descending else "va < vb or (vb != vb and va == va)"
    )

    def body(w: SourceWriter, at: Callable[[str], str], n: str) -> None:
        with w.block(f"for j in range({n}):  # insertion sort of the line's indices"):
            w.line(f"va = x[{at('j')}]")
            w.line("p = j")
            with w.block("while p > 0:"):
                w.line(f"q = out[{at('p - 1')}]")
                w.line(f"vb = x[{at('q')}]")
                with w.block(f"if not ({before}):"):
                    w.line("break")
                w.line(f"out[{at('p')}] = out[{at('p - 1')}]")
                w.line("p -= 1")
            w.line(f"out[{at('p')}] = j")

    direction = "descending" if descending else "ascending"
    doc = f"stable {direction} sorting permutation along axis {node.attrs['axis']}"
    _line_kernel(b, node, doc, body)


@lowering("searchsorted")
def _searchsorted(b: CudaWriter, node: Node) -> None:
    a, v = node.inputs
    name = f"k{b.kernel_index(node)}_searchsorted"
    doc, lines = scans.binary_search(node, "v[t]", "out[t]")
    w = SourceWriter()
    with w.block("for t in range(cuda.grid(1), total, cuda.gridsize(1)):"):
        for text in lines:
            w.line(text)
    b.add_kernel(name, ["total", "m", "a", "v", "out"], f"{b.label(node)} {doc}", w)
    out = b.output_buffer(node)
    total = b.fresh("size")
    b.body.line(f"{total} = {product(b.dims(v))}")
    args = [total, b.dims(a)[0], b.array(a), f"launch.Flat({b.array(v)})", f"launch.Flat({out})"]
    b.launch(name, total, args)
