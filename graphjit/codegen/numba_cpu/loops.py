"""Loop-nest kernels for the numba CPU backend.

A loop nest hosts one or more loop groups over one iteration space (see
:mod:`graphjit.codegen.schedule`): fused elementwise chains, each storing its root, and
reductions with their fused producers, each with its accumulator. The nest becomes one kernel
function (plus a ``prange`` variant when the schedule says it pays) that the program calls once.

Inside the innermost loop every value is computed first and stored last, so a store may reuse
the buffer of an input read at the same index (the buffer plan decides when).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, index_expr
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.numba_cpu.writer import ProgramWriter
from graphjit.codegen.partition import Group, value_inputs
from graphjit.codegen.schedule import small_power, trailing_reduced
from graphjit.codegen.symdims import product
from graphjit.ir import Node
from graphjit.kernels.libm import TWINS as LIBM_TWINS
from graphjit.ops import OPS, OpDef

Read = Callable[[Node], str]  # the source expression of a value read inside a nest
# an elementwise op whose expression is not its OpDef's template: (node, argument exprs) -> expr
ScalarLowering = Callable[[Node, list[str]], str | None]
SCALAR_LOWERINGS: dict[OpDef, ScalarLowering] = {}


def scalar_lowering(name: str) -> Callable[[ScalarLowering], ScalarLowering]:
    def register(fn: ScalarLowering) -> ScalarLowering:
        SCALAR_LOWERINGS[OPS[name]] = fn
        return fn

    return register


# -------------------------------------------------------------------------------- expressions
def reader(
    b: ProgramWriter,
    space: Node,
    params: dict[Node, str],
    temps: dict[Node, str],
    head: list[str],
) -> Read:
    """A function giving the source expression of a value read inside the nest: a temp for one
    computed in the nest, a literal for a scalar constant, a local read before the loops for a
    0-d array (loop invariant; numba's prange cannot index 0-d arrays), else an indexed kernel
    parameter (index 0 on a static size-1 dim broadcast against the space)."""
    rank = space.ndim

    def read(x: Node) -> str:
        if x in temps:
            return temps[x]
        lit = b.scalar_literal(x)
        if lit is not None:
            return lit
        if x not in params:
            params[x] = f"a{len(params)}"
            if x in b.memory.scalars:
                head.append(f"s{params[x][1:]} = {params[x]}")
            elif x.ndim == 0:
                head.append(f"s{params[x][1:]} = {params[x]}[()]")
        if x.ndim == 0:
            return f"s{params[x][1:]}"
        lead = rank - x.ndim
        idx = [
            "0" if (x.shape[k] == 1 and space.shape[lead + k] != 1) else f"i{lead + k}"
            for k in range(x.ndim)
        ]
        return f"{params[x]}[{index_expr(idx)}]"

    return read


def scalar_expression(m: Node, args: list[str]) -> str:
    """The source of one elementwise op applied to its value inputs' expressions (narrow dtypes
    cast back, so a float32 graph computes in float32 as numpy does)."""
    special = SCALAR_LOWERINGS.get(m.op)
    if special is not None:
        expr = special(m, args)
        if expr is not None:
            return expr
    template = m.op.lower
    if not isinstance(template, str):
        raise NotImplementedError(f"cpu backend: elementwise op {m.op.name!r} has no template")
    attrs = {k: TYPE_NAMES.get(v, v) if k == "dtype" else v for k, v in m.attrs.items()}
    expr = template.format(*args, **attrs)
    if m.dtype in ("float32", "int32", "int64", "int16", "int8", "uint8"):
        expr = f"{TYPE_NAMES[m.dtype]}({expr})"
    elif m.dtype == "bool" and m.op in _BOOL_ARITHMETIC:
        # numpy's bool + bool is a logical or and bool * bool an and; numba's are ints, which
        # the ops fused after this one would read (True + True as 2)
        expr = f"bool_({expr})"
    return expr


_BOOL_ARITHMETIC = {OPS["add"], OPS["multiply"]}


@scalar_lowering("full_like")
def _full_like(m: Node, args: list[str]) -> str:
    return render_literal(m.attrs["fill_value"], m.dtype)


@scalar_lowering("astype")
def _astype(m: Node, args: list[str]) -> str:
    # the template's cast gives the dtype already
    return str(m.op.lower).format(*args, dtype=TYPE_NAMES[m.attrs["dtype"]])


@scalar_lowering("power")
def _small_power(m: Node, args: list[str]) -> str | None:
    """``x ** e`` for a constant e in {-1, 2, 3, 4} as multiplications, a few instructions
    where the general ``power`` (kernels.math.pow: a log and an exp in double-double) costs
    about a hundred; jax does the same. Within 2 ulp of pow."""
    e, x = small_power(m), args[0]
    forms = {
        -1.0: f"(1.0 / {x})",
        2.0: f"({x} * {x})",
        3.0: f"({x} * {x} * {x})",
        4.0: f"(({x} * {x}) * ({x} * {x}))",
    }
    if e is None:
        return None
    expr = forms[e]
    return expr if m.dtype == "float64" else f"f32({expr})"


def member_lines(b: ProgramWriter, g: Group, read: Read, temps: dict[Node, str]) -> list[str]:
    lines = []
    for m in g.members:
        expr = scalar_expression(m, [read(x) for x in value_inputs(m)])
        t = f"t{b.graph_ids[m][1:]}"
        temps[m] = t
        lines.append(f"{t} = {expr}  # {b.label(m)} {m.op.name}")
    return lines


# -------------------------------------------------------------------------------- outlining
# A nest computing more values than this per index has its computations outlined into scalar
# segment functions of at most SEGMENT_VALUES values each. numba types and lowers one function in
# time that grows faster than its size (and its parallel variant re-types the loop body), so one
# huge loop body is what made compile time quadratic in the graph's size; small functions are
# cheap to type, and segments whose source is the same (up to their float64 literals, which
# they take as an array) are compiled once, so a long repetitive chain compiles a few functions.
OUTLINE_MIN_VALUES = 240
SEGMENT_VALUES = 96
_TEMP = re.compile(r"\bt\d+\b")
# A segment is called once per element, so nothing in it vectorises: its transcendental calls
# go to libm (graphjit.kernels.libm), which is faster one element at a time and quicker to
# compile than the inlined branch-free versions made for vector loops.
_TWIN_CALL = re.compile(r"\b(" + "|".join(LIBM_TWINS) + r")\(")
# a call of kernels/math.py's vector math in a loop body (other transcendental ops call libm per
# element, a loop calling them does not vectorise, and a power by a small integer is products)
_VECTOR_MATH_CALL = re.compile(
    r"\b(?:" + "|".join([*LIBM_TWINS, "exp2", "sigmoid", "softplus"]) + r")\("
)


class Computation(NamedTuple):
    """One elementwise value computed in a nest: its node, its temp and its inputs' nodes and
    source expressions (temps, literals, locals or indexed reads)."""

    node: Node
    temp: str
    inputs: list[Node]
    args: list[str]


def member_computations(
    b: ProgramWriter, g: Group, read: Read, temps: dict[Node, str]
) -> list[Computation]:
    out = []
    for m in g.members:
        xs = value_inputs(m)
        args = [read(x) for x in xs]
        temps[m] = f"t{b.graph_ids[m][1:]}"
        out.append(Computation(m, temps[m], xs, args))
    return out


def _lifted(b: ProgramWriter, x: Node) -> bool:
    """A float64 scalar constant: a segment takes it from its array of literals."""
    return x.dtype == "float64" and b.scalar_literal(x) is not None


def outline(b: ProgramWriter, comps: list[Computation], escaping: set[str]) -> list[str]:
    """Loop-body lines calling one segment function per run of ``SEGMENT_VALUES`` computations
    (the segment functions go into the module, each distinct one once). ``escaping`` are the
    temps the loop body reads after the segments."""
    chunks = [comps[k : k + SEGMENT_VALUES] for k in range(0, len(comps), SEGMENT_VALUES)]
    last_use: dict[str, int] = {t: len(chunks) for t in escaping}
    for k, chunk in enumerate(chunks):
        for c in chunk:
            for a in c.args:
                if _TEMP.fullmatch(a):
                    last_use[a] = max(last_use.get(a, k), k)
    lines = []
    for k, chunk in enumerate(chunks):
        outputs = [c.temp for c in chunk if last_use.get(c.temp, -1) > k]
        if not outputs:
            continue
        name, args, literals = _segment(b, chunk, outputs)
        if literals:
            args.append(b.literal_array(literals))
        lhs = outputs[0] if len(outputs) == 1 else ", ".join(outputs)
        first, last = b.label(chunk[0].node), b.label(chunk[-1].node)
        lines.append(f"{lhs} = {name}({', '.join(args)})  # {first} .. {last}")
    return lines


def _segment(
    b: ProgramWriter, chunk: list[Computation], outputs: list[str]
) -> tuple[str, list[str], list[str]]:
    """The segment function computing ``chunk`` (named by its source, so equal segments share
    one), the arguments of its call and the float64 literals it takes as an array."""
    local: dict[str, str] = {}  # temp -> the segment's name for it
    params: dict[str, str] = {}  # expression read from the loop -> parameter
    literals: list[str] = []
    body = []
    for c in chunk:
        cargs = []
        for x, a in zip(c.inputs, c.args):
            if a in local:
                cargs.append(local[a])
            elif _lifted(b, x):
                literals.append(a)
                cargs.append(f"lit[{len(literals) - 1}]")
            elif b.scalar_literal(x) is not None:
                cargs.append(a)
            else:
                cargs.append(params.setdefault(a, f"v{len(params)}"))
        local[c.temp] = f"u{len(local)}"
        expr = _TWIN_CALL.sub(r"libm.\1(", scalar_expression(c.node, cargs))
        body.append(f"{local[c.temp]} = {expr}  # {c.node.op.name}")
    names = [*params.values(), *(["lit"] if literals else [])]
    returned = [local[t] for t in outputs]
    body.append("return " + (returned[0] if len(returned) == 1 else f"({', '.join(returned)})"))
    name = b.segment_function(names, body, len(chunk))
    return name, list(params), literals


def loop_nest(
    w: SourceWriter,
    rank: int,
    inner: list[str],
    parallel: bool,
    prologue: dict[int, list[str]] | None = None,
    epilogue: dict[int, list[str]] | None = None,
) -> None:
    """Nested loops ``for i0 in range(n0): for i1 ...`` around ``inner``; ``prologue[k]`` /
    ``epilogue[k]`` are lines placed before / after the loop over axis k."""
    prologue, epilogue = prologue or {}, epilogue or {}

    def level(k: int) -> None:
        for text in prologue.get(k, []):
            w.line(text)
        if k == rank:
            for text in inner:
                w.line(text)
        else:
            rng = "prange" if (parallel and k == 0) else "range"
            with w.block(f"for i{k} in {rng}(n{k}):  # axis {k}"):
                level(k + 1)
        for text in epilogue.get(k, []):
            w.line(text)

    level(0)


# -------------------------------------------------------------------------------- the kernel
class NestWriter:
    """Collects the pieces of one nest's kernel: lines before the loops, per-axis prologue and
    epilogue, the innermost computations and the innermost stores, and the scalars it returns
    (the 0-d values the buffer plan keeps in the program's scalar locals)."""

    def __init__(self, rank: int) -> None:
        self.rank = rank
        self.head: list[str] = []
        self.prologue: dict[int, list[str]] = {}
        self.epilogue: dict[int, list[str]] = {}
        self.inner: list[str] = []
        self.stores: list[str] = []
        self.outs: list[str] = []  # the program arrays the kernel writes, in parameter order
        self.results: list[str] = []  # the program's scalar locals it assigns, in return order

    def out(self, array: str) -> str:
        self.outs.append(array)
        return f"out{len(self.outs) - 1}"

    def result(self, local: str) -> str:
        self.results.append(local)
        return f"res{len(self.results) - 1}"

    def write(self, w: SourceWriter, parallel: bool) -> None:
        for text in self.head:
            w.line(text)
        loop_nest(w, self.rank, [*self.inner, *self.stores], parallel, self.prologue, self.epilogue)
        if self.results:
            w.line(f"return {', '.join(f'res{k}' for k in range(len(self.results)))}")


class Reducer(NamedTuple):
    """How a fused reduction accumulates: its initial value and its combining expression."""

    init: str
    combine: Callable[[str, str], str]
    needs_nonempty: bool  # no identity: an empty reduction raises


# the fused reductions (OpDef.fusion == "reduction"): an accumulating operator, or an extremum
_ACCUMULATE = {OPS["sum"]: ("+", 0), OPS["prod"]: ("*", 1)}
_EXTREMUM = {OPS["max"]: "maximum", OPS["min"]: "minimum"}


def _reducer(root: Node) -> Reducer:
    if root.op in _ACCUMULATE:
        sym, identity = _ACCUMULATE[root.op]
        if root.dtype in ("float32", "float64"):
            # the one reassociating instruction of a program, so that the sum vectorises
            # (kernels/scalar.py: accumulate_add)
            fn = "accumulate_add" if sym == "+" else "accumulate_multiply"
            return Reducer(
                render_literal(identity, "float64"), lambda a, c: f"{fn}({a}, {c})", False
            )
        return Reducer(render_literal(identity, root.dtype), lambda a, c: f"{a} {sym} {c}", False)
    fn = _EXTREMUM[root.op]
    is_max = fn == "maximum"
    if root.dtype == "bool":
        init = "False" if is_max else "True"
    elif root.dtype in ("float32", "float64"):
        init = "(-np.inf)" if is_max else "np.inf"
    else:
        info = np.iinfo(root.dtype)
        init = render_literal(info.min if is_max else info.max, root.dtype)
    return Reducer(init, lambda a, c: f"{fn}({a}, {c})", True)


def can_reduce(op: OpDef) -> bool:
    return op in _ACCUMULATE or op in _EXTREMUM


def _reduction(b: ProgramWriter, nw: NestWriter, g: Group, value: str) -> None:
    """Accumulator lines of a sum/prod/max/min over some axes of the nest's space."""
    root = g.root
    rank = nw.rank
    axes = set(root.attrs["axes"])
    keep = root.attrs["keepdims"]
    scalar = root in b.memory.scalars
    out = nw.result(b.scalar_local(root)) if scalar else nw.out(b.output_buffer(root))
    acc = f"acc{b.graph_ids[root][1:]}"
    init, combine, needs_nonempty = _reducer(root)
    suffix = trailing_reduced(rank, axes)
    out_idx = [("0" if keep else None) if k in axes else f"i{k}" for k in range(rank)]
    o = out if scalar else f"{out}[{index_expr([i for i in out_idx if i is not None])}]"
    cast = TYPE_NAMES[root.dtype]
    early_reduced = any(k < suffix for k in axes)
    if needs_nonempty:
        # as numpy: an empty reduced axis raises even when the output is empty too
        count = product([f"n{k}" for k in sorted(axes)])
        message = f"{root.op.name}: zero-size array to reduction operation with no identity"
        nw.head += [f"if {count} == 0:", f"    raise ValueError({message!r})"]
    if early_reduced:
        nw.head.append(f"kops.fill({out}, {init})" if root.ndim else f"{o} = {init}")
    if suffix < rank:
        nw.prologue.setdefault(suffix, []).append(f"{acc} = {init}")
        nw.inner.append(f"{acc} = {combine(acc, value)}")
        final = f"{cast}({combine(o, acc)})" if early_reduced else f"{cast}({acc})"
        nw.epilogue.setdefault(suffix, []).append(f"{o} = {final}")
    else:
        # no axis reduced (axis=(), or a 0-d input): each output element is its one input
        # element combined with the initial value, never with the unwritten output buffer
        first = o if early_reduced else init
        nw.inner.append(f"{o} = {cast}({combine(first, value)})")


def kernel_name(parts: Sequence[Group]) -> str:
    ops = [n.op.name for g in parts for n in (g.members if g.kind == "elementwise" else [g.root])]
    short = "_".join(dict.fromkeys(ops))[:40]
    return f"k{parts[0].index}_{short}"


def emit_nest(b: ProgramWriter, parts: Sequence[Group], step: int, parallel: bool) -> None:
    """The kernel for a loop nest, and the program lines that allocate its outputs and call it."""
    space = parts[0].space_node
    rank = space.ndim
    params: dict[Node, str] = {}
    temps: dict[Node, str] = {}
    nw = NestWriter(rank)
    read = reader(b, space, params, temps, nw.head)
    idx = index_expr([f"i{k}" for k in range(rank)])
    outlined = sum(len(g.members) for g in parts) > OUTLINE_MIN_VALUES
    computations: list[Computation] = []
    for g in parts:
        if outlined:
            computations += member_computations(b, g, read, temps)
        elif rank == 0:
            # one value each, no loop to vectorise: libm's functions, as a segment calls them
            # (an optimiser's bias corrections are a pow per parameter; each inlined vector pow
            # is a few hundred instructions for LLVM to optimise)
            lines = member_lines(b, g, read, temps)
            nw.inner += [_TWIN_CALL.sub(r"libm.\1(", text) for text in lines]
        else:
            nw.inner += member_lines(b, g, read, temps)
        root = g.root
        if g.kind == "reduction":
            _reduction(b, nw, g, read(root.inputs[0]))
        elif root in b.memory.scalars:
            if b.memory.read_after(root, step):
                nw.stores.append(f"{nw.result(b.scalar_local(root))} = {temps[root]}")
        elif b.memory.read_after(root, step):
            out = nw.out(b.output_buffer(root))
            nw.stores.append(f"{out}[{idx}] = {temps[root]}")
    if rank and not outlined and any(_VECTOR_MATH_CALL.search(text) for text in nw.inner):
        # 512-bit vectors where the CPU has them, for the function this loop is compiled into
        # (the program, a stage, or a parallel variant's loop body): kernels/scalar.py
        nw.inner.insert(0, "wide_vectors()")
    if outlined:
        # the loop's own lines (accumulators, stores) read these temps after the segments
        escaping = set(_TEMP.findall("\n".join([*nw.inner, *nw.stores])))
        nw.inner[:0] = outline(b, computations, escaping)
    name = kernel_name(parts)
    sizes = [f"n{k}" for k in range(rank)]
    outs = [f"out{k}" for k in range(len(nw.outs))]
    doc = "; ".join(b.group_title(g) for g in parts)
    if len(parts) > 1:
        doc = f"one pass over the space of {len(parts)} loop groups: {doc}"
    b.kernel_pair(name, [*sizes, *params.values(), *outs], doc, nw.write, parallel, rank, nest=True)
    args = [*b.dims(space), *(b.array(x) for x in params), *nw.outs]
    b.call_kernel(name, args, product(b.dims(space)), parallel, rank, nw.results)
