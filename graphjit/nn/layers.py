"""Layers and losses. Each ``forward`` is plain ``gj.*`` code, so it runs eagerly on tensors and
builds graph on nodes."""

from __future__ import annotations

import math
from typing import Any

from graphjit import ops
from graphjit.nn.module import Module, operand
from graphjit.tensor.creation import rand


def _init_uniform(shape: tuple[int, ...], bound: float, dtype: str) -> Any:
    values = (rand(*shape, dtype=dtype) * 2.0 - 1.0) * bound
    return values.detach().requires_grad_()


def _check_size(value: Any, what: str, layer: str) -> int:
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
        self.in_features = _check_size(in_features, "in_features", "Linear")
        self.out_features = _check_size(out_features, "out_features", "Linear")
        bound = 1.0 / math.sqrt(in_features)
        self.weight = _init_uniform((out_features, in_features), bound, dtype)
        self.bias = _init_uniform((out_features,), bound, dtype) if bias else None

    def forward(self, x: Any) -> Any:
        w = operand(self.weight, x)
        y = ops.matmul(x, ops.transpose(w))
        if self.bias is not None:
            y = y + operand(self.bias, x)
        return y

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class _Activation(Module):
    fn: Any = None

    def forward(self, x: Any) -> Any:
        return type(self).fn(x)


class ReLU(_Activation):
    fn = staticmethod(ops.relu)


class Tanh(_Activation):
    fn = staticmethod(ops.tanh)


class Sigmoid(_Activation):
    fn = staticmethod(ops.sigmoid)


class Softplus(_Activation):
    fn = staticmethod(ops.softplus)


class Identity(Module):
    def forward(self, x: Any) -> Any:
        return x


class Softmax(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Any:
        return ops.softmax(x, axis=self.dim)


class LogSoftmax(Softmax):
    def forward(self, x: Any) -> Any:
        return ops.log_softmax(x, axis=self.dim)


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


# -- losses


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def _check(self, pred: Any, target: Any) -> None:
        ps, ts = tuple(pred.shape), tuple(ops.lift(target).shape)
        if len(ps) != len(ts) or any(
            isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(ps, ts)
        ):
            raise ValueError(
                f"{type(self).__name__}: prediction shape {ps} and target shape {ts} differ "
                "(they must match; reshape one of them)"
            )


class MSELoss(_Loss):
    """Mean squared error."""

    def forward(self, pred: Any, target: Any) -> Any:
        self._check(pred, target)
        diff = pred - target
        return _reduce(diff * diff, self.reduction)


class L1Loss(_Loss):
    def forward(self, pred: Any, target: Any) -> Any:
        self._check(pred, target)
        return _reduce(ops.abs(pred - target), self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (log terms clamped at -100, as PyTorch)."""

    def forward(self, pred: Any, target: Any) -> Any:
        self._check(pred, target)
        log_p = ops.maximum(ops.log(pred), -100.0)
        log_1mp = ops.maximum(ops.log(1.0 - pred), -100.0)
        return _reduce(-(target * log_p + (1.0 - target) * log_1mp), self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, computed stably."""

    def forward(self, logits: Any, target: Any) -> Any:
        self._check(logits, target)
        return _reduce(ops.softplus(logits) - target * logits, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits (N, C) against integer class labels (N,); more generally logits
    (..., C) against labels (...), the classes on the last axis."""

    def forward(self, logits: Any, labels: Any) -> Any:
        labels = ops.lift(labels)
        if labels.dtype not in ("int32", "int64"):
            raise TypeError(f"CrossEntropyLoss: labels must be integers, got {labels.dtype}")
        ls, ys = tuple(logits.shape), tuple(labels.shape)
        if len(ls) != len(ys) + 1 or any(
            isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(ls, ys)
        ):
            raise ValueError(
                f"CrossEntropyLoss: expected logits (N, C) and labels (N,), got logits {ls} and "
                f"labels {ys}"
            )
        logp = ops.log_softmax(logits, axis=-1)
        picked = ops.take_along_axis(logp, ops.expand_dims(labels, -1), axis=-1)
        return _reduce(-ops.squeeze(picked, -1), self.reduction)
