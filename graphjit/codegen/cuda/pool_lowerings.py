"""CUDA lowerings of pooling and resampling: each op views its operands as planes (device arrays
are C-contiguous, so a reshape is free) and calls one host function of
``graphjit.kernels.cuda.pool`` (``kdpool``), which launches a kernel with a thread per output
element. ``program`` imports this module so they are registered before a program is written.
"""

from __future__ import annotations

from graphjit.codegen.cuda.lowerings import lowering
from graphjit.codegen.cuda.writer import CudaWriter
from graphjit.codegen.emit import int_tuple
from graphjit.codegen.symdims import product
from graphjit.ir import Node
from graphjit.ops.pooling import window_attrs


def _as_planes(array: str, dims: list[str], nsp: int) -> str:
    """``array`` viewed as ``(planes, D, H, W)``: the spatial axes padded to three."""
    lead, spatial = dims[: len(dims) - nsp], dims[len(dims) - nsp :]
    return f"{array}.reshape({int_tuple([product(lead), *(['1'] * (3 - nsp)), *spatial])})"


def _flat_planes(array: str, dims: list[str], nsp: int) -> str:
    lead, spatial = dims[: len(dims) - nsp], dims[len(dims) - nsp :]
    return f"{array}.reshape(({product(lead)}, {product(spatial)}))"


def _three(v: tuple[int, ...], fill: int) -> tuple[int, ...]:
    return (fill,) * (3 - len(v)) + tuple(v)


@lowering("max_pool", "adaptive_max_pool", "max_pool_indices", "adaptive_max_pool_indices")
def _max_pool(b: CudaWriter, node: Node) -> None:
    x = node.inputs[0]
    k, s, p, d, adaptive = window_attrs(node.attrs)
    nsp = len(k)
    out = b.output_buffer(node)
    fn = "max_pool_indices" if node.op.name.endswith("indices") else "max_pool"
    args = f"{_three(k, 1)}, {_three(s, 1)}, {_three(p, 0)}, {_three(d, 1)}, {adaptive}"
    xr, outr = _as_planes(b.array(x), b.dims(x), nsp), _as_planes(out, b.dims(node), nsp)
    b.body.line(f"kdpool.{fn}({xr}, {outr}, {args})")


@lowering("avg_pool", "adaptive_avg_pool", "avg_pool_grad", "adaptive_avg_pool_grad")
def _avg_pool(b: CudaWriter, node: Node) -> None:
    src = node.inputs[0]
    k, s, p, _, adaptive = window_attrs(node.attrs)
    nsp = len(k)
    include = bool(node.attrs.get("count_include_pad", True))
    divisor = int(node.attrs.get("divisor", 0))
    out = b.output_buffer(node)
    fn = "avg_pool_grad" if node.op.name.endswith("grad") else "avg_pool"
    args = f"{_three(k, 1)}, {_three(s, 1)}, {_three(p, 0)}, {adaptive}, {include}, {divisor}"
    sr, outr = _as_planes(b.array(src), b.dims(src), nsp), _as_planes(out, b.dims(node), nsp)
    b.body.line(f"kdpool.{fn}({sr}, {outr}, {args})")


@lowering("pool_scatter", "pool_gather")
def _pool_scatter_gather(b: CudaWriter, node: Node) -> None:
    src, idx = node.inputs[:2]
    nsp = node.attrs["ndim"]
    out = b.output_buffer(node)
    flag = b.scratch(["1"], "int32", "flag")
    fn = "scatter_planes" if node.op.name == "pool_scatter" else "gather_planes"
    sr, ir = (
        _flat_planes(b.array(src), b.dims(src), nsp),
        _flat_planes(b.array(idx), b.dims(idx), nsp),
    )
    b.body.line(f"kdpool.{fn}({sr}, {ir}, {_flat_planes(out, b.dims(node), nsp)}, {flag})")


@lowering("resample", "resample_grad")
def _resample(b: CudaWriter, node: Node) -> None:
    src = node.inputs[0]
    axis = node.attrs["axis"]

    def rows(array: str, dims: list[str]) -> str:
        shape = [product(dims[:axis]), dims[axis], product(dims[axis + 1 :])]
        return f"{array}.reshape({int_tuple(shape)})"

    out = b.output_buffer(node)
    linear = node.attrs["mode"] == "linear"
    args = f"{linear}, {bool(node.attrs['align_corners'])}, {float(node.attrs['scale'])!r}"
    fn = "resample_grad" if node.op.name == "resample_grad" else "resample"
    b.body.line(
        f"kdpool.{fn}({rows(b.array(src), b.dims(src))}, {rows(out, b.dims(node))}, {args})"
    )
