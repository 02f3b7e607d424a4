"""``MultiheadAttention``, as PyTorch's: the same signature, parameters and state dict names
(``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``), so a PyTorch state
dict loads and gives PyTorch's outputs.

The heads are split by multiplying with the projection weights viewed per head, (H, E, D), with
the batch broadcast, rather than by reshaping the projected input: the batch and sequence dims
may both be unknown on graphs (placeholders with None dims), where a reshape could not tell them
apart. The same code runs eagerly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.layers import Linear, check_size, init_uniform
from graphjit.nn.module import Module, operand
from graphjit.tensor.creation import zeros
from graphjit.tensor.parameter import Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Multi-head attention: ``out_proj(concat_h softmax(q_h k_h^T / sqrt(D) + mask) v_h)`` with
    ``q_h, k_h, v_h`` the heads of the input projections (D = embed_dim // num_heads).

    Inputs are (L, N, E) (or (N, L, E) with ``batch_first``, or unbatched (L, E)). Masks follow
    PyTorch: ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N * num_heads, L, S), where
    a boolean True marks a position that may NOT be attended to and a float mask is added to the
    scores. Dropout on the attention weights applies in training mode. ``kdim``/``vdim`` other than
    ``embed_dim``, ``add_bias_kv`` and ``add_zero_attn`` are not supported."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        self.embed_dim = check_size(embed_dim, "embed_dim", "MultiheadAttention")
        self.num_heads = check_size(num_heads, "num_heads", "MultiheadAttention")
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim {embed_dim} is not divisible by num_heads "
                f"{num_heads}"
            )
        if (
            add_bias_kv
            or add_zero_attn
            or kdim not in (None, embed_dim)
            or vdim
            not in (
                None,
                embed_dim,
            )
        ):
            raise NotImplementedError(
                "MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim other than "
                "embed_dim are not supported"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        # PyTorch's initialisation: xavier_uniform_ on the packed projection, zero biases
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))
        self.in_proj_weight = init_uniform((3 * embed_dim, embed_dim), bound, dtype)
        self.in_proj_bias = Parameter(zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if bias:
            self.out_proj.bias = Parameter(zeros(embed_dim, dtype=dtype))

    def _heads(self, x: Any, which: int) -> Any:
        """Projection ``which`` (0 query, 1 key, 2 value) of x (N, L, E), as (N, H, L, D)."""
        e, h, d = self.embed_dim, self.num_heads, self.head_dim
        weight = operand(self.in_proj_weight, x)[which * e : (which + 1) * e]
        per_head = ops.transpose(ops.reshape(ops.transpose(weight), (e, h, d)), (1, 0, 2))
        y = ops.matmul(ops.expand_dims(x, 1), per_head)
        if self.in_proj_bias is not None:
            bias = operand(self.in_proj_bias, x)[which * e : (which + 1) * e]
            y = y + ops.reshape(bias, (h, 1, d))
        return y

    def _masked(self, mask: Any, scores: Any) -> Any:
        """``scores`` with a PyTorch mask applied: True (bool) excluded, floats added."""
        m = ops.lift(mask)
        if m.dtype == "bool":
            return ops.where(m, -np.inf, scores)
        return scores + m

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Any, Any]:
        q, k, v = ops.lift(query), ops.lift(key), ops.lift(value)
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ValueError(
                "MultiheadAttention: query, key and value must all be 3-d (batched) or 2-d, got "
                f"shapes {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
            )
        for name, x in (("query", q), ("key", k), ("value", v)):
            if tuple(x.shape)[-1] != self.embed_dim:
                raise ValueError(
                    f"MultiheadAttention: {name} must end in embed_dim={self.embed_dim}, got "
                    f"shape {tuple(x.shape)}"
                )
        unbatched = q.ndim == 2
        if unbatched:  # (L, E) -> (1, L, E)
            q, k, v = (ops.expand_dims(x, 0) for x in (q, k, v))
            if key_padding_mask is not None:
                key_padding_mask = ops.expand_dims(ops.lift(key_padding_mask), 0)
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            q, k, v = (ops.swapaxes(x, 0, 1) for x in (q, k, v))
        if is_causal and attn_mask is None:
            raise ValueError(
                "MultiheadAttention: is_causal needs attn_mask as well (PyTorch's rule)"
            )
        # PyTorch scales the query before the product
        qh = self._heads(q, 0) * math.sqrt(1.0 / self.head_dim)
        kh, vh = self._heads(k, 1), self._heads(v, 2)
        scores = ops.matmul(qh, ops.swapaxes(kh, -1, -2))  # (N, H, L, S)
        if attn_mask is not None:
            m = ops.lift(attn_mask)
            if m.ndim == 3:  # (N * H, L, S)
                m = ops.reshape(m, (-1, self.num_heads, *tuple(m.shape)[1:]))
            scores = self._masked(m, scores)
        if key_padding_mask is not None:
            pad = ops.expand_dims(ops.expand_dims(ops.lift(key_padding_mask), 1), 1)
            scores = self._masked(pad, scores)
        weights = ops.softmax(scores, axis=-1)
        if self.dropout and self.training:
            weights = F.dropout(weights, self.dropout, training=True)
        heads = ops.matmul(weights, vh)  # (N, H, L, D)
        e, h, d = self.embed_dim, self.num_heads, self.head_dim
        out_weight = ops.reshape(ops.transpose(operand(self.out_proj.weight, heads)), (h, d, e))
        out = ops.sum(ops.matmul(heads, out_weight), axis=1)  # (N, L, E)
        if self.out_proj.bias is not None:
            out = out + operand(self.out_proj.bias, out)
        if unbatched:
            out = ops.squeeze(out, 0)
        elif not self.batch_first:
            out = ops.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = ops.mean(weights, axis=1)
        if unbatched:
            weights = ops.squeeze(weights, 0)
        return out, weights

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"batch_first={self.batch_first}"
        )
