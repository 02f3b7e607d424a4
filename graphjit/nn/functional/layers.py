"""``linear``, the dropouts (``dropout``, ``dropout1d/2d/3d``, ``alpha_dropout``,
``feature_alpha_dropout``), ``embedding``, ``one_hot``, ``normalize`` and ``pad`` of
``gj.nn.functional`` (PyTorch's names, signatures and defaults)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.errors import REFUSED_NEGATIVE
from graphjit.ir import Node
from graphjit.nn.module import operand
from graphjit.ops.counter_rng import GRAPH_GENERATOR
from graphjit.ops.dispatch import is_tensor
from graphjit.tensor.creation import rand

__all__ = [
    "linear",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "embedding",
    "one_hot",
    "normalize",
    "pad",
]

# SELU's alpha * scale: the value alpha dropout gives a dropped unit is -ALPHA_DROPOUT_ALPHA
# before its affine correction (PyTorch's constant)
ALPHA_DROPOUT_ALPHA = 1.7580993408473766


def linear(input: Any, weight: Any, bias: Any = None) -> Any:
    """``input @ weight.T + bias``, weight of shape (out_features, in_features)."""
    x = ops.lift(input)
    y = ops.matmul(x, ops.transpose(operand(weight, x)))
    if bias is not None:
        y = y + operand(bias, x)
    return y


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` in
    training; the identity otherwise.

    Eagerly the mask comes from the generator ``gj.manual_seed`` seeds. On graphs it comes from
    ``gj.counter_uniform`` over the graph generator's seed and counter variables (and a stream
    number of its own, so two dropouts of one graph differ): compile the step with
    ``updates=gj.nn.random_updates(loss)`` (``model.buffer_updates(loss)`` includes it) and each
    call draws a new mask; ``gj.manual_seed`` before building repeats the masks."""
    _check_dropout(p, inplace, "dropout")
    x = ops.lift(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    if isinstance(x, Node):
        keep = ops.greater_equal(graph_uniform(x), p)
    else:
        keep = rand(*tuple(x.shape), dtype="float64").numpy() >= p
        if getattr(x, "is_cuda", False):  # the mask drawn on the host joins x on the GPU
            keep = ops.lift(keep).to(x.device)
    return x * (ops.astype(keep, x.dtype) * (1.0 / (1.0 - p)))


def _keep_mask(x: Any, p: float, channel_dims: int | None) -> Any:
    """1 where a unit is kept (probability ``1 - p``), 0 where dropped, in ``x``'s dtype: one
    draw per element, or with ``channel_dims`` one per entry of the first ``channel_dims`` dims
    (a channel), shaped to broadcast over the rest. Eagerly from the generator ``gj.manual_seed``
    seeds, on graphs from the graph generator (see :func:`dropout`)."""
    shape = tuple(x.shape)
    if channel_dims is not None:
        shape = shape[:channel_dims] + (1,) * (len(shape) - channel_dims)
    if isinstance(x, Node):
        like = x
        for axis in range(channel_dims if channel_dims is not None else x.ndim, x.ndim):
            like = ops.take(like, np.zeros(1, dtype=np.int64), axis=axis)  # the mask's shape
        keep: Any = ops.greater_equal(graph_uniform(like), p)
    else:
        keep = rand(*shape, dtype="float64").numpy() >= p
        if getattr(x, "is_cuda", False):  # the mask drawn on the host joins x on the GPU
            keep = ops.lift(keep).to(x.device)
    return ops.astype(keep, x.dtype)


def _check_dropout(p: float, inplace: bool, name: str) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{name}: p must be a float in [0, 1], got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be in [0, 1], got {p}")
    if inplace:
        raise NotImplementedError(f"{name}: inplace=True is not supported; assign the result")


def _feature_dropout(
    input: Any, p: float, training: bool, inplace: bool, name: str, spatial: int
) -> Any:
    """Channel-wise dropout of (N, C, *spatial) or unbatched (C, *spatial) inputs."""
    _check_dropout(p, inplace, name)
    x = ops.lift(input)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(
            f"{name}: expected a {spatial + 1}-d (unbatched: C, *spatial) or {spatial + 2}-d "
            f"(N, C, *spatial) input, got shape {tuple(x.shape)}"
        )
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    channel_dims = 1 if x.ndim == spatial + 1 else 2
    return x * (_keep_mask(x, p, channel_dims) * (1.0 / (1.0 - p)))


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p`` in training, scaling
    the rest by ``1 / (1 - p)``; masks drawn as :func:`dropout` draws them."""
    return _feature_dropout(input, p, training, inplace, "dropout1d", 1)


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of (N, C, H, W) with probability ``p`` in training; a 3-d input is
    taken as (N, C, L), as PyTorch now does."""
    spatial = 1 if ops.lift(input).ndim == 3 else 2
    return _feature_dropout(input, p, training, inplace, "dropout2d", spatial)


def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p`` in
    training."""
    return _feature_dropout(input, p, training, inplace, "dropout3d", 3)


def _alpha_dropout(x: Any, p: float, keep: Any) -> Any:
    """PyTorch's alpha dropout given the keep mask: dropped units go to SELU's negative
    saturation and an affine map keeps the mean and variance of a standard normal input."""
    a = 1.0 / math.sqrt((ALPHA_DROPOUT_ALPHA**2 * p + 1.0) * (1.0 - p))
    shift = (keep - 1.0) * (ALPHA_DROPOUT_ALPHA * a) + ALPHA_DROPOUT_ALPHA * a * p
    return x * (keep * a) + shift


def alpha_dropout(input: Any, p: float = 0.5, training: bool = False, inplace: bool = False) -> Any:
    """Alpha dropout (for SELU networks): each element dropped with probability ``p`` in
    training, the result keeping zero mean and unit variance; the identity otherwise."""
    _check_dropout(p, inplace, "alpha_dropout")
    x = ops.lift(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return _alpha_dropout(x, p, _keep_mask(x, p, None))


def feature_alpha_dropout(
    input: Any, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Any:
    """Alpha dropout of whole channels (dims 0 and 1 index them: (N, C, *))."""
    _check_dropout(p, inplace, "feature_alpha_dropout")
    x = ops.lift(input)
    if x.ndim < 2:
        raise ValueError(
            f"feature_alpha_dropout: expected an input (N, C, *) of 2 or more dims, got shape "
            f"{tuple(x.shape)}"
        )
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return _alpha_dropout(x, p, _keep_mask(x, p, 2))


def graph_uniform(x: Node) -> Node:
    """Uniforms in (0, 1) of ``x``'s shape from the graph generator: the hash of each element's
    flat index (a constant for a static shape, else counted at run time)."""
    shape = tuple(x.shape)
    if all(isinstance(d, int) for d in shape):
        sizes = tuple(int(d) for d in shape)  # type: ignore[arg-type]
        index: Any = np.arange(math.prod(sizes), dtype=np.int64).reshape(sizes)
    else:
        flat = ops.reshape(x, (-1,))
        index = ops.reshape_like(ops.cumsum(ops.ones_like(flat, dtype="int64")) - 1, x)
    gen = GRAPH_GENERATOR
    uniform: Node = ops.counter_uniform(
        gen.seed_variable, gen.counter_variable, index, stream=gen.next_stream()
    )
    return uniform


def embedding(
    input: Any,
    weight: Any,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Any:
    """Rows of ``weight`` (num_embeddings, dim) at the integer indices ``input``. The row at
    ``padding_idx`` gets no gradient: eagerly it reads its stored value, on graphs it reads as
    zeros (the value ``nn.Embedding`` gives it, kept there by the missing gradient)."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            "embedding: max_norm, scale_grad_by_freq and sparse are not supported"
        )
    idx = ops.lift(input)
    if idx.dtype not in ("uint8", "int8", "int16", "int32", "int64"):
        raise TypeError(f"embedding: indices must be integers (int32 or int64), got {idx.dtype}")
    w = operand(weight, idx) if isinstance(idx, Node) else weight
    n = ops.lift(w).shape[0]
    idx = checked_class_indices(idx, n, "embedding", things="embeddings")
    if padding_idx is None:
        return ops.take(w, idx, axis=0)
    if not isinstance(padding_idx, int) or isinstance(padding_idx, bool):
        raise TypeError(f"embedding: padding_idx must be an int, got {padding_idx!r:.40}")
    if isinstance(n, int) and not -n <= padding_idx < n:
        raise ValueError(
            f"embedding: padding_idx {padding_idx} is out of range for {n} embeddings (it must "
            f"be from {-n} to {n - 1})"
        )
    if padding_idx < 0:
        padding_idx += n
    row_mask = np.ones((n, 1), dtype=ops.lift(w).dtype)
    row_mask[padding_idx] = 0
    if isinstance(w, Node) or isinstance(idx, Node) or not is_tensor(w):
        return ops.take(w * row_mask, idx, axis=0)
    counted = ops.astype(ops.expand_dims(ops.not_equal(idx, padding_idx), -1), w.dtype)
    return ops.take(w, idx, axis=0) * counted + ops.take(w.detach(), idx, axis=0) * (1 - counted)


