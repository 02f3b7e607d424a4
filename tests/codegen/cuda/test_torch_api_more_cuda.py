"""PyTorch's products, norms, index functions, in-place methods, memory introspection and
gradient hooks on the CUDA backend and on cuda tensors: compiled graphs agree with the reference
interpreter, eager results with the CPU's. Tiny shapes: numba's simulator runs them."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

RNG = np.random.default_rng(3)
A, B, C = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 5)), RNG.standard_normal((3, 5))


def test_compiled_cuda_graph_agrees_with_the_interpreter() -> None:
    a, b, c = (gj.placeholder(n, x.shape) for n, x in zip("abc", (A, B, C)))
    out = (
        gj.addmm(c, a, b, beta=0.5)
        + gj.norm(a, 3, dim=1)[:, None]
        + gj.xlogy(c.sigmoid(), c.sigmoid())
        + gj.scatter_reduce(c, 1, np.array([[0, 0], [4, 4], [1, 2]]), a[:, :2], "amax")
        + gj.index_copy(c, 1, np.array([4, 0]), a[:, :2])
        + gj.masked_scatter(c, c > 0, b)
    )
    grads = gj.grad(gj.sum(out * out), [a, b, c])
    want = gj.compile([a, b, c], [out, *grads], backend="numpy")(A, B, C)
    got = gj.compile([a, b, c], [out, *grads], backend="cuda")(A, B, C)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-10, atol=1e-12)


def test_cuda_tensors_report_their_device_and_layout() -> None:
    t = gj.tensor(A, device="cuda")
    assert (t.is_cpu, t.get_device(), t.stride(), t.is_contiguous()) == (False, 0, (4, 1), True)
    assert gj.tensor(A).get_device() == -1
    assert t.new_zeros(2).is_cuda and t.new_tensor([1.0]).is_cuda
    assert t.contiguous() is t


def test_hooks_and_in_place_methods_on_cuda_tensors() -> None:
    w = gj.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    w.register_hook(lambda g: g * 10)
    (w * w).sum().backward()
    assert w.grad.is_cuda and w.grad.cpu().tolist() == [20.0, 40.0]
    h = gj.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    h.register_hook(lambda g: np.ones(2))  # a host array comes to the device
    (h * h).sum().backward()
    assert h.grad.is_cuda and h.grad.cpu().tolist() == [1.0, 1.0]
    a = gj.ones(3, device="cuda")
    a.addcmul_(a, a, value=2).clamp_max_(2.5)
    assert a.is_cuda and a.cpu().tolist() == [2.5, 2.5, 2.5]
    picked = gj.scatter_reduce(
        gj.tensor(A, device="cuda"), 1, gj.tensor(np.array([[0, 0]] * 3), device="cuda"),
        gj.tensor(A[:, :2], device="cuda"), "amax",
    )  # fmt: skip
    want = gj.scatter_reduce(gj.tensor(A), 1, gj.tensor(np.array([[0, 0]] * 3)), A[:, :2], "amax")
    np.testing.assert_allclose(picked.cpu().numpy(), want.numpy())
