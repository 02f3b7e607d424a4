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
