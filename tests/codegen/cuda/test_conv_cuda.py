"""The CUDA backend's direct convolution kernels against the reference interpreter: values and
gradients (input, weight, bias) for 1-d, 2-d and 3-d convolutions and a transposed one, with
strides, padding, dilation and groups, on shapes tiny enough for numba's simulator."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda
F = gj.nn.functional

CASES = {
    "1d-groups-dilation": (
        F.conv1d, (2, 4, 7), (4, 2, 2), dict(stride=2, padding=1, dilation=2, groups=2)
    ),
    "2d-same": (F.conv2d, (1, 2, 4, 3), (3, 2, 3, 2), dict(padding="same")),
    "3d-strided": (
        F.conv3d, (1, 2, 3, 4, 3), (2, 2, 2, 2, 2), dict(stride=(1, 2, 1), padding=(1, 0, 1))
    ),
    "transpose2d": (
        F.conv_transpose2d, (1, 2, 2, 3), (2, 2, 2, 2), dict(stride=2, padding=1, output_padding=1)
    ),
}  # fmt: skip


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_cuda_convolutions_match_the_interpreter(name: str, dtype: str) -> None:
    fn, xs, ws, kwargs = CASES[name]
    rng = np.random.default_rng(0)
    c_out = ws[1] if fn is F.conv_transpose2d else ws[0]
    feeds = [rng.normal(size=s).astype(dtype) for s in (xs, ws, (c_out,))]
    px = gj.placeholder("x", (None, *xs[1:]), dtype)
    pw, pb = gj.placeholder("w", ws, dtype), gj.placeholder("b", (c_out,), dtype)
    y = fn(px, pw, pb, **kwargs)
    outs = [y, *gj.grad(gj.sum(gj.tanh(y)), [px, pw, pb])]
    want = gj.compile([px, pw, pb], outs, backend="numpy")(*feeds)
    got = gj.compile([px, pw, pb], outs, backend="cuda")(*feeds)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype and g.shape == w.shape, f"output {i}"
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=f"output {i}")
