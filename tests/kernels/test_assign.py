"""kernels/ops.py: ``assign`` (``out[...] = x``, the copy behind concatenate, pad, slice gradients
and scatters) against numpy's setitem: every rank, broadcasting, casts, views, empty arrays."""

from __future__ import annotations

import numpy as np
import pytest
from graphjit.kernels import ops as kops

CASES = [
    ((3, 4), (3, 4), np.float32, np.float32),  # C-contiguous, one shape: the flat copy
    ((3, 4, 5), (4, 1), np.float64, np.float64),  # broadcast
    ((), (), np.float64, np.float64),
    ((5,), (), np.float64, np.float64),
    ((2, 3, 4, 5, 6), (3, 1, 5, 6), np.float64, np.float32),  # rank 5, cast
    ((2, 3, 4, 5), (2, 3, 4, 5), np.int64, np.int64),
    ((0, 3), (0, 3), np.float64, np.float64),
    ((4,), (4,), np.float32, np.float64),
    ((3, 4), (4,), np.int64, np.int64),
    ((2, 2), (2, 2), np.bool_, np.bool_),
]


@pytest.mark.parametrize(("out_shape", "x_shape", "out_dtype", "x_dtype"), CASES)
def test_assign_is_numpys_setitem(out_shape, x_shape, out_dtype, x_dtype) -> None:  # type: ignore[no-untyped-def]
    x = np.asarray((np.arange(int(np.prod(x_shape))).reshape(x_shape) * 1.5 - 2).astype(x_dtype))
    out, want = np.zeros(out_shape, out_dtype), np.zeros(out_shape, out_dtype)
    want[...] = x
    kops.assign(out, x)
    np.testing.assert_array_equal(out, want)


def test_assign_into_views_writes_only_the_view() -> None:
    base = np.zeros((6, 8))
    kops.assign(base[:, 2:5], np.arange(18.0).reshape(6, 3))
    want = np.zeros((6, 8))
    want[:, 2:5] = np.arange(18.0).reshape(6, 3)
    np.testing.assert_array_equal(base, want)
    base = np.zeros((6, 8))
    kops.assign(base[::2, ::3], np.array([1.0, 2.0, 3.0]))
    want = np.zeros((6, 8))
    want[::2, ::3] = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(base, want)
    src = np.arange(24.0).reshape(4, 6)
    out = np.zeros((6, 4))
    kops.assign(out, src.T)  # a transposed (F-ordered) source
    np.testing.assert_array_equal(out, src.T)


def test_assign_of_shapes_that_do_not_broadcast_raises() -> None:
    with pytest.raises(ValueError):
        kops.assign(np.zeros((3, 4)), np.ones(5))
