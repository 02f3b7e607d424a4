"""Basic indexing and cached reshapes of tensors that record nothing on the tape take a numpy
fast path: same values, dtypes and copy semantics as the op path, and the tape still records
when grad is needed."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

INDICES = [
    (slice(1, None), 0),
    (Ellipsis, 1),
    (None, slice(None, None, -2)),
    (2, 3),
    (-1,),
    (slice(0, 4, 3), None, slice(1, 3)),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_indexing_without_grad_is_numpy_basic_indexing(index: tuple) -> None:
    data = np.arange(20, dtype=np.int16).reshape(4, 5)
    t = gj.tensor(data)
    out = t[index]
    want = data[index]
    assert out.shape == want.shape and out.dtype == want.dtype
    np.testing.assert_array_equal(out.numpy(), want)
    assert not np.shares_memory(out.numpy(), data)  # a copy, as the op path gives


def test_indexing_a_leaf_requiring_grad_still_records() -> None:
    w = gj.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (w[1:, ::2] * 3.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0, 0], [3, 0, 3]])
    with gj.no_grad():
        assert w[0, 1].grad_fn is None and not w[0, 1].requires_grad


def test_out_of_range_index_still_raises_index_error() -> None:
    with pytest.raises(IndexError):
        gj.tensor(np.zeros((2, 3)))[0, 5]


def test_cached_reshape_without_grad_and_with_grad() -> None:
    data = np.arange(12.0)
    t = gj.tensor(data)
    for _ in range(2):  # the second call takes the cached path
        r = t.reshape(3, 4)
        np.testing.assert_array_equal(r.numpy(), data.reshape(3, 4))
        assert not np.shares_memory(r.numpy(), data)
    w = gj.tensor(data, requires_grad=True)
    for _ in range(2):
        (w.reshape(3, 4)[:, 0] * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy().reshape(3, 4)[:, 0], [4.0, 4.0, 4.0])
