"""``gj.nn.utils.clip_grad_norm_``: rescale the gradients of parameters in place, as PyTorch's."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit.cuda_compat import to_host
from graphjit.ops.dispatch import is_tensor
from graphjit.ops.leaves import write_array
from graphjit.tensor.creation import tensor

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Any = None,
) -> Any:
    """Scale every ``.grad`` by ``min(1, max_norm / (total_norm + 1e-6))``, the total norm taken
    over all gradients together; returns the total norm (a 0-d tensor)."""
    params = [parameters] if is_tensor(parameters) else list(parameters)
    tensors = [p.grad for p in params if p.grad is not None]
    grads = [to_host(g._data) for g in tensors]  # in host memory: the arrays themselves
    if not grads:
        return tensor(0.0)
    if norm_type == float("inf"):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        per = [np.sum(np.abs(g.astype(np.float64)) ** norm_type) for g in grads]
        total = float(np.sum(per)) ** (1.0 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({total}), so it cannot be clipped"
        )
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g *= g.dtype.type(coef)
    for t, g in zip(tensors, grads):
        if t.is_cuda:  # a gradient on the GPU: scaled in a host copy, written back
            write_array(t._data, g)
    return tensor(total)
