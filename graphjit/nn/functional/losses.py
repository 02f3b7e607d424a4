"""Loss functions of ``gj.nn.functional`` (PyTorch's names, signatures and defaults). Each takes
``reduction`` ('none', 'mean' or 'sum'); the legacy ``size_average``/``reduce`` are honoured as
PyTorch does."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.errors import TensorUsageError
from graphjit.nn.functional.activations import log_softmax
from graphjit.nn.functional.layers import checked_class_indices
from graphjit.ops.dispatch import is_tensor, lift_together

__all__ = [
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
]

REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's reading of the deprecated ``size_average``/``reduce`` pair."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def reduce_loss(loss: Any, reduction: str, name: str) -> Any:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _pair(input: Any, target: Any, name: str) -> tuple[Any, Any]:
    x, t = ops.lift(input), ops.lift(target)
    xs, ts = tuple(x.shape), tuple(t.shape)
    if len(xs) != len(ts) or any(
        isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(xs, ts)
    ):
        raise ValueError(
            f"{name}: input shape {xs} and target shape {ts} differ (they must match; reshape "
            "one of them)"
        )
    return x, t


def _same_dims(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether shapes ``a`` and ``b`` agree (a None, unknown until the call, matches any)."""
    return len(a) == len(b) and all(
        not isinstance(d, int) or not isinstance(e, int) or d == e for d, e in zip(a, b)
    )


def check_broadcasts_to(weight: Any, shape: tuple[Any, ...], name: str, what: str) -> None:
    """Refuse, naming ``name``, a ``weight`` that does not broadcast to ``shape`` (the loss's)
    without growing it."""
    if weight is None:
        return
    ws = tuple(ops.lift(weight).shape)
    if len(ws) > len(shape) or not all(
        e == 1 or _same_dims((d,), (e,)) for d, e in zip(shape[len(shape) - len(ws) :], ws)
    ):
        raise ValueError(f"{name}: {what} of shape {ws} does not broadcast to the shape {shape}")


def check_class_weight(weight: Any, n_classes: Any, name: str) -> None:
    """A class weight must hold one value per class: shape (C,)."""
    if weight is None:
        return
    ws = tuple(ops.lift(weight).shape)
    if len(ws) != 1 or (isinstance(n_classes, int) and ws[0] not in (None, n_classes)):
        raise ValueError(
            f"{name}: expected a weight of shape ({n_classes},), one per class, got shape {ws}"
        )


def _check_probabilities(value: Any, what: str) -> None:
    """TensorUsageError (PyTorch's RuntimeError) for an eager host tensor with an element
    outside [0, 1] or NaN; a graph node or a GPU tensor is left alone (reading it would cost a
    copy to the host)."""
    if not is_tensor(value) or value.is_cuda:
        return
    a = np.asarray(value.detach().numpy())
    bad = ~((a >= 0) & (a <= 1))
    if bad.any():
        hint = " (for logits use binary_cross_entropy_with_logits)" if what == "input" else ""
        raise TensorUsageError(
            f"binary_cross_entropy: all elements of {what} should be between 0 and 1, got "
            f"{a[bad].flat[0]!r}{hint}"
        )


def mse_loss(
    input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean"
) -> Any:
    x, t = _pair(input, target, "mse_loss")
    diff = x - t
    return reduce_loss(diff * diff, legacy_reduction(size_average, reduce, reduction), "mse_loss")


def l1_loss(
    input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean"
) -> Any:
    x, t = _pair(input, target, "l1_loss")
    return reduce_loss(ops.abs(x - t), legacy_reduction(size_average, reduce, reduction), "l1_loss")


def smooth_l1_loss(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Any:
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    x, t = _pair(input, target, "smooth_l1_loss")
    d = ops.abs(x - t)
    loss = d if beta == 0 else ops.where(d < beta, (0.5 / beta) * (d * d), d - 0.5 * beta)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "smooth_l1_loss")


def huber_loss(
    input: Any, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None
) -> Any:
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    x, t = _pair(input, target, "huber_loss")
    d = ops.abs(x - t)
    loss = ops.where(d < delta, 0.5 * (d * d), delta * (d - 0.5 * delta))
    if weight is not None:
        check_broadcasts_to(weight, tuple(x.shape), "huber_loss", "weight")
        loss = loss * weight
    return reduce_loss(loss, reduction, "huber_loss")


