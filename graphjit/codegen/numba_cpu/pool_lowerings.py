"""Lowerings of pooling and resampling: each op reshapes its operands to planes and calls one
compiled kernel of ``graphjit.kernels.pool`` (``kpool``) or ``graphjit.kernels.resample``
(``kresample``), which loop over the windows (in parallel over the planes when the work is
large). ``program`` imports this module so they are registered before a program is written.
"""

from __future__ import annotations

from graphjit.codegen.emit import int_tuple
from graphjit.codegen.numba_cpu.lowerings import lowering
from graphjit.codegen.numba_cpu.writer import ProgramWriter
from graphjit.codegen.symdims import product
from graphjit.ir import Node
from graphjit.ops.pooling import window_attrs


def _as_planes(b: ProgramWriter, array: str, dims: list[str], nsp: int) -> str:
    """``array`` reshaped to ``(planes, D, H, W)``: the spatial axes padded to three."""
    lead, spatial = dims[: len(dims) - nsp], dims[len(dims) - nsp :]
    shape = [product(lead), *(["1"] * (3 - nsp)), *spatial]
    name = b.fresh("p")
    b.body.line(f"{name} = kops.reshape({array}, {int_tuple(shape)})")
    return name


def _flat_planes(b: ProgramWriter, array: str, dims: list[str], nsp: int) -> str:
    """``array`` reshaped to ``(planes, positions in a plane)``."""
    lead, spatial = dims[: len(dims) - nsp], dims[len(dims) - nsp :]
    name = b.fresh("p")
    b.body.line(f"{name} = kops.reshape({array}, ({product(lead)}, {product(spatial)}))")
    return name


def _window_args(node: Node) -> tuple[int, str]:
    """The number of spatial axes and the kernel's window arguments ``k, s, p, d, adaptive``
    (padded to three axes; an adaptive window is sized at run time, so its kernel is ones)."""
    k, s, p, d, adaptive = window_attrs(node.attrs)
    nsp = len(k)
    if adaptive:
        k = (1,) * nsp
    pad = 3 - nsp

    def three(v: tuple[int, ...], fill: int) -> str:
        return str((fill,) * pad + tuple(v))

    return nsp, f"{three(k, 1)}, {three(s, 1)}, {three(p, 0)}, {three(d, 1)}, {adaptive}"


@lowering("max_pool", "adaptive_max_pool", "max_pool_indices", "adaptive_max_pool_indices")
def _max_pool(b: ProgramWriter, node: Node) -> None:
    x = node.inputs[0]
    nsp, window = _window_args(node)
    xr = _as_planes(b, b.array(x), b.dims(x), nsp)
    out = b.output_buffer(node)
    outr = _as_planes(b, out, b.dims(node), nsp)
    fn = "max_pool_indices" if node.op.name.endswith("indices") else "max_pool"
    b.body.line(f"kpool.{fn}({xr}, {outr}, {window})")


def _avg_window(node: Node) -> str:
    """The average kernels' window arguments ``k, s, p, adaptive, count_include_pad, divisor``
    (no dilation; padded to three axes)."""
    k, s, p, _, adaptive = window_attrs(node.attrs)
    pad = 3 - len(k)
    if adaptive:
        k = (1,) * len(k)
    include = bool(node.attrs.get("count_include_pad", True))
    divisor = int(node.attrs.get("divisor", 0))
    k3, s3, p3 = ((1,) * pad + k), ((1,) * pad + s), ((0,) * pad + p)
    return f"{k3}, {s3}, {p3}, {adaptive}, {include}, {divisor}"


@lowering("avg_pool", "adaptive_avg_pool", "avg_pool_grad", "adaptive_avg_pool_grad")
def _avg_pool(b: ProgramWriter, node: Node) -> None:
    src = node.inputs[0]
    nsp = len(window_attrs(node.attrs)[0])
    srcr = _as_planes(b, b.array(src), b.dims(src), nsp)
    out = b.output_buffer(node)
    outr = _as_planes(b, out, b.dims(node), nsp)
    fn = "avg_pool_grad" if node.op.name.endswith("grad") else "avg_pool"
    b.body.line(f"kpool.{fn}({srcr}, {outr}, {_avg_window(node)})")


@lowering("pool_scatter")
def _pool_scatter(b: ProgramWriter, node: Node) -> None:
    g, idx = node.inputs[:2]
    nsp = node.attrs["ndim"]
    gr = _flat_planes(b, b.array(g), b.dims(g), nsp)
    ir = _flat_planes(b, b.array(idx), b.dims(idx), nsp)
    out = b.output_buffer(node)
    outr = _flat_planes(b, out, b.dims(node), nsp)
    b.body.line(f"kpool.scatter_planes({gr}, {ir}, {outr})")


@lowering("pool_gather")
def _pool_gather(b: ProgramWriter, node: Node) -> None:
    t, idx = node.inputs
    nsp = node.attrs["ndim"]
    tr = _flat_planes(b, b.array(t), b.dims(t), nsp)
    ir = _flat_planes(b, b.array(idx), b.dims(idx), nsp)
    out = b.output_buffer(node)
    outr = _flat_planes(b, out, b.dims(node), nsp)
    b.body.line(f"kpool.gather_planes({tr}, {ir}, {outr})")


@lowering("resample", "resample_grad")
def _resample(b: ProgramWriter, node: Node) -> None:
    src = node.inputs[0]
    axis = node.attrs["axis"]

    def as_rows(array: str, dims: list[str]) -> str:
        name = b.fresh("r")
        shape = [product(dims[:axis]), dims[axis], product(dims[axis + 1 :])]
        b.body.line(f"{name} = kops.reshape({array}, {int_tuple(shape)})")
        return name

    srcr = as_rows(b.array(src), b.dims(src))
    out = b.output_buffer(node)
    outr = as_rows(out, b.dims(node))
    linear = node.attrs["mode"] == "linear"
    args = f"{linear}, {bool(node.attrs['align_corners'])}, {float(node.attrs['scale'])!r}"
    fn = "resample_grad" if node.op.name == "resample_grad" else "resample"
    b.body.line(f"kresample.{fn}({srcr}, {outr}, {args})")
