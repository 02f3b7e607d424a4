"""Distances of ``gj.nn.functional``: ``cosine_similarity``, ``pairwise_distance`` and ``pdist``
(PyTorch's names, arguments and defaults), composed from ``gj`` ops so they run eagerly and on
graphs. A p-norm of zero has gradient zero, as PyTorch's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit import ops

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def vector_norm(d: Any, p: float, axis: int, keepdims: bool = False) -> Any:
    """The ``p``-norm of ``d`` along ``axis`` (``p`` may be ``inf`` or 0, the count of non-zero
    entries); where it is zero its gradient is zero rather than nan."""
    if p == math.inf:
        return ops.max(ops.abs(d), axis=axis, keepdims=keepdims)
    if p == 0:
        return ops.sum(ops.astype(ops.not_equal(d, 0), d.dtype), axis=axis, keepdims=keepdims)
    if p == 1:
        return ops.sum(ops.abs(d), axis=axis, keepdims=keepdims)
    total = ops.sum(d * d if p == 2 else ops.power(ops.abs(d), p), axis=axis, keepdims=keepdims)
    positive = total > 0
    safe = ops.where(positive, total, 1.0)
    root = ops.sqrt(safe) if p == 2 else ops.power(safe, 1.0 / p)
    return ops.where(positive, root, 0.0)


def _check_p(p: float, name: str) -> None:
    if not p >= 0:
        raise ValueError(f"{name}: p must be >= 0, got {p}")


def _broadcast_sum(a: Any, b: Any, name: str) -> Any:
    """``a + b``, refused naming ``name`` when the shapes do not broadcast."""
    try:
        return a + b
    except ValueError as e:
        raise ValueError(
            f"{name}: x1 of shape {tuple(a.shape)} and x2 of shape {tuple(b.shape)} do not "
            f"broadcast against each other"
        ) from e


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    """``sum((x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)))`` along ``dim`` (the inputs
    broadcast against each other), each vector divided by its norm first as PyTorch's."""
    if not eps >= 0:
        raise ValueError(f"cosine_similarity: eps must be non-negative, got {eps}")
    a, b = ops.lift(x1), ops.lift(x2)
    common = _broadcast_sum(a, b, "cosine_similarity")  # read for its shape only
    if not -max(common.ndim, 1) <= dim < max(common.ndim, 1):
        raise IndexError(f"cosine_similarity: dim {dim} is out of range for {common.ndim}-d inputs")
    if tuple(a.shape) != tuple(b.shape):  # the norms are those of the broadcast vectors
        a, b = ops.broadcast_like(a, common), ops.broadcast_like(b, common)
    n1 = ops.maximum(vector_norm(a, 2, dim, keepdims=True), eps)
    n2 = ops.maximum(vector_norm(b, 2, dim, keepdims=True), eps)
    return ops.sum((a / n1) * (b / n2), axis=dim)


def pairwise_distance(
    x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Any:
    """``||x1 - x2 + eps||_p`` along the last dim (the inputs broadcast against each other)."""
    _check_p(p, "pairwise_distance")
    a, b = ops.lift(x1), ops.lift(x2)
    _broadcast_sum(a, b, "pairwise_distance")
    d = a - b + eps
    if d.ndim == 0:  # PyTorch takes a 0-d difference as a vector of one element
        return vector_norm(ops.reshape(d, (1,)), p, -1)
    return vector_norm(d, p, -1, keepdims=keepdim)


def pdist(input: Any, p: float = 2.0) -> Any:
    """The ``p``-norm distances between the rows of an (N, M) input, for every pair ``i < j`` in
    row-major order: ``N * (N - 1) / 2`` of them."""
    _check_p(p, "pdist")
    x = ops.lift(input)
    if x.ndim != 2 or not isinstance(x.shape[0], int):
        raise ValueError(
            f"pdist: expected a 2-d input (N, M) with a known N, got shape {tuple(x.shape)}"
        )
    rows, cols = np.triu_indices(int(x.shape[0]), 1)
    return vector_norm(ops.take(x, rows, axis=0) - ops.take(x, cols, axis=0), p, -1)
