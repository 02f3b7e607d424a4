"""The bitwise ops on the CUDA backend against numpy: every integer dtype, shift counts that are
negative or not below the width (numpy shifts every bit out; C leaves them undefined), and narrow
results fused into the next op (which must see the wrapped value: int8 ``1 << 7`` is -128). Tiny
shapes: numba's simulator runs them in CI."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

INTS = ["int8", "int16", "int32", "int64", "uint8"]


def _edge_values(dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    values = np.array([info.min, info.min + 1, -5, -1, 0, 1, 5, info.max])
    return values.clip(info.min, info.max).astype(dtype).reshape(-1, 1)


def _counts(dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    edge = np.array([-70, -64, -1, 0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 100])
    return np.unique(edge.clip(info.min, info.max)).astype(dtype).reshape(1, -1)


@pytest.mark.parametrize("dtype", INTS)
def test_bitwise_ops_and_shifts_match_numpy(dtype: str) -> None:
    a, c = _edge_values(dtype), _counts(dtype)
    x = gj.placeholder("x", a.shape, dtype)
    n = gj.placeholder("n", c.shape, dtype)
    outs = [x << n, x >> n, (x & n) | (~x ^ n), gj.equal(x << n, x >> n)]
    got = gj.compile([x, n], outs, backend="cuda")(a, c)
    wants = [np.left_shift(a, c), np.right_shift(a, c), (a & c) | (~a ^ c)]
    wants.append(np.equal(wants[0], wants[1]))
    for i, (g, w) in enumerate(zip(got, wants, strict=True)):
        assert g.dtype == w.dtype, f"output {i}: {g.dtype} != {w.dtype}"
        np.testing.assert_array_equal(g, w, err_msg=f"{dtype} output {i}")


def test_narrow_results_wrap_before_the_next_op() -> None:
    a = np.array([1, 3, -1, 64], np.int8)
    u = np.array([0, 3, 255, 128], np.uint8)
    x = gj.placeholder("x", (4,), "int8")
    v = gj.placeholder("v", (4,), "uint8")
    outs = [gj.equal(x << 7, -128), gj.equal(~v, 252), ((x << 2) >> 2).astype("int64")]
    got = gj.compile([x, v], outs, backend="cuda")(a, u)
    wants = [
        np.left_shift(a, 7) == -128,
        np.invert(u) == 252,
        (np.left_shift(a, 2) >> 2).astype(np.int64),
    ]
    for g, w in zip(got, wants, strict=True):
        np.testing.assert_array_equal(g, w)
