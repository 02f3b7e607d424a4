"""Row kernels of the CUDA backend: softmax, log_softmax, logsumexp, argmax and argmin.

The reduced axes are moved last (a transposing copy when they are not already last), so the
input is a C-contiguous 2-D ``(rows, columns)`` array. One block handles one row at a time: its
threads stride over the columns in a fixed order and combine through a shared-memory tree, so a
run gives the same bits every time. As on the CPU, floats accumulate in float64 and the shift of
the exponentials is the row's maximum (NaN when the row has one, 0 when it is infinite); argmax
and argmin return the first index of the extremum, a NaN counting as the extremum (numpy's rule).
"""

from __future__ import annotations

from collections.abc import Sequence

from graphjit.codegen.cuda.lowerings import index_copy, lowering
from graphjit.codegen.cuda.writer import CudaWriter
from graphjit.codegen.emit import SourceWriter
from graphjit.codegen.symdims import product
from graphjit.ir import Node


def _tree(body: SourceWriter, combine: Sequence[str]) -> None:
    """Lines of a shared-memory tree over ``BLOCK`` threads; ``combine`` folds slot ``tid + s``
    into slot ``tid``."""
    body.line("cuda.syncthreads()")
    body.line("s = BLOCK // 2")
    with body.block("while s > 0:"):
        with body.block("if tid < s:"):
            for text in combine:
                body.line(text)
        body.line("cuda.syncthreads()")
        body.line("s = s // 2")


def rows_of(b: CudaWriter, node: Node, x: Node, axes: Sequence[int]) -> tuple[str, list[int]]:
    """``x`` with ``axes`` moved last, as a C-contiguous array (a transposing copy unless they
    are last already): its name and the permutation of x's axes it holds."""
    kept = [k for k in range(x.ndim) if k not in axes]
    perm = kept + sorted(axes)
    src = b.array(x)
    if perm == list(range(x.ndim)):
        return src, perm
    moved = b.scratch([b.dims(x)[p] for p in perm], x.dtype, "moved")
    index = [""] * x.ndim
    for k, p in enumerate(perm):
        index[p] = f"i{k}"
    index_copy(b, node, [b.dims(x)[p] for p in perm], src, index, moved, None)
    return moved, perm


def _row_sizes(b: CudaWriter, x: Node, axes: Sequence[int]) -> tuple[str, str]:
    kept = [k for k in range(x.ndim) if k not in axes]
    rows = product([b.dims(x)[k] for k in kept])
    cols = product([b.dims(x)[k] for k in axes])
    return rows, cols


def _launch_rows(b: CudaWriter, name: str, rows: str, args: Sequence[str]) -> None:
    nr = b.fresh("nrows")
    b.body.line(f"{nr} = {rows}")
    b.launch(name, nr, args, blocks=f"launch.reduce_blocks({nr})")


def _shift_lines(body: SourceWriter) -> None:
    """The row's max into ``m`` (NaN if it has one), then the shift (0 unless m is finite)."""
    body.line("m = -np.inf")
    with body.block("for j in range(tid, ncols, BLOCK):"):
        body.line("v = f64(x[r, j])")
        with body.block("if v > m or v != v:"):
            body.line("m = v")
    body.line("sh[tid] = m")
    _tree(body, ["c = sh[tid + s]", "if c > sh[tid] or c != c:", "    sh[tid] = c"])
    body.line("m = sh[0]")
    body.line("shift = m if (m == m and abs(m) < np.inf) else 0.0")
    body.line("cuda.syncthreads()")
    body.line("acc = 0.0")
    with body.block("for j in range(tid, ncols, BLOCK):"):
        body.line("acc += exp(f64(x[r, j]) - shift)")
    body.line("sh[tid] = acc")
    _tree(body, ["sh[tid] = sh[tid] + sh[tid + s]"])
    body.line("total = sh[0]")


def _row_kernel(b: CudaWriter, node: Node, what: str, finish: Sequence[str]) -> str:
    name = f"k{b.kernel_index(node)}_{node.op.name}"
    body = SourceWriter()
    body.line("sh = cuda.shared.array(BLOCK, f64)")
    body.line("tid = cuda.threadIdx.x")
    with body.block("for r in range(cuda.blockIdx.x, nrows, cuda.gridDim.x):"):
        _shift_lines(body)
        for text in finish:
            body.line(text)
        body.line("cuda.syncthreads()  # sh is reused by the block's next row")
    doc = f"{b.label(node)} {node.op.name}: {what}, one block per row (tree sums)"
    b.add_kernel(name, ["nrows", "ncols", "x", "out"], doc, body)
    return name


