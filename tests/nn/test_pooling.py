"""The pooling modules and ``Upsample``: the functional forms with their arguments kept (PyTorch's
defaults), in a model that runs eagerly and compiled with the same values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling

rng = np.random.default_rng(5)


@pytest.mark.parametrize(
    ("module", "functional"),
    [
        (gj.nn.MaxPool2d(2), lambda x: F.max_pool2d(x, 2, 2)),
        (gj.nn.MaxPool2d(3, 1, 1, ceil_mode=True), lambda x: F.max_pool2d(x, 3, 1, 1, 1, True)),
        (gj.nn.MaxPool1d(2), lambda x: F.max_pool1d(x.reshape(2, 3, -1), 2)),
        (gj.nn.AvgPool2d(2, count_include_pad=False), lambda x: F.avg_pool2d(x, 2)),
        (gj.nn.AvgPool2d(3, 2, 1, divisor_override=4), lambda x: F.avg_pool2d(
            x, 3, 2, 1, False, True, 4)),
        (gj.nn.AvgPool1d(3, 1, 1), lambda x: F.avg_pool1d(x.reshape(2, 3, -1), 3, 1, 1)),
        (gj.nn.AdaptiveAvgPool2d((2, 3)), lambda x: F.adaptive_avg_pool2d(x, (2, 3))),
        (gj.nn.AdaptiveAvgPool1d(5), lambda x: F.adaptive_avg_pool1d(x.reshape(2, 3, -1), 5)),
        (gj.nn.AdaptiveMaxPool2d(3), lambda x: F.adaptive_max_pool2d(x, 3)),
        (gj.nn.AdaptiveMaxPool1d(4), lambda x: F.adaptive_max_pool1d(x.reshape(2, 3, -1), 4)),
        (gj.nn.Upsample(scale_factor=2), lambda x: F.interpolate(x, scale_factor=2)),
        (gj.nn.UpsamplingBilinear2d(size=(5, 7)), lambda x: F.interpolate(
            x, (5, 7), mode="bilinear", align_corners=True)),
    ],
)  # fmt: skip
def test_modules_apply_their_functional_form(module, functional) -> None:
    x = gj.tensor(rng.standard_normal((2, 3, 4, 6)))
    inp = x.reshape(2, 3, -1) if "1d" in type(module).__name__ else x
    np.testing.assert_array_equal(module(inp).numpy(), functional(x).numpy())
    assert not list(module.parameters())


def test_max_pool_module_returns_indices_when_asked() -> None:
    values, idx = gj.nn.MaxPool2d(2, return_indices=True)(
        gj.tensor(rng.standard_normal((1, 1, 4, 4)))
    )
    assert tuple(values.shape) == tuple(idx.shape) == (1, 1, 2, 2)
    assert idx.dtype == "int64"
    assert "kernel_size=2, stride=2" in repr(gj.nn.MaxPool2d(2))


def test_a_small_convolution_free_model_trains_the_same_eagerly_and_compiled() -> None:
    def make() -> gj.nn.Module:
        gj.manual_seed(0)
        return gj.nn.Sequential(
            gj.nn.AvgPool2d(2, ceil_mode=True),
            gj.nn.Upsample(scale_factor=1.5, mode="bilinear"),
            gj.nn.MaxPool2d(3, 2, padding=1),
            gj.nn.AdaptiveAvgPool2d((2, 2)),
            gj.nn.Flatten(),
            gj.nn.Linear(8, 1),
        )

    xv = rng.standard_normal((4, 2, 7, 6))
    yv = rng.standard_normal((4, 1))
    eager = make()
    opt = gj.optim.SGD(eager.parameters(), lr=0.1)
    for _ in range(2):
        loss = gj.nn.MSELoss()(eager(gj.tensor(xv)), gj.tensor(yv))
        opt.zero_grad()
        loss.backward()
        opt.step()
    graph = make()
    xs, ys = gj.placeholder("x", (None, 2, 7, 6)), gj.placeholder("y", (None, 1))
    loss = gj.nn.MSELoss()(graph(xs), ys)
    step = gj.compile(
        [xs, ys], [loss], updates=gj.optim.SGD(graph.parameters(), lr=0.1).updates(loss)
    )
    for _ in range(2):
        step(xv, yv)
    for a, b in zip(eager.parameters(), graph.parameters()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "name, size, args",
    [
        ("max_pool1d", 4, (2,)),
        ("max_pool2d", 4, (2,)),
        ("avg_pool2d", 4, (2,)),
        ("lp_pool2d", 4, (2.0, 2)),
        ("adaptive_max_pool2d", 4, (3,)),
        ("adaptive_avg_pool2d", 4, (3,)),
        ("adaptive_max_pool1d", 5, (2,)),
    ],
)
def test_pools_of_an_empty_batch_are_empty(name: str, size: int, args: tuple) -> None:
    """A batch of no samples pools to no samples (as PyTorch), eagerly with its gradient and in
    a compiled graph; numpy cannot infer a -1 in a reshape there, which the pools had used."""
    dims = 1 if name.endswith("1d") else 2
    fn = getattr(F, name)
    x = gj.tensor(np.zeros((0, 2) + (size,) * dims), requires_grad=True)
    out = fn(x, *args)
    out.sum().backward()
    assert out.shape[:2] == (0, 2) and x.grad.shape == x.shape
    ph = gj.placeholder("x", (None, 2) + (size,) * dims)
    f = gj.compile([ph], fn(ph, *args))
    assert f(np.zeros((0, 2) + (size,) * dims)).shape == out.shape
    full = np.random.default_rng(0).normal(size=(3, 2) + (size,) * dims)
    np.testing.assert_allclose(f(full), fn(gj.tensor(full), *args).numpy(), rtol=1e-12)
