"""Convolutions over 1, 2 or 3 spatial dims: ``conv`` and the two linear maps of its derivative,
``conv_input_grad`` (the transposed convolution) and ``conv_weight_grad``.

All three take channels-first arrays, ``x`` of shape ``(N, C_in, *spatial)`` and a weight of shape
``(C_out, C_in // groups, *kernel)`` as PyTorch does, with static attributes: ``stride`` and
``dilation`` (one int per spatial dim), ``padding`` (one ``(before, after)`` pair per spatial dim,
zeros, applied inside the kernel) and ``groups``. An output size along a spatial dim is
``(L + before + after - dilation * (k - 1) - 1) // stride + 1``.

* ``conv(x, w)`` is PyTorch's cross-correlation, ``(N, C_out, *out)``.
* ``conv_input_grad(g, w)`` is its transpose in ``x`` (PyTorch's ``conv_transpose``): a ``g`` of
  the conv's output shape gives an array of the input's shape. A strided conv drops trailing input
  positions, so the input size is ``(O - 1) * stride - before - after + dilation * (k - 1) + 1 +
  output_padding`` with ``0 <= output_padding < stride``.
* ``conv_weight_grad(x, g)`` is its transpose in ``w``: the weight's shape, ``kernel_size`` static.

Each is bilinear, and each one's derivatives are the other two (and itself), so derivatives of
every order stay within the three kernels. The vjp of ``conv`` in ``x`` needs the input's spatial
size when the stride is above 1 (to choose ``output_padding``): a graph whose spatial dims are
``None`` is differentiated only with stride 1.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphjit.ir import Dim, Node, TensorType, format_shape
from graphjit.ops.dispatch import ArrayLike, Value, apply
from graphjit.ops.registry import DimBuilder, OpDef, sum_tangents
from graphjit.ops.registry import defop as _defop
from graphjit.ops.shape_rules import is_static_dim, same_dim

__all__: list[str] = []  # the public functions are gj.nn.functional.conv1d ... conv_transpose2d

Pads = tuple[tuple[int, int], ...]


def conv_out_size(size: int, k: int, stride: int, pad: tuple[int, int], dilation: int) -> int:
    """The output size along one spatial dim of an input of ``size``."""
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def transposed_size(
    o: int, k: int, stride: int, pad: tuple[int, int], dilation: int, extra: int
) -> int:
    """The input size along one spatial dim whose conv output has size ``o``."""
    return (o - 1) * stride - pad[0] - pad[1] + dilation * (k - 1) + 1 + extra


def output_padding_for(
    size: Dim, k: int, stride: int, pad: tuple[int, int], dilation: int, op: str
) -> int:
    """The ``output_padding`` that gives back an input of ``size`` from its conv output."""
    if stride == 1:
        return 0
    if not is_static_dim(size):
        raise NotImplementedError(
            f"{op}: the gradient of a strided convolution needs the input's spatial size, which "
            "is not fixed in the graph (give the placeholder static spatial dims)"
        )
    return (int(size) + pad[0] + pad[1] - dilation * (k - 1) - 1) % stride  # type: ignore[arg-type]


def _check(
    op: str, a: TensorType, w: TensorType, stride: Any, padding: Any, dilation: Any, groups: Any
) -> int:
    """The number of spatial dims, after checking the operands' ranks and the attributes."""
    nd = w.ndim - 2
    if not 1 <= nd <= 3 or a.ndim != w.ndim:
        raise ValueError(
            f"{op}: needs an input (N, C, *spatial) and a weight (C_out, C_in/groups, *kernel) "
            f"with 1 to 3 spatial dims, got shapes {format_shape(a.shape)} and "
            f"{format_shape(w.shape)}"
        )
    for t in (a, w):
        if t.dtype not in ("float32", "float64"):
            raise TypeError(f"{op}: needs float32 or float64 operands, got {t.dtype}")
    ints = list(stride) + list(dilation) + [p for pair in padding for p in pair]
    ok = (
        len(stride) == len(dilation) == len(padding) == nd
        and all(isinstance(v, int) and not isinstance(v, bool) for v in ints)
        and all(s > 0 for s in stride)
        and all(d > 0 for d in dilation)
        and all(p >= 0 for p in ints[2 * nd :])
        and isinstance(groups, int)
        and groups > 0
    )
    if not ok:
        raise ValueError(
            f"{op}: bad attributes for {nd} spatial dim(s): stride={stride!r}, "
            f"padding={padding!r}, dilation={dilation!r}, groups={groups!r}"
        )
    if not all(is_static_dim(k) for k in w.shape[2:]):
        raise ValueError(f"{op}: the kernel's spatial size must be fixed, got {w.shape}")
    return nd


