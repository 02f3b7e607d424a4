"""gj.nn.Module and Sequential: registration, names, state dicts, modes, repr."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn


class Net(nn.Module):
    """A module with its own parameter, a nested Sequential and two direct submodules."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = gj.tensor([1.5], requires_grad=True)
        self.fc1 = nn.Linear(2, 3)
        self.body = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
        self.fc2 = nn.Linear(3, 1)
        self.offset = gj.tensor([0.25])  # no requires_grad: a plain attribute, not a parameter

    def forward(self, x: Any) -> Any:
        return self.fc2(self.body(self.fc1(x))) * self.scale + self.offset


NET_NAMES = [
    "scale",
    "fc1.weight",
    "fc1.bias",
    "body.0.weight",
    "body.0.bias",
    "fc2.weight",
    "fc2.bias",
]


def mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())


# -- registration and names


def test_linear_registers_weight_and_bias() -> None:
    lin = nn.Linear(4, 3)
    names = [n for n, _ in lin.named_parameters()]
    assert names == ["weight", "bias"]
    assert lin.weight.shape == (3, 4) and lin.bias.shape == (3,)
    assert all(p.requires_grad for p in lin.parameters())
    assert [n for n, _ in nn.Linear(4, 3, bias=False).named_parameters()] == ["weight"]


def test_sequential_names_follow_positions() -> None:
    model = mlp()
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
    ]
    assert len(model) == 4 and isinstance(model[1], nn.Tanh)
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    head = model[0:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert head[0] is model[0]


def test_nested_modules_depth_first_in_registration_order() -> None:
    net = Net()
    assert [n for n, _ in net.named_parameters()] == NET_NAMES
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "body", "body.0", "body.1", "fc2"]
    assert [type(m).__name__ for m in net.children()] == ["Linear", "Sequential", "Linear"]
    # the parameters are the very tensors held by the submodules
    params = list(net.parameters())
    assert params[1] is net.fc1.weight and params[3] is net.body[0].weight


def test_non_grad_tensors_and_plain_values_are_not_parameters() -> None:
    net = Net()
    assert "offset" not in dict(net.named_parameters())
    net.fc1.bias = None  # replacing a parameter with a plain value unregisters it
    assert "fc1.bias" not in dict(net.named_parameters())
    del net.scale
    assert next(n for n, _ in net.named_parameters()) == "fc1.weight"
    net.extra = gj.zeros(2, requires_grad=True)  # a new attribute after __init__ registers
    assert "extra" in dict(net.named_parameters())


def test_shared_parameters_and_modules_are_listed_once() -> None:
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.modules())) == 3  # the Sequential, the Linear (once), the ReLU


def test_assigning_before_super_init_is_a_clear_attribute_error() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(2, 2)
            super().__init__()

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_forward_must_be_defined() -> None:
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward"):
        NoForward()(gj.ones(2))


def test_sequential_rejects_non_modules() -> None:
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)  # type: ignore[arg-type]


def test_subclass_forward_runs_eagerly() -> None:
    gj.manual_seed(3)
    net = Net()
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    out = net(gj.tensor(x)).numpy()
    sd = net.state_dict()
    h = x @ sd["fc1.weight"].T + sd["fc1.bias"]
    h = np.tanh(h @ sd["body.0.weight"].T + sd["body.0.bias"])
    want = (h @ sd["fc2.weight"].T + sd["fc2.bias"]) * 1.5 + 0.25
    np.testing.assert_allclose(out, want, rtol=1e-12)


# -- state dicts


def test_state_dict_is_a_copy_by_dotted_name() -> None:
    net = Net()
    sd = net.state_dict()
    assert list(sd) == NET_NAMES
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    np.testing.assert_array_equal(sd["fc1.weight"], net.fc1.weight.numpy())
    sd["fc1.weight"][...] = 123.0  # editing the copy leaves the model alone
    assert not np.any(net.fc1.weight.numpy() == 123.0)


