"""Lowerings of the convolutions: calls of the cached im2col + BLAS kernels in
``graphjit.kernels.conv`` (re-exported by ``kernels.ops``, which programs import as ``kops``).

The kernels take 5-D arrays, so a 1-d or 2-d convolution's operands get leading spatial dims of
size 1 (a reshape: a view of a contiguous array) and its attributes the matching stride 1, no
padding and dilation 1. The bias add and activation after a convolution are ordinary elementwise
ops, fused in their own loop nest. ``program`` imports this module so the lowerings are there
before a program is written.
"""

from __future__ import annotations

from graphjit.codegen.emit import int_tuple
from graphjit.codegen.numba_cpu.lowerings import lowering
from graphjit.codegen.numba_cpu.writer import ProgramWriter
from graphjit.ir import Node
from graphjit.ops.convolution import as_5d, attrs_3d

KERNELS = {
    "conv": "kops.conv_forward",
    "conv_input_grad": "kops.conv_input_grad",
    "conv_weight_grad": "kops.conv_weight_grad",
}


def kernel_args(node: Node) -> list[str]:
    """The kernel's stride, padding-before and dilation (3-tuples) and groups, as source."""
    return [*(str(t) for t in attrs_3d(node.attrs)), str(node.attrs["groups"])]


@lowering("conv", "conv_input_grad", "conv_weight_grad")
def _conv(b: ProgramWriter, node: Node) -> None:
    operands = [
        f"kops.reshape({b.array(x)}, {int_tuple([str(d) for d in as_5d(b.dims(x))])})"
        for x in node.inputs
    ]
    out = b.output_buffer(node)
    result = f"{out}.reshape({int_tuple([str(d) for d in as_5d(b.dims(node))])})"
    b.body.line(f"# {node.op.name}: im2col feeding BLAS, per group and chunk of samples")
    b.body.line(f"{KERNELS[node.op.name]}({', '.join([*operands, result, *kernel_args(node)])})")
