"""Margin losses of ``gj.nn.functional`` (PyTorch's names, arguments and defaults):
``hinge_embedding_loss``, ``soft_margin_loss``, ``multilabel_soft_margin_loss``,
``multi_margin_loss`` and ``triplet_margin_loss``, each with ``reduction`` none/mean/sum (and the
legacy ``size_average``/``reduce`` read as PyTorch reads them)."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit import ops
from graphjit.nn.functional.activations import logsigmoid
from graphjit.nn.functional.distance import pairwise_distance
from graphjit.nn.functional.layers import checked_class_indices
from graphjit.nn.functional.losses import (
    check_broadcasts_to,
    check_class_weight,
    legacy_reduction,
    reduce_loss,
)
from graphjit.ops.dispatch import lift_together

__all__ = [
    "hinge_embedding_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "triplet_margin_loss",
]


def _same_shape(x: Any, t: Any, name: str) -> None:
    xs, ts = tuple(x.shape), tuple(t.shape)
    if len(xs) != len(ts) or any(
        isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(xs, ts)
    ):
        raise ValueError(f"{name}: input shape {xs} and target shape {ts} differ (they must match)")


def hinge_embedding_loss(
    input: Any,
    target: Any,
    margin: float = 1.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """``x`` where target is 1, ``max(0, margin - x)`` where it is -1 (PyTorch's: every target
    other than 1 takes the margin term, every one other than -1 the value)."""
    x, t = ops.lift(input), ops.lift(target)
    try:
        margin_term = ops.where(ops.not_equal(t, 1), ops.maximum(margin - x, 0.0), 0.0)
        value_term = ops.where(ops.not_equal(t, -1), x, 0.0)
    except ValueError as e:
        raise ValueError(
            f"hinge_embedding_loss: input shape {tuple(x.shape)} and target shape "
            f"{tuple(t.shape)} do not broadcast against each other"
        ) from e
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(margin_term + value_term, reduction, "hinge_embedding_loss")


def soft_margin_loss(
    input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean"
) -> Any:
    """``log(1 + exp(-target * input))``, through softplus."""
    x, t = ops.lift(input), ops.lift(target)
    _same_shape(x, t, "soft_margin_loss")
    loss = ops.softplus(-t * x)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "soft_margin_loss")


def multilabel_soft_margin_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """Binary cross-entropy of logits ``input`` (N, C) against 0/1 labels, averaged over the
    classes (the last dim), ``weight`` (C,) scaling each class."""
    x, t = ops.lift(input), ops.lift(target)
    _same_shape(x, t, "multilabel_soft_margin_loss")
    loss = -(t * logsigmoid(x) + (1.0 - t) * logsigmoid(-x))
    if weight is not None:
        check_broadcasts_to(weight, tuple(x.shape), "multilabel_soft_margin_loss", "weight")
        loss = loss * weight
    n_classes = tuple(x.shape)[-1] if x.ndim else 1
    if not isinstance(n_classes, int):
        raise ValueError(
            f"multilabel_soft_margin_loss: the classes (last dim) must be known, got {x.shape}"
        )
    loss = ops.sum(loss, axis=-1) / n_classes if x.ndim else loss
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(loss, reduction, "multilabel_soft_margin_loss")


def multi_margin_loss(
    input: Any,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """The multi-class hinge loss of scores ``input`` (N, C) or (C,) at class indices ``target``:
    ``sum over i != y of w[y] * max(0, margin - x[y] + x[i]) ** p``, divided by C."""
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    x, t = ops.lift(input), ops.lift(target)
    if (
        x.ndim not in (1, 2)
        or t.ndim != x.ndim - 1
        or (x.ndim == 2 and t.shape[0] not in (None, x.shape[0]))
    ):
        raise ValueError(
            f"multi_margin_loss: expected input (N, C) with target (N,), or input (C,) with a 0-d "
            f"target, got input {tuple(x.shape)} and target {tuple(t.shape)}"
        )
    n_classes = tuple(x.shape)[-1]
    if not isinstance(n_classes, int):
        raise ValueError(f"multi_margin_loss: the classes (last dim) must be known, got {x.shape}")
    if t.dtype not in ("uint8", "int8", "int16", "int32", "int64"):
        raise TypeError(f"multi_margin_loss: class indices must be integers, got {t.dtype}")
    check_class_weight(weight, n_classes, "multi_margin_loss")
    t = checked_class_indices(t, n_classes, "multi_margin_loss")
    picked = ops.take_along_axis(x, ops.expand_dims(t, -1), axis=-1)
    z = ops.maximum(margin - picked + x, 0.0)
    if p == 2:
        z = z * z
    classes = lift_together(np.arange(n_classes), t)[0]
    others = ops.not_equal(ops.expand_dims(t, -1), classes)
    z = ops.where(others, z, 0.0)
    if weight is not None:
        z = z * ops.expand_dims(ops.take(lift_together(weight, x)[0], t, axis=0), -1)
    loss = ops.sum(z, axis=-1) / n_classes
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(loss, reduction, "multi_margin_loss")


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with ``d`` the
    :func:`pairwise_distance`; ``swap`` uses ``min(d(a, n), d(p, n))`` for the negative."""
    if not margin > 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    a, pos, neg = ops.lift(anchor), ops.lift(positive), ops.lift(negative)
    shapes = (tuple(a.shape), tuple(pos.shape), tuple(neg.shape))
    if (
        not (a.ndim == pos.ndim == neg.ndim)
        or a.ndim not in (1, 2)
        or any(
            isinstance(d, int) and isinstance(e, int) and d != e
            for s in shapes[1:]
            for d, e in zip(shapes[0], s)
        )
    ):
        raise ValueError(
            f"triplet_margin_loss: expected anchor, positive and negative all (N, D) or all (D,), "
            f"got {shapes[0]}, {shapes[1]} and {shapes[2]}"
        )
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = ops.minimum(d_neg, pairwise_distance(pos, neg, p, eps))
    loss = ops.maximum(margin + d_pos - d_neg, 0.0)
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(loss, reduction, "triplet_margin_loss")
