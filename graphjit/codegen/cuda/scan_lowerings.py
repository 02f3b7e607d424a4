"""Scans and sorts of the CUDA backend: one thread per line along the axis.

A scan (cumsum, cumprod, logcumsumexp, the running arg-extrema) gives each line along its axis to
one thread of a grid-stride loop, which walks the line once carrying its accumulator, in the
CPU backend's order and arithmetic (so the results are the same bits on every run, and cumprod
is exact through zeros). argsort is a stable insertion sort of each line's indices (NaN last,
as numpy); searchsorted a binary search per value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from graphjit.codegen.cuda.lowerings import lowering
from graphjit.codegen.cuda.writer import CudaWriter, decompose
from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, loop_range
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.symdims import product
from graphjit.ir import Node

# the body of one line: (writer, index of the line's element at position j, size of the axis)
LineBody = Callable[[SourceWriter, Callable[[str], str], str], None]


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
    is_sum = node.op.name == "cumsum"
    reverse = bool(node.attrs.get("reverse", False))
    t = TYPE_NAMES[node.dtype]
    start = render_literal(0 if is_sum else 1, node.dtype)
    op = "+" if is_sum else "*"

    def body(w: SourceWriter, at: Callable[[str], str], n: str) -> None:
        w.line(f"acc = {start}")
        with w.block(f"for j in {loop_range(n, reverse)}:  # the scan axis"):
            w.line(f"acc = {t}(acc {op} {t}(x[{at('j')}]))")
            w.line(f"out[{at('j')}] = acc")

    what = "running sum" if is_sum else "running product"
    direction = ", from the end" if reverse else ""
    _line_kernel(b, node, f"{what} along axis {node.attrs['axis']}{direction}", body)


@lowering("logcumsumexp")
def _logcumsumexp(b: CudaWriter, node: Node) -> None:
    reverse = bool(node.attrs["reverse"])
    t = TYPE_NAMES[node.dtype]
    log2 = render_literal(math.log(2.0), node.dtype)

    def body(w: SourceWriter, at: Callable[[str], str], n: str) -> None:
        w.line(f"acc = {t}(-np.inf)")
        with w.block(f"for j in {loop_range(n, reverse)}:  # the scan axis"):
            w.line(f"v = {t}(x[{at('j')}])")
            w.line("# numpy's logaddexp(acc, v): exact for equal (also infinite) values, NaN kept")
            with w.block("if acc == v:"):
                w.line(f"acc = {t}(v + {log2})")
            with w.block("elif acc > v:"):
                w.line(f"acc = {t}(acc + log1p(exp(v - acc)))")
            with w.block("elif v > acc:"):
                w.line(f"acc = {t}(v + log1p(exp(acc - v)))")
            with w.block("else:"):
                w.line(f"acc = {t}(acc + v)")
            w.line(f"out[{at('j')}] = acc")

    direction = ", from the end" if reverse else ""
    doc = f"running log(sum(exp(x))) along axis {node.attrs['axis']}{direction}"
    _line_kernel(b, node, doc, body)


@lowering("cumargmax", "cumargmin")
def _cumarg(b: CudaWriter, node: Node) -> None:
    cmp = ">=" if node.op.name == "cumargmax" else "<="
    zero = render_literal(0, node.inputs[0].dtype)

    def body(w: SourceWriter, at: Callable[[str], str], n: str) -> None:
        w.line(f"best = {zero}")
        w.line("idx = 0")
        with w.block(f"for j in range({n}):  # the scan axis"):
            w.line(f"v = x[{at('j')}]")
            w.line("# a tie moves the index on; a NaN takes it and holds it")
            with w.block(f"if j == 0 or v != v or (best == best and v {cmp} best):"):
                w.line("best = v")
                w.line("idx = j")
            w.line(f"out[{at('j')}] = idx")

    which = "maximum" if cmp == ">=" else "minimum"
    _line_kernel(b, node, f"index of the running {which} along axis {node.attrs['axis']}", body)


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
    right = bool(node.attrs["right"])
    name = f"k{b.kernel_index(node)}_searchsorted"
    # NaN sorts last: "a[mid] goes before val" with NaN as the largest value
    goes_before = (
        "not (val < a[mid] or (a[mid] != a[mid] and val == val))"
        if right
        else "a[mid] < val or (val != val and a[mid] == a[mid])"
    )
    w = SourceWriter()
    with w.block("for t in range(cuda.grid(1), total, cuda.gridsize(1)):"):
        for text in [
            "val = v[t]",
            "lo = 0",
            "hi = m",
            "while lo < hi:",
            "    mid = (lo + hi) // 2",
            f"    if {goes_before}:",
            "        lo = mid + 1",
            "    else:",
            "        hi = mid",
            "out[t] = lo",
        ]:
            w.line(text)
    side = "right" if right else "left"
    doc = (
        f"{b.label(node)} insertion points of v in the sorted a (side {side}): a binary search each"
    )
    b.add_kernel(name, ["total", "m", "a", "v", "out"], doc, w)
    out = b.output_buffer(node)
    total = b.fresh("size")
    b.body.line(f"{total} = {product(b.dims(v))}")
    args = [total, b.dims(a)[0], b.array(a), f"launch.flat({b.array(v)})", f"launch.flat({out})"]
    b.launch(name, total, args)
