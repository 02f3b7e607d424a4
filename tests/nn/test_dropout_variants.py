"""Dropout1d/2d/3d, AlphaDropout and FeatureAlphaDropout (and their functional forms): whole
channels dropped and the rest scaled, eagerly and in compiled steps (a new mask per call), alpha
dropout's affine correction as PyTorch computes it, the identity in evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling

ALPHA = 1.7580993408473766


def _x(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


def _channel_masks(out: np.ndarray, x: np.ndarray, p: float, channel_dims: int) -> np.ndarray:
    """The mask of each channel, checked to be 0 or 1 / (1 - p) over the whole channel."""
    ratio = (out / x).reshape(*x.shape[:channel_dims], -1)
    first = ratio[..., :1]
    np.testing.assert_allclose(ratio, np.broadcast_to(first, ratio.shape), rtol=1e-12)
    values = first.ravel()
    assert np.all(np.isclose(values, 0.0) | np.isclose(values, 1.0 / (1.0 - p)))
    return values


CASES = [
    ("Dropout1d", (40, 30, 3), 2),
    ("Dropout1d", (60, 3), 1),
    ("Dropout2d", (40, 30, 2, 3), 2),
    ("Dropout2d", (40, 30, 3), 2),  # taken as (N, C, L), as PyTorch does
    ("Dropout3d", (20, 30, 2, 2, 2), 2),
    ("Dropout3d", (60, 2, 2, 2), 1),
]


@pytest.mark.parametrize(
    ("name", "shape", "channel_dims"), CASES, ids=[f"{n}{s}" for n, s, _ in CASES]
)
def test_channel_dropout_eagerly_and_compiled(
    name: str, shape: tuple[int, ...], channel_dims: int
) -> None:
    gj.manual_seed(0)
    p = 0.3
    layer = getattr(gj.nn, name)(p)
    x = _x(shape)
    eager = _channel_masks(layer(gj.tensor(x)).numpy(), x, p, channel_dims)
    assert abs(np.mean(eager == 0) - p) < 0.1
    xs = gj.placeholder("x", shape=(None, *shape[1:]))
    out = layer(xs)
    (g,) = gj.grad(gj.sum(out), [xs])
    step = gj.compile([xs], [out, g], updates=gj.nn.random_updates(out), backend="cpu")
    first, grad = step(x)
    masks = _channel_masks(first, x, p, channel_dims)
    assert abs(np.mean(masks == 0) - p) < 0.1
    np.testing.assert_allclose(grad, first / x, rtol=1e-12)  # the gradient is the mask
    second, _ = step(x)
    assert not np.array_equal(first, second)  # a new mask per call
    layer.eval()
    np.testing.assert_array_equal(layer(gj.tensor(x)).numpy(), x)


def test_channel_dropout_edge_probabilities_and_errors() -> None:
    x = gj.tensor(_x((2, 3, 4)))
    np.testing.assert_array_equal(F.dropout1d(x, 0.0).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout1d(x, 1.0).numpy(), np.zeros((2, 3, 4)))
    np.testing.assert_array_equal(
        F.dropout3d(gj.tensor(_x((2, 2, 2, 2))), 0.5, False).numpy(), _x((2, 2, 2, 2))
    )
    with pytest.raises(
        ValueError, match=r"dropout3d: expected a 4-d \(unbatched: C, \*spatial\) or 5-d"
    ):
        gj.nn.Dropout3d()(x)
    with pytest.raises(ValueError, match=r"dropout1d: p must be in \[0, 1\]"):
        F.dropout1d(x, 1.5)
    with pytest.raises(NotImplementedError, match="inplace"):
        F.dropout2d(x, inplace=True)


def _alpha_parts(p: float) -> tuple[float, float, float]:
    """PyTorch's affine map: kept units become ``x * a + c``, dropped ones ``d``."""
    a = 1.0 / math.sqrt((ALPHA * ALPHA * p + 1.0) * (1.0 - p))
    return a, ALPHA * a * p, ALPHA * a * (p - 1.0)


@pytest.mark.parametrize("graph", [False, True])
def test_alpha_dropout_keeps_zero_mean_and_unit_variance(graph: bool) -> None:
    gj.manual_seed(1)
    p = 0.2
    x = np.random.default_rng(2).normal(size=(400, 250))
    if graph:
        xs = gj.placeholder("x", shape=(None, 250))
        out_node = F.alpha_dropout(xs, p, training=True)
        (g,) = gj.grad(gj.sum(out_node), [xs])
        out, grad = gj.compile([xs], [out_node, g], backend="cpu")(x)
    else:
        t = gj.tensor(x, requires_grad=True)
        y = gj.nn.AlphaDropout(p)(t)
        y.sum().backward()
        out, grad = y.numpy(), t.grad.numpy()
    a, c, d = _alpha_parts(p)
    kept = np.isclose(grad, a)
    assert np.all(kept | np.isclose(grad, 0.0))
    np.testing.assert_allclose(out[kept], x[kept] * a + c, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out[~kept], d, rtol=1e-12)
    assert abs(np.mean(~kept) - p) < 0.01
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1.0) < 0.02


def test_feature_alpha_dropout_drops_whole_channels() -> None:
    gj.manual_seed(3)
    p = 0.4
    x = np.random.default_rng(4).normal(size=(30, 20, 3, 2))
    layer = gj.nn.FeatureAlphaDropout(p)
    out = layer(gj.tensor(x)).numpy()
    a, c, d = _alpha_parts(p)
    dropped = np.all(np.isclose(out, d), axis=(2, 3))
    kept_out = out[~dropped]
    np.testing.assert_allclose(kept_out, x[~dropped] * a + c, rtol=1e-12)
    assert abs(dropped.mean() - p) < 0.1
    layer.eval()
    np.testing.assert_array_equal(layer(gj.tensor(x)).numpy(), x)
    assert repr(layer) == "FeatureAlphaDropout(p=0.4)"
    with pytest.raises(ValueError, match=r"feature_alpha_dropout: expected an input \(N, C, \*\)"):
        F.feature_alpha_dropout(gj.zeros(3), 0.5, True)


def test_alpha_dropout_matches_torch_when_nothing_is_random() -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).normal(size=(3, 4))
    for p in (0.0, 1.0):
        want = torch.nn.functional.alpha_dropout(torch.tensor(x), p, True).numpy()
        np.testing.assert_array_equal(F.alpha_dropout(gj.tensor(x), p, True).numpy(), want)
    want = torch.nn.functional.feature_alpha_dropout(torch.tensor(x), 0.5, False).numpy()
    np.testing.assert_array_equal(F.feature_alpha_dropout(gj.tensor(x), 0.5).numpy(), want)
