"""The CUDA backend's runtime: device arrays in and out, variables updated by a compiled step,
run-time bounds checks, deterministic reductions, sizes that are not a multiple of the block."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda


def test_device_arrays_in_give_device_arrays_out() -> None:
    from numba import cuda

    x = gj.placeholder("x", (None, 3))
    f = gj.compile([x], [gj.sum(x * 2.0, axis=0), x + 1.0], backend="cuda")
    data = np.arange(12.0).reshape(4, 3)
    s, y = f(cuda.to_device(data))
    assert hasattr(s, "copy_to_host") and hasattr(y, "copy_to_host")  # device arrays
    np.testing.assert_array_equal(s.copy_to_host(), data.sum(axis=0) * 2.0)
    np.testing.assert_array_equal(y.copy_to_host(), data + 1.0)
    with pytest.raises(TypeError, match=r"input 'x'.*float32.*\.astype\('float64'\)"):
        f(cuda.to_device(data.astype(np.float32)))
    with pytest.raises(ValueError, match="input 'x'"):
        f(cuda.to_device(np.zeros((4, 2))))


def test_a_training_step_updates_its_variables() -> None:
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(7, 3)), rng.normal(size=(7, 1))
    w = gj.variable(np.zeros((3, 1)), name="w")
    x, y = gj.placeholder("x", (None, 3)), gj.placeholder("y", (None, 1))
    loss = gj.mean((x @ w - y) ** 2)
    (gw,) = gj.grad(loss, [w])
    step = gj.compile([x, y], [loss], updates={w: w - 0.1 * gw}, backend="cuda")
    ref = gj.variable(np.zeros((3, 1)))
    loss_r = gj.mean((x @ ref - y) ** 2)
    (gr,) = gj.grad(loss_r, [ref])
    step_r = gj.compile([x, y], [loss_r], updates={ref: ref - 0.1 * gr}, backend="numpy")
    for _ in range(3):
        (a,) = step(xs, ys)
        (b,) = step_r(xs, ys)
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(w.get_value(), ref.get_value(), rtol=1e-12)
    w.set_value(np.ones((3, 1)))
    (a,) = step(xs, ys)
    np.testing.assert_allclose(a, np.mean((xs @ np.ones((3, 1)) - ys) ** 2), rtol=1e-12)


def test_a_gather_out_of_range_raises_index_error() -> None:
    x = gj.placeholder("x", (None, 3))
    i = gj.placeholder("i", (None,), "int64")
    f = gj.compile([x, i], gj.take(x, i, axis=0), backend="cuda")
    data = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(f(data, np.array([3, -1, 0])), data[[3, -1, 0]])
    with pytest.raises(IndexError, match="take: an index is out of bounds for axis 0 with size 4"):
        f(data, np.array([0, 4]))


@pytest.mark.parametrize("n", [1, 31, 33, 100, 257])
def test_reductions_are_deterministic_and_exact_on_odd_sizes(n: int) -> None:
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], [gj.sum(x), gj.max(x), gj.min(x), gj.prod(x * 0 + 1.0)], backend="cuda")
    data = np.random.default_rng(n).normal(size=n)
    first = f(data)
    again = f(data)
    for a, b in zip(first, again):
        assert a.tobytes() == b.tobytes()
    np.testing.assert_allclose(first[0], data.sum(), rtol=1e-12)
    assert first[1] == data.max() and first[2] == data.min() and first[3] == 1.0


def test_nan_propagates_and_empty_arrays_work() -> None:
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], [gj.sum(x), gj.max(x), gj.exp(x)], backend="cuda")
    s, m, e = f(np.array([1.0, np.nan, 2.0]))
    assert np.isnan(s) and np.isnan(m) and np.isnan(e[1])
    g = gj.compile([x], [gj.sum(x), gj.exp(x)], backend="cuda")
    s, e = g(np.zeros(0))
    assert s == 0.0 and e.shape == (0,)
    with pytest.raises(ValueError, match="zero-size"):
        f(np.zeros(0))


def test_device_queries() -> None:
    assert gj.cuda.is_available()
    assert isinstance(gj.cuda.device_name(), str)
