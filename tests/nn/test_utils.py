"""``gj.nn.utils.clip_grad_norm_`` in host memory against the formula written out with numpy
(its comparison with PyTorch's is in tests/optim/test_optimizers_torch.py, where torch is
installed; on the GPU in tests/codegen/cuda/test_optim_cuda.py)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 100.0])
def test_clip_grad_norm_scales_every_gradient_by_one_factor(
    norm_type: float, max_norm: float
) -> None:
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=(3, 2)), rng.normal(size=4).astype(np.float32)]
    params = [gj.zeros(*g.shape, dtype=str(g.dtype), requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = gj.tensor(g.copy())
    flat = np.concatenate([g.ravel().astype(np.float64) for g in grads])
    want = (
        np.max(np.abs(flat))
        if norm_type == float("inf")
        else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    )
    total = gj.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    assert total.shape == () and total.dtype == "float64"
    np.testing.assert_allclose(total.item(), want, rtol=1e-6)
    coef = min(1.0, max_norm / (want + 1e-6))
    for p, g in zip(params, grads):
        assert p.grad.dtype == str(g.dtype)
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=1e-6)


def test_clip_grad_norm_without_gradients_and_with_a_non_finite_norm() -> None:
    p = gj.zeros(2, requires_grad=True)
    assert gj.nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0
    p.grad = gj.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        gj.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
