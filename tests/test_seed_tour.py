"""The seed tutorials' snippets, with gj in place of torch, and examples/seed_tour.py itself."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import graphjit as torch  # the snippets below are the tutorials' own, with this one substitution

TOUR = Path(__file__).resolve().parents[1] / "examples" / "seed_tour.py"


def load_tour():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("seed_tour_under_test", TOUR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_tour_runs_and_teaches_the_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    tour = load_tour()
    assert tour.main(backend="numpy", steps=20) == 0
    out = capsys.readouterr().out
    for title in ("1. Tensors", "2. Autograd", "3. The same computations", "4. Fitting"):
        assert title in out
    assert "x.grad   (2x + 3)                    -> tensor(7.)" in out
    assert "(None, tensor(3.), tensor(1.))" in out
    assert "tensor(27., grad_fn=<MeanBackward0>)" in out
    assert "tensor([[4.5, 4.5], [4.5, 4.5]])" in out
    assert re.search(r"d\(x\*\*2 \+ 3x\)/dx at 2\s+7\s+7\s+7", out)
    assert re.search(r"d mean\(3\(x\+2\)\*\*2\)/dx\[0,0\]\s+4\.5\s+4\.5\s+4\.5", out)
    assert "all three agree to 1e-9: True" in out
    assert "both modes) -> True" in out  # gradcheck
    assert "compiled = eager -> True" in out  # @gj.jit of PyTorch-style methods
    assert "5. A compiled loss inside eager training" in out
    assert "grad_fn=<mse_with_penaltyBackward>" in out
    assert "same trajectory -> True" in out  # a jitted loss trains the eager model
    assert "traced 1 time(s)" in out
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.skipif(
    importlib.util.find_spec("graphjit.codegen.numba_cpu") is None, reason="no numba CPU backend"
)
def test_the_tour_runs_on_the_compiled_backend(capsys: pytest.CaptureFixture[str]) -> None:
    """What `graphjit demo` runs by default."""
    assert load_tour().main(backend="cpu", steps=5) == 0
    out = capsys.readouterr().out
    assert "gj compiled (cpu)" in out and "all three agree to 1e-9: True" in out


def test_the_tour_picks_the_compiled_backend_when_present() -> None:
    tour = load_tour()
    has_cpu = importlib.util.find_spec("graphjit.codegen.numba_cpu") is not None
    assert tour.default_backend() == ("cpu" if has_cpu else "numpy")


# --------------------------------------------------------------------------------------------------
# the seeds' snippets


def test_ukrainian_seed_autograd_and_devices() -> None:
    a = np.array([1, 2, 3])
    b = torch.tensor([1, 2, 3])
    assert b.tolist() == a.tolist()
    x = torch.tensor(2.0, requires_grad=True)
    y = x**2 + 3 * x
    y.backward()
    assert x.grad.item() == 7.0
    x = torch.tensor([1.0, 2.0])
    if torch.cuda.is_available():  # a GPU, or numba's simulator
        assert x.to("cuda").cpu().tolist() == [1.0, 2.0]
    else:
        with pytest.raises(RuntimeError, match="cannot place a tensor on cuda"):
            x = x.to("cuda")


def test_korean_seed_basics() -> None:
    x = torch.tensor(3.0)
    w = torch.tensor(4.0, requires_grad=True)
    b = torch.tensor(5.0, requires_grad=True)
    y = w * x + b
    y.backward()
    assert (x.grad, w.grad.item(), b.grad.item()) == (None, 3.0, 1.0)
    x = np.array([[1, 2], [3, 4]])
    y = torch.from_numpy(x)
    y = torch.tensor(x)
    z = y.numpy()
    assert x.dtype == y.dtype == z.dtype == "int64"


def test_chinese_seed_tensors_autograd_and_descent() -> None:
    torch_tensor = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert torch_tensor.shape == (2, 3)
    torch_tensor1 = torch.tensor([[1, 2, 3], [4, 5, 6]])
    torch_tensor2 = torch.tensor([[7, 8, 9], [10, 11, 12]])
    assert (torch_tensor1 + torch_tensor2).tolist() == [[8, 10, 12], [14, 16, 18]]
    assert torch.add(torch_tensor1, torch_tensor2).tolist() == [[8, 10, 12], [14, 16, 18]]
    x_torch = torch.tensor([2.0], requires_grad=True)
    y_torch = x_torch**2
    y_torch.backward()
    assert x_torch.grad.tolist() == [4.0]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch_tensor = torch_tensor.to(device)
    learning_rate = 0.1
    num_iterations = 100
    x_torch = torch.tensor([2.0], requires_grad=True)
    for _ in range(num_iterations):
        y_torch = x_torch**2
        y_torch.backward()
        x_torch.data = x_torch.data - learning_rate * x_torch.grad.data
        x_torch.grad.zero_()
    assert abs(x_torch.data.item()) < 1e-9


def test_taiwanese_seed_tensor_tutorial() -> None:
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    assert x_np.tolist() == data
    assert torch.ones_like(x_data).tolist() == [[1, 1], [1, 1]]
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    assert x_rand.dtype == "float32"
    shape = (2, 3)
    assert torch.rand(shape).shape == torch.ones(shape).shape == torch.zeros(shape).shape == shape
    tensor = torch.rand(3, 4)
    assert (tensor.shape, tensor.dtype, str(tensor.device)) == ((3, 4), "float64", "cpu")
    if torch.cuda.is_available():
        tensor = tensor.to("cuda")
    tensor = torch.rand(4, 4)
    np.testing.assert_array_equal(tensor[:, 0].numpy(), tensor.numpy()[:, 0])
    np.testing.assert_array_equal(tensor[..., -1].numpy(), tensor.numpy()[..., -1])
    tensor = torch.ones(2, 3)
    assert torch.cat([tensor, tensor, tensor], dim=1).shape == (2, 9)
    t1 = torch.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    t2 = torch.tensor([[10, 20, 30], [40, 50, 60], [70, 80, 90]])
    assert torch.stack((t1, t2), dim=1).shape == (3, 2, 3)
    tensor = torch.ones(3, 3)
    y1 = tensor @ tensor.t()
    y2 = tensor.matmul(tensor.t())
    assert y1.tolist() == y2.tolist() == [[3.0] * 3] * 3
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    assert z1.tolist() == z2.tolist()
    agg = tensor.sum()
    agg_item = agg.item()
    assert agg_item == 9.0 and isinstance(agg_item, float) and isinstance(agg, torch.Tensor)
    tensor.add_(5)
    assert tensor.tolist() == [[6.0] * 3] * 3
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    assert n.tolist() == [2.0] * 5
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    assert t.tolist() == [2.0] * 5


def test_taiwanese_seed_cubic_fit_with_manual_gradients() -> None:
    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    torch.manual_seed(0)
    a = torch.randn((), device=device, dtype=dtype)
    b = torch.randn((), device=device, dtype=dtype)
    c = torch.randn((), device=device, dtype=dtype)
    d = torch.randn((), device=device, dtype=dtype)
    learning_rate = 1e-6
    first = None
    for _ in range(50):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum().item()
        first = loss if first is None else first
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x**2).sum()
        grad_d = (grad_y_pred * x**3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    assert loss < first
    assert a.dtype == "float32" and a.shape == ()
    assert isinstance(f"Result: y = {a.item()} + {b.item()} x", str)


def test_japanese_seed_tensor_vs_numpy() -> None:
    x_t = torch.zeros(2, 3)
    x_n = np.zeros((2, 3))
    assert x_t.tolist() == x_n.tolist()
    x_t = torch.tensor([[5, 3], [10, 6]])
    x_t = torch.rand(2, 3)
    x12_t = x_t[0, 1]
    assert isinstance(x12_t, torch.Tensor) and isinstance(x12_t.item(), float)
    x_t = torch.Tensor([1, 2, 3])
    y_t = torch.Tensor([2, 2, 2])
    assert (x_t / y_t).tolist() == [0.5, 1.0, 1.5] and (x_t - y_t).tolist() == [-1.0, 0.0, 1.0]
    x_t = torch.rand(4, 3)
    assert (x_t.shape[0], x_t.shape[1]) == (4, 3)
    assert x_t.view(12).shape == (12,) and x_t.view(2, -1).shape == (2, 6)
    assert x_t.reshape(2, -1).shape == torch.reshape(x_t, [2, -1]).shape == (2, 6)
    x_t = torch.rand(3, 2)
    assert x_t.transpose(0, 1).shape == x_t.t().shape == (2, 3)
    a = torch.ones(5)
    b = a.numpy()
    a = a + 1
    assert b.tolist() == [1.0] * 5
    a = torch.ones(5)
    b = a.numpy()
    a.add_(1)
    assert b.tolist() == [2.0] * 5
    x = torch.rand(2, 3)
    assert x.to("cpu", torch.double).dtype == "float64"
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    assert x.grad_fn is None and y.grad_fn.name() == "AddBackward0"
    z = y * y * 3
    out = z.mean()
    assert z.grad_fn.name() == "MulBackward0" and out.grad_fn.name() == "MeanBackward0"
    out.backward()
    assert x.grad.tolist() == [[4.5, 4.5], [4.5, 4.5]]