def one_hot(tensor: Any, num_classes: int = -1) -> Any:
    """int64 one-hot vectors along a new last dim; ``num_classes=-1`` (eager only) uses
    ``max + 1``."""
    idx = ops.lift(tensor)
    if idx.dtype not in ("int8", "int16", "int32", "int64", "uint8"):
        raise TypeError(f"one_hot: expected integer class values, got {idx.dtype}")
    if num_classes < 0:
        if isinstance(idx, Node):
            raise ValueError("one_hot: on graphs num_classes must be given")
        values = np.asarray(idx.detach().cpu().numpy())
        num_classes = int(values.max()) + 1 if values.size else 0
    # rows of the identity, gathered: a class outside [0, num_classes) raises IndexError
    idx = checked_class_indices(idx, num_classes, "one_hot")
    eye: Any = np.eye(num_classes, dtype=np.int64)
    if getattr(idx, "is_cuda", False):  # the identity joins the indices on the GPU
        eye = ops.lift(eye).to(idx.device)
    return ops.take(eye, idx, axis=0)


def checked_class_indices(
    idx: Any, n_classes: Any, name: str, ignore_index: Any = None, things: str = "classes"
) -> Any:
    """Class (or row) indices ``idx`` for a gather over ``n_classes`` of them, made to raise
    IndexError for a value outside ``[0, n_classes)`` (``ignore_index`` excepted): a gather
    takes numpy's negative indices, which would silently pick one from the end. Host tensors are
    checked here, naming the value; graphs and GPU tensors get negative values mapped to
    ``REFUSED_NEGATIVE``, out of bounds for any axis, which the gather's own run-time bounds
    check refuses. Non-integer indices are returned
    as they are, for the gather to refuse."""
    if idx.dtype not in ("uint8", "int8", "int16", "int32", "int64"):
        return idx
    if is_tensor(idx) and not idx.is_cuda:
        values = np.asarray(idx.detach().numpy())
        bad = values < 0
        if isinstance(n_classes, int):
            bad |= values >= n_classes
        if ignore_index is not None:
            bad &= values != ignore_index
        if bad.any():
            raise IndexError(
                f"{name}: index {values[bad].flat[0]} is out of bounds for {n_classes} {things} "
                f"(indices are in [0, {n_classes}))"
            )
        return idx
    wide = ops.astype(idx, "int64")
    return ops.where(ops.less(wide, 0), REFUSED_NEGATIVE, wide)


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Any:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    x = ops.lift(input)
    if p == 2.0:
        norm = ops.sqrt(ops.sum(x * x, axis=dim, keepdims=True))
    elif p == 1.0:
        norm = ops.sum(ops.abs(x), axis=dim, keepdims=True)
    else:
        norm = ops.power(ops.sum(ops.power(ops.abs(x), p), axis=dim, keepdims=True), 1.0 / p)
    return x / ops.maximum(norm, eps)


