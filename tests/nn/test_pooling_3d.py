"""MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d and LPPool1d/2d/3d (and their
functional forms) against PyTorch: values and gradients eagerly, a compiled graph against eager."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling
from tests.nn.torch_oracle import compare

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")


def _x(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    # distinct values: no ties for a maximum to break differently
    rng = np.random.default_rng(seed)
    return (
        rng.permutation(np.prod(shape)).reshape(shape) / 7.0 - 3.0 + rng.normal(size=shape) * 1e-3
    )


CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], tuple[int, ...]]] = [
    ("MaxPool3d", (2,), {}, (2, 3, 4, 5, 6)),
    (
        "MaxPool3d",
        ((2, 3, 2),),
        {"stride": (1, 2, 2), "padding": 1, "dilation": (1, 1, 2)},
        (1, 2, 5, 6, 7),
    ),
    ("MaxPool3d", (3,), {"stride": 2, "ceil_mode": True}, (2, 4, 5, 6)),
    ("AvgPool3d", (2,), {}, (2, 3, 4, 5, 6)),
    ("AvgPool3d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (1, 2, 5, 6, 7)),
    ("AvgPool3d", (2,), {"ceil_mode": True, "divisor_override": 3}, (2, 5, 5, 3)),
    ("AdaptiveAvgPool3d", ((2, 3, 2),), {}, (2, 3, 5, 7, 4)),
    ("AdaptiveAvgPool3d", (1,), {}, (3, 4, 5, 6)),
    ("AdaptiveMaxPool3d", ((3, 2, None),), {}, (2, 2, 5, 7, 4)),
    ("LPPool1d", (2, 3), {}, (2, 3, 8)),
    ("LPPool1d", (1.5, 2), {"stride": 1, "ceil_mode": True}, (2, 3, 7)),
    ("LPPool2d", (2, (2, 3)), {"stride": (1, 2)}, (2, 3, 5, 7)),
    ("LPPool2d", (3, 2), {"ceil_mode": True}, (3, 5, 5)),
    ("LPPool3d", (2, 2), {}, (2, 2, 4, 4, 4)),
]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape"), CASES, ids=[f"{n}{a}{k}" for n, a, k, _ in CASES]
)
def test_pool_matches_torch(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], shape: tuple[int, ...]
) -> None:
    x = _x(shape)
    if name.startswith("LP"):  # a fractional power of a negative number is nan in both
        x = np.abs(x) + 0.5
    mod, ref = getattr(gj.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    compare(mod, ref, [x])
    assert repr(mod) == repr(ref)


def test_max_pool3d_indices_match_torch() -> None:
    x = _x((2, 3, 4, 5, 6))
    got, where = F.max_pool3d(gj.tensor(x), 3, stride=2, padding=1, return_indices=True)
    want, want_where = torch.nn.functional.max_pool3d(
        torch.tensor(x), 3, stride=2, padding=1, return_indices=True
    )
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    np.testing.assert_array_equal(where.numpy(), want_where.numpy())
    got, where = gj.nn.AdaptiveMaxPool3d(2, return_indices=True)(gj.tensor(x))
    want, want_where = torch.nn.AdaptiveMaxPool3d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(where.numpy(), want_where.numpy())


def test_lp_pool_functions_match_torch() -> None:
    x = np.abs(_x((2, 3, 6, 6))) + 0.1
    compare(
        lambda a: F.lp_pool2d(a, 2.5, 3, stride=2),
        lambda a: torch.nn.functional.lp_pool2d(a, 2.5, 3, stride=2),
        [x],
    )


def test_pool_3d_on_a_graph_with_an_unknown_batch() -> None:
    xs = gj.placeholder("x", shape=(None, 2, 4, 4, 4))
    out = gj.nn.MaxPool3d(2)(xs) + gj.nn.AvgPool3d(2)(xs)
    (g,) = gj.grad(gj.sum(out), [xs])
    f = gj.compile([xs], [out, g], backend="cpu")
    for n in (1, 3):
        x = _x((n, 2, 4, 4, 4), n)
        t = torch.tensor(x, requires_grad=True)
        want = torch.nn.functional.max_pool3d(t, 2) + torch.nn.functional.avg_pool3d(t, 2)
        want.sum().backward()
        got, grad = f(x)
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-12)


def test_pool_3d_says_what_it_expected() -> None:
    with pytest.raises(ValueError, match=r"max_pool3d: expected a 4-d \(unbatched\) or 5-d"):
        gj.nn.MaxPool3d(2)(gj.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="avg_pool3d: kernel_size must be an int or 3 ints"):
        F.avg_pool3d(gj.zeros(1, 1, 4, 4, 4), (2, 2))
    with pytest.raises(ValueError, match="lp_pool2d: norm_type must be positive"):
        F.lp_pool2d(gj.zeros(1, 1, 4, 4), 0, 2)
