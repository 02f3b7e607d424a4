"""gj.nn.LayerNorm and GroupNorm: PyTorch's initialisation, names and values."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn


def test_layer_norm_initialises_to_ones_and_zeros_with_pytorch_names() -> None:
    ln = nn.LayerNorm((2, 3))
    state = ln.state_dict()
    assert list(state) == ["weight", "bias"]
    np.testing.assert_array_equal(state["weight"], np.ones((2, 3)))
    np.testing.assert_array_equal(state["bias"], np.zeros((2, 3)))
    assert list(nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]


def test_layer_norm_eager_and_graph_match_numpy() -> None:
    rng = np.random.default_rng(0)
    ln = nn.LayerNorm(4)
    ln.load_state_dict({"weight": rng.normal(size=4), "bias": rng.normal(size=4)})
    x = rng.normal(size=(3, 4))
    w, b = ln.weight.numpy(), ln.bias.numpy()
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * w + b
    np.testing.assert_allclose(ln(gj.tensor(x)).numpy(), want, rtol=1e-12)
    xs = gj.placeholder("x", shape=(None, 4))
    f = gj.compile([xs], [ln(xs)], backend="numpy")
    np.testing.assert_allclose(f(x)[0], want, rtol=1e-12)


def test_group_norm_matches_torch() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rng = np.random.default_rng(1)
    gn = nn.GroupNorm(2, 4)
    ref = torch.nn.GroupNorm(2, 4).double()
    state = {"weight": rng.normal(size=4), "bias": rng.normal(size=4)}
    gn.load_state_dict(state)
    ref.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    x = rng.normal(size=(3, 4, 5))
    np.testing.assert_allclose(
        gn(gj.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-12
    )
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


def test_group_norm_names_itself_and_the_channels_for_a_wrong_input() -> None:
    # 6 channels split into 2 groups as well: the affine weight (4,) then failed to broadcast
    message = r"GroupNorm\(2, 4, eps=1e-05\): expected an input \(N, 4, \*\), got shape \(2, 6, 3\)"
    with pytest.raises(ValueError, match=message):
        nn.GroupNorm(2, 4)(gj.randn(2, 6, 3))
    with pytest.raises(ValueError, match=message.replace(r"\(2, 6", r"\(None, 6")):
        nn.GroupNorm(2, 4)(gj.placeholder("x", (None, 6, 3)))
    # without the affine parameters the channel count is free, as in PyTorch
    assert nn.GroupNorm(2, 4, affine=False)(gj.randn(2, 6, 3)).shape == (2, 6, 3)
