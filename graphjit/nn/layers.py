"""Layers with parameters or shape logic: Linear, Embedding, Dropout, Identity, Flatten and
Unflatten. Each ``forward`` is plain ``gj.*`` code, so it runs eagerly on tensors and builds graph
on nodes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from graphjit import ops
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.module import Module, operand
from graphjit.tensor.creation import rand, randn
from graphjit.tensor.parameter import Parameter

__all__ = [
    "AlphaDropout",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "Embedding",
    "FeatureAlphaDropout",
    "Flatten",
    "Identity",
    "Linear",
    "Unflatten",
]


def init_uniform(shape: tuple[int, ...], bound: float, dtype: str) -> Any:
    """A parameter drawn uniformly in +-bound (PyTorch's default for Linear's weight and bias)."""
    values = (rand(*shape, dtype=dtype) * 2.0 - 1.0) * bound
    return Parameter(values.detach())


def check_size(value: Any, what: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {what} must be a positive int, got {value!r}")
    return value


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight of shape (out_features, in_features), initialised
    uniformly in +-1/sqrt(in_features) as PyTorch does (use ``gj.manual_seed`` to repeat)."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: str = "float64"
    ) -> None:
        super().__init__()
        self.in_features = check_size(in_features, "in_features", "Linear")
        self.out_features = check_size(out_features, "out_features", "Linear")
        bound = 1.0 / math.sqrt(in_features)
        self.weight = init_uniform((out_features, in_features), bound, dtype)
        self.bias = init_uniform((out_features,), bound, dtype) if bias else None

    def forward(self, x: Any) -> Any:
        x = ops.lift(x)
        if x.ndim == 0 or x.shape[-1] not in (None, self.in_features):
            raise ValueError(
                f"Linear({self.extra_repr()}): expected an input of shape "
                f"(*, {self.in_features}), got shape {tuple(x.shape)}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, drawn from N(0, 1) as
    PyTorch does; the row at ``padding_idx`` starts at zero and gets no gradient."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        self.num_embeddings = check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx {padding_idx} is outside [-{num_embeddings}, "
                    f"{num_embeddings})"
                )
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        weight = randn(num_embeddings, embedding_dim, dtype=dtype)
        if padding_idx is not None:
            weight.numpy()[padding_idx] = 0.0
        self.weight = Parameter(weight)

    def forward(self, indices: Any) -> Any:
        return F.embedding(indices, operand(self.weight, indices), self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Dropout(Module):
    """``F.dropout`` in training mode (``model.train()``), the identity after ``model.eval()``.
    In a compiled step the masks come from the graph generator: pass ``model.buffer_updates(loss)``
    (or ``gj.nn.random_updates(loss)``) in the updates so each call draws a new mask."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TypeError(f"{name}: p must be a float in [0, 1], got {p!r}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name}: p must be in [0, 1], got {p}")
        if inplace:
            raise NotImplementedError(f"{name}: inplace=True is not supported")
        self.p = p

    def forward(self, x: Any) -> Any:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(Dropout):
    """``F.dropout1d``: whole channels of (N, C, L) zeroed in training mode."""

    def forward(self, x: Any) -> Any:
        return F.dropout1d(x, self.p, self.training)


class Dropout2d(Dropout):
    """``F.dropout2d``: whole channels of (N, C, H, W) zeroed in training mode."""

    def forward(self, x: Any) -> Any:
        return F.dropout2d(x, self.p, self.training)


class Dropout3d(Dropout):
    """``F.dropout3d``: whole channels of (N, C, D, H, W) zeroed in training mode."""

    def forward(self, x: Any) -> Any:
        return F.dropout3d(x, self.p, self.training)


class AlphaDropout(Dropout):
    """``F.alpha_dropout`` in training mode (for SELU networks), the identity after
    ``model.eval()``."""

    def forward(self, x: Any) -> Any:
        return F.alpha_dropout(x, self.p, self.training)


class FeatureAlphaDropout(Dropout):
    """``F.feature_alpha_dropout``: alpha dropout of whole channels in training mode."""

    def forward(self, x: Any) -> Any:
        return F.feature_alpha_dropout(x, self.p, self.training)


class Identity(Module):
    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flatten every dim after the first (the batch)."""

    def forward(self, x: Any) -> Any:
        shape = tuple(x.shape)
        if len(shape) < 1:
            raise ValueError("Flatten: expected at least one (batch) dim, got a 0-d input")
        rest = shape[1:]
        if all(isinstance(d, int) for d in rest):
            # the batch dim may be unknown (None, a graph placeholder) or 0: size the rest exactly
            return ops.reshape(x, (-1 if shape[0] is None else shape[0], math.prod(rest)))
        if isinstance(shape[0], int):
            return ops.reshape(x, (shape[0], -1))
        raise ValueError(
            f"Flatten: cannot flatten shape {shape}: the batch dim and a later dim are both unknown"
        )


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Any) -> Any:
        shape = list(x.shape)
        dim = self.dim % len(shape) if shape else 0
        new = [*shape[:dim], *self.unflattened_size, *shape[dim + 1 :]]
        unknown = [i for i, d in enumerate(new) if d is None or d == -1]
        if len(unknown) > 1:
            raise ValueError(
                f"Unflatten: cannot unflatten shape {tuple(shape)} into {tuple(new)}: more than "
                "one dim is unknown"
            )
        size = shape[dim] if shape else 1
        known = math.prod(d for d in self.unflattened_size if d != -1)
        if isinstance(size, int) and (
            (known == 0 or size % known) if -1 in self.unflattened_size else size != known
        ):
            raise ValueError(
                f"Unflatten: sizes {self.unflattened_size} do not multiply up to the size of dim "
                f"{self.dim} ({size}) of an input of shape {tuple(shape)}"
            )
        return ops.reshape(x, tuple(-1 if d is None else d for d in new))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