def _check_channels(op: str, c_in: Dim, w: TensorType, groups: int) -> None:
    c_out = w.shape[0]
    if is_static_dim(c_out) and int(c_out) % groups:  # type: ignore[arg-type]
        raise ValueError(
            f"{op}: the weight's {c_out} output channels do not split in {groups} groups"
        )
    if is_static_dim(c_in) and is_static_dim(w.shape[1]) and c_in != w.shape[1] * groups:  # type: ignore[operator]
        raise ValueError(
            f"{op}: the input has {c_in} channels but the weight {format_shape(w.shape)} with "
            f"groups={groups} expects {w.shape[1] * groups}"  # type: ignore[operator]
        )


def _spatial_out(
    op: str, sizes: Sequence[Dim], ks: Sequence[Any], stride: Any, padding: Any, dilation: Any
) -> tuple[Dim, ...]:
    out: list[Dim] = []
    for size, k, s, p, d in zip(sizes, ks, stride, padding, dilation):
        if not is_static_dim(size):
            out.append(None)
            continue
        o = conv_out_size(int(size), k, s, p, d)  # type: ignore[arg-type]
        if o < 1:
            raise ValueError(
                f"{op}: a spatial size {size} padded by {p} is smaller than the dilated kernel "
                f"({d * (k - 1) + 1})"
            )
        out.append(o)
    return tuple(out)


def _out_expr(table: DimBuilder, static: Dim, size: str, k: int, s: int, p: Any, d: int) -> str:
    if is_static_dim(static):
        return str(static)
    return table.let(f"max(0, ({size} + {p[0] + p[1] - d * (k - 1) - 1}) // {s} + 1)")


def _windows(xp: np.ndarray, kidx: tuple[int, ...], attrs: dict, out_sp: Sequence[int]) -> Any:
    """The padded input read by kernel offset ``kidx``: a view of ``xp`` (leading dims kept, then
    the spatial dims) of spatial shape ``out_sp``."""
    sl = tuple(
        slice(k * d, k * d + s * (o - 1) + 1, s)
        for k, d, s, o in zip(kidx, attrs["dilation"], attrs["stride"], out_sp)
    )
    return xp[(slice(None),) * (xp.ndim - len(sl)) + sl]


def _subscripts(template: str, nd: int) -> str:
    """An einsum over (batch, group, channel) and ``nd`` spatial letters."""
    return template.format("xyz"[:nd])


def _pad(x: np.ndarray, padding: Pads) -> np.ndarray:
    return np.pad(x, [(0, 0), (0, 0), *padding])