def _class_axis_shape(ndim: int) -> int:
    return 0 if ndim == 1 else 1


def _weight_along_classes(weight: Any, x: Any, axis: int) -> Any:
    """``weight`` (C,) shaped to broadcast against ``x``, whose classes are on ``axis`` (an
    array or a list becomes a constant on ``x``'s device)."""
    w = lift_together(weight, x)[0]
    return ops.reshape(w, (-1,) + (1,) * (x.ndim - axis - 1))


def _check_index_target(x: Any, t: Any, name: str) -> None:
    if x.ndim == 0:
        raise ValueError(f"{name}: expected an input (N, C, ...) or (C,), got a 0-d input")
    if t.dtype not in ("int32", "int64", "uint8", "int8", "int16"):
        raise TypeError(f"{name}: class indices must be integers, got {t.dtype}")
    xs, ts = tuple(x.shape), tuple(t.shape)
    axis = _class_axis_shape(len(xs))
    expected = xs[:axis] + xs[axis + 1 :]
    if len(ts) != len(expected) or any(
        isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(ts, expected)
    ):
        hint = " (class probabilities must be floating point)" if _same_dims(ts, xs) else ""
        raise ValueError(
            f"{name}: expected input (N, C, ...) and target (N, ...), got input {xs} and target "
            f"{ts}{hint}"
        )


def _nll_parts(
    logp: Any, target: Any, weight: Any, ignore_index: int, name: str
) -> tuple[Any, Any, Any]:
    """Per-element ``-w[t] * logp[t]``, the per-element weights ``w[t]`` (0 where ignored), and
    the mask of targets that count, with classes on axis 1 (0 for an unbatched input)."""
    axis = _class_axis_shape(logp.ndim)
    n_classes = tuple(logp.shape)[axis]
    counted = ops.not_equal(target, ignore_index)
    target = checked_class_indices(target, n_classes, name, ignore_index)
    safe = ops.where(counted, target, 0)
    picked = ops.squeeze(
        ops.take_along_axis(logp, ops.expand_dims(safe, axis), axis=axis), axis=axis
    )
    mask = ops.astype(counted, logp.dtype)
    w = mask if weight is None else ops.take(lift_together(weight, logp)[0], safe, axis=0) * mask
    return -picked * w, w, counted