@lowering("softmax", "log_softmax")
def _softmax(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    axes = sorted(node.attrs["axes"])
    if node.op.name == "softmax":
        finish = [
            "inv = 1.0 / total if 0.0 < total < np.inf else np.nan  # +inf or only -inf: nan",
            "for j in range(tid, ncols, BLOCK):",
            "    out[r, j] = exp(f64(x[r, j]) - shift) * inv",
        ]
    else:
        finish = [
            "ls = log(total) if total < np.inf else np.nan  # the row holds +inf",
            "for j in range(tid, ncols, BLOCK):",
            "    out[r, j] = (f64(x[r, j]) - shift) - ls",
        ]
    name = _row_kernel(b, node, f"{node.op.name} of each row", finish)
    rows, perm = rows_of(b, node, x, axes)
    nr, nc = _row_sizes(b, x, axes)
    out = b.output_buffer(node)
    moved = perm != list(range(x.ndim))
    dst = b.scratch([b.dims(x)[p] for p in perm], node.dtype, "rows") if moved else out
    _launch_rows(
        b, name, nr, [nr, nc, f"{rows}.reshape(({nr}, {nc}))", f"{dst}.reshape(({nr}, {nc}))"]
    )
    if moved:  # back to x's layout
        index = [""] * x.ndim
        for k, p in enumerate(perm):
            index[p] = f"i{k}"
        index_copy(b, node, [b.dims(x)[p] for p in perm], dst, None, out, index)


@lowering("logsumexp")
def _logsumexp(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    axes = sorted(node.attrs["axes"])
    finish = ["if tid == 0:", "    out[r] = log(total) + shift"]
    name = _row_kernel(b, node, "log(sum(exp(row)))", finish)
    rows, _ = rows_of(b, node, x, axes)
    nr, nc = _row_sizes(b, x, axes)
    out = b.output_buffer(node)
    _launch_rows(b, name, nr, [nr, nc, f"{rows}.reshape(({nr}, {nc}))", f"launch.Flat({out})"])


@lowering("argmax", "argmin")
def _argmax(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    axis = node.attrs["axis"]
    axes = list(range(x.ndim)) if axis is None else [axis]
    better = ">" if node.op.name == "argmax" else "<"
    vt = "f64" if x.dtype in ("float32", "float64") else "i64"
    name = f"k{b.kernel_index(node)}_{node.op.name}"
    body = SourceWriter()
    body.line(f"shv = cuda.shared.array(BLOCK, {vt})")
    body.line("shi = cuda.shared.array(BLOCK, i64)")
    body.line("tid = cuda.threadIdx.x")
    with body.block("for r in range(cuda.blockIdx.x, nrows, cuda.gridDim.x):"):
        body.line(f"bv = {vt}(0)")
        body.line("bi = -1")
        with body.block("for j in range(tid, ncols, BLOCK):  # this thread's first extremum"):
            body.line(f"v = {vt}(x[r, j])")
            with body.block(f"if bi < 0 or (bv == bv and (v != v or v {better} bv)):"):
                body.line("bv = v")
                body.line("bi = j")
        body.line("shv[tid] = bv")
        body.line("shi[tid] = bi")
        # slot tid + s wins when it is a NaN and slot tid is not, or it is strictly better, or
        # it ties (both NaN, or equal) at a smaller index
        pick = (
            f"ci >= 0 and (ai < 0 or (av != av and cv != cv and ci < ai) or (av == av and "
            f"(cv != cv or cv {better} av or (cv == av and ci < ai))))"
        )
        combine = [
            "av = shv[tid]",
            "ai = shi[tid]",
            "cv = shv[tid + s]",
            "ci = shi[tid + s]",
            f"if {pick}:",
            "    shv[tid] = cv",
            "    shi[tid] = ci",
        ]
        _tree(body, combine)
        with body.block("if tid == 0:"):
            body.line("out[r] = shi[0]")
        body.line("cuda.syncthreads()  # the shared arrays are reused by the block's next row")
    which = "maximum" if better == ">" else "minimum"
    doc = f"{b.label(node)} {node.op.name}: first index of each row's {which}, one block per row"
    b.add_kernel(name, ["nrows", "ncols", "x", "out"], doc, body)
    rows, _ = rows_of(b, node, x, axes)
    nr, nc = _row_sizes(b, x, axes)
    message = f"{node.op.name}: attempt to get the arg extremum of an empty sequence"
    with b.body.block(f"if {nc} == 0:"):  # as numpy, even when there are no rows either
        b.body.line(f"raise ValueError({message!r})")
    out = b.output_buffer(node)
    _launch_rows(b, name, nr, [nr, nc, f"{rows}.reshape(({nr}, {nc}))", f"launch.Flat({out})"])
