"""``scaled_dot_product_attention`` of ``gj.nn.functional``, as PyTorch's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.nn.functional.layers import dropout

__all__ = ["scaled_dot_product_attention"]


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Any:
    """``softmax(q @ k^T * scale + mask) @ v`` over (..., L, E), (..., S, E), (..., S, Ev).

    A boolean ``attn_mask`` marks the positions that may be attended to; a float one is added to
    the scores. ``is_causal`` masks the upper triangle (it needs known L and S). Dropout on the
    attention weights follows ``F.dropout`` (on graphs it draws from the graph generator)."""
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    q, k, v = ops.lift(query), ops.lift(key), ops.lift(value)
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    e = tuple(q.shape)[-1]
    if scale is None:
        if not isinstance(e, int):
            raise ValueError("scaled_dot_product_attention: the embedding dim must be known")
        scale = 1.0 / math.sqrt(e)
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) * scale
    if is_causal:
        length, source = tuple(q.shape)[-2], tuple(k.shape)[-2]
        if not (isinstance(length, int) and isinstance(source, int)):
            raise ValueError("scaled_dot_product_attention: is_causal needs known L and S")
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        mask = ops.lift(attn_mask)
        # a boolean mask says where to attend; a float one is added to the scores
        scores = ops.where(mask, scores, -np.inf) if mask.dtype == "bool" else scores + mask
    weights = ops.softmax(scores, axis=-1)
    if dropout_p:
        weights = dropout(weights, dropout_p, training=True)
    return ops.matmul(weights, v)
