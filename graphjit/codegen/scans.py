"""The loop bodies of the scans and of searchsorted, one definition for both emitters.

A scan walks one line along its axis once, carrying an accumulator. Where the CPU backend puts the
line inside loops over the other axes and the CUDA backend gives it to one thread, both run the same
body, written here: same order and arithmetic, so the two backends give the same bits (cumprod is
exact through zeros, NaN is kept, logcumsumexp is exact on equal values like numpy's logaddexp).

A body is called as ``body(w, at, n)``: it writes its lines into ``w``, ``at(j)`` is the subscript
of the line's element at position ``j`` along the axis and ``n`` the axis's size; it reads ``x``
and writes ``out``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, loop_range
from graphjit.codegen.emit import literal as render_literal
from graphjit.ir import Node

LineBody = Callable[[SourceWriter, Callable[[str], str], str], None]


def _direction(node: Node) -> str:
    return ", from the end" if node.attrs.get("reverse", False) else ""


def cumulative(node: Node) -> tuple[str, LineBody]:
    """cumsum or cumprod: the kernel's description and its line body."""
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
    return f"{what} along axis {node.attrs['axis']}{_direction(node)}", body


def logcumsumexp(node: Node, log1p: str, exp: str) -> tuple[str, LineBody]:
    """logcumsumexp with the emitter's names of the scalar ``log1p`` and ``exp``."""
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
                w.line(f"acc = {t}(acc + {log1p}({exp}(v - acc)))")
            with w.block("elif v > acc:"):
                w.line(f"acc = {t}(v + {log1p}({exp}(acc - v)))")
            with w.block("else:"):
                w.line(f"acc = {t}(acc + v)")
            w.line(f"out[{at('j')}] = acc")

    return f"running log(sum(exp(x))) along axis {node.attrs['axis']}{_direction(node)}", body


def cumulative_arg(node: Node) -> tuple[str, LineBody]:
    """cumargmax or cumargmin: the index of the running extremum (a tie moves it on, a NaN takes
    it and holds it, as PyTorch's cummax/cummin)."""
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
    return f"index of the running {which} along axis {node.attrs['axis']}", body


def binary_search(node: Node, value: str, out: str) -> tuple[str, list[str]]:
    """searchsorted of one value: the description and the lines that read ``value``, search the
    sorted 1-d ``a`` of size ``m`` and store the insertion point in ``out`` (NaN sorts last)."""
    right = bool(node.attrs["right"])
    # "a[mid] goes before val", with NaN as the largest value
    goes_before = (
        "not (val < a[mid] or (a[mid] != a[mid] and val == val))"
        if right
        else "a[mid] < val or (val != val and a[mid] == a[mid])"
    )
    lines = [
        f"val = {value}",
        "lo = 0",
        "hi = m",
        "while lo < hi:",
        "    mid = (lo + hi) // 2",
        f"    if {goes_before}:",
        "        lo = mid + 1",
        "    else:",
        "        hi = mid",
        f"{out} = lo",
    ]
    side = "right" if right else "left"
    return f"insertion points of v in the sorted a (side {side}): a binary search each", lines
