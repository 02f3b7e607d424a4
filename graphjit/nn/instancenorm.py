"""``InstanceNorm1d/2d/3d``: each instance and channel normalised over its spatial dims, as
PyTorch's (no affine parameters and no running statistics by default).

With ``track_running_stats=True`` the layer keeps running statistics as BatchNorm does (the
per-instance mean and unbiased variance averaged over the batch; ``num_batches_tracked`` is kept
but, as in PyTorch, not counted) and normalises with them after ``model.eval()``. Eagerly a
training call updates them in place; on graphs it records the update for
``model.buffer_updates(loss)``."""

from __future__ import annotations

from typing import Any

from graphjit import ops
from graphjit.ir import Node
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.batchnorm import _BatchNorm
from graphjit.nn.module import BufferReader, operand
from graphjit.ops.leaves import Variable

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


class _InstanceNorm(_BatchNorm):
    spatial = 1

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        dtype: str = "float64",
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, input: Any) -> Any:  # noqa: A002 - PyTorch's name
        x = ops.lift(input)
        name, n = type(self).__name__, self.spatial
        if x.ndim not in (n + 1, n + 2):
            raise ValueError(
                f"{name}({self.extra_repr()}): expected a {n + 1}-d (unbatched: C, *spatial) or "
                f"{n + 2}-d (N, C, *spatial) input, got shape {tuple(x.shape)}"
            )
        unbatched = x.ndim == n + 1
        channels = tuple(x.shape)[0 if unbatched else 1]
        per_channel = self.affine or self.track_running_stats  # weights or statistics per channel
        if per_channel and channels not in (None, self.num_features):
            raise ValueError(
                f"{name}({self.extra_repr()}): expected {self.num_features} channels (dim "
                f"{0 if unbatched else 1}), got shape {tuple(x.shape)}"
            )
        if unbatched:
            return ops.squeeze(self._normalize(ops.expand_dims(x, 0)), axis=0)
        return self._normalize(x)

    def _normalize(self, x: Any) -> Any:
        weight, bias = operand(self.weight, x), operand(self.bias, x)
        use_input_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if not self.track_running_stats:
            return F.instance_norm(x, None, None, weight, bias, True, momentum, self.eps)
        if isinstance(x, Node):
            if not use_input_stats:
                mean, var = (
                    self.buffer_variable("running_mean"),
                    self.buffer_variable("running_var"),
                )
                return F.instance_norm(x, mean, var, weight, bias, False, momentum, self.eps)
            self.record_update(x, lambda read: self._instance_update(x, read, momentum))
            return F.instance_norm(x, None, None, weight, bias, True, momentum, self.eps)
        return F.instance_norm(
            x, self.running_mean, self.running_var, weight, bias, use_input_stats, momentum,
            self.eps,
        )  # fmt: skip

    def _instance_update(
        self, x: Node, read: BufferReader, momentum: float
    ) -> dict[Variable, Node]:
        """The running statistics after a batch ``x``: the exponential average of the instances'
        means and unbiased variances, each averaged over the batch."""
        axes = tuple(range(2, x.ndim))
        mean_var = self.buffer_variable("running_mean")
        var_var = self.buffer_variable("running_var")
        inst_mean = ops.mean(x, axis=axes, keepdims=True)
        centred = x - inst_mean
        n = ops.size_of(x, axes, dtype=x.dtype)
        unbiased = ops.mean(centred * centred, axis=axes) * (n / ops.maximum(n - 1, 1))
        mean = ops.astype(ops.mean(x, axis=(0, *axes)), mean_var.dtype)  # equal-sized instances
        var = ops.astype(ops.mean(unbiased, axis=0), var_var.dtype)
        return {
            mean_var: read(mean_var) * (1.0 - momentum) + momentum * mean,
            var_var: read(var_var) * (1.0 - momentum) + momentum * var,
        }


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or unbatched (C, L) inputs."""

    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W) inputs."""

    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or unbatched (C, D, H, W) inputs."""

    spatial = 3
