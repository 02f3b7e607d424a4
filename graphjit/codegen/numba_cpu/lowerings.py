"""Lowerings of the ops that are not fused loop nests: views (shape ops), BLAS matmul, einsum
loops, gathers and scatter-adds, concatenation, padding, softmax-like row kernels, arg-reductions.

Each lowering is registered for its OpDef and writes program statements (and, where needed, a
kernel) through the :class:`~graphjit.codegen.numba_cpu.writer.ProgramWriter`, storing into the
buffer the memory plan chose. A lowering that makes its output array itself says so when it is
registered (``allocates_itself``), so the plan gives it none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from graphjit.codegen import einsum
from graphjit.codegen.emit import TYPE_NAMES, SourceWriter, index_expr, int_tuple
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.numba_cpu.loops import loop_nest
from graphjit.codegen.numba_cpu.writer import ProgramWriter
from graphjit.codegen.symdims import product
from graphjit.codegen.updates import Fold
from graphjit.ir import Node
from graphjit.ops import OPS, OpDef

LowerFn = Callable[[ProgramWriter, Node], None]


class Lowering(NamedTuple):
    emit: LowerFn
    allocates_itself: Callable[[Node], bool] | None = None  # its own output array, for this node


# a view's expression: (writer, node, the input's array) -> the source of the view
ViewFn = Callable[[ProgramWriter, Node, str], str]


class ViewLowering(NamedTuple):
    expr: ViewFn
    repeats_elements: bool = False  # a broadcast: a result must be copied out of it


LOWERINGS: dict[OpDef, Lowering] = {}
VIEWS: dict[OpDef, ViewLowering] = {}


def lowering(
    *names: str, allocates_itself: Callable[[Node], bool] | None = None
) -> Callable[[LowerFn], LowerFn]:
    def register(fn: LowerFn) -> LowerFn:
        for n in names:
            LOWERINGS[OPS[n]] = Lowering(fn, allocates_itself)
        return fn

    return register


def view_lowering(*names: str, repeats_elements: bool = False) -> Callable[[ViewFn], ViewFn]:
    def register(fn: ViewFn) -> ViewFn:
        for n in names:
            VIEWS[OPS[n]] = ViewLowering(fn, repeats_elements)
        return fn

    return register


def lower_op(b: ProgramWriter, node: Node) -> None:
    try:
        fn = LOWERINGS[node.op].emit
    except KeyError:
        raise NotImplementedError(f"cpu backend: op {node.op.name!r} has no lowering") from None
    fn(b, node)


def allocates_itself(node: Node) -> bool:
    """Whether the lowering of ``node`` makes its own output array (see ``plan_memory``)."""
    low = LOWERINGS.get(node.op)
    return low is not None and low.allocates_itself is not None and low.allocates_itself(node)


def result_needs_copy(node: Node) -> bool:
    """A view repeating elements (a broadcast) is never handed out as a result."""
    view = VIEWS.get(node.op)
    return view is not None and view.repeats_elements


def transpose_expr(a: str, perm: list[int]) -> str:
    if perm == list(range(len(perm))):
        return a
    if perm == [1, 0]:
        return f"{a}.T"
    return f"kops.permute({a}, {int_tuple([str(p) for p in perm])})"


def _slice_text(s: tuple) -> str:
    start, stop, step = ("" if v is None else str(v) for v in s)
    return f"{start}:{stop}" + ("" if step == "1" else f":{step}")


# ------------------------------------------------------------------------------------------------
# views: no copy (a reshape copies only a non-contiguous input)


def lower_view(b: ProgramWriter, node: Node) -> None:
    """A view op as a view of its input."""
    x = node.inputs[0]
    a = b.array(x)
    try:
        view = VIEWS[node.op]
    except KeyError:
        raise NotImplementedError(f"cpu backend: no view for {node.op.name!r}") from None
    expr = view.expr(b, node, a)
    if node.ndim == 0 or (x.ndim == 0 and node.op in _INDEXING_VIEWS):
        # numba's indexing down to no dims gives a scalar: keep a 0-d array
        expr = f"kops.reshape({a}, {int_tuple(b.dims(node))})"
    b.add_view(node, expr)


@view_lowering("transpose")
def _transpose(b: ProgramWriter, node: Node, a: str) -> str:
    return transpose_expr(a, list(node.attrs["axes"]))


@view_lowering("expand_dims")
def _expand_dims(b: ProgramWriter, node: Node, a: str) -> str:
    axes = node.attrs["axes"]
    return f"{a}[{', '.join('None' if i in axes else ':' for i in range(node.ndim))}]"


@view_lowering("squeeze")
def _squeeze(b: ProgramWriter, node: Node, a: str) -> str:
    axes = node.attrs["axes"]
    return f"{a}[{index_expr(['0' if i in axes else ':' for i in range(node.inputs[0].ndim)])}]"


@view_lowering("reshape", "reshape_like")
def _reshape(b: ProgramWriter, node: Node, a: str) -> str:
    return f"kops.reshape({a}, {int_tuple(b.dims(node))})"


@view_lowering("broadcast_to", "broadcast_like", repeats_elements=True)
def _broadcast(b: ProgramWriter, node: Node, a: str) -> str:
    return f"kops.broadcast_to({a}, {int_tuple(b.dims(node))})"


@view_lowering("slice_axes")
def _slice_axes(b: ProgramWriter, node: Node, a: str) -> str:
    return f"{a}[{index_expr([_slice_text(s) for s in node.attrs['slices']])}]"


@view_lowering("concatenate_part")
def _concatenate_part(b: ProgramWriter, node: Node, a: str) -> str:
    axis, index = node.attrs["axis"], node.attrs["index"]
    start = " + ".join(b.dims(p)[axis] for p in node.inputs[1 : 1 + index]) or "0"
    stop = f"{start} + {b.dims(node.inputs[1 + index])[axis]}"
    idx = [f"{start}:{stop}" if i == axis else ":" for i in range(node.ndim)]
    return f"{a}[{index_expr(idx)}]"


# views written as indexing, which numba turns into a scalar on a 0-d input
_INDEXING_VIEWS = frozenset([OPS["expand_dims"], OPS["slice_axes"]])


# ------------------------------------------------------------------------------------------------
# linalg


def lower_product_update(b: ProgramWriter, node: Node, fold: Fold) -> None:
    """``node`` = ``w -/+ s * (x @ y)`` stored into ``w`` by one BLAS gemm accumulating into it
    (``codegen.updates``): the product is never stored, ``w`` is not read again."""
    out = b.output_buffer(node)
    x, y = fold.product.inputs
    b.body.comment(f"{b.label(fold.product)} matmul computed by the store: BLAS gemm, beta = 1")
    scale = f"{TYPE_NAMES[node.dtype]}(1.0)"
    if fold.scale is not None:
        scale = b.scalar_literal(fold.scale) or f"{b.array(fold.scale)}[()]"
    alpha = f"-{scale}" if fold.negate else scale
    b.body.line(f"kops.matmul_update({b.array(x)}, {b.array(y)}, {out}, {alpha})")


@lowering("matmul")
def _matmul(b: ProgramWriter, node: Node) -> None:
    x, y = node.inputs
    out = b.output_buffer(node)
    ax, ay = b.array(x), b.array(y)
    if x.ndim == 1 and y.ndim == 1:
        if node.dtype in ("float32", "float64"):
            b.body.line(f"{out}[()] = np.dot({ax}, {ay})")
        else:
            b.body.line(f"{out}[()] = np.sum({ax} * {ay})")
        return
    # promote 1-D operands to matrices, and give the output their dims back
    # (a reshape keeps a contiguous layout for BLAS; [None, :] would make a strided view)
    xm = f"kops.reshape({ax}, (1, {b.dims(x)[0]}))" if x.ndim == 1 else ax
    ym = f"kops.reshape({ay}, ({b.dims(y)[0]}, 1))" if y.ndim == 1 else ay
    rows = "1" if x.ndim == 1 else b.dims(x)[-2]
    cols = "1" if y.ndim == 1 else b.dims(y)[-1]
    batch = b.dims(node)[: node.ndim - (x.ndim >= 2) - (y.ndim >= 2)]
    om = (
        f"{out}.reshape({int_tuple([*batch, rows, cols])})" if (x.ndim == 1 or y.ndim == 1) else out
    )
    fn = "kops.matmul_blas" if node.dtype in ("float32", "float64") else "kops.matmul_loops"
    if not batch:
        b.body.line(f"{fn}({xm}, {ym}, {om})")
        return
    # batched: one BLAS call per batch index (broadcast batch dims read index 0)
    name = f"k{b.kernel_index(node)}_batched_matmul"
    r = len(batch)
    xb = x.shape[:-2] if x.ndim >= 2 else ()
    yb = y.shape[:-2] if y.ndim >= 2 else ()

    def operand(v: str, vb: tuple) -> str:
        lead = r - len(vb)
        idx = [
            "0" if vb[k] == 1 and node.shape[lead + k] != 1 else f"i{lead + k}"
            for k in range(len(vb))
        ]
        return f"{v}[{', '.join(idx)}]" if idx else v

    w = SourceWriter()
    w.line("@njit(**KERNEL)")
    params = [f"n{k}" for k in range(r)]
    with w.block(f"def {name}({', '.join(params)}, a, b, out):"):
        w.line('"""batched matrix product: one BLAS (or loop) call per batch index"""')
        out_index = ", ".join(f"i{k}" for k in range(r))
        inner = [f"{fn}({operand('a', xb)}, {operand('b', yb)}, out[{out_index}])"]
        loop_nest(w, r, inner, False)
    b.add_kernel(w)
    b.body.line(f"{name}({', '.join(batch)}, {xm}, {ym}, {om})")


@lowering("einsum")
def _einsum(b: ProgramWriter, node: Node) -> None:
    rhs, letters, sizes, indices = einsum.plan(node, b.dims)
    loop = {c: k for k, c in enumerate(letters)}
    out = b.output_buffer(node)
    prod_terms = [f"a{k}[{index_expr(idx)}]" for k, idx in enumerate(indices)]
    acc_init = render_literal(0, node.dtype)
    o = f"out[{index_expr([f'i{loop[c]}' for c in rhs])}]"
    name = f"k{b.kernel_index(node)}_einsum"
    w = SourceWriter()
    w.line("@njit(**KERNEL)")
    params = [f"n{k}" for k in range(len(letters))] + [f"a{k}" for k in range(len(indices))]
    with w.block(f"def {name}({', '.join(params)}, out):"):
        w.line(f'"""einsum {node.attrs["subscripts"]}: output indices outside, summed inside"""')
        loop_nest(
            w,
            len(letters),
            [f"acc += {' * '.join(prod_terms)}"],
            False,
            prologue={len(rhs): [f"acc = {acc_init}"]},
            epilogue={len(rhs): [f"{o} = acc"]},
        )
    b.add_kernel(w)
    args = [sizes[c] for c in letters] + [b.array(x) for x in node.inputs] + [out]
    b.body.line(f"{name}({', '.join(args)})")


# ------------------------------------------------------------------------------------------------
# gathers and scatter-adds


def _gather_kernel(b: ProgramWriter, node: Node, kind: str) -> str:
    """Source name of a generated gather/scatter kernel for ``node`` (take, add_at, along)."""
    x = node.inputs[0]
    idx = node.inputs[1]
    axis = node.attrs["axis"]
    name = f"k{b.kernel_index(node)}_{node.op.name}"
    w = SourceWriter()
    w.line("@njit(**KERNEL)")
    if kind == "take":  # loops over the take shape: x[:axis] + idx + x[axis+1:]
        m = idx.ndim
        rank = x.ndim - 1 + m
        xi = (
            [f"i{k}" for k in range(axis)]
            + ["j"]
            + [f"i{k + m - 1}" for k in range(axis + 1, x.ndim)]
        )
        ii = [f"i{axis + k}" for k in range(m)]
        space = [f"i{k}" for k in range(rank)]
    else:  # along: loops over x's shape with the axis taken from idx
        rank = x.ndim
        xi = ["j" if k == axis else f"i{k}" for k in range(rank)]
        ii = ["0" if (idx.shape[k] == 1 and k != axis) else f"i{k}" for k in range(rank)]
        space = [f"i{k}" for k in range(rank)]
    check = [
        f"j = idx[{index_expr(ii)}]",
        "if j < 0:",
        "    j += nx",
        "if j < 0 or j >= nx:",
        f"    raise IndexOutOfBoundsError({node.op.name!r}, idx[{index_expr(ii)}], {axis}, nx)",
    ]
    scatter = node.op.name in ("add_at", "add_along_axis")
    if scatter:
        v = node.inputs[2]
        lead = rank - v.ndim
        vi = ["0" if v.shape[k] == 1 else f"i{lead + k}" for k in range(v.ndim)]
        inner = [*check, f"out[{index_expr(xi)}] += v[{index_expr(vi)}]"]
        params = [f"n{k}" for k in range(rank)] + ["nx", "idx", "v", "out"]
    else:
        inner = [*check, f"out[{index_expr(space)}] = x[{index_expr(xi)}]"]
        params = [f"n{k}" for k in range(rank)] + ["nx", "x", "idx", "out"]
    with w.block(f"def {name}({', '.join(params)}):"):
        w.line(f'"""{node.op.name} along axis {axis} (negative indices count from the end)"""')
        loop_nest(w, rank, inner, False)
    b.add_kernel(w)
    return name


@lowering("take", "take_along_axis")
def _take(b: ProgramWriter, node: Node) -> None:
    x, idx = node.inputs
    axis = node.attrs["axis"]
    name = _gather_kernel(b, node, "take" if node.op.name == "take" else "along")
    out = b.output_buffer(node)
    nx = b.dims(x)[axis]
    b.body.line(f"{name}({', '.join([*b.dims(node), nx, b.array(x), b.array(idx), out])})")


@lowering("add_at", "add_along_axis")
def _scatter(b: ProgramWriter, node: Node) -> None:
    x, idx, v = node.inputs
    axis = node.attrs["axis"]
    name = _gather_kernel(b, node, "take" if node.op.name == "add_at" else "along")
    out = b.output_buffer(node)
    b.body.line(f"kops.assign({out}, {b.array(x)})")
    if node.op.name == "add_at":
        space = b.dims(x)[:axis] + b.dims(idx) + b.dims(x)[axis + 1 :]
    else:
        space = [b.dims(idx)[k] if k == axis else d for k, d in enumerate(b.dims(x))]
    nx = b.dims(x)[axis]
    b.body.line(f"{name}({', '.join([*space, nx, b.array(idx), b.array(v), out])})")


# ------------------------------------------------------------------------------------------------
# concatenation, padding, slice gradients, fills


@lowering("concatenate")
def _concatenate(b: ProgramWriter, node: Node) -> None:
    axis = node.attrs["axis"]
    out = b.output_buffer(node)
    start = "0"
    for x in node.inputs:
        stop = f"{start} + {b.dims(x)[axis]}" if start != "0" else b.dims(x)[axis]
        idx = [f"{start}:{stop}" if i == axis else ":" for i in range(node.ndim)]
        b.body.line(f"kops.assign({out}[{index_expr(idx)}], {b.array(x)})")
        start = stop


@lowering("pad")
def _pad(b: ProgramWriter, node: Node) -> None:
    x = node.inputs[0]
    out = b.output_buffer(node)
    b.body.line(f"kops.fill({out}, {render_literal(node.attrs['constant_value'], node.dtype)})")
    idx = [f"{lo}:{lo} + {d}" for (lo, _), d in zip(node.attrs["pad_width"], b.dims(x))]
    b.body.line(f"kops.assign({out}[{index_expr(idx)}], {b.array(x)})")


@lowering("slice_axes_grad")
def _slice_grad(b: ProgramWriter, node: Node) -> None:
    g = node.inputs[0]
    out = b.output_buffer(node)
    b.body.line(f"kops.fill({out}, {render_literal(0, node.dtype)})")
    idx = [_slice_text(s) for s in node.attrs["slices"]]
    b.body.line(f"kops.assign({out}[{index_expr(idx)}], {b.array(g)})")


@lowering("size_of")
def _size_of(b: ProgramWriter, node: Node) -> None:
    x = node.inputs[0]
    out = b.output_buffer(node)
    n = product([b.dims(x)[a] for a in node.attrs["axes"]])
    b.body.line(f"{out}[()] = {TYPE_NAMES[node.dtype]}({n})")


# ------------------------------------------------------------------------------------------------
# row kernels: softmax, log_softmax, logsumexp, argmax, argmin


def _rows(b: ProgramWriter, x: Node, axes: tuple[int, ...]) -> tuple[str, list[int], str, str]:
    """``x`` as a C-contiguous 2-D (kept, reduced) array: its name, the permutation, and the
    number of rows and columns."""
    kept = [i for i in range(x.ndim) if i not in axes]
    perm = kept + list(axes)
    a = b.array(x)
    moved = a if perm == list(range(x.ndim)) else transpose_expr(a, perm)
    nrows = product([b.dims(x)[i] for i in kept])
    ncols = product([b.dims(x)[i] for i in axes])
    name = b.fresh("r")
    b.body.line(f"{name} = kops.reshape({moved}, ({nrows}, {ncols}))")
    return name, perm, nrows, ncols


def _softmax_moves_axes(node: Node) -> bool:
    """Whether the softmax axes are not the trailing ones: the rows are computed in a layout
    with them moved last, into an array of their own, and the result is a transposed view."""
    axes = list(node.attrs["axes"])
    return axes != list(range(node.ndim - len(axes), node.ndim))


@lowering("softmax", "log_softmax", allocates_itself=_softmax_moves_axes)
def _softmax(b: ProgramWriter, node: Node) -> None:
    x = node.inputs[0]
    rows, perm, nr, nc = _rows(b, x, node.attrs["axes"])
    fn = "softmax_rows" if node.op.name == "softmax" else "log_softmax_rows"
    if not _softmax_moves_axes(node):
        out = b.output_buffer(node)
        b.body.line(f"kops.{fn}({rows}, {out}.reshape(({nr}, {nc})))")
        return
    tmp = b.fresh("r")
    moved = [b.dims(x)[p] for p in perm]
    b.body.line(f"{tmp} = kops.empty({int_tuple(moved)}, {TYPE_NAMES[node.dtype]})")
    b.body.line(f"kops.{fn}({rows}, {tmp}.reshape(({nr}, {nc})))")
    inverse = [perm.index(i) for i in range(x.ndim)]
    b.add_view(node, transpose_expr(tmp, inverse))


@lowering("logsumexp")
def _logsumexp(b: ProgramWriter, node: Node) -> None:
    x = node.inputs[0]
    rows, _, nr, _ = _rows(b, x, node.attrs["axes"])
    out = b.output_buffer(node)
    b.body.line(f"kops.logsumexp_rows({rows}, {out}.reshape(({nr},)))")


@lowering("argmax", "argmin")
def _argmax(b: ProgramWriter, node: Node) -> None:
    x = node.inputs[0]
    axis = node.attrs["axis"]
    axes = tuple(range(x.ndim)) if axis is None else (axis,)
    rows, _, nr, _ = _rows(b, x, axes)
    out = b.output_buffer(node)
    is_max = "True" if node.op.name == "argmax" else "False"
    b.body.line(f"kops.argmax_rows({rows}, {out}.reshape(({nr},)), {is_max})")


# ------------------------------------------------------------------------------------------------
# diagonals: a gather of one diagonal (diagonal), and its transpose writing into zeros


def _diagonal_kernel(b: ProgramWriter, node: Node, diag: Node, x: Node) -> str:
    """A kernel over the diagonal ``diag``'s index space (its last axis is the diagonal) that
    copies between it and ``x``: out of ``x`` for diagonal, into ``out`` for diagonal_grad."""
    a1, a2, k = node.attrs["axis1"], node.attrs["axis2"], node.attrs["offset"]
    rank = diag.ndim
    lead = iter(range(rank - 1))
    xi = []
    for i in range(x.ndim):
        if i == a1:
            xi.append(f"i{rank - 1} + {max(-k, 0)}" if k < 0 else f"i{rank - 1}")
        elif i == a2:
            xi.append(f"i{rank - 1} + {k}" if k > 0 else f"i{rank - 1}")
        else:
            xi.append(f"i{next(lead)}")
    di = index_expr([f"i{i}" for i in range(rank)])
    gather = node.op.name == "diagonal"
    inner = [f"out[{di}] = x[{index_expr(xi)}]" if gather else f"out[{index_expr(xi)}] = g[{di}]"]
    name = f"k{b.kernel_index(node)}_{node.op.name}"
    w = SourceWriter()
    w.line("@njit(**KERNEL)")
    params = [f"n{i}" for i in range(rank)] + (["x", "out"] if gather else ["g", "out"])
    with w.block(f"def {name}({', '.join(params)}):"):
        w.line(f'"""{node.op.name} of axes {a1} and {a2}, offset {k}"""')
        loop_nest(w, rank, inner, False)
    b.add_kernel(w)
    return name


@lowering("diagonal")
def _diagonal(b: ProgramWriter, node: Node) -> None:
    x = node.inputs[0]
    name = _diagonal_kernel(b, node, node, x)
    out = b.output_buffer(node)
    b.body.line(f"{name}({', '.join([*b.dims(node), b.array(x), out])})")


@lowering("diagonal_grad")
def _diagonal_grad(b: ProgramWriter, node: Node) -> None:
    g = node.inputs[0]
    name = _diagonal_kernel(b, node, g, node)
    out = b.output_buffer(node)
    b.body.line(f"kops.fill({out}, {render_literal(0, node.dtype)})")
    b.body.line(f"{name}({', '.join([*b.dims(g), b.array(g), out])})")
