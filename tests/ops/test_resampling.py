"""``gj.nn.functional.interpolate`` (nearest, linear, bilinear, area) and the ``resample`` op
under it: against loops written here from PyTorch's rules, known PyTorch outputs, finite
differences, PyTorch itself when installed, and across eager, the interpreter and the CPU."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling

rng = np.random.default_rng(11)


def _linear_1d(v: np.ndarray, m: int, align: bool, scale: float | None) -> np.ndarray:
    """Linear resampling of the last axis, one output at a time."""
    n = v.shape[-1]
    out = np.empty((*v.shape[:-1], m))
    for o in range(m):
        if align:
            src = o * (n - 1) / (m - 1) if m > 1 else 0.0
        else:
            step = 1 / scale if scale else n / m
            src = max(step * (o + 0.5) - 0.5, 0.0)
        lo = int(src)
        hi = lo + 1 if lo < n - 1 else lo
        w = src - lo
        out[..., o] = (1 - w) * v[..., lo] + w * v[..., hi]
    return out


def _nearest_1d(v: np.ndarray, m: int, scale: float | None) -> np.ndarray:
    n = v.shape[-1]
    step = np.float32(1 / scale) if scale else np.float32(n) / np.float32(m)
    src = [min(math.floor(np.float32(o) * step), n - 1) for o in range(m)]
    return v[..., src]


def _all_ways(fn, x: np.ndarray) -> list[np.ndarray]:
    ph = gj.placeholder("x", (None, *x.shape[1:]))
    out = fn(ph)
    return [
        fn(gj.tensor(x)).numpy(),
        gj.compile([ph], [out], backend="numpy")(x)[0],
        gj.compile([ph], [out], backend="cpu")(x)[0],
    ]


def test_known_pytorch_outputs() -> None:
    x = gj.tensor(np.arange(4.0).reshape(1, 1, 4))
    up = F.interpolate(x, size=8, mode="linear")
    np.testing.assert_allclose(up.numpy()[0, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    corners = F.interpolate(x, size=7, mode="linear", align_corners=True)
    np.testing.assert_allclose(corners.numpy()[0, 0], [0, 0.5, 1, 1.5, 2, 2.5, 3])
    np.testing.assert_array_equal(F.interpolate(x, size=8).numpy()[0, 0], [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(F.interpolate(x, size=3).numpy()[0, 0], [0, 1, 2])
    np.testing.assert_array_equal(F.interpolate(x, size=6).numpy()[0, 0], [0, 0, 1, 2, 2, 3])


@pytest.mark.parametrize(
    ("kw", "align"),
    [
        (dict(size=(7, 10)), False),
        (dict(size=(2, 3)), False),
        (dict(scale_factor=2.5), False),
        (dict(scale_factor=(0.5, 1.7)), False),
        (dict(size=(5, 9), align_corners=True), True),
        (dict(size=(1, 1), align_corners=True), True),
    ],
)
def test_bilinear_matches_the_loops(kw: dict, align: bool) -> None:
    x = rng.standard_normal((2, 3, 4, 6))
    if "size" in kw:
        sizes, scales = kw["size"], (None, None)
    else:
        sf = kw["scale_factor"]
        scales = (sf, sf) if isinstance(sf, float) else sf
        sizes = tuple(math.floor(n * s) for n, s in zip(x.shape[2:], scales))
    # along the width, then the height (moved last)
    wide = _linear_1d(x, sizes[1], align, scales[1])
    want = np.swapaxes(_linear_1d(np.swapaxes(wide, 2, 3), sizes[0], align, scales[0]), 2, 3)
    for got in _all_ways(lambda t: F.interpolate(t, mode="bilinear", **kw), x):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(size=(7, 3)), dict(scale_factor=2), dict(scale_factor=0.7)])
def test_nearest_matches_the_loops(kw: dict) -> None:
    x = rng.standard_normal((2, 2, 5, 4))
    if "size" in kw:
        sizes, scales = kw["size"], (None, None)
    else:
        scales = (float(kw["scale_factor"]),) * 2
        sizes = tuple(math.floor(n * s) for n, s in zip(x.shape[2:], scales))
    wide = _nearest_1d(x, sizes[1], scales[1])
    want = np.swapaxes(_nearest_1d(np.swapaxes(wide, 2, 3), sizes[0], scales[0]), 2, 3)
    for got in _all_ways(lambda t: F.interpolate(t, **kw), x):
        np.testing.assert_array_equal(got, want)


def test_area_mode_is_adaptive_average_pooling() -> None:
    x = gj.tensor(rng.standard_normal((1, 2, 6, 4)))
    got = F.interpolate(x, size=(3, 2), mode="area")
    np.testing.assert_allclose(got.numpy(), F.adaptive_avg_pool2d(x, (3, 2)).numpy())


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: F.interpolate(t, scale_factor=1.5, mode="bilinear"),
        lambda t: F.interpolate(t, size=(3, 7), mode="bilinear", align_corners=True),
        lambda t: F.interpolate(t, size=(5, 2)),
        lambda t: F.interpolate(t[:, 0], size=9, mode="linear"),
    ],
)
def test_gradients_match_finite_differences(fn) -> None:
    x = rng.standard_normal((2, 2, 3, 4))
    assert gj.testing.gradcheck(lambda t: gj.sum(fn(t) ** 2), [x], order=2)


def test_a_compiled_scale_factor_serves_every_size() -> None:
    ph = gj.placeholder("x", (None, 1, None, None))
    f = gj.compile([ph], [F.interpolate(ph, scale_factor=2.0, mode="bilinear")], backend="cpu")
    for shape in [(1, 1, 2, 3), (2, 1, 3, 5)]:
        x = rng.standard_normal(shape)
        (got,) = f(x)
        want = F.interpolate(gj.tensor(x), scale_factor=2.0, mode="bilinear").numpy()
        assert got.shape == (shape[0], 1, 2 * shape[2], 2 * shape[3])
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        (dict(), ValueError, "exactly one of size and scale_factor"),
        (dict(size=4, scale_factor=2.0), ValueError, "exactly one"),
        (dict(size=4, mode="linear"), ValueError, "needs a 3-d input"),
        (dict(size=4, align_corners=True), ValueError, "align_corners can only be set"),
        (dict(size=4, mode="bicubic"), NotImplementedError, "bicubic"),
        (dict(size=0), ValueError, "size must be positive"),
        (dict(scale_factor=-1.0), ValueError, "scale_factor must be positive"),
    ],
)
def test_bad_arguments(kw: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        F.interpolate(gj.placeholder("x", (2, 3, 4, 5)), **kw)


def test_against_torch() -> None:
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 5, 7))
    tx = torch.tensor(x, requires_grad=True)
    for kw in [
        dict(scale_factor=1.7, mode="bilinear"),
        dict(size=(8, 4), mode="bilinear", align_corners=True),
        dict(size=(9, 11)),
        dict(scale_factor=0.6),
    ]:
        want = torch.nn.functional.interpolate(tx, **kw)
        (want_grad,) = torch.autograd.grad((want**2).sum(), [tx])
        t = gj.tensor(x, requires_grad=True)
        got = F.interpolate(t, **kw)
        (got**2).sum().backward()
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10, err_msg=str(kw))
        np.testing.assert_allclose(t.grad.numpy(), want_grad.numpy(), rtol=1e-10, err_msg=str(kw))
