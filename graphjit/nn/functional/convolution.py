"""Convolutions with PyTorch's names, signatures and defaults: conv1d, conv2d, conv3d,
conv_transpose1d, conv_transpose2d, conv_transpose3d.

Each is one ``conv`` (or ``conv_input_grad``, the transposed convolution) op of
:mod:`graphjit.ops.convolution`, whose gradients are themselves convolution kernels; the bias is
an ordinary broadcast add. Eager on tensors, graph on nodes. An input without a batch dim
(``(C, *spatial)``) is treated as a batch of one, as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphjit import ops
from graphjit.nn.functional.arguments import int_tuple
from graphjit.nn.module import operand
from graphjit.ops import convolution

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]

IntOrTuple = int | Sequence[int]


def expand(value: Any, nd: int, what: str, fn: str) -> tuple[int, ...]:
    """An int or a sequence of ``nd`` ints (or of one) as a tuple of ``nd`` ints (see
    :func:`graphjit.nn.functional.arguments.int_tuple`)."""
    return int_tuple(fn, what, value, nd)


def _batched(x: Any, nd: int, fn: str) -> tuple[Any, bool]:
    if x.ndim == nd + 1:
        return ops.expand_dims(x, 0), True
    if x.ndim != nd + 2:
        raise ValueError(
            f"{fn}: expected a {nd + 1}-d (unbatched) or {nd + 2}-d (batched) input, got shape "
            f"{tuple(x.shape)}"
        )
    return x, False


def _add_bias(y: Any, bias: Any, nd: int) -> Any:
    if bias is None:
        return y
    b = operand(bias, y)
    return y + ops.reshape(b, (-1,) + (1,) * nd)


def _padding(padding: Any, weight: Any, nd: int, stride: tuple, dilation: tuple, fn: str) -> Any:
    """Per-dim (before, after) padding from an int, ints, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ValueError(
                f"{fn}: padding must be 'valid', 'same', an int or ints, got {padding!r}"
            )
        if any(s != 1 for s in stride):
            raise ValueError(f"{fn}: padding='same' needs stride 1, got stride={stride}")
        pairs = []
        for k, d in zip(tuple(weight.shape)[2:], dilation):
            total = d * (k - 1)
            pairs.append((total // 2, total - total // 2))  # PyTorch puts the odd one after
        return tuple(pairs)
    return tuple((p, p) for p in expand(padding, nd, "padding", fn))


def _conv(
    nd: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: IntOrTuple,
    padding: Any,
    dilation: IntOrTuple,
    groups: int,
) -> Any:
    fn = f"conv{nd}d"
    x, unbatched = _batched(ops.lift(input), nd, fn)
    w = operand(weight, x)
    st = expand(stride, nd, "stride", fn)
    dil = expand(dilation, nd, "dilation", fn)
    pads = _padding(padding, w, nd, st, dil, fn)
    y = convolution.conv(x, w, stride=st, padding=pads, dilation=dil, groups=groups)
    y = _add_bias(y, bias, nd)
    return ops.squeeze(y, 0) if unbatched else y


def _conv_transpose(
    nd: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: IntOrTuple,
    padding: IntOrTuple,
    output_padding: IntOrTuple,
    groups: int,
    dilation: IntOrTuple,
) -> Any:
    fn = f"conv_transpose{nd}d"
    x, unbatched = _batched(ops.lift(input), nd, fn)
    w = operand(weight, x)
    c_in, expected = x.shape[1], w.shape[0]
    if isinstance(c_in, int) and isinstance(expected, int) and c_in != expected:
        # the op is the gradient of a convolution, whose own message speaks of gradients
        raise ValueError(
            f"{fn}: the input has {c_in} channels but the weight {tuple(w.shape)} expects "
            f"{expected} (its dim 0)"
        )
    st = expand(stride, nd, "stride", fn)
    pads = tuple((p, p) for p in expand(padding, nd, "padding", fn))
    extra = expand(output_padding, nd, "output_padding", fn)
    dil = expand(dilation, nd, "dilation", fn)
    y = convolution.conv_transpose(
        x, w, stride=st, padding=pads, output_padding=extra, dilation=dil, groups=groups
    )
    y = _add_bias(y, bias, nd)
    return ops.squeeze(y, 0) if unbatched else y


def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: Any = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Any:
    """1-d convolution of ``(N, C_in, L)`` with a weight ``(C_out, C_in // groups, k)``;
    ``padding`` is an int, a 1-tuple, ``'valid'`` or ``'same'`` (stride 1)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: Any = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Any:
    """2-d convolution of ``(N, C_in, H, W)`` with a weight ``(C_out, C_in // groups, kH, kW)``;
    ``padding`` is an int, a pair, ``'valid'`` or ``'same'`` (stride 1)."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: Any = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Any:
    """3-d convolution of ``(N, C_in, D, H, W)`` with a weight ``(C_out, C_in // groups, kD, kH,
    kW)``; ``padding`` is an int, a triple, ``'valid'`` or ``'same'`` (stride 1)."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> Any:
    """Transposed 1-d convolution (the gradient of conv1d in its input) of ``(N, C_in, L)`` with
    a weight ``(C_in, C_out // groups, k)``; ``output_padding`` (below the stride) adds to the
    output's size."""
    return _conv_transpose(
        1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> Any:
    """Transposed 2-d convolution of ``(N, C_in, H, W)`` with a weight ``(C_in, C_out // groups,
    kH, kW)``; ``output_padding`` (below the stride) adds to the output's size."""
    return _conv_transpose(
        2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> Any:
    """Transposed 3-d convolution of ``(N, C_in, D, H, W)`` with a weight ``(C_in, C_out //
    groups, kD, kH, kW)``; ``output_padding`` (below the stride) adds to the output's size."""
    return _conv_transpose(
        3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )
