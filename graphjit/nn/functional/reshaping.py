"""``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle``, ``unfold`` and ``fold`` of
``gj.nn.functional`` (PyTorch's names and arguments). The shuffles are a reshape, a transpose and a
reshape; ``unfold`` (im2col) gathers the sliding blocks with ``take`` at constant indices and
``fold`` scatter-adds them back with ``add_at`` (its transpose), so each runs eagerly and on graphs
with the gradients of those ops."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from graphjit import ops
from graphjit.ir import Node
from graphjit.nn.functional.arguments import int_tuple

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "unfold", "fold"]


def _factor(value: Any, what: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: {what} must be a positive int, got {value!r}")
    return value


def _lead(shape: tuple[Any, ...], name: str) -> tuple[int, ...]:
    """The leading (batch) dims for a reshape: at most one of them unknown (-1)."""
    if sum(d is None for d in shape) > 1:
        raise ValueError(f"{name}: at most one leading dim may be unknown, got shape {shape}")
    return tuple(-1 if d is None else d for d in shape)


def _image(x: Any, name: str, what: str) -> tuple[int, int, int]:
    shape = tuple(x.shape)
    if x.ndim < 3:
        raise ValueError(f"{name}: expected an input (*, {what}), got shape {shape}")
    c, h, w = shape[-3:]
    if not all(isinstance(d, int) for d in (c, h, w)):
        raise ValueError(f"{name}: the last three dims must be known, got shape {shape}")
    return c, h, w


def pixel_shuffle(input: Any, upscale_factor: int) -> Any:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r): each group of ``r * r`` channels becomes an
    ``r x r`` block of pixels."""
    r = _factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    x = ops.lift(input)
    c, h, w = _image(x, "pixel_shuffle", "C * upscale_factor**2, H, W")
    if c % (r * r):
        raise ValueError(
            f"pixel_shuffle: the channels (dim -3) must be divisible by upscale_factor**2 = "
            f"{r * r}, got shape {tuple(x.shape)}"
        )
    lead = _lead(tuple(x.shape)[:-3], "pixel_shuffle")
    n = len(lead)
    y = ops.reshape(x, (*lead, c // (r * r), r, r, h, w))
    y = ops.transpose(y, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return ops.reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Any, downscale_factor: int) -> Any:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W), the inverse of :func:`pixel_shuffle`."""
    r = _factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    x = ops.lift(input)
    c, h, w = _image(x, "pixel_unshuffle", "C, H * downscale_factor, W * downscale_factor")
    if h % r or w % r:
        raise ValueError(
            f"pixel_unshuffle: the height and width (dims -2, -1) must be divisible by "
            f"downscale_factor={r}, got shape {tuple(x.shape)}"
        )
    lead = _lead(tuple(x.shape)[:-3], "pixel_unshuffle")
    n = len(lead)
    y = ops.reshape(x, (*lead, c, h // r, r, w // r, r))
    y = ops.transpose(y, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return ops.reshape(y, (*lead, c * r * r, h // r, w // r))


def channel_shuffle(input: Any, groups: int) -> Any:
    """(N, C, *) with the channels in ``groups`` groups, interleaved: channel ``g * (C / groups)
    + k`` moves to ``k * groups + g``."""
    g = _factor(groups, "groups", "channel_shuffle")
    x = ops.lift(input)
    shape = tuple(x.shape)
    if x.ndim < 3 or not isinstance(shape[1], int) or shape[1] % g:
        raise ValueError(
            f"channel_shuffle: expected an input (N, C, *) of more than 2 dims with C divisible "
            f"by groups={g}, got shape {shape}"
        )
    rest = shape[2:]
    if not all(isinstance(d, int) for d in rest):
        raise ValueError(f"channel_shuffle: the dims after the channels must be known, got {shape}")
    batch = -1 if shape[0] is None else shape[0]
    y = ops.reshape(x, (batch, g, shape[1] // g, *rest))
    return ops.reshape(ops.swapaxes(y, 1, 2), (batch, shape[1], *rest))


class _Blocks(NamedTuple):
    """The sliding blocks of an (H, W) plane padded by ``padding``: ``positions[k, l]`` is the flat
    position in the padded plane of element ``k`` of block ``l`` (both row-major)."""

    padded: tuple[int, int]
    positions: np.ndarray


def _pair(value: Any, what: str, name: str, low: int) -> tuple[int, int]:
    first, second = int_tuple(name, what, value, 2, low)
    return first, second


def _blocks(
    name: str, plane: tuple[int, int], kernel_size: Any, dilation: Any, padding: Any, stride: Any
) -> _Blocks:
    kh, kw = _pair(kernel_size, "kernel_size", name, 1)
    dh, dw = _pair(dilation, "dilation", name, 1)
    ph, pw = _pair(padding, "padding", name, 0)
    sh, sw = _pair(stride, "stride", name, 1)
    hp, wp = plane[0] + 2 * ph, plane[1] + 2 * pw
    oh, ow = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{name}: the (padded) plane {hp}x{wp} is smaller than the dilated kernel "
            f"{dh * (kh - 1) + 1}x{dw * (kw - 1) + 1}: no block fits"
        )
    rows = (np.arange(oh) * sh)[None, :, None] + (np.arange(kh) * dh)[:, None, None]
    cols = (np.arange(ow) * sw)[None, None, :] + (np.arange(kw) * dw)[:, None, None]
    flat = rows[:, None, :, None] * wp + cols[None, :, None, :]  # (kh, kw, oh, ow)
    return _Blocks((hp, wp), flat.reshape(kh * kw, oh * ow).astype(np.int64))


def unfold(
    input: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Any:
    """im2col: (N, C, H, W) (or (C, H, W)) -> (N, C * kh * kw, L), each column one sliding block
    of the zero-padded input, the block's elements channel by channel, row-major."""
    x = ops.lift(input)
    shape = tuple(x.shape)
    if x.ndim not in (3, 4) or not all(isinstance(d, int) for d in shape[-3:]):
        raise ValueError(
            f"unfold: expected an input (N, C, H, W) or (C, H, W) with known C, H, W, got shape "
            f"{shape}"
        )
    c, h, w = shape[-3:]
    if not c:
        raise ValueError(f"unfold: the input has no channels, got shape {shape}")
    blocks = _blocks("unfold", (h, w), kernel_size, dilation, padding, stride)
    ph, pw = (blocks.padded[0] - h) // 2, (blocks.padded[1] - w) // 2
    lead = _lead(shape[:-3], "unfold")
    padded = ops.pad(x, [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)]) if ph or pw else x
    flat = ops.reshape(padded, (*lead, c, blocks.padded[0] * blocks.padded[1]))
    k, n_blocks = blocks.positions.shape
    return ops.reshape(ops.take(flat, blocks.positions, axis=-1), (*lead, c * k, n_blocks))


def fold(
    input: Any,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Any:
    """col2im, the transpose of :func:`unfold`: (N, C * kh * kw, L) (or unbatched) -> (N, C,
    *output_size), each block's values summed into the positions they came from (the padding
    dropped)."""
    x = ops.lift(input)
    shape = tuple(x.shape)
    h, w = _pair(output_size, "output_size", "fold", 1)
    blocks = _blocks("fold", (h, w), kernel_size, dilation, padding, stride)
    k, n_blocks = blocks.positions.shape
    if x.ndim not in (2, 3) or not isinstance(shape[-2], int) or shape[-2] % k or not shape[-2]:
        raise ValueError(
            f"fold: expected an input (N, C * {k}, L) or (C * {k}, L): its dim -2 divisible by "
            f"the kernel's {k} elements, got shape {shape}"
        )
    if shape[-1] not in (None, n_blocks):
        raise ValueError(
            f"fold: expected L = {n_blocks} blocks (dim -1) for output_size {(h, w)}, got shape "
            f"{shape}"
        )
    c = shape[-2] // k
    lead = _lead(shape[:-2], "fold")
    hp, wp = blocks.padded
    values = ops.reshape(x, (*lead, c, k * n_blocks))
    if isinstance(x, Node) and -1 in lead:  # zeros as many as the batch known at run time
        zeros: Any = ops.zeros_like(ops.take(values, np.zeros(hp * wp, np.int64), axis=-1))
    else:
        zeros = np.zeros((*lead, c, hp * wp), dtype=x.dtype)
        if getattr(x, "is_cuda", False):
            zeros = ops.lift(zeros).to(x.device)
    summed = ops.reshape(
        ops.add_at(zeros, blocks.positions.reshape(-1), values, axis=-1), (*lead, c, hp, wp)
    )
    ph, pw = (hp - h) // 2, (wp - w) // 2
    if ph:
        summed = ops.take(summed, np.arange(ph, ph + h), axis=-2)
    if pw:
        summed = ops.take(summed, np.arange(pw, pw + w), axis=-1)
    return summed
