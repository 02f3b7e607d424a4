"""Float math at its edges on the CUDA backend against numpy: overflow to a signed inf, zero to a
negative power, a negative base to a fractional power, softplus of -inf. numba's simulator, which
runs the device functions as Python (whose math raises there), gives the answers libdevice gives
on a GPU. Tiny shapes: the simulator runs them in CI."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - as torch.nn.functional

pytestmark = pytest.mark.cuda

BASES = [-8.0, -2.0, -0.0, 0.0, 0.5, 2.0, 1e300, -1e300, math.inf, -math.inf, math.nan]
POWERS = [-3.0, -2.0, -0.5, 0.0, 1.0 / 3, 1.5, 2.0, 2.5, 3.0, math.inf, -math.inf, math.nan]


def _same(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_array_equal(got, want)  # nan where numpy's is nan
    signed = ~np.isnan(want)  # the zeros' and infs' signs (a nan's is not specified)
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(want[signed]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_power_at_its_edges_matches_numpy(dtype: str) -> None:
    a = np.array(BASES, dtype).reshape(-1, 1)
    b = np.array(POWERS, dtype).reshape(1, -1)
    x = gj.placeholder("x", a.shape, dtype)
    y = gj.placeholder("y", b.shape, dtype)
    got = gj.compile([x, y], [x**y], backend="cuda")(a, b)[0]
    with np.errstate(all="ignore"):
        want = np.power(a, b)
    if dtype == "float64":
        _same(got, want)
    else:  # float32: powf within a few ulp; the special values exactly
        special = ~np.isfinite(want) | (want == 0)
        _same(got[special], want[special])
        np.testing.assert_allclose(got[~special], want[~special], rtol=4e-7)


def test_sinh_cosh_softplus_at_their_edges_match_numpy() -> None:
    a = np.array([-1000.0, -710.5, -1.0, -0.0, 0.0, 1.0, 710.0, 1000.0, -math.inf, math.inf])
    a = np.append(a, math.nan)
    x = gj.placeholder("x", a.shape)
    outs = [gj.sinh(x), gj.cosh(x), F.softplus(x)]
    got = gj.compile([x], outs, backend="cuda")(a)
    with np.errstate(all="ignore"):
        wants = [np.sinh(a), np.cosh(a), np.logaddexp(a, 0.0)]
    for g, w in zip(got, wants, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-15)
        signed = ~np.isnan(w)
        np.testing.assert_array_equal(np.signbit(g[signed]), np.signbit(w[signed]))


def test_eager_softplus_of_minus_inf_on_cuda_is_0() -> None:
    t = gj.tensor([-math.inf, -1.0, 0.0, math.inf], device="cuda")
    np.testing.assert_allclose(
        F.softplus(t).cpu().numpy(), np.logaddexp([-np.inf, -1, 0, np.inf], 0)
    )
