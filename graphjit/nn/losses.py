"""Loss modules over ``gj.nn.functional``'s losses (PyTorch's names, arguments and defaults)."""

from __future__ import annotations

from typing import Any

from graphjit import ops
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "MarginRankingLoss",
    "NLLLoss",
    "SmoothL1Loss",
    "HingeEmbeddingLoss",
    "SoftMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
    "TripletMarginLoss",
]

FLOATS = ("float16", "float32", "float64")


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got "
                f"{reduction!r}"
            )
        self.reduction = reduction

    def _check(self, pred: Any, target: Any) -> None:
        ps, ts = tuple(ops.lift(pred).shape), tuple(ops.lift(target).shape)
        if len(ps) != len(ts) or any(
            isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(ps, ts)
        ):
            raise ValueError(
                f"{type(self).__name__}: prediction shape {ps} and target shape {ts} differ "
                "(they must match; reshape one of them)"
            )

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error."""

    def forward(self, pred: Any, target: Any) -> Any:
        self._check(pred, target)
        return F.mse_loss(pred, target, reduction=self.reduction)


class L1Loss(_Loss):
    def forward(self, pred: Any, target: Any) -> Any:
        self._check(pred, target)
        return F.l1_loss(pred, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, pred: Any, target: Any) -> Any:
        self._check(pred, target)
        return F.smooth_l1_loss(pred, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, pred: Any, target: Any) -> Any:
        self._check(pred, target)
        return F.huber_loss(pred, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (log terms clamped at -100, as PyTorch)."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.class_weight = weight

    def forward(self, pred: Any, target: Any) -> Any:
        self._check(pred, target)
        return F.binary_cross_entropy(pred, target, self.class_weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, computed stably."""

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.class_weight, self.pos_weight = weight, pos_weight

    def forward(self, logits: Any, target: Any) -> Any:
        self._check(logits, target)
        return F.binary_cross_entropy_with_logits(
            logits,
            target,
            self.class_weight,
            reduction=self.reduction,
            pos_weight=self.pos_weight,
        )


class NLLLoss(_Loss):
    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.class_weight, self.ignore_index = weight, ignore_index

    def forward(self, logp: Any, labels: Any) -> Any:
        return F.nll_loss(
            logp,
            labels,
            self.class_weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits (N, C, ...) against integer class labels (N, ...), or against class
    probabilities shaped like the logits; the classes on dim 1 (dim 0 for unbatched (C,) logits),
    as PyTorch."""

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        self.class_weight, self.ignore_index = weight, ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, logits: Any, labels: Any) -> Any:
        logits, labels = ops.lift(logits), ops.lift(labels)
        ls, ys = tuple(logits.shape), tuple(labels.shape)
        probabilities = labels.dtype in FLOATS
        if probabilities and len(ls) == len(ys):
            self._check(logits, labels)
        elif probabilities or labels.dtype == "bool":
            raise TypeError(
                f"CrossEntropyLoss: labels must be integers, got {labels.dtype} (or class "
                f"probabilities shaped like the logits {ls}, got {ys})"
            )
        else:
            expected = ls[:1] + ls[2:] if len(ls) > 1 else ()
            if len(ys) != len(expected) or any(
                isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(ys, expected)
            ):
                raise ValueError(
                    f"CrossEntropyLoss: expected logits (N, C, ...) and labels (N, ...), got "
                    f"logits {ls} and labels {ys}"
                )
        return F.cross_entropy(
            logits,
            labels,
            self.class_weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class KLDivLoss(Module):
    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none", "batchmean"):
            raise ValueError(
                f"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none', got "
                f"{reduction!r}"
            )
        self.reduction, self.log_target = reduction, log_target

    def forward(self, logp: Any, target: Any) -> Any:
        return F.kl_div(logp, target, reduction=self.reduction, log_target=self.log_target)


class CosineEmbeddingLoss(_Loss):
    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, x1: Any, x2: Any, target: Any) -> Any:
        return F.cosine_embedding_loss(x1, x2, target, self.margin, reduction=self.reduction)


class MarginRankingLoss(CosineEmbeddingLoss):
    def forward(self, x1: Any, x2: Any, target: Any) -> Any:
        return F.margin_ranking_loss(x1, x2, target, self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``x`` where the target is 1, ``max(0, margin - x)`` where it is -1."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, x: Any, target: Any) -> Any:
        self._check(x, target)
        return F.hinge_embedding_loss(x, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """``log(1 + exp(-target * x))`` for targets of 1 and -1."""

    def forward(self, x: Any, target: Any) -> Any:
        self._check(x, target)
        return F.soft_margin_loss(x, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """Binary cross-entropy of logits (N, C) against 0/1 labels, averaged over the classes."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.class_weight = weight

    def forward(self, x: Any, target: Any) -> Any:
        self._check(x, target)
        return F.multilabel_soft_margin_loss(x, target, self.class_weight, reduction=self.reduction)


class MultiMarginLoss(_Loss):
    """The multi-class hinge loss of scores (N, C) at class indices (N,)."""

    def __init__(
        self, p: int = 1, margin: float = 1.0, weight: Any = None, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        self.p, self.margin, self.class_weight = p, margin, weight

    def forward(self, x: Any, target: Any) -> Any:
        return F.multi_margin_loss(
            x, target, self.p, self.margin, self.class_weight, reduction=self.reduction
        )


class PoissonNLLLoss(_Loss):
    """Negative log likelihood of Poisson targets (rates as logs with ``log_input``)."""

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        eps: float = 1e-8,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Any, target: Any) -> Any:
        self._check(log_input, target)
        return F.poisson_nll_loss(
            log_input, target, self.log_input, self.full, eps=self.eps, reduction=self.reduction
        )


class GaussianNLLLoss(_Loss):
    """Negative log likelihood of targets under Gaussians of the given means and variances."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, x: Any, target: Any, var: Any) -> Any:
        self._check(x, target)
        return F.gaussian_nll_loss(x, target, var, self.full, self.eps, self.reduction)


class TripletMarginLoss(_Loss):
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with the p-norm distance."""

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Any, positive: Any, negative: Any) -> Any:
        return F.triplet_margin_loss(
            anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
            reduction=self.reduction,
        )  # fmt: skip