def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """``(N, C, ...)`` as ``(N, groups, C // groups, ...)``."""
    return a.reshape(a.shape[0], groups, a.shape[1] // groups, *a.shape[2:])


def _grouped_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """``(C_out, C_in // groups, *kernel)`` split as ``(groups, C_out // groups, ...)``."""
    return w.reshape(groups, w.shape[0] // groups, *w.shape[1:])


# --------------------------------------------------------------------------------------------------
# conv


def _conv_infer(
    x: TensorType, w: TensorType, *, stride: Any, padding: Any, dilation: Any, groups: Any
) -> TensorType:
    _check("conv", x, w, stride, padding, dilation, groups)
    _check_channels("conv", x.shape[1], w, groups)
    sp = _spatial_out("conv", x.shape[2:], w.shape[2:], stride, padding, dilation)
    return TensorType((x.shape[0], w.shape[0], *sp), x.dtype)


def _conv_impl(x: np.ndarray, w: np.ndarray, **attrs: Any) -> np.ndarray:
    groups, ks = attrs["groups"], w.shape[2:]
    out_sp = [
        conv_out_size(n, k, s, p, d)
        for n, k, s, p, d in zip(
            x.shape[2:], ks, attrs["stride"], attrs["padding"], attrs["dilation"]
        )
    ]
    xp = _grouped(_pad(x, attrs["padding"]), groups)
    wg = _grouped_weight(w, groups)
    out = np.zeros((x.shape[0], groups, w.shape[0] // groups, *out_sp), x.dtype)
    for kidx in itertools.product(*(range(k) for k in ks)):
        win = _windows(xp, kidx, attrs, out_sp)
        out += np.einsum(
            _subscripts("ngc{0},goc->ngo{0}", len(ks)), win, wg[(slice(None),) * 3 + kidx]
        )
    return out.reshape(x.shape[0], w.shape[0], *out_sp)


def _conv_vjp_x(g: Any, out: Any, x: Any, w: Any, **attrs: Any) -> Any:
    extra = tuple(
        output_padding_for(n, k, s, p, d, "conv")
        for n, k, s, p, d in zip(
            x.shape[2:], w.shape[2:], attrs["stride"], attrs["padding"], attrs["dilation"]
        )
    )
    return apply(CONV_INPUT_GRAD, g, w, output_padding=extra, **attrs)


def _conv_vjp_w(g: Any, out: Any, x: Any, w: Any, **attrs: Any) -> Any:
    return apply(CONV_WEIGHT_GRAD, x, g, kernel_size=tuple(w.shape[2:]), **attrs)


def _conv_jvp(tangents: Any, out: Any, x: Any, w: Any, **attrs: Any) -> Any:
    tx, tw = tangents
    return sum_tangents(
        None if tx is None else apply(CONV, tx, w, **attrs),
        None if tw is None else apply(CONV, x, tw, **attrs),
    )


def _conv_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    _x, w = node.inputs
    xd, wd = ins
    groups = node.attrs["groups"]
    table.require_equal(
        xd[1], f"{wd[1]} * {groups}", "conv: the input's channels do not fit the weight"
    )
    sp = [
        _out_expr(table, st, n, k, s, p, d)
        for st, n, k, s, p, d in zip(
            node.shape[2:],
            xd[2:],
            w.shape[2:],
            *(node.attrs[a] for a in ("stride", "padding", "dilation")),
        )
    ]
    return [xd[0], wd[0], *sp]


CONV: OpDef = _defop(
    "conv",
    infer=_conv_infer,
    impl=_conv_impl,
    vjps=(_conv_vjp_x, _conv_vjp_w),
    jvp=_conv_jvp,
    kind="linalg",
    call_dims=_conv_call_dims,
    to_float=True,
    doc="N-d convolution (cross-correlation) with stride, zero padding, dilation and groups",
)


# --------------------------------------------------------------------------------------------------
# conv_input_grad: the transposed convolution


def _input_grad_infer(
    g: TensorType,
    w: TensorType,
    *,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    output_padding: Any,
) -> TensorType:
    op = "conv_input_grad"
    nd = _check(op, g, w, stride, padding, dilation, groups)
    if len(output_padding) != nd or not all(
        isinstance(e, int) and 0 <= e < s for e, s in zip(output_padding, stride)
    ):
        raise ValueError(
            f"{op}: output_padding {output_padding!r} must be ints in [0, stride {stride})"
        )
    if not same_dim(g.shape[1], w.shape[0]):
        raise ValueError(
            f"{op}: a gradient with {g.shape[1]} channels does not fit the weight "
            f"{format_shape(w.shape)}"
        )
    sp: list[Dim] = []
    for o, k, s, p, d, e in zip(
        g.shape[2:], w.shape[2:], stride, padding, dilation, output_padding
    ):
        if not is_static_dim(o):
            sp.append(None)
            continue
        n = transposed_size(int(o), int(k), s, p, d, e)
        if n < 0:
            raise ValueError(
                f"{op}: padding {p} is larger than the transposed output ({n + p[0] + p[1]})"
            )
        sp.append(n)
    c_in = int(w.shape[1]) * groups if isinstance(w.shape[1], int) else None
    return TensorType((g.shape[0], c_in, *sp), g.dtype)


def _input_grad_impl(g: np.ndarray, w: np.ndarray, **attrs: Any) -> np.ndarray:
    groups, ks = attrs["groups"], w.shape[2:]
    g_sp = g.shape[2:]
    full = [
        transposed_size(o, k, s, (0, 0), d, e)
        for o, k, s, d, e in zip(
            g_sp, ks, attrs["stride"], attrs["dilation"], attrs["output_padding"]
        )
    ]
    n, cg = g.shape[0], w.shape[1]
    dxp = np.zeros((n, groups * cg, *full), g.dtype)
    dxg = _grouped(dxp, groups)
    gg, wg = _grouped(g, groups), _grouped_weight(w, groups)
    for kidx in itertools.product(*(range(k) for k in ks)):
        win = _windows(dxg, kidx, attrs, g_sp)
        win += np.einsum(
            _subscripts("ngo{0},goc->ngc{0}", len(ks)), gg, wg[(slice(None),) * 3 + kidx]
        )
    crop = (
        slice(None),
        slice(None),
        *(slice(lo, f - hi) for (lo, hi), f in zip(attrs["padding"], full)),
    )
    return np.ascontiguousarray(dxp[crop])


def _input_grad_vjp_g(
    ct: Any, out: Any, g: Any, w: Any, *, output_padding: Any, **attrs: Any
) -> Any:
    return apply(CONV, ct, w, **attrs)


def _input_grad_vjp_w(
    ct: Any, out: Any, g: Any, w: Any, *, output_padding: Any, **attrs: Any
) -> Any:
    return apply(CONV_WEIGHT_GRAD, ct, g, kernel_size=tuple(w.shape[2:]), **attrs)


def _input_grad_jvp(tangents: Any, out: Any, g: Any, w: Any, **attrs: Any) -> Any:
    tg, tw = tangents
    return sum_tangents(
        None if tg is None else apply(CONV_INPUT_GRAD, tg, w, **attrs),
        None if tw is None else apply(CONV_INPUT_GRAD, g, tw, **attrs),
    )


def _input_grad_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    _g, w = node.inputs
    gd, wd = ins
    a = node.attrs
    table.require_equal(
        gd[1], wd[0], "conv_input_grad: the gradient's channels do not fit the weight"
    )
    sp = []
    for st, o, k, s, p, d, e in zip(
        node.shape[2:],
        gd[2:],
        w.shape[2:],
        a["stride"],
        a["padding"],
        a["dilation"],
        a["output_padding"],
    ):
        if is_static_dim(st):
            sp.append(str(st))
        else:
            sp.append(table.let(f"max(0, ({o} - 1) * {s} + {d * (k - 1) + 1 + e - p[0] - p[1]})"))
    c_in = (
        str(node.shape[1])
        if is_static_dim(node.shape[1])
        else table.let(f"{wd[1]} * {a['groups']}")
    )
    return [gd[0], c_in, *sp]


CONV_INPUT_GRAD: OpDef = _defop(
    "conv_input_grad",
    infer=_input_grad_infer,
    impl=_input_grad_impl,
    vjps=(_input_grad_vjp_g, _input_grad_vjp_w),
    jvp=_input_grad_jvp,
    kind="linalg",
    call_dims=_input_grad_call_dims,
    to_float=True,
    doc="the transpose of conv in its input (a transposed convolution)",
)


# --------------------------------------------------------------------------------------------------
# conv_weight_grad


def _weight_grad_infer(
    x: TensorType,
    g: TensorType,
    *,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    kernel_size: Any,
) -> TensorType:
    op = "conv_weight_grad"
    ks = tuple(kernel_size)
    c_in = x.shape[1]
    cg = int(c_in) // groups if is_static_dim(c_in) else None  # type: ignore[arg-type]
    w = TensorType((g.shape[1], cg, *ks), g.dtype)
    _check(op, x, w, stride, padding, dilation, groups)
    if is_static_dim(c_in) and int(c_in) % groups:  # type: ignore[arg-type]
        raise ValueError(f"{op}: the input's {c_in} channels do not split in {groups} groups")
    _check_channels(op, c_in, w, groups)
    want = _spatial_out(op, x.shape[2:], ks, stride, padding, dilation)
    if g.ndim != x.ndim or not all(same_dim(a, b) for a, b in zip(g.shape[2:], want)):
        raise ValueError(
            f"{op}: a gradient of shape {format_shape(g.shape)} does not fit the conv output "
            f"{format_shape(want)} of an input {format_shape(x.shape)}"
        )
    return w


def _weight_grad_impl(x: np.ndarray, g: np.ndarray, **attrs: Any) -> np.ndarray:
    groups, ks = attrs["groups"], attrs["kernel_size"]
    g_sp = g.shape[2:]
    xp = _grouped(_pad(x, attrs["padding"]), groups)
    gg = _grouped(g, groups)
    cg = x.shape[1] // groups
    dw = np.zeros((groups, g.shape[1] // groups, cg, *ks), g.dtype)
    for kidx in itertools.product(*(range(k) for k in ks)):
        win = _windows(xp, kidx, attrs, g_sp)
        dw[(slice(None),) * 3 + kidx] = np.einsum(
            _subscripts("ngc{0},ngo{0}->goc", len(ks)), win, gg
        )
    return dw.reshape(g.shape[1], cg, *ks)


def _weight_grad_vjp_x(ct: Any, out: Any, x: Any, g: Any, *, kernel_size: Any, **attrs: Any) -> Any:
    return _conv_vjp_x(g, None, x, ct, **attrs)


def _weight_grad_vjp_g(ct: Any, out: Any, x: Any, g: Any, *, kernel_size: Any, **attrs: Any) -> Any:
    return apply(CONV, x, ct, **attrs)


def _weight_grad_jvp(tangents: Any, out: Any, x: Any, g: Any, **attrs: Any) -> Any:
    tx, tg = tangents
    return sum_tangents(
        None if tx is None else apply(CONV_WEIGHT_GRAD, tx, g, **attrs),
        None if tg is None else apply(CONV_WEIGHT_GRAD, x, tg, **attrs),
    )


def _weight_grad_call_dims(table: DimBuilder, node: Node, ins: list[list[str]]) -> list[str]:
    xd, gd = ins
    a = node.attrs
    for i, (o, n, k, s, p, d) in enumerate(
        zip(gd[2:], xd[2:], a["kernel_size"], a["stride"], a["padding"], a["dilation"])
    ):
        want = _out_expr(table, None, n, k, s, p, d)
        table.require_equal(
            o, want, f"conv_weight_grad: spatial dim {i} of the gradient does not fit the input"
        )
    cg = (
        str(node.shape[1])
        if is_static_dim(node.shape[1])
        else table.let(f"{xd[1]} // {a['groups']}")
    )
    return [gd[1], cg, *(str(k) for k in a["kernel_size"])]


CONV_WEIGHT_GRAD: OpDef = _defop(
    "conv_weight_grad",
    infer=_weight_grad_infer,
    impl=_weight_grad_impl,
    vjps=(_weight_grad_vjp_x, _weight_grad_vjp_g),
    jvp=_weight_grad_jvp,
    kind="linalg",
    call_dims=_weight_grad_call_dims,
    to_float=True,
    doc="the transpose of conv in its weight: the weight's gradient",
)


# --------------------------------------------------------------------------------------------------
# how the backends' kernels see the ops: always three spatial dims


def as_5d(dims: Sequence[Any]) -> list[Any]:
    """An operand's dims with leading spatial dims of size 1 up to three spatial dims (the
    kernels' layout: a reshape, so a view of a contiguous array)."""
    return [dims[0], dims[1], *[1] * (5 - len(dims)), *dims[2:]]


def attrs_3d(attrs: Mapping[str, Any]) -> tuple[tuple[int, int, int], ...]:
    """A node's stride, padding before and dilation for three spatial dims (leading ones
    neutral: stride 1, no padding, dilation 1)."""
    lead = 3 - len(attrs["stride"])
    stride = (1,) * lead + tuple(attrs["stride"])
    pad = (0,) * lead + tuple(p[0] for p in attrs["padding"])
    dil = (1,) * lead + tuple(attrs["dilation"])
    return stride, pad, dil


# --------------------------------------------------------------------------------------------------
# what gj.nn.functional builds on


def conv(
    x: ArrayLike,
    w: ArrayLike,
    *,
    stride: Sequence[int],
    padding: Pads,
    dilation: Sequence[int],
    groups: int,
) -> Value:
    """The ``conv`` op on ``x`` and ``w`` with normalised attributes (one entry per spatial dim)."""
    return apply(
        CONV,
        x,
        w,
        stride=tuple(stride),
        padding=tuple(map(tuple, padding)),
        dilation=tuple(dilation),
        groups=groups,
    )


def conv_transpose(
    x: ArrayLike,
    w: ArrayLike,
    *,
    stride: Sequence[int],
    padding: Pads,
    output_padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
) -> Value:
    """The transposed convolution of ``x`` with a weight ``(C_in, C_out // groups, *kernel)``."""
    return apply(
        CONV_INPUT_GRAD,
        x,
        w,
        stride=tuple(stride),
        padding=tuple(map(tuple, padding)),
        dilation=tuple(dilation),
        groups=groups,
        output_padding=tuple(output_padding),
    )
