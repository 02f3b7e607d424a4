"""Indexing cuda tensors as PyTorch users expect: ``gj.where(cond)`` with one argument, boolean
masks (on the GPU or in host memory), integer index arrays in host memory (numpy arrays, lists,
CPU tensors: copied to the device), their gradients, and ``x[mask] = v``; every result against
the CPU's. Tiny shapes: numba's simulator runs them."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

A = np.array([[0.5, -1.0, 2.0, 0.0], [3.0, 0.0, -4.0, 1.5], [0.0, 6.0, 7.0, -0.5]])


@pytest.mark.parametrize(
    "cond",
    [A > 0, A, A[0], np.array([0, 3, 0, -2]), np.zeros((2, 3), bool)],
    ids=["mask", "floats", "1-d floats", "ints", "no true element"],
)
def test_where_with_one_argument_on_cuda_equals_the_cpu(cond: np.ndarray) -> None:
    got = gj.where(gj.tensor(cond, device="cuda"))
    want = gj.where(gj.tensor(cond))
    assert len(got) == len(want) == cond.ndim
    for g, w, n in zip(got, want, np.nonzero(cond)):
        assert g.is_cuda and g.dtype == "int64"
        np.testing.assert_array_equal(g.cpu().numpy(), w.numpy())
        np.testing.assert_array_equal(w.numpy(), n)


def test_where_with_one_argument_refuses_a_0d_cuda_tensor_as_the_cpu() -> None:
    for dev in ("cpu", "cuda"):
        with pytest.raises(ValueError, match="0d"):
            gj.where(gj.tensor(True, device=dev))