def test_load_state_dict_copies_in_place() -> None:
    gj.manual_seed(0)
    a, b = mlp(), mlp()
    assert not np.array_equal(a[0].weight.numpy(), b[0].weight.numpy())
    before = b[0].weight.numpy()  # the array a compiled graph would hold
    b.load_state_dict(a.state_dict())
    assert b[0].weight.numpy() is before
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)
    # loading tensors (what gj.load returns) works too
    b.load_state_dict({k: gj.tensor(v * 2.0) for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(b[2].bias.numpy(), 2.0 * a[2].bias.numpy())


def test_load_state_dict_is_seen_by_a_compiled_function() -> None:
    gj.manual_seed(1)
    model, other = nn.Linear(2, 1), nn.Linear(2, 1)
    x = gj.placeholder("x", shape=(None, 2))
    f = gj.compile([x], [model(x)], backend="numpy")
    xs = np.array([[1.0, 2.0], [-3.0, 0.5]])
    model.load_state_dict(other.state_dict())
    want = xs @ other.weight.numpy().T + other.bias.numpy()
    np.testing.assert_allclose(f(xs)[0], want, rtol=1e-12)


def test_load_state_dict_strict_key_errors() -> None:
    model = mlp()
    sd = model.state_dict()
    missing = {k: v for k, v in sd.items() if k != "2.bias"}
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\]"):
        model.load_state_dict(missing)
    with pytest.raises(KeyError, match=r"unexpected keys \['9.weight'\]"):
        model.load_state_dict({**sd, "9.weight": np.zeros(1)})
    # strict=False loads what matches and ignores the rest
    partial = {"0.bias": np.full(8, 7.0), "junk": np.zeros(3)}
    model.load_state_dict(partial, strict=False)
    np.testing.assert_array_equal(model[0].bias.numpy(), np.full(8, 7.0))
    np.testing.assert_array_equal(model[2].bias.numpy(), sd["2.bias"])
    with pytest.raises(TypeError, match="expected a dict"):
        model.load_state_dict([("0.bias", np.zeros(8))])  # type: ignore[arg-type]


def test_load_state_dict_shape_mismatch_leaves_model_untouched() -> None:
    model = mlp()
    sd = model.state_dict()
    bad = {k: np.zeros_like(v) for k, v in sd.items()}
    bad["2.weight"] = np.zeros((8, 1))
    with pytest.raises(ValueError, match=r"'2.weight' has shape \(8, 1\).*\(1, 8\)"):
        model.load_state_dict(bad)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, sd[name], err_msg=name)


def test_load_state_dict_casts_float64_into_float32_parameters() -> None:
    lin = nn.Linear(2, 2, dtype="float32")
    lin.load_state_dict({"weight": np.full((2, 2), 0.1), "bias": np.zeros(2)})
    assert lin.weight.numpy().dtype == np.float32
    np.testing.assert_array_equal(lin.weight.numpy(), np.full((2, 2), 0.1, dtype=np.float32))
    with pytest.raises(TypeError, match="'bias' is complex128"):
        lin.load_state_dict({"weight": np.zeros((2, 2)), "bias": np.zeros(2, dtype=complex)})


# -- grads and modes


def test_zero_grad_clears_every_parameter_gradient() -> None:
    net = Net()
    loss = net(gj.tensor(np.ones((3, 2)))).sum()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    # d loss / d scale = sum of the pre-scale outputs (nonzero), checks the grad is real
    assert net.scale.grad is not None and abs(float(net.scale.grad.numpy()[0])) > 0
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_and_eval_set_the_flag_on_every_module() -> None:
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not net.body[1].training


def test_repr_lists_children_and_layer_settings() -> None:
    assert repr(mlp()) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=8, bias=True)\n"
        "  (1): Tanh()\n"
        "  (2): Linear(in_features=8, out_features=1, bias=True)\n"
        "  (3): Sigmoid()\n"
        ")"
    )
    assert repr(Net()).splitlines()[2:4] == [
        "  (body): Sequential(",
        "    (0): Linear(in_features=3, out_features=3, bias=True)",
    ]
    assert repr(nn.Linear(3, 4, bias=False)) == "Linear(in_features=3, out_features=4, bias=False)"
