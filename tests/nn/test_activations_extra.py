"""PReLU, RReLU, Softmin, Softmax2d, Threshold and the shrinks (gj.nn modules and their
gj.nn.functional forms) against PyTorch: values and gradients eagerly, a compiled graph against
eager."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling
from tests.nn.torch_oracle import compare

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")


def _x(shape: tuple[int, ...] = (3, 4, 5), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape) * 2.0


MODULES: list[tuple[str, dict[str, Any], tuple[int, ...]]] = [
    ("PReLU", {}, (3, 4, 5)),
    ("PReLU", {"num_parameters": 4, "init": 0.1}, (3, 4, 5)),
    ("PReLU", {"num_parameters": 4}, (2, 4)),
    ("PReLU", {}, (7,)),
    ("Softmin", {"dim": 1}, (3, 4, 5)),
    ("Softmax2d", {}, (2, 3, 4, 5)),
    ("Softmax2d", {}, (3, 4, 5)),
    ("Threshold", {"threshold": 0.3, "value": -2.0}, (3, 4, 5)),
    ("Hardshrink", {}, (3, 4, 5)),
    ("Hardshrink", {"lambd": 1.2}, (3, 4, 5)),
    ("Softshrink", {}, (3, 4, 5)),
    ("Softshrink", {"lambd": 0.9}, (3, 4, 5)),
    ("Tanhshrink", {}, (3, 4, 5)),
    ("RReLU", {"lower": 0.1, "upper": 0.4}, (3, 4, 5)),  # eval mode: deterministic
]


@pytest.mark.parametrize(
    ("name", "kwargs", "shape"), MODULES, ids=[f"{n}{k}" for n, k, _ in MODULES]
)
def test_module_matches_torch_eagerly_and_compiled(
    name: str, kwargs: dict[str, Any], shape: tuple[int, ...]
) -> None:
    mod, ref = getattr(gj.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs).double()
    mod.eval(), ref.eval()
    if name == "PReLU":  # a slope that differs per channel
        with torch.no_grad():
            ref.weight.uniform_(-0.5, 0.5)
    compare(mod, ref, [_x(shape)])
    assert repr(mod) == repr(ref)


FUNCTIONS: list[tuple[str, dict[str, Any]]] = [
    ("softmin", {"dim": 0}),
    ("softmin", {"dim": -1}),
    ("threshold", {"threshold": -0.5, "value": 3.0}),
    ("hardshrink", {"lambd": 0.25}),
    ("softshrink", {"lambd": 0.25}),
    ("tanhshrink", {}),
    ("rrelu", {"lower": 0.2, "upper": 0.3, "training": False}),
]


@pytest.mark.parametrize(("name", "kwargs"), FUNCTIONS, ids=[f"{n}{k}" for n, k in FUNCTIONS])
def test_function_matches_torch(name: str, kwargs: dict[str, Any]) -> None:
    compare(
        lambda x: getattr(F, name)(x, **kwargs),
        lambda x: getattr(torch.nn.functional, name)(x, **kwargs),
        [_x()],
    )


def test_prelu_function_takes_the_weight_as_an_argument() -> None:
    w = np.array([0.1, -0.2, 0.3, 0.4])
    compare(F.prelu, torch.nn.functional.prelu, [_x(), w])


def test_prelu_names_the_layer_and_the_expected_channels() -> None:
    with pytest.raises(
        ValueError, match=r"PReLU\(num_parameters=4\): expected an input \(N, 4, \*\)"
    ):
        gj.nn.PReLU(4)(gj.zeros(2, 3))
    with pytest.raises(ValueError, match="prelu: expected a weight of 1 element or of 3"):
        F.prelu(gj.zeros(2, 3), gj.zeros(2))
    with pytest.raises(ValueError, match="num_parameters must be a positive int"):
        gj.nn.PReLU(0)
    with pytest.raises(ValueError, match=r"Softmax2d: expected a \(C, H, W\) or \(N, C, H, W\)"):
        gj.nn.Softmax2d()(gj.zeros(2, 3))
    with pytest.raises(ValueError, match="softshrink: lambd must be >= 0"):
        F.softshrink(gj.zeros(2), -1.0)
    with pytest.raises(ValueError, match="RReLU: expected 0 <= lower <= upper"):
        gj.nn.RReLU(0.5, 0.1)


def test_prelu_parameter_trains_and_moves_with_the_module() -> None:
    m = gj.nn.PReLU(3)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert isinstance(m.weight, gj.nn.Parameter)
    np.testing.assert_array_equal(m.state_dict()["weight"], np.full(3, 0.25))
    opt = gj.optim.SGD(m.parameters(), lr=1.0)
    x = gj.tensor(-np.ones((2, 3)))
    m(x).sum().backward()
    opt.step()
    np.testing.assert_allclose(m.weight.numpy(), np.full(3, 0.25 + 2.0))


def test_rrelu_in_training_draws_slopes_in_range_eagerly_and_on_graphs() -> None:
    x = -np.abs(_x((50, 40))) - 0.1
    slopes = F.rrelu(gj.tensor(x), 0.2, 0.3, training=True).numpy() / x
    assert slopes.min() >= 0.2 and slopes.max() <= 0.3 and slopes.std() > 0.02
    xs = gj.placeholder("x", shape=(None, 40))
    m = gj.nn.RReLU(0.2, 0.3)
    out = m(xs)
    (g,) = gj.grad(gj.sum(out), [xs])
    f = gj.compile([xs], [out, g], updates=gj.nn.random_updates(out), backend="cpu")
    first, grad = f(x)
    slopes = first / x
    assert slopes.min() >= 0.2 and slopes.max() <= 0.3 and slopes.std() > 0.02
    np.testing.assert_allclose(grad, slopes, rtol=1e-12)  # the gradient is the drawn slope
    second, _ = f(x)
    assert not np.allclose(first, second)  # a new draw per call
    positive = np.abs(x)
    np.testing.assert_array_equal(f(positive)[0], positive)  # positives pass unchanged
    m.eval()
    np.testing.assert_allclose(m(gj.tensor(x)).numpy(), x * 0.25)
