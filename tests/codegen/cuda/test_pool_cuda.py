"""Pooling and interpolate on the CUDA backend against the reference interpreter: the window
rules (ceil_mode, padding, dilation, count_include_pad, divisor_override, adaptive windows),
argmax indices, gradients (the gathering transposes and the atomic scatter), and the run-time
checks. Tiny shapes: numba's simulator runs each thread in Python."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling

pytestmark = pytest.mark.cuda

rng = np.random.default_rng(3)

POOLS = [
    lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True),
    lambda x: F.max_pool2d(x, 2, 1, dilation=(2, 1)),
    lambda x: F.max_pool1d(x[:, 0], 2, ceil_mode=True),
    lambda x: F.adaptive_max_pool2d(x, (2, 3)),
    lambda x: F.avg_pool2d(x, (3, 2), 2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool2d(x, 2, 1, divisor_override=3),
    lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
    lambda x: F.interpolate(x, size=(2, 7), mode="bilinear", align_corners=True),
    lambda x: F.interpolate(x, size=(7, 3)),
]


@pytest.mark.parametrize("fn", POOLS)
def test_values_and_gradients_match_the_interpreter(fn) -> None:
    x = rng.permutation(2 * 2 * 5 * 4).reshape(2, 2, 5, 4) * 0.1  # no ties
    ph = gj.placeholder("x", (None, 2, 5, 4))
    y = fn(ph)
    (g,) = gj.grad(gj.sum(y * y), [ph])
    want = gj.compile([ph], [y, g], backend="numpy")(x)
    got = gj.compile([ph], [y, g], backend="cuda")(x)
    for w, h in zip(want, got):
        np.testing.assert_allclose(h, w, rtol=1e-12, atol=1e-12)


def test_indices_match_the_interpreter() -> None:
    x = rng.standard_normal((1, 2, 5, 5))
    ph = gj.placeholder("x", (None, 2, 5, 5))
    _, idx = F.max_pool2d(ph, 3, 2, padding=1, ceil_mode=True, return_indices=True)
    (want,) = gj.compile([ph], [idx], backend="numpy")(x)
    (got,) = gj.compile([ph], [idx], backend="cuda")(x)
    np.testing.assert_array_equal(got, want)


def test_an_empty_spatial_axis_is_refused() -> None:
    ph = gj.placeholder("x", (None, 1, None, 3))
    f = gj.compile([ph], [F.adaptive_max_pool2d(ph, 2)], backend="cuda")
    with pytest.raises(ValueError, match="empty spatial axis"):
        f(np.zeros((1, 1, 0, 3)))


def test_a_dilated_window_of_only_padding_is_refused() -> None:
    ph = gj.placeholder("x", (1, 1, None, 4))
    y = F.max_pool2d(ph, (2, 1), stride=(3, 1), padding=(1, 0), dilation=(2, 1))
    f = gj.compile([ph], [y], backend="cuda")
    with pytest.raises(ValueError, match="reads only padding"):
        f(np.zeros((1, 1, 1, 4)))
    (got,) = f(np.arange(12.0).reshape(1, 1, 3, 4))
    np.testing.assert_array_equal(got, [[[[4.0, 5.0, 6.0, 7.0]]]])
