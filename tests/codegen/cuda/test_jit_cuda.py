"""``gj.jit`` called with cuda tensors: traced for the device, compiled with ``backend="cuda"``,
results and gradients (first and second order) on the device and equal to the CPU's, a model
trained through a jitted loss equal to the CPU, and mixed devices raising as PyTorch. Tiny
shapes: numba's simulator runs them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
W = np.array([1.0, 2.0, 3.0])


@gj.jit
def _pair(a: Any, b: Any) -> Any:
    return (gj.exp(a) * b).sum(1), a * 2.0


def test_a_jitted_call_with_cuda_tensors_runs_on_the_device() -> None:
    results = []
    for dev in ("cpu", "cuda"):
        a = gj.tensor(X, device=dev, requires_grad=True)
        b = gj.tensor(W, device=dev, requires_grad=True)
        s, d = _pair(a, b)
        assert _pair.graph.compiled.backend == ("cuda" if dev == "cuda" else "cpu")
        assert s.is_cuda == d.is_cuda == (dev == "cuda")
        (s.sum() + (d * d).sum()).backward()
        assert a.grad is not None and b.grad is not None
        assert a.grad.is_cuda == b.grad.is_cuda == (dev == "cuda")
        results.append([t.detach().cpu().numpy() for t in (s, d, a.grad, b.grad)])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    with gj.no_grad():
        s, _ = _pair(gj.tensor(X, device="cuda"), gj.tensor(W, device="cuda"))
    assert s.is_cuda
    np.testing.assert_allclose(s.cpu().numpy(), results[0][0], rtol=1e-12)


def test_the_device_is_part_of_the_signature() -> None:
    @gj.jit
    def double(a: Any) -> Any:
        return a * 2.0

    on_cpu = double(gj.tensor(W))
    on_gpu = double(gj.tensor(W, device="cuda"))
    assert double.trace_count == 2 and not on_cpu.is_cuda and on_gpu.is_cuda
    np.testing.assert_array_equal(on_gpu.cpu().numpy(), on_cpu.numpy())
    double(gj.tensor(W * 3, device="cuda"))
    assert double.trace_count == 2


def test_second_order_gradients_through_a_jitted_call_on_cuda() -> None:
    grads = []
    for dev in ("cpu", "cuda"):
        a = gj.tensor(X, device=dev, requires_grad=True)
        s, _ = _pair(a, gj.tensor(W, device=dev))
        (g,) = gj.grad(s.sum(), [a], create_graph=True)
        assert g.is_cuda == (dev == "cuda")
        (g * g).sum().backward()
        grads.append(a.grad.cpu().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


def _train(dev: str) -> list[np.ndarray]:
    gj.manual_seed(2)
    model = gj.nn.Sequential(gj.nn.Linear(3, 4), gj.nn.Tanh(), gj.nn.Linear(4, 1)).to(dev)
    opt = gj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    @gj.jit
    def loss_of(x: Any, y: Any) -> Any:
        return ((model(x) - y) ** 2).mean()

    x = gj.tensor(X, device=dev)
    y = gj.tensor(np.array([[0.5], [-1.0]]), device=dev)
    for _ in range(2):
        opt.zero_grad()
        loss = loss_of(x, y)
        assert loss.is_cuda == (dev == "cuda")
        loss.backward()
        opt.step()
    assert loss_of.trace_count == 1
    return [p.detach().cpu().numpy() for p in model.parameters()]


def test_training_through_a_jitted_loss_on_cuda_equals_the_cpu() -> None:
    for got, want in zip(_train("cuda"), _train("cpu")):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_mixed_devices_raise() -> None:
    with pytest.raises(RuntimeError, match=r"'b' is on cpu"):
        _pair(gj.tensor(X, device="cuda"), gj.tensor(W))
    with pytest.raises(RuntimeError, match=r"'b' is on cpu"):
        _pair(gj.tensor(X, device="cuda"), W)
    layer = gj.nn.Linear(3, 1)  # its parameters stay on the CPU

    @gj.jit
    def out(x: Any) -> Any:
        return layer(x).sum()

    with pytest.raises(RuntimeError, match="parameter"):
        out(gj.tensor(X, device="cuda"))
