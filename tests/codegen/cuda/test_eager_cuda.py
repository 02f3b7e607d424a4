"""Eager tensors on the GPU: moving them, ops as one-op CUDA programs, autograd on the device,
errors as PyTorch's (numpy() of a cuda tensor, mixed devices), and a training step on cuda that
equals the same step on the CPU, eagerly and compiled. Tiny shapes: numba's simulator runs them."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.cuda_eager import RUNNER

pytestmark = pytest.mark.cuda


def test_to_cuda_and_back() -> None:
    t = gj.tensor([[1.0, -2.0], [3.5, 4.0]])
    c = t.to("cuda")
    assert c.is_cuda and not t.is_cuda
    assert c.device == gj.device("cuda:0") and str(c.device) == "cuda:0"
    assert c.shape == (2, 2) and c.dtype == "float64"
    assert "device='cuda:0'" in repr(c)
    back = c.cpu()
    assert back.device == gj.device("cpu")
    np.testing.assert_array_equal(back.numpy(), t.numpy())
    assert t.cuda().cuda().is_cuda and back.cpu() is back
    assert c.sum().item() == 6.5 and c.tolist() == [[1.0, -2.0], [3.5, 4.0]]


def test_numpy_of_a_cuda_tensor_raises_as_pytorch() -> None:
    c = gj.ones(3, device="cuda")
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        c.numpy()
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        np.asarray(c)


def test_mixing_devices_raises_but_numbers_mix() -> None:
    c = gj.tensor([1.0, 2.0], device="cuda")
    with pytest.raises(RuntimeError, match=r"same device.*argument 1 is on cpu"):
        c + gj.tensor([1.0, 1.0])
    out = (c * 2.0 + 1 - gj.tensor(0.5)).cpu().numpy()  # python numbers and 0-d host tensors
    np.testing.assert_array_equal(out, [2.5, 4.5])


def test_arrays_and_lists_given_with_a_cuda_tensor_are_constants_on_the_device() -> None:
    """A numpy array or list is a constant of the op, as a python number: it goes to the device
    of the tensor it meets (a CPU tensor does not: it raises above)."""
    c = gj.tensor([1.0, 2.0], device="cuda")
    for got in (c + np.array([0.5, 1.0]), gj.maximum([1.5, 0.0], c), gj.where([True, False], c, 0)):
        assert got.is_cuda
    np.testing.assert_array_equal(gj.where(np.array([True, False]), c, 0).cpu().numpy(), [1, 0])
    np.testing.assert_array_equal((c + np.array([0.5, 1.0])).cpu().numpy(), [1.5, 3.0])


def test_creation_functions_take_device() -> None:
    gj.manual_seed(0)
    r = gj.randn(2, 3, device="cuda", requires_grad=True)
    assert r.is_cuda and r.is_leaf and r.requires_grad
    gj.manual_seed(0)
    np.testing.assert_array_equal(r.cpu().detach().numpy(), gj.randn(2, 3).numpy())
    z = gj.zeros_like(r, device="cuda")
    assert z.is_cuda and z.cpu().numpy().sum() == 0
    np.testing.assert_array_equal(gj.arange(4, device="cuda").cpu().numpy(), [0, 1, 2, 3])


def test_an_op_compiles_once_per_signature() -> None:
    # a shape no other test's ops use, so the multiply below is new whatever ran before
    a = gj.tensor([[[1.0, 2.0, 3.0]]], device="cuda")
    np.testing.assert_allclose(gj.exp(a).cpu().numpy(), np.exp([[[1.0, 2.0, 3.0]]]), rtol=1e-15)
    n = len(RUNNER)
    for _ in range(3):
        gj.exp(a * 1.0)
    assert len(RUNNER) == n + 1  # the multiply is new; the exp was compiled already


def test_autograd_on_the_device_matches_the_cpu() -> None:
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    grads = []
    for dev in ("cpu", "cuda"):
        t = gj.tensor(x, device=dev, requires_grad=True)
        y = gj.log_softmax(gj.tanh(t) * 3.0, axis=1)[:, 0].sum() + (t**2).mean()
        y.backward()
        t2 = gj.tensor(x, device=dev, requires_grad=True)
        (t2 * t2).sum().backward()
        (t2 * 3.0).sum().backward()  # accumulates into .grad
        assert t.grad is not None and t2.grad is not None
        assert t.grad.is_cuda == (dev == "cuda")
        grads.append((t.grad.cpu().numpy(), t2.grad.cpu().numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    np.testing.assert_allclose(grads[1][1], 2 * x + 3.0, rtol=1e-12)


def test_a_tensor_on_the_tape_moves_detached() -> None:
    t = gj.tensor([1.0, 2.0], requires_grad=True)
    moved = (t * 2).to("cuda")
    assert moved.is_cuda and moved.is_leaf and not moved.requires_grad
    leaf = t.to("cuda")
    assert leaf.is_leaf and leaf.requires_grad


def _model() -> gj.nn.Module:
    gj.manual_seed(3)
    return gj.nn.Sequential(gj.nn.Linear(3, 4), gj.nn.Tanh(), gj.nn.Linear(4, 1))


DATA = (
    np.array([[0.1, 0.2, -0.3], [1.0, -0.5, 0.25], [0.0, 0.3, 0.9], [-1.0, 0.4, 0.2]]),
    np.array([[0.5], [-0.25], [1.0], [0.0]]),
)


def _eager_steps(dev: str) -> list[np.ndarray]:
    model = _model()
    opt = gj.optim.Adam(model.parameters(), lr=0.05)  # before the move, as PyTorch allows
    model.to(dev)
    x, y = (gj.tensor(a, device=dev) for a in DATA)
    for _ in range(2):
        loss = gj.nn.MSELoss()(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach().cpu().numpy() for p in model.parameters()]


def test_an_eager_training_step_on_cuda_equals_the_cpu() -> None:
    for got, want in zip(_eager_steps("cuda"), _eager_steps("cpu")):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_a_compiled_step_updates_a_model_on_the_device_in_place() -> None:
    results = []
    for dev in ("cpu", "cuda"):
        model = _model().to(dev)
        params = list(model.parameters())
        arrays = [p._data for p in params]
        opt = gj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        xs, ys = gj.placeholder("x", (None, 3)), gj.placeholder("y", (None, 1))
        loss = gj.nn.MSELoss()(model(xs), ys)
        step = gj.compile([xs, ys], [loss], updates=opt.updates(loss), backend=dev)
        for _ in range(2):
            step(*DATA)
        assert all(p._data is a for p, a in zip(params, arrays)), "updated in place"
        assert all(p.is_cuda == (dev == "cuda") for p in params)
        eager_loss = gj.nn.MSELoss()(
            model(gj.tensor(DATA[0], device=dev)), gj.tensor(DATA[1], device=dev)
        )
        results.append(([p.detach().cpu().numpy() for p in params], eager_loss.item()))
    (cpu_params, cpu_loss), (cuda_params, cuda_loss) = results
    for got, want in zip(cuda_params, cpu_params):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert cuda_loss == pytest.approx(cpu_loss, rel=1e-10)


def test_cuda_tensors_feed_compiled_functions_and_gathers() -> None:
    x = gj.placeholder("x", (None, 3))
    f_cuda = gj.compile([x], gj.sum(x * x, axis=1), backend="cuda")
    f_cpu = gj.compile([x], gj.sum(x * x, axis=1), backend="cpu")
    t = gj.tensor([[1.0, 2.0, 2.0], [0.0, 3.0, 4.0]], device="cuda")
    out = f_cuda(t)  # a device array in, a device array out
    np.testing.assert_array_equal(out.copy_to_host(), [9.0, 25.0])
    with pytest.raises(TypeError, match=r"cuda:0.*backend='cuda'"):
        f_cpu(t)
    logits = gj.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], device="cuda", requires_grad=True)
    target = gj.tensor([0, 2], device="cuda")
    loss = gj.nn.functional.cross_entropy(logits, target)
    loss.backward()
    ref = gj.tensor(logits.detach().cpu().numpy(), requires_grad=True)
    want = gj.nn.functional.cross_entropy(ref, gj.tensor([0, 2]))
    want.backward()
    assert loss.item() == pytest.approx(want.item(), rel=1e-12)
    np.testing.assert_allclose(logits.grad.cpu().numpy(), ref.grad.numpy(), rtol=1e-12)
    bad = gj.tensor([0, 5], device="cuda")
    with pytest.raises(
        IndexError, match="take_along_axis: an index is out of bounds for axis 1 with size 3"
    ):
        gj.take_along_axis(logits.detach(), bad[:, None], axis=1)


def test_indexing_and_reshapes_of_cuda_tensors_stay_on_the_device() -> None:
    m = gj.arange(12.0, device="cuda").reshape(3, 4)
    assert m.is_cuda
    for got, want in [
        (m[1:, 0], [4.0, 8.0]),
        (m[2], [8.0, 9.0, 10.0, 11.0]),
        (m.reshape(12)[::5], [0.0, 5.0, 10.0]),
    ]:
        assert got.is_cuda
        np.testing.assert_array_equal(got.cpu().numpy(), want)


def test_save_and_load_a_model_on_the_device(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = _model().to("cuda")
    want = model.state_dict()
    gj.save({**want, "extra": gj.ones(2, device="cuda")}, tmp_path / "m.npz")
    loaded = gj.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded["extra"], [1.0, 1.0])
    fresh = gj.nn.Sequential(gj.nn.Linear(3, 4), gj.nn.Tanh(), gj.nn.Linear(4, 1)).to("cuda")
    fresh.load_state_dict({k: v for k, v in loaded.items() if k != "extra"})
    for (k, got), (_, p) in zip(fresh.state_dict().items(), model.named_parameters()):
        assert next(q for n, q in fresh.named_parameters() if n == k).is_cuda
        np.testing.assert_array_equal(got, p.detach().cpu().numpy())


def test_dropout_on_the_device() -> None:
    x = gj.ones(4, 5, device="cuda")
    y = gj.nn.functional.dropout(x, 0.5, training=True)
    assert y.is_cuda
    values = set(np.unique(y.cpu().numpy()).tolist())
    assert values <= {0.0, 2.0} and values  # dropped, or kept and scaled by 1 / (1 - p)
