"""``BatchNorm1d``, ``BatchNorm2d`` and ``BatchNorm3d``: batch normalisation with running
statistics kept in buffers, as PyTorch's.

In training mode a call normalises with the batch's statistics and moves the running statistics
(``running_mean``, ``running_var`` with the unbiased variance, ``num_batches_tracked``); in
evaluation mode it normalises with the running statistics. Eagerly the buffers are updated in
place. On graphs the buffers are variables over the same arrays and a training-mode call records
their update, which ``model.buffer_updates(loss)`` returns for ``gj.compile(..., updates=...)``::

    loss = gj.nn.MSELoss()(model(xs), ys)
    step = gj.compile([xs, ys], [loss], updates={**opt.updates(loss), **model.buffer_updates(loss)})
"""

from __future__ import annotations

from typing import Any

from graphjit import ops
from graphjit.autodiff.tape import no_grad
from graphjit.ir import Node
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.functional.normalization import check_batch_size
from graphjit.nn.layers import check_size
from graphjit.nn.module import BufferReader, Module, operand
from graphjit.ops.leaves import Variable
from graphjit.tensor.creation import ones, tensor, zeros
from graphjit.tensor.parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


class _BatchNorm(Module):
    """Shared by the BatchNorm layers; subclasses say which input ranks they take."""

    ranks: tuple[int, ...] = ()
    running_mean: Any
    running_var: Any
    num_batches_tracked: Any

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = check_size(num_features, "num_features", name)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_features, dtype=dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype="int64"))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked (in place)."""
        if self.track_running_stats:
            for name, value in (
                ("running_mean", 0),
                ("running_var", 1),
                ("num_batches_tracked", 0),
            ):
                with no_grad():  # in place, in host or GPU memory (the version bumped)
                    getattr(self, name).fill_(value)

    def _check_input(self, x: Any) -> None:
        name = type(self).__name__
        shape = tuple(x.shape)
        if x.ndim not in self.ranks:
            wanted = " or ".join(f"{r}-d" for r in self.ranks)
            raise ValueError(f"{name}: expected a {wanted} input, got shape {shape}")
        if shape[1] != self.num_features:
            raise ValueError(
                f"{name}: expected {self.num_features} channels (dim 1), got shape {shape}"
            )
        if self.training:  # before the batch count moves: a refused batch changes nothing
            check_batch_size(x, name)

    def forward(self, input: Any) -> Any:  # noqa: A002 - PyTorch's name
        x = ops.lift(input)
        self._check_input(x)
        weight, bias = operand(self.weight, x), operand(self.bias, x)
        use_batch_stats = self.training or not self.track_running_stats
        if not use_batch_stats:
            if isinstance(x, Node):
                mean, var = (
                    self.buffer_variable("running_mean"),
                    self.buffer_variable("running_var"),
                )
            else:
                mean, var = self.running_mean, self.running_var
            return F.batch_norm(x, mean, var, weight, bias, False, 0.0, self.eps)
        if not (self.training and self.track_running_stats):
            return F.batch_norm(x, None, None, weight, bias, True, 0.0, self.eps)
        if isinstance(x, Node):
            self.record_update(x, lambda read: self._graph_update(x, read))
            return F.batch_norm(x, None, None, weight, bias, True, 0.0, self.eps)
        count = self.num_batches_tracked
        with no_grad():  # in place, in host or GPU memory (the version bumped)
            count.add_(1)
        # the cumulative average reads the count (on the GPU a 0-d copy, as PyTorch's does)
        factor = 1.0 / float(count) if self.momentum is None else self.momentum
        return F.batch_norm(
            x, self.running_mean, self.running_var, weight, bias, True, factor, self.eps
        )

    def _graph_update(self, x: Node, read: BufferReader) -> dict[Variable, Node]:
        """The new running statistics after a batch ``x``: PyTorch's exponential average (or the
        cumulative one when momentum is None) of the batch mean and unbiased variance."""
        axes = (0, *range(2, x.ndim))
        count_var = self.buffer_variable("num_batches_tracked")
        mean_var = self.buffer_variable("running_mean")
        var_var = self.buffer_variable("running_var")
        count = read(count_var) + 1
        stat_dtype = mean_var.dtype
        batch_mean = ops.mean(x, axis=axes, keepdims=True)
        centred = x - batch_mean
        n = ops.size_of(x, axes, dtype=x.dtype)
        unbiased = ops.mean(centred * centred, axis=axes) * (n / ops.maximum(n - 1, 1))
        mean = ops.astype(ops.reshape(batch_mean, (-1,)), stat_dtype)
        var = ops.astype(unbiased, stat_dtype)
        if self.momentum is None:
            factor: Any = ops.astype(1.0 / ops.astype(count, "float64"), stat_dtype)
        else:
            factor = self.momentum
        new_mean = read(mean_var) * (1.0 - factor) + factor * mean
        new_var = read(var_var) * (1.0 - factor) + factor * var
        return {count_var: count, mean_var: new_mean, var_var: new_var}

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs per channel C."""

    ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs per channel C."""

    ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs per channel C."""

    ranks = (5,)
