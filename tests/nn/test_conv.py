"""gj.nn's convolution layers: PyTorch's parameter shapes, names and initial bounds, eager against
graph, padding modes, and a PyTorch state_dict loaded (when PyTorch is installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn
F = gj.nn.functional
rng = np.random.default_rng(3)


@pytest.mark.parametrize(
    ("layer", "weight_shape"),
    [
        (lambda: nn.Conv1d(4, 6, 3, groups=2), (6, 2, 3)),
        (lambda: nn.Conv2d(3, 8, (3, 2), stride=2, padding=1), (8, 3, 3, 2)),
        (lambda: nn.Conv3d(2, 4, 2), (4, 2, 2, 2, 2)),
        (lambda: nn.ConvTranspose1d(4, 6, 3, groups=2), (4, 3, 3)),
        (lambda: nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=1), (3, 8, 3, 3)),
        (lambda: nn.ConvTranspose3d(2, 4, 2), (2, 4, 2, 2, 2)),
    ],
)
def test_parameters_have_pytorch_names_shapes_and_init_bounds(layer, weight_shape) -> None:
    gj.manual_seed(0)
    m = layer()
    state = m.state_dict()
    assert sorted(state) == ["bias", "weight"]
    assert state["weight"].shape == weight_shape
    bound = 1 / math.sqrt(weight_shape[1] * math.prod(weight_shape[2:]))
    for value in state.values():
        assert np.abs(value).max() <= bound
    assert np.abs(state["weight"]).max() > 0.5 * bound  # drawn over the whole range
    assert state["bias"].shape == (m.out_channels,)


def test_no_bias() -> None:
    m = nn.Conv2d(2, 3, 3, bias=False)
    assert list(m.state_dict()) == ["weight"] and m.bias is None
    x = rng.normal(size=(1, 2, 5, 5))
    want = F.conv2d(gj.tensor(x), m.weight).numpy()
    np.testing.assert_allclose(m(gj.tensor(x)).numpy(), want)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_module_runs_eagerly_and_as_graph_alike(mode: str) -> None:
    m = nn.Conv2d(3, 4, 3, padding=1, padding_mode=mode)
    x = rng.normal(size=(2, 3, 6, 5))
    eager = m(gj.tensor(x)).numpy()
    ph = gj.placeholder("x", (None, 3, 6, 5))
    (graph,) = gj.compile([ph], [m(ph)], backend="numpy")(x)
    np.testing.assert_allclose(graph, eager, rtol=1e-12)
    assert eager.shape == (2, 4, 6, 5)
    if mode == "zeros":
        want = F.conv2d(gj.tensor(x), m.weight, m.bias, padding=1).numpy()
        np.testing.assert_allclose(eager, want)


def test_a_state_dict_round_trip_restores_the_outputs(tmp_path) -> None:
    a, b = nn.ConvTranspose2d(2, 3, 3, stride=2), nn.ConvTranspose2d(2, 3, 3, stride=2)
    gj.save(a.state_dict(), tmp_path / "m.npz")
    b.load_state_dict(gj.load(tmp_path / "m.npz"))
    x = gj.tensor(rng.normal(size=(1, 2, 4, 4)))
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    assert a(x).shape == (1, 3, 9, 9)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="divide into groups=2"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size must be an int or 2 ints"):
        nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="padding_mode"):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"Conv2d: kernel_size must be positive, got \(0, 0\)"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(ValueError, match=r"ConvTranspose1d: stride must be positive"):
        nn.ConvTranspose1d(3, 4, 2, stride=0)
    with pytest.raises(ValueError, match=r"Conv3d: dilation must be positive"):
        nn.Conv3d(3, 4, 2, dilation=(1, 0, 1))


@pytest.mark.parametrize(
    ("layer", "shape", "dim"),
    [
        (nn.Conv2d(3, 4, 3), (1, 2, 8, 8), 1),
        (nn.Conv1d(3, 4, 3), (2, 8), 0),
        (nn.ConvTranspose2d(3, 4, 3), (1, 2, 8, 8), 1),
        (nn.ConvTranspose1d(3, 4, 3), (5, 8), 0),
    ],
)
def test_a_wrong_channel_count_names_the_layer_and_the_channels(
    layer: nn.Module, shape: tuple[int, ...], dim: int
) -> None:
    name = type(layer).__name__
    message = rf"{name}\(3, 4, .*\): expected 3 input channels \(dim {dim}\), got shape"
    with pytest.raises(ValueError, match=message):
        layer(gj.randn(*shape))
    with pytest.raises(ValueError, match=message):
        layer(gj.placeholder("x", (None, *shape[1:]) if dim else shape))


def test_conv_transpose_of_a_wrong_channel_count_says_what_the_weight_expects() -> None:
    # the op under it is a convolution's input gradient: its message spoke of a gradient
    message = r"conv_transpose2d: the input has 2 channels but the weight \(3, 4, 3, 3\) expects 3"
    with pytest.raises(ValueError, match=message):
        F.conv_transpose2d(gj.randn(1, 2, 8, 8), gj.randn(3, 4, 3, 3))


def test_a_pytorch_state_dict_loads_and_gives_pytorch_outputs() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tnn = torch.nn
    pairs = [
        (tnn.Conv1d(4, 6, 3, 2, 1, groups=2), nn.Conv1d(4, 6, 3, 2, 1, groups=2)),
        (tnn.Conv2d(3, 5, 3, padding="same", dilation=2),
         nn.Conv2d(3, 5, 3, padding="same", dilation=2)),
        (tnn.Conv2d(3, 5, 3, padding=2, padding_mode="reflect"),
         nn.Conv2d(3, 5, 3, padding=2, padding_mode="reflect")),
        (tnn.Conv3d(2, 3, 2, stride=(1, 2, 1)), nn.Conv3d(2, 3, 2, stride=(1, 2, 1))),
        (tnn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)),
    ]  # fmt: skip
    shapes = [(2, 4, 9), (2, 3, 7, 6), (2, 3, 7, 6), (1, 2, 4, 5, 3), (2, 4, 3, 4)]
    for (theirs, ours), shape in zip(pairs, shapes):
        theirs = theirs.double()
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        x = rng.normal(size=shape)
        want = theirs(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(ours(gj.tensor(x)).numpy(), want, rtol=1e-10, atol=1e-12)
