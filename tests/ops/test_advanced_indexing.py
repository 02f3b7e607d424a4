"""Several integer-array indices in x[...] (numpy's advanced indexing: broadcast together, mixed
with slices, ints, None and masks, numpy's placement of the broadcast dims) and put_along_axis:
values against numpy on graphs, eager tensors and the CPU backend, bounds checked when the graph
runs, and derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.interp import evaluate
from graphjit.testing import gradcheck

RNG = np.random.default_rng(11)
X = RNG.standard_normal((4, 5, 6, 3))

INDICES = [
    (np.array([0, 2, -1]), np.array([1, 1, 4])),
    (slice(None), np.array([[0], [2]]), np.array([1, 5, -6])),
    (np.array([0, 2]), slice(1, 3), np.array([1, 2])),
    (1, np.array([0, 2]), slice(None), np.array([1, 2])),
    (np.array([[0, 1]]), 2, np.array([[1], [2]])),
    (Ellipsis, np.array([0, 1]), np.array([2, 0])),
    (np.array([1, 2]), None, np.array([3, 4])),
    (np.array([1, 2]), np.array([3, 4]), None, np.array([0, 5])),
    (slice(None), np.array([0, 1]), np.array([[2], [3]]), np.array([0, 2])),
    ([0, 1], slice(None), [2, 3], [0, 1]),
    (np.array([3]), np.array([[4, 0]]), slice(0, 5, 2), np.array(2)),
]


@pytest.mark.parametrize("index", INDICES, ids=range(len(INDICES)))
def test_several_arrays_match_numpy(index):
    want = X[index]
    got = gj.tensor(X)[index]
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)
    x = gj.placeholder("x", (None, 5, 6, 3))
    out = x[index]
    assert len(out.shape) == want.ndim
    (value,) = evaluate([out], {x: X})
    np.testing.assert_array_equal(value, want)


def test_masks_with_arrays_match_numpy():
    mask = np.array([True, False, True, True])
    for index in [(mask, np.array([0, 1, 2])), (mask, slice(None), np.array([1, 0, 5]))]:
        np.testing.assert_array_equal(gj.tensor(X)[index].numpy(), X[index])


def test_cpu_backend_and_run_time_bounds():
    x = gj.placeholder("x", (None, 5, 6, 3))
    i = gj.placeholder("i", (None,), "int64")
    j = gj.placeholder("j", (None, 1), "int64")
    out = x[i, :, j] * 2
    (g,) = gj.grad(gj.sum(out * out), [x])
    f = gj.compile([x, i, j], [out, g], backend="cpu")
    ref = gj.compile([x, i, j], [out, g], backend="numpy")
    ii, jj = np.array([0, 3, -1]), np.array([[1], [-6]])
    got, want = f(X, ii, jj), ref(X, ii, jj)
    np.testing.assert_array_equal(got[0], X[ii, :, jj] * 2)
    np.testing.assert_allclose(got[1], want[1])
    with pytest.raises(IndexError):
        f(X, np.array([0, 4]), jj)
    with pytest.raises(IndexError):
        f(X, ii, np.array([[6]]))
    with pytest.raises(IndexError):
        gj.tensor(X)[[0, 1], [0, 5]]
    with pytest.raises(IndexError, match="could not be broadcast together"):
        gj.tensor(X)[[0, 1], [0, 1, 2]]


def test_gradients_accumulate_repeated_elements():
    a = RNG.standard_normal((3, 4))
    gradcheck(lambda p: p[[0, 0, 2], [1, 1, -1]] ** 2, [a])
    gradcheck(lambda p: p[np.array([[0], [2]]), 1:3] ** 2 + p[[1], [0]], [a])
    t = gj.tensor(a, requires_grad=True)
    t[[0, 0], [1, 1]].sum().backward()
    want = np.zeros_like(a)
    want[0, 1] = 2
    np.testing.assert_array_equal(t.grad.numpy(), want)


def test_put_along_axis_matches_numpy():
    a = RNG.standard_normal((3, 4))
    idx = np.array([[1], [0], [3]])
    want = a.copy()
    np.put_along_axis(want, idx, -1.0, axis=1)
    x = gj.placeholder("x", (None, 4))
    (value,) = evaluate([gj.put_along_axis(x, idx, -1.0, 1)], {x: a})
    np.testing.assert_array_equal(value, want)
    v = RNG.standard_normal((1, 4))
    want = a.copy()
    np.put_along_axis(want, np.array([[2, 0, 1, 2]]), v, axis=0)
    got = gj.put_along_axis(gj.tensor(a), np.array([[2, 0, 1, 2]]), gj.tensor(v), axis=0)
    np.testing.assert_array_equal(got.numpy(), want)
    want = a.copy().reshape(-1)
    np.put_along_axis(want, np.array([5, 0]), 7.0, axis=None)
    got = gj.put_along_axis(gj.tensor(a), np.array([5, 0]), 7.0, axis=None)
    np.testing.assert_array_equal(got.numpy(), want.reshape(3, 4))
    gradcheck(
        lambda p, q: gj.put_along_axis(p, np.array([[1, 3], [0, 2], [3, 0]]), q, 1) ** 2,
        [a, RNG.standard_normal((3, 2))],
    )
    with pytest.raises(IndexError, match="out of bounds"):
        gj.put_along_axis(gj.tensor(a), np.array([[4]]), 0.0, 1)
