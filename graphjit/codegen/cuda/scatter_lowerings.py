"""Diagonals, scatter-adds and einsum for the CUDA backend.

diagonal and diagonal_grad are copies by index arithmetic. add_at and add_along_axis give each
position of the axes they do not scatter along to one thread, which walks the indices in order
and adds into its own column of the output: no atomics, so the sums are in the CPU backend's
order and a run gives the same bits every time (the parallelism is the size of those other axes).
An index out of range raises the error flag, checked on the host after the kernel (IndexError).
einsum is one thread per output element summing over the contracted letters.
"""

from __future__ import annotations

from graphjit.codegen import einsum
from graphjit.codegen.cuda.lowerings import index_copy, lowering, out_of_bounds
from graphjit.codegen.cuda.writer import CudaWriter, decompose
from graphjit.codegen.emit import SourceWriter
from graphjit.codegen.emit import literal as render_literal
from graphjit.codegen.symdims import product
from graphjit.ir import Node


def _diagonal_index(node: Node, rank: int, x: Node) -> list[str]:
    """x's index of element ``(i0, ..., i{rank-1})`` of the diagonal (its last axis)."""
    a1, a2, k = node.attrs["axis1"], node.attrs["axis2"], node.attrs["offset"]
    lead = iter(range(rank - 1))
    xi = []
    for i in range(x.ndim):
        if i == a1:
            xi.append(f"i{rank - 1} + {-k}" if k < 0 else f"i{rank - 1}")
        elif i == a2:
            xi.append(f"i{rank - 1} + {k}" if k > 0 else f"i{rank - 1}")
        else:
            xi.append(f"i{next(lead)}")
    return xi


@lowering("diagonal")
def _diagonal(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    out = b.output_buffer(node)
    src = _diagonal_index(node, node.ndim, x)
    index_copy(b, node, b.dims(node), b.array(x), src, out, None)


@lowering("diagonal_grad")
def _diagonal_grad(b: CudaWriter, node: Node) -> None:
    g = node.inputs[0]
    out = b.output_buffer(node)
    b.body.line(f"kmem.fill({out}, {render_literal(0, node.dtype)})")
    dst = _diagonal_index(node, g.ndim, node)
    index_copy(b, node, b.dims(g), b.array(g), [f"i{k}" for k in range(g.ndim)], out, dst)


@lowering("add_at", "add_along_axis")
def _scatter_add(b: CudaWriter, node: Node) -> None:
    x, idx, v = node.inputs
    axis = node.attrs["axis"]
    if node.op.name == "add_at":  # the space of the updates: x[:axis] + idx + x[axis+1:]
        m = idx.ndim
        space = b.dims(x)[:axis] + b.dims(idx) + b.dims(x)[axis + 1 :]
        xi = [f"i{k}" for k in range(axis)] + ["j"]
        xi += [f"i{k + m - 1}" for k in range(axis + 1, x.ndim)]
        ii = [f"i{axis + k}" for k in range(m)]
    else:  # x's shape with the axis taken from idx
        m = 1
        space = [b.dims(idx)[k] if k == axis else d for k, d in enumerate(b.dims(x))]
        xi = ["j" if k == axis else f"i{k}" for k in range(x.ndim)]
        ii = ["0" if (idx.shape[k] == 1 and k != axis) else f"i{k}" for k in range(x.ndim)]
    rank = len(space)
    lead = rank - v.ndim
    vi = ["0" if v.shape[k] == 1 else f"i{lead + k}" for k in range(v.ndim)]
    scattered = list(range(axis, axis + m))
    others = [k for k in range(rank) if k not in scattered]
    sizes = [f"n{k}" for k in range(rank)]

    body = SourceWriter()
    with body.block("for t in range(cuda.grid(1), nother, cuda.gridsize(1)):"):
        for text in decompose("t", [sizes[k] for k in others], [f"i{k}" for k in others]):
            body.line(text)
        with body.block("for q in range(nidx):  # the indices, in order"):
            for text in decompose("q", [sizes[k] for k in scattered], [f"i{k}" for k in scattered]):
                body.line(text)
            for text in [
                f"j = ix[{', '.join(ii) or '0'}]",
                "if j < 0:",
                "    j += nx",
                "if j < 0 or j >= nx:",
                "    flag[0] = 1",
                "    continue",
                f"out[{', '.join(xi)}] += v[{', '.join(vi) or '0'}]",
            ]:
                body.line(text)
    name = f"k{b.kernel_index(node)}_{node.op.name}"
    params = ["nother", "nidx", *sizes, "nx", "ix", "v", "out", "flag"]
    doc = (
        f"{b.label(node)} {node.op.name} along axis {axis}: a thread per position of the other "
        "axes adds its updates in order (negative indices count from the end)"
    )
    b.add_kernel(name, params, doc, body)

    out = b.output_buffer(node)
    b.body.line(f"kmem.copy_into({b.array(x)}, {out})")
    flag = b.scratch(["1"], "int32", "flag")
    b.body.line(f"kmem.fill({flag}, 0)")
    nother, nidx = b.fresh("nother"), b.fresh("nidx")
    b.body.line(f"{nother} = {product([space[k] for k in others])}")
    b.body.line(f"{nidx} = {product([space[k] for k in scattered])}")
    ix = b.array(idx) if ii else f"launch.Flat({b.array(idx)})"
    va = b.array(v) if vi else f"launch.Flat({b.array(v)})"
    args = [nother, nidx, *space, b.dims(x)[axis], ix, va, out, flag]
    with b.body.block(f"if {nidx} > 0:"):
        b.launch(name, nother, args)
    b.body.line(f"kmem.check_flag({flag}, {out_of_bounds(node, axis, b.dims(x)[axis])})")


@lowering("einsum")
def _einsum(b: CudaWriter, node: Node) -> None:
    rhs, letters, sizes, indices = einsum.plan(node, b.dims)
    factors = [f"a{k}[{', '.join(idx) or '0'}]" for k, idx in enumerate(indices)]
    names = [f"n{k}" for k in range(len(letters))]
    nout = len(rhs)
    body = SourceWriter()
    with body.block("for t in range(cuda.grid(1), total, cuda.gridsize(1)):"):
        for text in decompose("t", names[:nout], [f"i{k}" for k in range(nout)]):
            body.line(text)
        body.line(f"acc = {render_literal(0, node.dtype)}")
        with body.block("for q in range(nsum):  # the contracted letters"):
            summed = range(nout, len(letters))
            for text in decompose("q", names[nout:], [f"i{k}" for k in summed]):
                body.line(text)
            body.line(f"acc += {' * '.join(factors)}")
        body.line("out[t] = acc")
    name = f"k{b.kernel_index(node)}_einsum"
    params = ["total", "nsum", *names, *(f"a{k}" for k in range(len(indices))), "out"]
    doc = f"{b.label(node)} einsum {node.attrs['subscripts']}: a thread per output element"
    b.add_kernel(name, params, doc, body)
    out = b.output_buffer(node)
    total, nsum = b.fresh("size"), b.fresh("nsum")
    b.body.line(f"{total} = {product([sizes[c] for c in rhs])}")
    b.body.line(f"{nsum} = {product([sizes[c] for c in letters[nout:]])}")
    operands = [b.array(x) if x.ndim else f"launch.Flat({b.array(x)})" for x in node.inputs]
    args = [total, nsum, *(sizes[c] for c in letters), *operands, f"launch.Flat({out})"]
    b.launch(name, total, args)
