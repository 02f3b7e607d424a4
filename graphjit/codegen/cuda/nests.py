"""Loop nests as CUDA kernels: fused elementwise groups as grid-stride kernels over a flat index,
reductions (sum, prod, max, min over any axes) as block tree reductions with their elementwise
producers computed inside.

A nest of the schedule (groups sharing one iteration space) becomes one kernel per reduction,
each computing the nest's elementwise values it needs, then one elementwise kernel storing the
values read later. Reductions run first: the memory plan may let the elementwise stores reuse the
buffer of an input that the nest reads at the same index, so nothing may read it after them.

A reduction splits each output's reduced elements into ``parts`` contiguous chunks (one block
each when the outputs are too few to fill the GPU); a block's threads stride over its chunk in a
fixed order and combine through a shared-memory tree, and a second kernel combines the parts of
each output in order. The split depends only on the sizes and the device's SM count, so a run
gives the same bits every time. Floats accumulate in float64, as on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from graphjit.codegen.cuda.writer import CudaWriter, decompose
from graphjit.codegen.emit import TYPE_NAMES, SourceWriter
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.partition import Group, computed_in, value_inputs
from graphjit.codegen.symdims import product
from graphjit.codegen.updates import may_raise
from graphjit.dtypes import FLOAT_DTYPES
from graphjit.ir import Node
from graphjit.ops import OPS, OpDef

ScalarLowering = Callable[[Node, list[str]], str]
SCALAR_LOWERINGS: dict[OpDef, ScalarLowering] = {}


def scalar_lowering(*names: str) -> Callable[[ScalarLowering], ScalarLowering]:
    def register(fn: ScalarLowering) -> ScalarLowering:
        for name in names:
            SCALAR_LOWERINGS[OPS[name]] = fn
        return fn

    return register


@scalar_lowering("full_like")
def _full_like(m: Node, args: list[str]) -> str:
    return render_literal(m.attrs["fill_value"], m.dtype)


@scalar_lowering("astype")
def _astype(m: Node, args: list[str]) -> str:
    return cast_expr(args[0], m.attrs["dtype"])


# integer division, remainder, power and trunc compute in the operands' integer type (the float64
# functions of their templates would lose the low bits of int64 past 2**53)
_INTEGER_FUNCTIONS = {"floor_divide": "int_floor_divide", "remainder": "int_remainder"}
NEGATIVE_POWER = "Integers to negative integer powers are not allowed."  # numpy's ValueError


@scalar_lowering("floor_divide", "remainder", "power", "trunc")
def _integer_arithmetic(m: Node, args: list[str]) -> str:
    if m.dtype in FLOAT_DTYPES:
        return in_dtype(m, _template(m, args))
    if m.op.name == "trunc":
        return in_dtype(m, args[0])
    if m.op.name == "power":  # a third argument is the error flag (see ``may_raise``)
        fn = "int_power_checked" if len(args) == 3 else "int_power"
    else:
        fn = _INTEGER_FUNCTIONS[m.op.name]
    return in_dtype(m, f"{fn}({', '.join(args)})")


def cast_expr(expr: str, dtype: str) -> str:
    if dtype == "bool":
        return f"({expr} != 0)"
    return f"{TYPE_NAMES[dtype]}({expr})"


def in_dtype(m: Node, expr: str) -> str:
    """``expr`` cast back to ``m``'s dtype, as on the CPU (bools are left as they are): numba
    computes narrow ints in int64, and an expression fused into the next must see the wrapped
    value (int8 ``1 << 7`` is -128)."""
    return expr if m.dtype == "bool" else f"{TYPE_NAMES[m.dtype]}({expr})"


def _template(m: Node, args: list[str]) -> str:
    template = m.op.lower
    if not isinstance(template, str):
        raise NotImplementedError(f"cuda backend: elementwise op {m.op.name!r} has no template")
    return template.format(*args, **m.attrs)


def scalar_expression(m: Node, args: list[str]) -> str:
    special = SCALAR_LOWERINGS.get(m.op)
    if special is not None:
        return special(m, args)
    return in_dtype(m, _template(m, args))


def can_fuse(op: OpDef) -> bool:
    return isinstance(op.lower, str) or op in SCALAR_LOWERINGS


class Reads:
    """How a kernel reads the arrays of a nest: the flat index ``t`` for arrays of the space's
    shape (and 0-d ones, at 0), a multi-index ``i0, i1, ...`` for broadcast ones."""

    def __init__(self, b: CudaWriter, space: Node) -> None:
        self.b = b
        self.space = space
        self.params: dict[Node, str] = {}
        self.flat: set[Node] = set()
        self.needs_index = False
        self.raises = False  # a member may raise (an integer power): the kernel takes ``flag``

    def __call__(self, x: Node, temps: dict[Node, str]) -> str:
        if x in temps:
            return temps[x]
        lit = self.b.scalar_literal(x)
        if lit is not None:
            return lit
        name = self.params.setdefault(x, f"a{len(self.params)}")
        if x.ndim == 0:
            self.flat.add(x)
            return f"{name}[0]"
        rank = self.space.ndim
        lead = rank - x.ndim
        idx = [
            "0" if (x.shape[k] == 1 and self.space.shape[lead + k] != 1) else f"i{lead + k}"
            for k in range(x.ndim)
        ]
        if lead == 0 and "0" not in idx and self.b.table.space_key(x) == self.space_key():
            self.flat.add(x)
            return f"{name}[t]"
        self.needs_index = True
        return f"{name}[{', '.join(idx)}]"

    def space_key(self) -> tuple[str, ...]:
        return self.b.table.space_key(self.space)

    def args(self) -> list[str]:
        """The host expressions passing each read array."""
        return [
            f"launch.Flat({self.b.array(x)})" if x in self.flat else self.b.array(x)
            for x in self.params
        ]


def _closure(targets: Sequence[Node], inside: set[Node], position: dict[Node, int]) -> list[Node]:
    """The nest's values ``targets`` need (themselves included), in topological order."""
    need: set[Node] = set()
    stack = [t for t in targets if t in inside]
    while stack:
        n = stack.pop()
        if n in need:
            continue
        need.add(n)
        stack.extend(x for x in value_inputs(n) if x in inside)
    return sorted(need, key=position.__getitem__)


