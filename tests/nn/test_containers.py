"""gj.nn.ModuleList and ModuleDict: registration, PyTorch's state dict names, train/eval."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 2)])
        self.heads = nn.ModuleDict({"drop": nn.Dropout(0.5), "norm": nn.LayerNorm(2)})

    def forward(self, x: object) -> object:
        for block in self.blocks:
            x = block(x)
        return self.heads["norm"](self.heads["drop"](x))


def test_state_dict_names_follow_pytorch_and_round_trip() -> None:
    gj.manual_seed(0)
    net = Net()
    state = net.state_dict()
    assert list(state) == [
        "blocks.0.weight",
        "blocks.0.bias",
        "blocks.1.weight",
        "blocks.1.bias",
        "heads.norm.weight",
        "heads.norm.bias",
    ]
    gj.manual_seed(1)
    other = Net()
    other.load_state_dict(state)
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, state[key])


def test_train_and_eval_switch_dropout_inside_containers() -> None:
    gj.manual_seed(0)
    net = Net()
    x = gj.tensor(np.random.default_rng(0).normal(size=(64, 3)))
    net.eval()
    assert not net.heads["drop"].training
    np.testing.assert_array_equal(net(x).numpy(), net(x).numpy())
    net.train()
    assert net.heads["drop"].training
    assert not np.array_equal(net(x).numpy(), net(x).numpy())


def test_module_list_and_dict_behave_like_their_python_types() -> None:
    layers = nn.ModuleList()
    layers.append(nn.ReLU()).extend([nn.Tanh(), nn.Sigmoid()])
    assert len(layers) == 3 and isinstance(layers[-1], nn.Sigmoid)
    layers[1] = nn.GELU()
    assert [type(m).__name__ for m in layers] == ["ReLU", "GELU", "Sigmoid"]
    heads = nn.ModuleDict({"a": nn.ReLU()})
    heads["b"] = nn.Tanh()
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    del heads["a"]
    assert heads.keys() == ["b"]
    with pytest.raises(TypeError, match="expected a Module"):
        layers.append(3)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match=r"without '\.'"):
        heads["x.y"] = nn.ReLU()
