"""Convolution layers: Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
ConvTranspose3d, with PyTorch's arguments, parameter names and shapes (a PyTorch ``state_dict``
converted to numpy arrays loads) and PyTorch's default initialisation: the weight and the bias
uniform in +-1/sqrt(fan_in) (``kaiming_uniform_(a=sqrt(5))`` for the weight comes to that bound),
``fan_in`` being the weight's ``shape[1] * prod(kernel_size)``."""

from __future__ import annotations

import math
from typing import Any, cast

from graphjit import ops
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.functional.convolution import expand
from graphjit.nn.layers import check_size, init_uniform
from graphjit.nn.module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    nd = 0
    transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        output_padding: Any = 0,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = check_size(in_channels, "in_channels", name)
        self.out_channels = check_size(out_channels, "out_channels", name)
        self.groups = check_size(groups, "groups", name)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels {in_channels} and out_channels {out_channels} must both "
                f"divide into groups={groups}"
            )
        self.kernel_size = expand(kernel_size, self.nd, "kernel_size", name)
        self.stride = expand(stride, self.nd, "stride", name)
        self.dilation = expand(dilation, self.nd, "dilation", name)
        for what, value in (
            ("kernel_size", self.kernel_size),
            ("stride", self.stride),
            ("dilation", self.dilation),
        ):
            if min(value) < 1:
                raise ValueError(f"{name}: {what} must be positive, got {value}")
        self.output_padding = expand(output_padding, self.nd, "output_padding", name)
        self.padding = (
            padding if isinstance(padding, str) else expand(padding, self.nd, "padding", name)
        )
        if padding_mode not in PADDING_MODES or (self.transposed and padding_mode != "zeros"):
            allowed = ("zeros",) if self.transposed else PADDING_MODES
            raise ValueError(f"{name}: padding_mode must be one of {allowed}, got {padding_mode!r}")
        if padding_mode != "zeros" and isinstance(padding, str):
            raise ValueError(f"{name}: padding_mode {padding_mode!r} needs int padding")
        self.padding_mode = padding_mode
        if self.transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        bound = 1.0 / math.sqrt(shape[1] * math.prod(self.kernel_size))
        self.weight = init_uniform(shape, bound, dtype)
        self.bias = init_uniform((out_channels,), bound, dtype) if bias else None

    def forward(self, x: Any) -> Any:
        x = ops.lift(x)
        dim = x.ndim - self.nd - 1  # the channels' dim: 0 unbatched, 1 batched
        if dim in (0, 1) and x.shape[dim] not in (None, self.in_channels):
            raise ValueError(
                f"{type(self).__name__}({self.extra_repr()}): expected {self.in_channels} input "
                f"channels (dim {dim}), got shape {tuple(x.shape)}"
            )
        if self.transposed:
            transposed: Any = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)
            return transposed[self.nd - 1](
                x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                self.groups, self.dilation,
            )  # fmt: skip
        conv: Any = (F.conv1d, F.conv2d, F.conv3d)[self.nd - 1]
        padding: Any = self.padding
        if self.padding_mode != "zeros":
            pads = cast(tuple[int, ...], self.padding)  # ints: checked in __init__
            widths = [p for p in reversed(pads) for _ in range(2)]
            x = F.pad(x, widths, mode=self.padding_mode)
            padding = 0
        return conv(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.nd:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            text += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != (0,) * self.nd:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text


class _Conv(_ConvNd):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: str = "float64",
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, 0, dtype,
        )  # fmt: skip


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        dtype: str = "float64",
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, output_padding, dtype,
        )  # fmt: skip


class Conv1d(_Conv):
    """1-d convolution over ``(N, C_in, L)``: weight ``(C_out, C_in // groups, k)``, bias
    ``(C_out,)``. ``padding`` may be ``'valid'`` or ``'same'``; ``padding_mode`` zeros, reflect,
    replicate or circular."""

    nd = 1


class Conv2d(_Conv):
    """2-d convolution over ``(N, C_in, H, W)``: weight ``(C_out, C_in // groups, kH, kW)``, bias
    ``(C_out,)``. ``padding`` may be ``'valid'`` or ``'same'``; ``padding_mode`` zeros, reflect,
    replicate or circular."""

    nd = 2


class Conv3d(_Conv):
    """3-d convolution over ``(N, C_in, D, H, W)``: weight ``(C_out, C_in // groups, kD, kH,
    kW)``, bias ``(C_out,)``."""

    nd = 3


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-d convolution: weight ``(C_in, C_out // groups, k)``, bias ``(C_out,)``."""

    nd = 1


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-d convolution: weight ``(C_in, C_out // groups, kH, kW)``, bias
    ``(C_out,)``; ``output_padding`` (below the stride) adds to the output's size."""

    nd = 2


class ConvTranspose3d(_ConvTranspose):
    """Transposed 3-d convolution: weight ``(C_in, C_out // groups, kD, kH, kW)``, bias
    ``(C_out,)``."""

    nd = 3