def _member_lines(
    b: CudaWriter, members: Sequence[Node], reads: Reads, temps: dict[Node, str]
) -> list[str]:
    lines = []
    for m in members:
        args = [reads(x, temps) for x in value_inputs(m)]
        if may_raise(m):
            reads.raises = True
            args.append("flag")
        expr = scalar_expression(m, args)
        t = f"t{b.graph_ids[m][1:]}"
        temps[m] = t
        lines.append(f"{t} = {expr}  # {b.label(m)} {m.op.name}")
    return lines


class ErrorFlag(NamedTuple):
    """The error flag of a kernel whose members may raise: its parameter, and the host lines
    around the launch (raise it after the kernel, as numpy's ValueError)."""

    params: list[str]
    args: list[str]

    @staticmethod
    def of(b: CudaWriter, reads: Reads) -> ErrorFlag:
        if not reads.raises:
            return ErrorFlag([], [])
        flag = b.scratch(["1"], "int32", "flag")
        b.body.line(f"kmem.fill({flag}, 0)")
        return ErrorFlag(["flag"], [flag])

    def check(self, b: CudaWriter) -> None:
        for flag in self.args:
            b.body.line(f"kmem.check_flag({flag}, {NEGATIVE_POWER!r}, ValueError)")


def kernel_name(index: int, nodes: Sequence[Node]) -> str:
    short = "_".join(dict.fromkeys(n.op.name for n in nodes))[:40]
    return f"k{index}_{short}"


def emit_nest(b: CudaWriter, parts: Sequence[Group], step: int) -> None:
    inside = computed_in(parts)
    for g in parts:
        if g.kind == "reduction":
            _reduction(b, g, inside)
    stored = [
        g.root for g in parts if g.kind == "elementwise" and b.memory.read_after(g.root, step)
    ]
    if stored:
        _elementwise(b, parts, stored, inside)


def _elementwise(b: CudaWriter, parts: Sequence[Group], stored: list[Node], inside: set) -> None:
    space = parts[0].space_node
    rank = space.ndim
    reads = Reads(b, space)
    temps: dict[Node, str] = {}
    members = _closure(stored, inside, b.position)
    inner = _member_lines(b, members, reads, temps)
    outs = [b.output_buffer(r) for r in stored]
    stores = [f"out{k}[t] = {temps[r]}" for k, r in enumerate(stored)]
    dims = b.dims(space)
    sizes = [f"n{k}" for k in range(rank)]
    flag = ErrorFlag.of(b, reads)
    params = ["total", *sizes, *reads.params.values(), *(f"out{k}" for k in range(len(outs)))]
    params += flag.params
    body = SourceWriter()
    with body.block("for t in range(cuda.grid(1), total, cuda.gridsize(1)):"):
        if reads.needs_index:
            for text in decompose("t", sizes, [f"i{k}" for k in range(rank)]):
                body.line(text)
        for text in [*inner, *stores]:
            body.line(text)
    first = next(g for g in parts if g.kind == "elementwise")
    name = kernel_name(first.index, members)
    doc = "; ".join(b.group_title(g) for g in parts if g.kind == "elementwise")
    b.add_kernel(name, params, f"grid-stride loop over the flat index: {doc}", body)
    total = b.fresh("size")
    b.body.line(f"{total} = {product(dims)}")
    out_args = [f"launch.Flat({o})" for o in outs]
    b.launch(name, total, [total, *dims, *reads.args(), *out_args, *flag.args])
    flag.check(b)


class Reducer(NamedTuple):
    init: str
    combine: Callable[[str, str], str]
    acc_dtype: str
    needs_nonempty: bool


_ACCUMULATE = {OPS["sum"]: ("+", 0), OPS["prod"]: ("*", 1)}
_EXTREMUM = {OPS["max"]: "maximum", OPS["min"]: "minimum"}


def can_reduce(op: OpDef) -> bool:
    return op in _ACCUMULATE or op in _EXTREMUM


def _reducer(root: Node) -> Reducer:
    floats = root.dtype in ("float32", "float64")
    acc = "float64" if floats else "int64"
    if root.op in _ACCUMULATE:
        sym, identity = _ACCUMULATE[root.op]
        return Reducer(render_literal(identity, acc), lambda a, c: f"({a} {sym} {c})", acc, False)
    fn = _EXTREMUM[root.op]
    is_max = fn == "maximum"
    if floats:
        init = "(-np.inf)" if is_max else "np.inf"
    elif root.dtype == "bool":
        init = "0" if is_max else "1"
    else:
        info = np.iinfo(root.dtype)
        init = render_literal(info.min if is_max else info.max, "int64")
    return Reducer(init, lambda a, c: f"{fn}({a}, {c})", acc, True)


