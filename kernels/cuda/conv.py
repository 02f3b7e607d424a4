"""Convolution kernels for the device: one thread per output element, looping over its reduction
(a direct convolution; no im2col buffer).

Arrays are C-contiguous 5-D device arrays as on the CPU (``graphjit.kernels.conv``): inputs
``(N, C, D, H, W)``, weights ``(C_out, C_in // groups, KD, KH, KW)``; 1-d and 2-d convolutions get
leading spatial dims of size 1. ``stride``, ``pad`` (the padding before each spatial dim) and
``dil`` are 3-tuples. Each element accumulates in float64 and is stored in the output's dtype.
"""

from __future__ import annotations

from graphjit.kernels.cuda.launch import BLOCK, blocks
from numba import cuda


@cuda.jit
def _conv_forward(x, w, out, stride, pad, dil, groups):  # type: ignore[no-untyped-def]
    c_out, od, oh, ow = out.shape[1], out.shape[2], out.shape[3], out.shape[4]
    depth, height, width = x.shape[2], x.shape[3], x.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    og = c_out // groups
    for t in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        k = t % ow
        r = t // ow
        j = r % oh
        r //= oh
        i = r % od
        r //= od
        co = r % c_out
        n = r // c_out
        c0 = (co // og) * cg
        acc = 0.0
        for c in range(cg):
            for a in range(kd):
                z = i * stride[0] - pad[0] + a * dil[0]
                if z < 0 or z >= depth:
                    continue
                for b in range(kh):
                    y = j * stride[1] - pad[1] + b * dil[1]
                    if y < 0 or y >= height:
                        continue
                    for e in range(kw):
                        v = k * stride[2] - pad[2] + e * dil[2]
                        if 0 <= v < width:
                            acc += x[n, c0 + c, z, y, v] * w[co, c, a, b, e]
        out[n, co, i, j, k] = acc


@cuda.jit
def _conv_input_grad(g, w, dx, stride, pad, dil, groups):  # type: ignore[no-untyped-def]
    c_in, depth, height, width = dx.shape[1], dx.shape[2], dx.shape[3], dx.shape[4]
    c_out, od, oh, ow = g.shape[1], g.shape[2], g.shape[3], g.shape[4]
    cg, kd, kh, kw = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    og = c_out // groups
    for t in range(cuda.grid(1), dx.size, cuda.gridsize(1)):
        v = t % width
        r = t // width
        y = r % height
        r //= height
        z = r % depth
        r //= depth
        ci = r % c_in
        n = r // c_in
        c = ci % cg
        co0 = (ci // cg) * og
        acc = 0.0
        for o in range(og):
            for a in range(kd):
                zi = z + pad[0] - a * dil[0]
                if zi < 0 or zi % stride[0] != 0 or zi // stride[0] >= od:
                    continue
                for b in range(kh):
                    yi = y + pad[1] - b * dil[1]
                    if yi < 0 or yi % stride[1] != 0 or yi // stride[1] >= oh:
                        continue
                    for e in range(kw):
                        vi = v + pad[2] - e * dil[2]
                        if vi >= 0 and vi % stride[2] == 0 and vi // stride[2] < ow:
                            acc += (
                                g[n, co0 + o, zi // stride[0], yi // stride[1], vi // stride[2]]
                                * w[co0 + o, c, a, b, e]
                            )
        dx[n, ci, z, y, v] = acc


@cuda.jit
def _conv_weight_grad(x, g, dw, stride, pad, dil, groups):  # type: ignore[no-untyped-def]
    c_out, cg, kd, kh, kw = dw.shape
    n_in, depth, height, width = x.shape[0], x.shape[2], x.shape[3], x.shape[4]
    od, oh, ow = g.shape[2], g.shape[3], g.shape[4]
    og = c_out // groups
    for t in range(cuda.grid(1), dw.size, cuda.gridsize(1)):
        e = t % kw
        r = t // kw
        b = r % kh
        r //= kh
        a = r % kd
        r //= kd
        c = r % cg
        co = r // cg
        ci = (co // og) * cg + c
        acc = 0.0
        for n in range(n_in):
            for i in range(od):
                z = i * stride[0] - pad[0] + a * dil[0]
                if z < 0 or z >= depth:
                    continue
                for j in range(oh):
                    y = j * stride[1] - pad[1] + b * dil[1]
                    if y < 0 or y >= height:
                        continue
                    for k in range(ow):
                        v = k * stride[2] - pad[2] + e * dil[2]
                        if 0 <= v < width:
                            acc += x[n, ci, z, y, v] * g[n, co, i, j, k]
        dw[co, c, a, b, e] = acc


def conv_forward(x, w, out, stride, pad, dil, groups) -> None:  # type: ignore[no-untyped-def]
    """``out = conv(x, w)`` on 5-D device arrays."""
    if out.size:
        _conv_forward[blocks(out.size), BLOCK](x, w, out, stride, pad, dil, groups)


def conv_input_grad(g, w, dx, stride, pad, dil, groups) -> None:  # type: ignore[no-untyped-def]
    """``dx`` = the transposed convolution of ``g`` with ``w`` (conv's gradient in its input)."""
    if dx.size:
        _conv_input_grad[blocks(dx.size), BLOCK](g, w, dx, stride, pad, dil, groups)


def conv_weight_grad(x, g, dw, stride, pad, dil, groups) -> None:  # type: ignore[no-untyped-def]
    """``dw`` = conv's gradient in its weight, for the input ``x`` and output gradient ``g``."""
    if dw.size:
        _conv_weight_grad[blocks(dw.size), BLOCK](x, g, dw, stride, pad, dil, groups)
