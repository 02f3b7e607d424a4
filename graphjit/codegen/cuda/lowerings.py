"""Lowerings of the ops that are not fused loop nests, for the CUDA backend: views and joins as
index arithmetic in copy kernels, matmul (cuBLAS or the tiled kernel), gathers with run-time
bounds checks, padding, slice gradients, direct convolution kernels.

A view op becomes a copy into an array of its own (reshape excepted: every array of a CUDA
program is C-contiguous, so a reshape is a free view). The memory plan treats a view as sharing
its base's buffer; a copy only keeps that buffer alive longer than needed, which is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graphjit.codegen.cuda.writer import CudaWriter, decompose
from graphjit.codegen.emit import SourceWriter, int_tuple
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.symdims import product
from graphjit.ir import Node
from graphjit.ops import OPS, OpDef
from graphjit.ops.convolution import as_5d, attrs_3d

LowerFn = Callable[[CudaWriter, Node], None]
LOWERINGS: dict[OpDef, LowerFn] = {}
VIEWS: dict[OpDef, LowerFn] = {}


def lowering(*names: str, view: bool = False) -> Callable[[LowerFn], LowerFn]:
    def register(fn: LowerFn) -> LowerFn:
        for n in names:
            (VIEWS if view else LOWERINGS)[OPS[n]] = fn
        return fn

    return register


def lower_op(b: CudaWriter, node: Node) -> None:
    table = VIEWS if node.op.fusion == "view" else LOWERINGS
    fn = table.get(node.op)
    if fn is None:
        raise NotImplementedError(
            f"cuda backend: op {node.op.name!r} has no CUDA lowering yet (compile with "
            "backend='cpu' instead; see the README's CUDA section for the list)"
        )
    fn(b, node)


def allocates_itself(node: Node) -> bool:
    return False


def index_copy(
    b: CudaWriter,
    node: Node,
    space: Sequence[str],
    src: str,
    src_index: Sequence[str] | None,
    out: str,
    out_index: Sequence[str] | None = None,
    extra: Sequence[tuple[str, str]] = (),
    check: Sequence[str] = (),
) -> None:
    """A grid-stride kernel over ``space`` (dims) doing ``out[out_index] = src[src_index]``
    (indices are expressions of ``i0, i1, ...`` and the ``extra`` parameters; None: the flat
    index ``t`` of the space, which needs the array C-contiguous of the space's shape)."""
    rank = len(space)
    name = f"k{b.kernel_index(node)}_{node.op.name}_{b.fresh('')}"
    sizes = [f"n{k}" for k in range(rank)]
    body = SourceWriter()
    with body.block("for t in range(cuda.grid(1), total, cuda.gridsize(1)):"):
        for text in decompose("t", sizes, [f"i{k}" for k in range(rank)]):
            body.line(text)
        for text in check:
            body.line(text)
        s = "src[t]" if src_index is None else f"src[{', '.join(src_index) or '0'}]"
        o = "out[t]" if out_index is None else f"out[{', '.join(out_index) or '0'}]"
        body.line(f"{o} = {s}")
    params = ["total", *sizes, *(p for p, _ in extra), "src", "out"]
    doc = f"{b.label(node)} {node.op.name}: a copy by index arithmetic"
    b.add_kernel(name, params, doc, body)
    total = b.fresh("size")
    b.body.line(f"{total} = {product(list(space))}")
    src_arg = f"launch.Flat({src})" if (src_index is None or not src_index) else src
    out_arg = f"launch.Flat({out})" if (out_index is None or not out_index) else out
    b.launch(name, total, [total, *space, *(v for _, v in extra), src_arg, out_arg])


def _view_copy(
    b: CudaWriter, node: Node, src_index: list[str], extra: Sequence[tuple[str, str]] = ()
) -> None:
    x = node.inputs[0]
    src = b.array(x)
    out = b.new_array(node)
    index = src_index if x.ndim else []
    index_copy(b, node, b.dims(node), src, index, out, None, extra)


@lowering("transpose", view=True)
def _transpose(b: CudaWriter, node: Node) -> None:
    perm = list(node.attrs["axes"])
    src = [""] * len(perm)
    for j, p in enumerate(perm):
        src[p] = f"i{j}"
    _view_copy(b, node, src)


@lowering("expand_dims", view=True)
def _expand_dims(b: CudaWriter, node: Node) -> None:
    axes = set(node.attrs["axes"])
    _view_copy(b, node, [f"i{j}" for j in range(node.ndim) if j not in axes])


@lowering("squeeze", view=True)
def _squeeze(b: CudaWriter, node: Node) -> None:
    axes = set(node.attrs["axes"])
    src, j = [], 0
    for k in range(node.inputs[0].ndim):
        if k in axes:
            src.append("0")
        else:
            src.append(f"i{j}")
            j += 1
    _view_copy(b, node, src)


@lowering("broadcast_to", "broadcast_like", view=True)
def _broadcast(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    lead = node.ndim - x.ndim
    src = [
        "0" if (x.shape[k] == 1 and node.shape[lead + k] != 1) else f"i{lead + k}"
        for k in range(x.ndim)
    ]
    _view_copy(b, node, src)


@lowering("reshape", "reshape_like", view=True)
def _reshape(b: CudaWriter, node: Node) -> None:
    a = b.array(node.inputs[0])
    name = f"v{len(b.arrays)}"
    b.arrays[node] = name
    b.body.line(f"{name} = {a}.reshape({int_tuple(b.dims(node))})  # contiguous: a view")


@lowering("slice_axes", view=True)
def _slice_axes(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    src, extra = [], []
    for k, (start, stop, step) in enumerate(node.attrs["slices"]):
        first = b.fresh("st")
        b.body.line(f"{first} = kmem.slice_start({b.dims(x)[k]}, {start}, {stop}, {step})")
        extra.append((f"s{k}", first))
        src.append(f"s{k} + {step} * i{k}" if step != 1 else f"s{k} + i{k}")
    _view_copy(b, node, src, extra)


@lowering("concatenate_part", view=True)
def _concatenate_part(b: CudaWriter, node: Node) -> None:
    axis, index = node.attrs["axis"], node.attrs["index"]
    start = " + ".join(b.dims(p)[axis] for p in node.inputs[1 : 1 + index]) or "0"
    src = [f"s0 + i{k}" if k == axis else f"i{k}" for k in range(node.ndim)]
    _view_copy(b, node, src, [("s0", start)])


@lowering("concatenate")
def _concatenate(b: CudaWriter, node: Node) -> None:
    axis = node.attrs["axis"]
    out = b.output_buffer(node)
    start = "0"
    for x in node.inputs:
        dst = [f"s0 + i{k}" if k == axis else f"i{k}" for k in range(node.ndim)]
        src = [f"i{k}" for k in range(node.ndim)]
        index_copy(b, node, b.dims(x), b.array(x), src, out, dst, [("s0", start)])
        start = b.dims(x)[axis] if start == "0" else f"{start} + {b.dims(x)[axis]}"


@lowering("pad")
def _pad(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    out = b.output_buffer(node)
    b.body.line(f"kmem.fill({out}, {render_literal(node.attrs['constant_value'], node.dtype)})")
    dst = [f"{lo} + i{k}" for k, (lo, _) in enumerate(node.attrs["pad_width"])]
    src = [f"i{k}" for k in range(x.ndim)]
    index_copy(b, node, b.dims(x), b.array(x), src, out, dst)


@lowering("slice_axes_grad")
def _slice_grad(b: CudaWriter, node: Node) -> None:
    g = node.inputs[0]
    out = b.output_buffer(node)
    b.body.line(f"kmem.fill({out}, {render_literal(0, node.dtype)})")
    dst, extra = [], []
    for k, (start, stop, step) in enumerate(node.attrs["slices"]):
        first = b.fresh("st")
        b.body.line(f"{first} = kmem.slice_start({b.dims(node)[k]}, {start}, {stop}, {step})")
        extra.append((f"s{k}", first))
        dst.append(f"s{k} + {step} * i{k}")
    src = [f"i{k}" for k in range(g.ndim)]
    index_copy(b, node, b.dims(g), b.array(g), src, out, dst, extra)


@lowering("size_of")
def _size_of(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    out = b.output_buffer(node)
    n = product([b.dims(x)[a] for a in node.attrs["axes"]])
    b.body.line(f"kmem.fill({out}, {n})")


# ------------------------------------------------------------------------------------------------
# linalg


@lowering("matmul")
def _matmul(b: CudaWriter, node: Node) -> None:
    x, y = node.inputs
    out = b.output_buffer(node)
    ax, ay = b.array(x), b.array(y)
    xm = f"{ax}.reshape((1, {b.dims(x)[0]}))" if x.ndim == 1 else ax
    ym = f"{ay}.reshape(({b.dims(y)[0]}, 1))" if y.ndim == 1 else ay
    rows = "1" if x.ndim == 1 else b.dims(x)[-2]
    cols = "1" if y.ndim == 1 else b.dims(y)[-1]
    batch = b.dims(node)[: node.ndim - (x.ndim >= 2) - (y.ndim >= 2)]
    om = f"{out}.reshape({int_tuple([*batch, rows, cols])})"
    b.body.line(f"kmm.matmul({xm}, {ym}, {om}, kmm.use_cublas())")


# ------------------------------------------------------------------------------------------------
# gathers: an index out of range raises the error flag, which the host checks after the kernel


def out_of_bounds(node: Node, axis: int, size: str) -> str:
    """The host expression of the IndexError message of a gather or scatter-add (the flag says
    that an index was out of bounds, not which)."""
    prefix = f"{node.op.name}: an index is out of bounds for axis {axis} with size "
    return f"{prefix!r} + str({size})"


def _bounds_check(node: Node, index_read: str) -> list[str]:
    return [
        f"j = {index_read}",
        "if j < 0:",
        "    j += nx",
        "if j < 0 or j >= nx:",
        "    flag[0] = 1",
        "    continue",
    ]


@lowering("take", "take_along_axis")
def _take(b: CudaWriter, node: Node) -> None:
    x, idx = node.inputs
    axis = node.attrs["axis"]
    out = b.output_buffer(node)
    if node.op.name == "take":
        m = idx.ndim
        src = [f"i{k}" for k in range(axis)] + ["j"]
        src += [f"i{k + m - 1}" for k in range(axis + 1, x.ndim)]
        ii = [f"i{axis + k}" for k in range(m)]
    else:
        src = ["j" if k == axis else f"i{k}" for k in range(x.ndim)]
        ii = ["0" if (idx.shape[k] == 1 and k != axis) else f"i{k}" for k in range(x.ndim)]
    flag = b.scratch(["1"], "int32", "flag")
    b.body.line(f"kmem.fill({flag}, 0)")
    index_arr = b.array(idx)
    read = f"ix[{', '.join(ii)}]" if ii else "ix[0]"
    ix_arg = index_arr if ii else f"launch.Flat({index_arr})"
    extra = [("nx", b.dims(x)[axis]), ("ix", ix_arg), ("flag", flag)]
    index_copy(b, node, b.dims(node), b.array(x), src, out, None, extra, _bounds_check(node, read))
    b.body.line(f"kmem.check_flag({flag}, {out_of_bounds(node, axis, b.dims(x)[axis])})")


# ------------------------------------------------------------------------------------------------
# convolutions: direct kernels on 5-D arrays (1-d and 2-d get leading spatial dims of size 1)


@lowering("conv", "conv_input_grad", "conv_weight_grad")
def _conv(b: CudaWriter, node: Node) -> None:
    def five_d(x: Node) -> str:
        return int_tuple([str(d) for d in as_5d(b.dims(x))])

    operands = [f"{b.array(x)}.reshape({five_d(x)})" for x in node.inputs]
    out = b.output_buffer(node)
    attrs = [*(str(t) for t in attrs_3d(node.attrs)), str(node.attrs["groups"])]
    fn = "conv_forward" if node.op.name == "conv" else node.op.name
    b.body.line(f"kconv.{fn}({', '.join([*operands, f'{out}.reshape({five_d(node)})', *attrs])})")
