"""``LayerNorm``, ``GroupNorm`` and ``RMSNorm``: ``gj.nn.functional``'s forms with learnable scale
(and shift), initialised to ones (and zeros) as PyTorch does; ``LocalResponseNorm``, without
parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphjit import ops
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.module import Module, operand
from graphjit.tensor.creation import ones, zeros
from graphjit.tensor.parameter import Parameter

__all__ = ["GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]


class LayerNorm(Module):
    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        affine = elementwise_affine
        self.weight = Parameter(ones(*shape, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(*shape, dtype=dtype)) if affine and bias else None

    def forward(self, x: Any) -> Any:
        return F.layer_norm(
            x, self.normalized_shape, operand(self.weight, x), operand(self.bias, x), self.eps
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
            raise ValueError(f"GroupNorm: num_groups must be a positive int, got {num_groups!r}")
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels {num_channels} is not divisible by num_groups "
                f"{num_groups}"
            )
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.weight = Parameter(ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_channels, dtype=dtype)) if affine else None

    def forward(self, x: Any) -> Any:
        x = ops.lift(x)
        affine = self.weight is not None
        if affine and (x.ndim < 2 or x.shape[1] not in (None, self.num_channels)):
            raise ValueError(
                f"GroupNorm({self.extra_repr()}): expected an input (N, {self.num_channels}, *), "
                f"got shape {tuple(x.shape)}"
            )
        return F.group_norm(
            x, self.num_groups, operand(self.weight, x), operand(self.bias, x), self.eps
        )

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"


class RMSNorm(Module):
    """``F.rms_norm`` over the trailing dims ``normalized_shape`` with a learned scale."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(ones(*shape, dtype=dtype)) if elementwise_affine else None

    def forward(self, x: Any) -> Any:
        x = ops.lift(x)
        n = len(self.normalized_shape)
        tail = tuple(x.shape)[x.ndim - n :] if x.ndim >= n else ()
        wrong = any(isinstance(d, int) and d != s for d, s in zip(tail, self.normalized_shape))
        if x.ndim < n or wrong:
            raise ValueError(
                f"RMSNorm({self.extra_repr()}): expected an input of shape "
                f"(*, {', '.join(map(str, self.normalized_shape))}), got shape {tuple(x.shape)}"
            )
        return F.rms_norm(x, self.normalized_shape, operand(self.weight, x), self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class LocalResponseNorm(Module):
    """``F.local_response_norm`` across the channels (dim 1)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Any) -> Any:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