def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """Negative log likelihood of log-probabilities ``input`` (N, C, ...) or (C,) at the class
    indices ``target``; 'mean' divides by the summed weights of the counted targets."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    x, t = ops.lift(input), ops.lift(target)
    _check_index_target(x, t, "nll_loss")
    check_class_weight(weight, tuple(x.shape)[_class_axis_shape(x.ndim)], "nll_loss")
    loss, w, _ = _nll_parts(x, t, weight, ignore_index, "nll_loss")
    if reduction == "mean":
        return _weighted_mean(ops.sum(loss), ops.sum(w))
    return reduce_loss(loss, reduction, "nll_loss")


def _weighted_mean(total: Any, weights: Any) -> Any:
    """``total / weights``, NaN when every target was ignored (0 / 0, as PyTorch's), with a zero
    gradient then rather than NaN (PyTorch's too)."""
    some = ops.not_equal(weights, 0)
    return ops.where(some, total / ops.where(some, weights, 1.0), float("nan"))


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Any:
    """Cross-entropy of logits (N, C, ...) or (C,) against class indices (N, ...) or against
    class probabilities shaped like the input, with PyTorch's ``weight``, ``ignore_index`` and
    ``label_smoothing``."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x, t = ops.lift(input), ops.lift(target)
    if x.ndim == 0:
        raise ValueError("cross_entropy: expected an input (N, C, ...) or (C,), got a 0-d input")
    axis = _class_axis_shape(x.ndim)
    logp = log_softmax(x, dim=axis)
    n_classes = tuple(x.shape)[axis]
    check_class_weight(weight, n_classes, "cross_entropy")
    wb = None if weight is None else _weight_along_classes(weight, x, axis)
    if t.dtype in ("float16", "float32", "float64"):
        indices_shape = tuple(x.shape)[:axis] + tuple(x.shape)[axis + 1 :]
        if not _same_dims(tuple(t.shape), tuple(x.shape)) and _same_dims(
            tuple(t.shape), indices_shape
        ):
            raise TypeError(
                f"cross_entropy: class indices must be integers, got {t.dtype} (a floating "
                f"target holds class probabilities, shaped like the input {tuple(x.shape)})"
            )
        _pair(x, t, "cross_entropy")
        if label_smoothing:
            t = t * (1.0 - label_smoothing) + label_smoothing / n_classes
        terms = logp * t if wb is None else logp * t * wb
        loss = -ops.sum(terms, axis=axis)
        return reduce_loss(loss, reduction, "cross_entropy")
    _check_index_target(x, t, "cross_entropy")
    nll, w, counted = _nll_parts(logp, t, weight, ignore_index, "cross_entropy")
    if reduction == "mean":
        nll_red = _weighted_mean(ops.sum(nll), ops.sum(w))
    else:
        nll_red = reduce_loss(nll, reduction, "cross_entropy")
    if not label_smoothing:
        return nll_red
    smooth = -ops.sum(logp if wb is None else logp * wb, axis=axis)
    smooth = ops.where(counted, smooth, 0.0)
    if reduction == "mean":
        denom = ops.sum(w) if weight is not None else ops.sum(ops.astype(counted, logp.dtype))
        smooth_red = _weighted_mean(ops.sum(smooth), denom)
    else:
        smooth_red = reduce_loss(smooth, reduction, "cross_entropy")
    return (1.0 - label_smoothing) * nll_red + (label_smoothing / n_classes) * smooth_red


def binary_cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """Binary cross-entropy of probabilities; the log terms are clamped at -100 as PyTorch's,
    and the gradient is that of the clamped loss (finite at probabilities of 0 and 1: where the
    target equals the input there it is the derivative of the other log term, where PyTorch's
    formula gives 0).
    Eager host tensors outside [0, 1] (or NaN) raise, as in PyTorch (logits belong in
    ``binary_cross_entropy_with_logits``); graphs and GPU tensors are not read to check."""
    x, t = _pair(input, target, "binary_cross_entropy")
    for value, what in ((x, "input"), (t, "target")):
        _check_probabilities(value, what)
    loss = -(t * _log_at_least_minus_100(x) + (1.0 - t) * _log_at_least_minus_100(1.0 - x))
    if weight is not None:
        check_broadcasts_to(weight, tuple(x.shape), "binary_cross_entropy", "weight")
        loss = loss * weight
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(loss, reduction, "binary_cross_entropy")


_EXP_MINUS_100 = 3.720075976020836e-44  # log of anything up to this is clamped to -100


def _log_at_least_minus_100(p: Any) -> Any:
    """``max(log(p), -100)`` whose gradient is 0 where the clamp holds (at p = 0 too: the
    clamped log is not differentiated there, so no ``0 * inf`` makes a NaN)."""
    above = ops.greater(p, _EXP_MINUS_100)
    return ops.where(above, ops.log(ops.where(above, p, 1.0)), -100.0)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Any:
    """Binary cross-entropy of logits, computed stably through softplus; ``pos_weight`` scales
    the positive term (broadcast along the last dim, the classes)."""
    name = "binary_cross_entropy_with_logits"
    x, t = _pair(input, target, name)
    check_broadcasts_to(pos_weight, tuple(x.shape), name, "pos_weight")
    check_broadcasts_to(weight, tuple(x.shape), name, "weight")
    if pos_weight is None:
        loss = (1.0 - t) * x + ops.softplus(-x)
    else:
        log_weight = (lift_together(pos_weight, t)[0] - 1.0) * t + 1.0
        loss = (1.0 - t) * x + log_weight * ops.softplus(-x)
    if weight is not None:
        loss = loss * weight
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Any:
    """KL divergence with ``input`` log-probabilities: ``target * (log(target) - input)``
    pointwise (0 where target is 0). 'batchmean' divides the sum by the batch size (dim 0)."""
    x, t = _pair(input, target, "kl_div")
    if log_target:
        loss = ops.exp(t) * (t - x)
    else:
        positive = t > 0
        loss = ops.where(positive, t * ops.log(ops.where(positive, t, 1.0)), 0.0) - t * x
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction == "batchmean":
        if x.ndim == 0:
            return ops.sum(loss)
        return ops.sum(loss) / ops.size_of(x, 0, dtype=x.dtype)
    return reduce_loss(loss, reduction, "kl_div")


def cosine_embedding_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1;
    cosine over the last dim, with PyTorch's 1e-12 added to each squared norm."""
    x1, x2 = _pair(input1, input2, "cosine_embedding_loss")
    t = ops.lift(target)
    if x1.ndim not in (1, 2) or not _same_dims(tuple(t.shape), tuple(x1.shape)[:-1]):
        raise ValueError(
            f"cosine_embedding_loss: expected inputs (N, D) with a target (N,), or inputs (D,) "
            f"with a 0-d target, got inputs {tuple(x1.shape)} and target {tuple(t.shape)}"
        )
    prod = ops.sum(x1 * x2, axis=-1)
    mag1 = ops.sum(x1 * x1, axis=-1) + 1e-12
    mag2 = ops.sum(x2 * x2, axis=-1) + 1e-12
    cos = prod / ops.sqrt(mag1 * mag2)
    pos = ops.where(ops.equal(t, 1), 1.0 - cos, 0.0)
    neg = ops.where(ops.equal(t, -1), ops.maximum(cos - margin, 0.0), 0.0)
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(pos + neg, reduction, "cosine_embedding_loss")


def margin_ranking_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """``max(0, -target * (x1 - x2) + margin)``, the three of one rank and broadcasting
    against each other."""
    x1, x2, t = ops.lift(input1), ops.lift(input2), ops.lift(target)
    problem = (
        f"margin_ranking_loss: expected input1, input2 and target of one rank that broadcast "
        f"against each other, got shapes {tuple(x1.shape)}, {tuple(x2.shape)} and "
        f"{tuple(t.shape)}"
    )
    if not x1.ndim == x2.ndim == t.ndim:
        raise ValueError(problem)
    try:
        loss = ops.maximum(-t * (x1 - x2) + margin, 0.0)
    except ValueError as e:
        raise ValueError(problem) from e
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(loss, reduction, "margin_ranking_loss")


def poisson_nll_loss(
    input: Any,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: Any = None,
    eps: float = 1e-8,
    reduce: Any = None,
    reduction: str = "mean",
) -> Any:
    """Negative log likelihood of a Poisson ``target`` with rate ``exp(input)`` (``log_input``)
    or ``input``: ``exp(x) - t * x``, or ``x - t * log(x + eps)``; ``full`` adds Stirling's
    approximation of ``log(t!)`` where ``t > 1``."""
    x, t = _pair(input, target, "poisson_nll_loss")
    loss = ops.exp(x) - t * x if log_input else x - t * ops.log(x + eps)
    if full:
        above = t > 1
        safe = ops.where(above, t, 1.0)
        stirling = safe * ops.log(safe) - safe + 0.5 * ops.log(2.0 * math.pi * safe)
        loss = loss + ops.where(above, stirling, 0.0)
    reduction = legacy_reduction(size_average, reduce, reduction)
    return reduce_loss(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(
    input: Any,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Any:
    """Negative log likelihood of ``target`` under a Gaussian of mean ``input`` and variance
    ``var``: ``0.5 * (log(var) + (input - target) ** 2 / var)`` (plus ``0.5 * log(2 pi)`` with
    ``full``). ``var`` is shaped like the input, or lacks its last dim (one variance per row), or
    has 1 there (shared), or is a float; it is clamped at ``eps`` (below which its gradient is
    zero, where PyTorch passes the gradient at ``eps`` through)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"gaussian_nll_loss: {reduction!r} is not a valid reduction")
    x, t = _pair(input, target, "gaussian_nll_loss")
    v = ops.lift(var)
    xs, vs = tuple(x.shape), tuple(v.shape)
    if v.ndim and vs != xs:
        if vs == xs[:-1]:
            v = ops.expand_dims(v, -1)
        elif not (vs[:-1] == xs[:-1] and vs[-1] == 1):
            raise ValueError(
                f"gaussian_nll_loss: var has shape {vs}; expected the input's {xs}, that shape "
                "without its last dim, or with 1 as its last dim"
            )
    if is_tensor(v) and not v.is_cuda and bool(np.any(v.detach().numpy() < 0)):
        raise ValueError("gaussian_nll_loss: var has negative entries")  # known on the host
    v = ops.maximum(v, eps)
    diff = x - t
    loss = 0.5 * (ops.log(v) + diff * diff / v)
    if full:
        loss = loss + 0.5 * math.log(2.0 * math.pi)
    return reduce_loss(loss, reduction, "gaussian_nll_loss")
