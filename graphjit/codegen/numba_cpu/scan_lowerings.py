"""Lowerings of the scans and sorts: one generated kernel per op, plain loops along one axis.

A scan (cumsum, cumprod, logcumsumexp, the running arg-extrema) loops over every index of the other
axes and, inside, walks the scan axis once carrying its accumulator. argsort copies each slice to a
buffer and sorts it with numba's stable mergesort; searchsorted is a binary search per value.
They register with :func:`graphjit.codegen.numba_cpu.lowerings.lowering` like any other op;
``program`` imports this module so they are there before a program is written.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, index_expr, loop_range
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.numba_cpu.loops import loop_nest
from graphjit.codegen.numba_cpu.lowerings import lowering
from graphjit.codegen.numba_cpu.writer import ProgramWriter
from graphjit.ir import Node

# the body of one slice: (writer, index of the slice at position j along the axis, size of the axis)
SliceBody = Callable[[SourceWriter, Callable[[str], str], str], None]


def _along_axis_kernel(
    b: ProgramWriter, node: Node, doc: str, setup: list[str], body: SliceBody
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
    is_sum = node.op.name == "cumsum"
    reverse = bool(node.attrs.get("reverse", False))
    t = TYPE_NAMES[node.dtype]
    start = render_literal(0 if is_sum else 1, node.dtype)
    update = "+=" if is_sum else "*="

    def body(w: SourceWriter, at: Callable[[str], str], n: str) -> None:
        w.line(f"acc = {start}")
        with w.block(f"for j in {loop_range(n, reverse)}:  # the scan axis"):
            w.line(f"acc {update} {t}(x[{at('j')}])")
            w.line(f"out[{at('j')}] = acc")

    what = "running sum" if is_sum else "running product"
    direction = ", from the end" if reverse else ""
    _along_axis_kernel(b, node, f"{what} along axis {node.attrs['axis']}{direction}", [], body)


@lowering("logcumsumexp")
def _logcumsumexp(b: ProgramWriter, node: Node) -> None:
    reverse = bool(node.attrs["reverse"])
    t = TYPE_NAMES[node.dtype]
    log2 = render_literal(math.log(2.0), node.dtype)

    def body(w: SourceWriter, at: Callable[[str], str], n: str) -> None:
        w.line(f"acc = {t}(-np.inf)")
        with w.block(f"for j in {loop_range(n, reverse)}:  # the scan axis"):
            w.line(f"v = x[{at('j')}]")
            w.line("# numpy's logaddexp(acc, v): exact for equal (also infinite) values, NaN kept")
            with w.block("if acc == v:"):
                w.line(f"acc = v + {log2}")
            with w.block("elif acc > v:"):
                w.line("acc = acc + np.log1p(np.exp(v - acc))")
            with w.block("elif v > acc:"):
                w.line("acc = v + np.log1p(np.exp(acc - v))")
            with w.block("else:"):
                w.line("acc = acc + v")
            w.line(f"out[{at('j')}] = acc")

    direction = ", from the end" if reverse else ""
    doc = f"running log(sum(exp(x))) along axis {node.attrs['axis']}{direction}"
    _along_axis_kernel(b, node, doc, [], body)


@lowering("cumargmax", "cumargmin")
def _cumarg(b: ProgramWriter, node: Node) -> None:
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
    doc = f"index of the running {which} along axis {node.attrs['axis']}"
    _along_axis_kernel(b, node, doc, [], body)


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
    _along_axis_kernel(b, node, doc, [f"buf = np.empty(n{axis}, {buf_type})"], body)


@lowering("searchsorted")
def _searchsorted(b: ProgramWriter, node: Node) -> None:
    a, v = node.inputs
    rank = v.ndim
    right = bool(node.attrs["right"])
    name = f"k{b.kernel_index(node)}_searchsorted"
    idx = index_expr([f"i{k}" for k in range(rank)])
    # NaN sorts last: "a[mid] goes before val" with NaN as the largest value
    goes_before = (
        "not (val < a[mid] or (a[mid] != a[mid] and val == val))"
        if right
        else "a[mid] < val or (val != val and a[mid] == a[mid])"
    )
    inner = [
        f"val = v[{idx}]",
        "lo = 0",
        "hi = m",
        "while lo < hi:",
        "    mid = (lo + hi) // 2",
        f"    if {goes_before}:",
        "        lo = mid + 1",
        "    else:",
        "        hi = mid",
        f"out[{idx}] = lo",
    ]
    w = SourceWriter()
    w.line("@njit(**KERNEL)")
    params = [f"n{k}" for k in range(rank)] + ["m", "a", "v", "out"]
    with w.block(f"def {name}({', '.join(params)}):"):
        side = "right" if right else "left"
        w.line(f'"""insertion points of v in the sorted a (side {side}): a binary search each"""')
        loop_nest(w, rank, inner, False)
    b.add_kernel(w)
    out = b.output_buffer(node)
    args = [*b.dims(v), b.dims(a)[0], b.array(a), b.array(v), out]
    b.body.line(f"{name}({', '.join(args)})")