def _pad_indices(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index of each position of an axis padded by ``before``/``after`` in ``mode`` (a
    negative width crops). Circular padding wraps around what is left after cropping, as
    PyTorch's does."""
    positions = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    if mode == "circular":
        start, stop = max(-before, 0), size - max(-after, 0)
        return start + (positions - start) % (stop - start) if stop > start else positions
    # reflect: mirror about the end elements, which are not repeated
    period = 2 * (size - 1)
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded >= size, period - folded, folded)


def pad(input: Any, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Any:
    """Pad the last ``len(pad) // 2`` dims, ``pad`` listing (before, after) pairs from the last
    dim backwards. Modes: constant (with ``value``), reflect, replicate, circular."""
    x = ops.lift(input)
    widths = list(pad)
    if len(widths) % 2 or len(widths) // 2 > x.ndim:
        raise ValueError(
            f"pad: expected an even number of widths, at most 2 per dim of the {x.ndim}-d input, "
            f"got {tuple(widths)}"
        )
    pairs = [(widths[2 * i], widths[2 * i + 1]) for i in range(len(widths) // 2)]
    if mode == "constant":
        if any(b < 0 or a < 0 for b, a in pairs):
            raise NotImplementedError("pad: negative widths (cropping) are not supported")
        per_axis = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
        return ops.pad(x, per_axis, constant_values=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be constant, reflect, replicate or circular, got {mode}")
    if value:
        raise ValueError(f"pad: value is only for mode='constant', got value={value}")
    if x.ndim not in (len(pairs) + 1, len(pairs) + 2):
        raise ValueError(
            f"pad: mode {mode!r} pads {len(pairs)} dims of a {len(pairs) + 1}-d (unbatched) or "
            f"{len(pairs) + 2}-d (batched) input, got shape {tuple(x.shape)}"
        )
    for k, (before, after) in enumerate(pairs):
        axis = x.ndim - 1 - k
        size = tuple(x.shape)[axis]
        if not isinstance(size, int):
            raise ValueError(f"pad: mode {mode!r} needs a known size of dim {axis}")
        if size < 1:
            raise ValueError(f"pad: mode {mode!r} cannot pad the empty dim {axis}")
        if mode == "reflect" and max(before, after) >= size:
            raise ValueError(f"pad: reflect widths must be < the dim size {size}")
        if mode == "circular" and max(before, after) > size:
            raise ValueError(f"pad: circular widths must be <= the dim size {size}")
        kept = size + min(before, 0) + min(after, 0)
        if size + before + after < (0 if mode == "circular" else 1) or (
            mode == "circular" and kept < 1 and max(before, after) > 0
        ):
            raise ValueError(
                f"pad: widths {(before, after)} leave nothing of dim {axis} of size {size}"
            )
        x = ops.take(x, _pad_indices(size, before, after, mode), axis=axis)
    return x
