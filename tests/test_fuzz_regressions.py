"""Disagreements the differential fuzzer (``graphjit fuzz``) found, each shrunk to its reproducer
and kept as a test once fixed."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj


@pytest.mark.parametrize("reduce", [gj.sum, gj.prod, gj.max, gj.min])
@pytest.mark.parametrize("dtype", ["int32", "bool", "float32"])
@pytest.mark.parametrize(("shape", "axis"), [((), None), ((3,), ()), ((2, 3), ())])
def test_a_reduction_over_no_axis_casts_each_element(
    compiled_backend: str, reduce, dtype: str, shape: tuple, axis
) -> None:
    """Found by the fuzzer (seed 173): ``gj.prod(x3, axis=None, keepdims=True)`` of a 0-d int32
    placeholder gave 0 on the cpu backend, not 2. A reduction over no axis that changes the dtype
    (int32 and bool sum to int64) read the output buffer before anything was written to it."""
    x = gj.placeholder("x", shape, dtype)
    value = (np.arange(int(np.prod(shape))).reshape(shape) % 3 + 2).astype(dtype)
    want = gj.compile([x], [reduce(x, axis=axis, keepdims=True)], backend="numpy")(value)[0]
    got = gj.compile([x], [reduce(x, axis=axis, keepdims=True)], backend=compiled_backend)(value)[0]
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_relu_of_minus_infinity_is_zero(compiled_backend: str, dtype: str) -> None:
    """Found by the fuzzer (seed 9, through ``relu(log10(heaviside(x, -1.5)))``): the scalar relu
    computed its zero as ``x - x``, which is nan at -inf; numpy's maximum(-inf, 0) is 0."""
    x = gj.placeholder("x", (None,), dtype)
    value = np.array([-np.inf, -2.0, -0.0, 0.0, 1.5, np.inf, np.nan], dtype=dtype)
    want = gj.compile([x], gj.relu(x), backend="numpy")(value)
    np.testing.assert_array_equal(
        gj.compile([x], gj.relu(x), backend=compiled_backend)(value), want
    )
    chain = gj.sinh(gj.relu(gj.log10(x)))  # the shrunk reproducer: 0 (not nan) at x = 0
    want = gj.compile([x], chain, backend="numpy")(value)
    got = gj.compile([x], chain, backend=compiled_backend)(value)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-15)


@pytest.mark.parametrize("op", [gj.add, gj.multiply])
def test_bool_arithmetic_fused_into_the_next_op_is_a_bool(compiled_backend: str, op) -> None:
    """Found by the fuzzer (seed 313, through ``arctanh(add(x & x, x & x))``): numpy's
    ``True + True`` is True (a logical or), but the cpu backend's fused loop computed it as the
    int 2, which the next op read: arctanh gave nan, not inf, and a cast to float gave 2.0."""
    x = gj.placeholder("x", (None,), "bool")
    y = gj.placeholder("y", (None,), "bool")
    v = op(gj.logical_and(x, x), y)
    outs = [v, gj.arctanh(v), gj.astype(v, "float64") * 3.0]
    a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    want = gj.compile([x, y], outs, backend="numpy")(a, b)
    got = gj.compile([x, y], outs, backend=compiled_backend)(a, b)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