def _reduction(b: CudaWriter, g: Group, inside: set) -> None:
    root = g.root
    space = g.space_node
    rank = space.ndim
    axes = sorted(root.attrs["axes"])
    kept = [k for k in range(rank) if k not in axes]
    reducer = _reducer(root)
    reads = Reads(b, space)
    reads.needs_index = True  # the index is always split: kept dims from the output's index
    temps: dict[Node, str] = {}
    value_node = root.inputs[0]
    members = _closure([value_node], inside, b.position)
    inner = _member_lines(b, members, reads, temps)
    value = reads(value_node, temps)
    acc_t = TYPE_NAMES[reducer.acc_dtype]
    sizes = [f"n{k}" for k in range(rank)]
    combine = reducer.combine
    body = SourceWriter()
    body.line(f"sh = cuda.shared.array(BLOCK, {acc_t})")
    body.line("tid = cuda.threadIdx.x")
    body.line("chunk = (nred + parts - 1) // parts")
    with body.block("for job in range(cuda.blockIdx.x, nout * parts, cuda.gridDim.x):"):
        body.line("m = job // parts")
        body.line("lo = (job % parts) * chunk")
        body.line("hi = min(lo + chunk, nred)")
        for text in decompose("m", [sizes[k] for k in kept], [f"i{k}" for k in kept]):
            body.line(text)
        body.line(f"acc = {acc_t}({reducer.init})")
        with body.block("for q in range(lo + tid, hi, BLOCK):"):
            for text in decompose("q", [sizes[k] for k in axes], [f"i{k}" for k in axes]):
                body.line(text)
            if reads.flat:  # flat reads of the space need its flat index
                body.line(f"t = {_flat_index(sizes)}")
            for text in inner:
                body.line(text)
            body.line(f"acc = {combine('acc', value)}")
        body.line("sh[tid] = acc")
        body.line("cuda.syncthreads()")
        body.line("s = BLOCK // 2")
        with body.block("while s > 0:"):
            with body.block("if tid < s:"):
                body.line(f"sh[tid] = {combine('sh[tid]', 'sh[tid + s]')}")
            body.line("cuda.syncthreads()")
            body.line("s = s // 2")
        with body.block("if tid == 0:"):
            body.line("partial[m * parts + job % parts] = sh[0]")
        body.line("cuda.syncthreads()  # sh is reused by the block's next job")
    name = kernel_name(g.index, [*members, root])
    flag = ErrorFlag.of(b, reads)
    params = ["nout", "nred", "parts", *sizes, *reads.params.values(), "partial", *flag.params]
    doc = f"block tree reduction: {b.group_title(g)}"
    b.add_kernel(name, params, doc, body)

    fin = SourceWriter()
    with fin.block("for m in range(cuda.grid(1), nout, cuda.gridsize(1)):"):
        fin.line("acc = partial[m * parts]")
        with fin.block("for p in range(1, parts):"):
            fin.line(f"acc = {combine('acc', 'partial[m * parts + p]')}")
        fin.line(f"out[m] = {cast_expr('acc', root.dtype)}")
    b.add_kernel(f"{name}_parts", ["nout", "parts", "partial", "out"], "combine the parts", fin)

    # host side
    dims = b.dims(space)
    nout = b.fresh("nout")
    nred = b.fresh("nred")
    parts = b.fresh("parts")
    b.body.line(f"{nout} = {product([dims[k] for k in kept])}")
    b.body.line(f"{nred} = {product([dims[k] for k in axes])}")
    if reducer.needs_nonempty:
        message = f"{root.op.name}: zero-size array to reduction operation with no identity"
        with b.body.block(f"if {nred} == 0:"):  # as numpy, even when the output is empty
            b.body.line(f"raise ValueError({message!r})")
    out = b.output_buffer(root)
    b.body.line(f"{parts} = launch.parts({nout}, {nred})")
    partial = b.fresh("partial")
    b.body.line(f"{partial} = alloc.scratch({partial!r}, ({nout} * {parts},), {acc_t})")
    args = [nout, nred, parts, *dims, *reads.args(), partial, *flag.args]
    b.launch(name, f"{nout} * {parts}", args, blocks=f"launch.reduce_blocks({nout} * {parts})")
    flag.check(b)
    b.launch(f"{name}_parts", nout, [nout, parts, partial, f"launch.Flat({out})"])


def _flat_index(sizes: Sequence[str]) -> str:
    expr = "i0"
    for k in range(1, len(sizes)):
        expr = f"({expr}) * {sizes[k]} + i{k}"
    return expr if sizes else "0"
