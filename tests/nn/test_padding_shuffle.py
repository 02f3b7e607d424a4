"""The padding layers, PixelShuffle, PixelUnshuffle and ChannelShuffle (and their functional
forms) against PyTorch: values and gradients eagerly, a compiled graph against eager."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling
from tests.nn.torch_oracle import compare

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")


def _x(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


PADS: list[tuple[str, tuple[Any, ...], tuple[int, ...]]] = [
    ("ZeroPad1d", (2,), (2, 3, 5)),
    ("ZeroPad2d", ((1, 0, 2, 3),), (2, 3, 4, 5)),
    ("ZeroPad2d", (1,), (4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 4, 5)),
    ("ConstantPad1d", ((0, 3), 2.5), (3, 4)),
    ("ConstantPad2d", (1, -1.0), (2, 3, 4, 5)),
    ("ConstantPad3d", ((1, 2, 0, 1, 2, 0), 0.5), (2, 3, 4, 5)),
    ("ReflectionPad1d", ((2, 3),), (2, 3, 5)),
    ("ReflectionPad1d", (1,), (3, 5)),
    ("ReflectionPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 4, 5)),
    ("ReplicationPad1d", ((4, 1),), (2, 3, 5)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)),
    ("ReplicationPad3d", ((1, 0, 2, 1, 0, 3),), (2, 3, 4, 5)),
    ("CircularPad1d", ((2, 1),), (2, 3, 5)),
    ("CircularPad2d", (1,), (3, 4, 5)),
    ("CircularPad3d", ((1, 2, 0, 1, 1, 1),), (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize(("name", "args", "shape"), PADS, ids=[f"{n}{a}" for n, a, _ in PADS])
def test_padding_layer_matches_torch(
    name: str, args: tuple[Any, ...], shape: tuple[int, ...]
) -> None:
    mod, ref = getattr(gj.nn, name)(*args), getattr(torch.nn, name)(*args)
    compare(mod, ref, [_x(shape)])
    assert repr(mod) == repr(ref)


def test_padding_layers_name_themselves_for_a_bad_input_or_padding() -> None:
    with pytest.raises(ValueError, match=r"ReflectionPad2d\(\(1, 1, 1, 1\)\): expected a 3-d"):
        gj.nn.ReflectionPad2d(1)(gj.zeros(4, 4))
    with pytest.raises(ValueError, match="ReplicationPad1d: padding must be an int or 2 ints"):
        gj.nn.ReplicationPad1d((1, 2, 3))
    with pytest.raises(ValueError, match="reflect widths must be < the dim size 3"):
        gj.nn.ReflectionPad1d(3)(gj.zeros(1, 2, 3))


def test_padding_layer_on_a_graph_with_an_unknown_batch() -> None:
    xs = gj.placeholder("x", shape=(None, 3, 4, 5))
    pad = gj.nn.ReflectionPad2d((1, 2, 0, 3))
    f = gj.compile([xs], [pad(xs)], backend="cpu")
    for n in (1, 3):
        x = _x((n, 3, 4, 5))
        np.testing.assert_array_equal(f(x)[0], pad(gj.tensor(x)).numpy())


SHUFFLES: list[tuple[str, int, tuple[int, ...]]] = [
    ("PixelShuffle", 2, (2, 8, 3, 4)),
    ("PixelShuffle", 3, (9, 2, 3)),
    ("PixelShuffle", 2, (2, 2, 4, 1, 2)),
    ("PixelUnshuffle", 2, (2, 3, 4, 6)),
    ("PixelUnshuffle", 3, (1, 6, 3)),
    ("ChannelShuffle", 3, (2, 6, 4)),
    ("ChannelShuffle", 2, (2, 4, 3, 2)),
]


@pytest.mark.parametrize(
    ("name", "factor", "shape"), SHUFFLES, ids=[f"{n}{f}{s}" for n, f, s in SHUFFLES]
)
def test_shuffle_layer_matches_torch(name: str, factor: int, shape: tuple[int, ...]) -> None:
    mod, ref = getattr(gj.nn, name)(factor), getattr(torch.nn, name)(factor)
    compare(mod, ref, [_x(shape)])
    assert repr(mod) == repr(ref)


def test_shuffle_functions_match_torch_and_invert_each_other() -> None:
    x = _x((2, 12, 2, 3))
    for fn, arg in (("pixel_shuffle", 2), ("channel_shuffle", 4)):
        compare(
            lambda a, fn=fn, arg=arg: getattr(F, fn)(a, arg),
            lambda a, fn=fn, arg=arg: getattr(torch.nn.functional, fn)(a, arg),
            [x],
        )
    back = F.pixel_unshuffle(F.pixel_shuffle(gj.tensor(x), 2), 2)
    np.testing.assert_array_equal(back.numpy(), x)


def test_shuffle_on_a_graph_with_an_unknown_batch() -> None:
    xs = gj.placeholder("x", shape=(None, 8, 2, 3))
    f = gj.compile([xs], [F.pixel_shuffle(xs, 2), F.channel_shuffle(xs, 2)], backend="cpu")
    x = _x((3, 8, 2, 3))
    shuffled, channels = f(x)
    np.testing.assert_array_equal(shuffled, torch.nn.functional.pixel_shuffle(torch.tensor(x), 2))
    np.testing.assert_array_equal(channels, torch.nn.functional.channel_shuffle(torch.tensor(x), 2))


def test_shuffles_say_what_shape_they_expected() -> None:
    with pytest.raises(
        ValueError, match=r"divisible by upscale_factor\*\*2 = 4, got shape \(1, 6, 2, 2\)"
    ):
        F.pixel_shuffle(gj.zeros(1, 6, 2, 2), 2)
    with pytest.raises(ValueError, match=r"must be divisible by downscale_factor=2, got"):
        gj.nn.PixelUnshuffle(2)(gj.zeros(1, 1, 3, 4))
    with pytest.raises(
        ValueError, match=r"channel_shuffle: expected an input \(N, C, \*\) of more"
    ):
        gj.nn.ChannelShuffle(2)(gj.zeros(2, 4))
    with pytest.raises(ValueError, match="upscale_factor must be a positive int"):
        F.pixel_shuffle(gj.zeros(1, 4, 2, 2), 0)


FOLDS: list[dict[str, Any]] = [
    {"kernel_size": 3},
    {"kernel_size": (2, 3), "dilation": (2, 1), "padding": 1, "stride": (2, 1)},
    {"kernel_size": 2, "stride": 2},
]


@pytest.mark.parametrize("kwargs", FOLDS, ids=[str(k) for k in FOLDS])
def test_unfold_and_fold_match_torch(kwargs: dict[str, Any]) -> None:
    x = _x((2, 3, 7, 6))
    compare(gj.nn.Unfold(**kwargs), torch.nn.Unfold(**kwargs), [x])
    compare(gj.nn.Unfold(**kwargs), torch.nn.Unfold(**kwargs), [x[0]])  # unbatched
    cols = torch.nn.Unfold(**kwargs)(torch.tensor(x)).numpy()
    compare(gj.nn.Fold((7, 6), **kwargs), torch.nn.Fold((7, 6), **kwargs), [cols])
    compare(gj.nn.Fold((7, 6), **kwargs), torch.nn.Fold((7, 6), **kwargs), [cols[1]])
    assert repr(gj.nn.Fold((7, 6), **kwargs)) == repr(torch.nn.Fold((7, 6), **kwargs))
    assert repr(gj.nn.Unfold(**kwargs)) == repr(torch.nn.Unfold(**kwargs))


def test_fold_on_a_graph_with_an_unknown_batch() -> None:
    cols = gj.placeholder("cols", shape=(None, 3 * 4, 9))
    out = F.fold(cols, (4, 4), 2, stride=1)
    (g,) = gj.grad(gj.sum(out * out), [cols])
    f = gj.compile([cols], [out, g], backend="cpu")
    c = _x((3, 12, 9))
    t = torch.tensor(c, requires_grad=True)
    want = torch.nn.functional.fold(t, (4, 4), 2)
    (want * want).sum().backward()
    got, grad = f(c)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-12)


def test_unfold_and_fold_say_what_shape_they_expected() -> None:
    with pytest.raises(
        ValueError, match=r"unfold: expected an input \(N, C, H, W\) or \(C, H, W\)"
    ):
        F.unfold(gj.zeros(2, 3), 2)
    with pytest.raises(ValueError, match="no block fits"):
        gj.nn.Unfold(5)(gj.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"fold: expected an input \(N, C \* 4, L\)"):
        gj.nn.Fold((3, 3), 2)(gj.zeros(1, 5, 4))
    with pytest.raises(ValueError, match=r"fold: expected L = 4 blocks"):
        gj.nn.Fold((3, 3), 2)(gj.zeros(1, 8, 5))
