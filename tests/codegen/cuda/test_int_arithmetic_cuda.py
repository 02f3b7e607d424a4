"""Integer power, floor division, remainder and trunc on the CUDA backend against numpy: values
past 2**53 (where a float64 path loses the low bits), the smallest int divided by -1 (which wraps,
as numpy's), division by zero (0, as numpy's) and a negative exponent (numpy's ValueError, raised
at the call). Tiny shapes: numba's simulator runs them in CI."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

INTS = ["int8", "int16", "int32", "int64", "uint8"]


def _operands(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    info = np.iinfo(dtype)
    edge = [info.min, info.min + 1, -(2**53) - 1, -7, -1, 0, 1, 7, 2**53 + 1, info.max - 1]
    a = np.unique(np.clip(edge, info.min, info.max)).astype(dtype).reshape(-1, 1)
    b = np.unique(np.clip([-3, -1, 0, 1, 2, 3, 5], info.min, info.max)).astype(dtype)
    return a, b.reshape(1, -1)


@pytest.mark.parametrize("dtype", INTS)
def test_integer_division_and_trunc_match_numpy(dtype: str) -> None:
    a, b = _operands(dtype)
    x = gj.placeholder("x", a.shape, dtype)
    y = gj.placeholder("y", b.shape, dtype)
    outs = [x // y, x % y, gj.trunc(x) + y * 0, (x // y) * y + x % y]
    got = gj.compile([x, y], outs, backend="cuda")(a, b)
    with np.errstate(divide="ignore", over="ignore"):
        wants = [a // b, a % b, np.trunc(a) + b * 0, (a // b) * b + a % b]
    for i, (g, w) in enumerate(zip(got, wants, strict=True)):
        assert g.dtype == w.dtype, f"output {i}: {g.dtype} != {w.dtype}"
        np.testing.assert_array_equal(g, w, err_msg=f"{dtype} output {i}")


@pytest.mark.parametrize("dtype", INTS)
def test_integer_power_wraps_as_numpy(dtype: str) -> None:
    a, _ = _operands(dtype)
    e = np.array([[0, 1, 2, 3, 7, 63]], dtype=dtype)
    x = gj.placeholder("x", a.shape, dtype)
    y = gj.placeholder("y", e.shape, dtype)
    got = gj.compile([x, y], [x**y], backend="cuda")(a, e)[0]
    with np.errstate(over="ignore"):
        want = np.power(a, e)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_an_integer_to_a_negative_power_raises_at_the_call() -> None:
    x = gj.placeholder("x", (3,), "int64")
    y = gj.placeholder("y", (3,), "int64")
    f = gj.compile([x, y], [x**y + 1], backend="cuda")
    ones = np.ones(3, np.int64)
    np.testing.assert_array_equal(f(ones * 3, ones * 2)[0], [10, 10, 10])
    with pytest.raises(ValueError, match="negative integer powers"):
        f(ones, np.array([2, -1, 2]))
    np.testing.assert_array_equal(f(ones * 2, ones * 3)[0], [9, 9, 9])  # the flag was reset


def test_a_negative_power_leaves_a_variable_as_it_was() -> None:
    c = gj.variable(np.array([2, 3], np.int64), name="c")
    p = gj.placeholder("p", (), "int64")
    step = gj.compile([p], [], updates={c: c**p}, backend="cuda")
    step(np.int64(2))
    np.testing.assert_array_equal(c.get_value(), [4, 9])
    with pytest.raises(ValueError, match="negative integer powers"):
        step(np.int64(-1))
    np.testing.assert_array_equal(c.get_value(), [4, 9])


def test_a_literal_exponent_needs_no_check() -> None:
    x = gj.placeholder("x", (4,), "int64")
    f = gj.compile([x], [x**3], backend="cuda")
    assert "negative integer powers" not in f.source
    a = np.array([-(2**20) - 1, -2, 5, 2**21 - 1])
    np.testing.assert_array_equal(f(a)[0], a**3)
