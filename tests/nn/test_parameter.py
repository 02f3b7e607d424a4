"""gj.nn.Parameter, ParameterList and ParameterDict: registration on assignment, frozen parameters,
PyTorch's state dict names, optimisers, eager and compiled training."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn


class Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(gj.ones(3))
        self.frozen = nn.Parameter(gj.full((3,), 2.0), requires_grad=False)
        self.shifts = nn.ParameterList([gj.zeros(3), nn.Parameter(gj.ones(3))])
        self.extra = nn.ParameterDict({"bias": gj.zeros(3)})

    def forward(self, x: object) -> object:
        y = x * self.scale * self.frozen + self.extra["bias"]
        for s in self.shifts:
            y = y + s
        return y


def test_parameter_is_a_leaf_sharing_the_tensor_it_wraps() -> None:
    t = gj.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, gj.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and not t.requires_grad
    t.add_(1.0)  # the same array: the parameter sees it
    np.testing.assert_array_equal(p.numpy(), [2.0, 3.0])
    assert type(p * 2).__name__ == "Tensor"  # ops on a parameter give tensors
    assert repr(p).startswith("Parameter containing:\ntensor([2., 3.], requires_grad=True")
    assert nn.Parameter().shape == (0,)
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad
    with pytest.raises(gj.TensorUsageError, match="floating point"):
        nn.Parameter(gj.tensor([1, 2]))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad
    assert not np.shares_memory(q.numpy(), p.numpy())
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.numpy().tolist() == [2.0, 3.0]


def test_modules_register_parameters_frozen_ones_included_with_pytorch_names() -> None:
    m = Scale()
    assert list(m.state_dict()) == ["scale", "frozen", "shifts.0", "shifts.1", "extra.bias"]
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "frozen", "shifts.0", "shifts.1", "extra.bias"]
    assert all(isinstance(p, nn.Parameter) for p in m.parameters())
    x = gj.tensor(np.arange(3.0))
    m(x).sum().backward()
    np.testing.assert_allclose(m.scale.grad.numpy(), 2.0 * np.arange(3.0))
    assert m.frozen.grad is None
    np.testing.assert_allclose(m.shifts[0].grad.numpy(), np.ones(3))
    state = m.state_dict()
    state["frozen"] = np.full(3, 5.0)
    m.load_state_dict(state)
    np.testing.assert_array_equal(m.frozen.numpy(), np.full(3, 5.0))


def test_parameter_containers_train_eagerly_and_compiled_with_an_optimiser() -> None:
    m = Scale()
    opt = gj.optim.SGD(m.parameters(), lr=0.1)
    x = np.arange(3.0)
    target = np.array([1.0, -1.0, 4.0])
    loss = gj.nn.functional.mse_loss(m(gj.tensor(x)), gj.tensor(target))
    opt.zero_grad()
    loss.backward()
    opt.step()
    eager_after_one = m.state_dict()
    xs, ys = gj.placeholder("x", shape=(3,)), gj.placeholder("y", shape=(3,))
    graph_loss = gj.nn.functional.mse_loss(m(xs), ys)
    step = gj.compile([xs, ys], [graph_loss], updates=opt.updates(graph_loss), backend="cpu")
    step(x, target)
    # the compiled step continued from the eager one; the frozen parameter never moved
    assert not np.allclose(m.scale.numpy(), eager_after_one["scale"])
    np.testing.assert_array_equal(m.frozen.numpy(), eager_after_one["frozen"])
    value = gj.nn.functional.mse_loss(m(gj.tensor(x)), gj.tensor(target)).item()
    assert value < loss.item()


def test_a_compiled_function_reads_a_frozen_parameter_at_every_call() -> None:
    m = Scale()
    xs = gj.placeholder("x", shape=(3,))
    out = m(xs)
    (g_scale,) = gj.grad(gj.sum(out), [gj.nn.operand(m.scale, xs)])
    f = gj.compile([xs], [out, g_scale], backend="cpu")
    x = np.arange(3.0)
    np.testing.assert_allclose(f(x)[0], x * 2.0 + 1.0)
    state = m.state_dict()
    state["frozen"] = np.full(3, 3.0)
    m.load_state_dict(state)  # in place: the compiled function sees the new value
    got, grad = f(x)
    np.testing.assert_allclose(got, x * 3.0 + 1.0)
    np.testing.assert_allclose(grad, x * 3.0)


def test_register_parameter_and_assignment_rules() -> None:
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(gj.zeros(2), requires_grad=False))
    m.register_parameter("b", None)
    assert list(dict(m.named_parameters())) == ["w"] and m.b is None
    with pytest.raises(TypeError, match=r"wrap it: gj\.nn\.Parameter"):
        m.register_parameter("c", gj.zeros(2))
    with pytest.raises(KeyError, match=r"without '\.'"):
        m.register_parameter("a.b", nn.Parameter(gj.zeros(1)))
    m.register_buffer("stat", gj.zeros(2))
    with pytest.raises(KeyError, match="already a buffer"):
        m.register_parameter("stat", nn.Parameter(gj.zeros(2)))
    m.plain = gj.zeros(2)  # a tensor without grad is no parameter
    assert "plain" not in dict(m.named_parameters())


def test_parameter_list_and_dict_behave_like_their_python_types() -> None:
    pl = nn.ParameterList()
    pl.append(gj.zeros(2)).extend([gj.ones(1), gj.ones(3)])
    assert len(pl) == 3 and pl[-1].shape == (3,) and isinstance(pl[0], nn.Parameter)
    pl[1] = gj.full((4,), 7.0)
    assert [p.shape for p in pl] == [(2,), (4,), (3,)]
    assert list(pl.state_dict()) == ["0", "1", "2"]
    assert repr(pl).splitlines()[1] == "  (0): Parameter containing: [float64 of size 2]"
    with pytest.raises(TypeError, match=r"ParameterList\.append: expected a gj\.nn\.Parameter"):
        pl.append(3)
    pd = nn.ParameterDict({"a": gj.zeros(2)})
    pd.update([("b", gj.ones(2))])
    assert list(pd) == ["a", "b"] and "b" in pd and pd.keys() == ["a", "b"]
    assert pd.pop("a").shape == (2,) and len(pd) == 1 and pd.get("a") is None
    with pytest.raises(KeyError, match=r"without '\.'"):
        pd["x.y"] = gj.zeros(1)
    with pytest.raises(KeyError, match="attribute of the ParameterDict"):
        pd["training"] = gj.zeros(1)


def test_parameters_follow_the_eager_fast_path_and_the_tape() -> None:
    p = nn.Parameter(gj.tensor([1.0, 2.0, 3.0]))
    x = gj.tensor([4.0, 5.0, 6.0])
    y = (p * x + p * 2.0 + p.exp()).sum()
    y.backward()
    np.testing.assert_allclose(p.grad.numpy(), x.numpy() + 2.0 + np.exp(p.numpy()))


def test_parameter_matches_torch_state_dict_names() -> None:
    torch = pytest.importorskip("torch")

    class TorchScale(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(3))
            self.frozen = torch.nn.Parameter(torch.full((3,), 2.0), requires_grad=False)
            self.shifts = torch.nn.ParameterList([torch.zeros(3), torch.ones(3)])
            self.extra = torch.nn.ParameterDict({"bias": torch.zeros(3)})

    assert list(TorchScale().state_dict()) == list(Scale().state_dict())


def test_built_in_layers_hold_parameters_as_pytorch_does() -> None:
    layers = [
        nn.Linear(3, 2),
        nn.Embedding(4, 2),
        nn.Conv2d(2, 3, 3),
        nn.LayerNorm(3),
        nn.GroupNorm(1, 2),
        nn.BatchNorm1d(2),
        nn.RMSNorm(3),
        nn.PReLU(),
        nn.MultiheadAttention(4, 2),
    ]
    for layer in layers:
        params = list(layer.parameters())
        assert params and all(isinstance(p, nn.Parameter) for p in params), type(layer).__name__
