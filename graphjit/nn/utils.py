"""``gj.nn.utils.clip_grad_norm_``: rescale the gradients of parameters in place, as PyTorch's.

Gradients in host memory are scaled with numpy. Gradients on the GPU are scaled there: the total
norm and the scale factor are computed by eager ops on the device and each gradient is multiplied
in place, so no gradient is copied to the host (only ``error_if_nonfinite=True`` reads the total
norm, one number, as PyTorch synchronises there too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphjit import ops
from graphjit.autodiff.tape import no_grad
from graphjit.cuda_compat import to_host
from graphjit.ops.dispatch import is_tensor
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
    over all gradients together; returns the total norm (a 0-d float64 tensor, on the GPU when
    the gradients are there, as PyTorch's). Gradients on both devices at once raise
    RuntimeError."""
    params = [parameters] if is_tensor(parameters) else list(parameters)
    tensors = [p.grad for p in params if p.grad is not None]
    if not tensors:
        return tensor(0.0)
    on_gpu = [g.is_cuda for g in tensors]
    if all(on_gpu):
        return _clip_on_device(tensors, float(max_norm), float(norm_type), error_if_nonfinite)
    if any(on_gpu):
        raise RuntimeError(
            "clip_grad_norm_: expected every gradient on one device, but some are on cuda:0 and "
            "some on cpu; move the parameters with model.to(...) first"
        )
    return _clip_in_host_memory(tensors, max_norm, norm_type, error_if_nonfinite)


def _clip_in_host_memory(
    tensors: list[Any], max_norm: float, norm_type: float, error_if_nonfinite: bool
) -> Any:
    grads = [to_host(g._data) for g in tensors]  # in host memory: the arrays themselves
    if norm_type == float("inf"):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        per = [np.sum(np.abs(g.astype(np.float64)) ** norm_type) for g in grads]
        total = float(np.sum(per)) ** (1.0 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        _raise_nonfinite(norm_type, total)
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g *= g.dtype.type(coef)
    return tensor(total)


def _clip_on_device(
    tensors: list[Any], max_norm: float, norm_type: float, error_if_nonfinite: bool
) -> Any:
    """The same computation as :func:`_clip_in_host_memory` (in float64), by ops on the GPU."""
    with no_grad():
        grads = [ops.astype(g.detach(), "float64") for g in tensors]
        if norm_type == float("inf"):
            peaks = [ops.max(ops.abs(g)) for g in grads if g.numel()]
            total = ops.max(ops.stack(peaks)) if peaks else tensor(0.0, device="cuda")
        else:
            per = [ops.sum(ops.abs(g) ** norm_type) for g in grads]
            total = ops.sum(ops.stack(per)) ** (1.0 / norm_type)
        if error_if_nonfinite:
            value = total.item()  # the one number read back
            if not np.isfinite(value):
                _raise_nonfinite(norm_type, value)
        coef = ops.minimum(max_norm / (total + 1e-6), 1.0)
        for g in tensors:
            g.mul_(ops.astype(coef, g.dtype))
    return total


def _raise_nonfinite(norm_type: float, total: float) -> None:
    raise RuntimeError(
        f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
        f"non-finite ({total}), so it cannot be clipped"
    )
