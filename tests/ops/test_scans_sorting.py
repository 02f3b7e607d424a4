"""Scans (cumsum, cumprod, logcumsumexp, running arg-extrema), sorting (sort, argsort, partition,
searchsorted) and any/all: values and dtypes against numpy, PyTorch's dim on 0-d inputs, and
derivatives against finite differences, through zeros (cumprod) and ties (sort)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.ops import OPS
from graphjit.ops.dispatch import apply
from graphjit.testing import gradcheck
from tests.ops.helpers import check_symbolic_derivatives, run

RNG = np.random.default_rng(0)


def rand(*shape: int, dtype: str = "float64") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------------------------------
# values


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_cumulative_matches_numpy(name, dtype, axis):
    a = (rand(3, 4) * 3).astype(dtype)
    got = run(lambda x: getattr(gj, name)(x, axis), a)
    want = getattr(np, name)(a, axis=axis)
    if want.dtype.kind in "ub":
        want = want.astype(np.int64)  # numpy's uint64 accumulator for uint8: graphjit's is int64
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_cumsum_accumulates_uint8_in_int64():
    a = np.full(4, 200, dtype=np.uint8)
    got = run(lambda x: gj.cumsum(x), a)
    assert got.dtype == np.int64 and got.tolist() == [200, 400, 600, 800]


def test_logcumsumexp_is_stable_and_matches_logaddexp():
    a = np.array([[-1000.0, 0.0, 1000.0, -np.inf, 3.0]])
    got = run(lambda x: gj.logcumsumexp(x, 1), a)
    np.testing.assert_allclose(got, np.logaddexp.accumulate(a, axis=1))


def test_logcumsumexp_gradient_has_no_overflow():
    t = gj.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    gj.sum(gj.logcumsumexp(t, 0) * gj.tensor([1.0, -2.0, 0.5])).backward()
    assert np.all(np.isfinite(t.grad.numpy()))
    # d/dx_i sum_j c_j out_j = sum_{j>=i} c_j exp(x_i - out_j)
    np.testing.assert_allclose(t.grad.numpy(), [1.0, -2.0 + 0.5 * np.exp(-1000.0), 0.5], atol=1e-12)


def test_running_arg_extrema_follow_pytorch():
    a = np.array([1.0, 3.0, 3.0, 2.0, 3.0, 1.0, np.nan, 5.0])
    vals, idx = gj.cummax(gj.tensor(a), 0)
    assert idx.tolist() == [0, 1, 2, 2, 4, 4, 6, 6]  # ties move on, NaN holds
    np.testing.assert_array_equal(vals.numpy()[:6], [1, 3, 3, 3, 3, 3])
    assert np.isnan(vals.numpy()[6:]).all()
    low, where_low = gj.cummin(gj.tensor([2, 1, 1, 3]), 0)
    assert low.tolist() == [2, 1, 1, 1] and where_low.tolist() == [0, 1, 2, 2]


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_scans_and_sorts_agree_between_backends(backend):
    a = rand(4, 6)
    a[1, 2] = a[1, 4]  # a tie
    a[2, 3] = np.nan
    x = gj.placeholder("x", (None, 6))
    outs = [
        gj.cumsum(x, 1),
        gj.cumprod(x, 0),
        gj.logcumsumexp(x, 1),
        *gj.cummax(x, 1),
        *gj.cummin(x, 0),
        gj.argsort(x, axis=1),
        gj.argsort(x, axis=0, descending=True),
        gj.sort(x, axis=None),
        gj.searchsorted(gj.sort(x[0]), x),
        gj.searchsorted(gj.sort(x[2]), x, side="right"),
    ]
    got = gj.compile([x], outs, backend=backend)(a)
    want = gj.compile([x], outs, backend="numpy")(a)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(got[9], np.sort(a, axis=None))


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int16", "uint8", "bool"])
@pytest.mark.parametrize("descending", [False, True])
def test_argsort_is_stable_with_nan_last(dtype, descending):
    a = np.array([[3, 1, 2, 1, 3, 0, 2]], dtype=dtype)
    x = gj.placeholder("x", (1, 7), dtype)
    for backend in ("numpy", "cpu"):
        (got,) = gj.compile([x], [gj.argsort(x, descending=descending)], backend=backend)(a)
        key = -a.astype(np.float64) if descending else a
        np.testing.assert_array_equal(got, np.argsort(key, axis=-1, kind="stable"))
    f = np.array([2.0, np.nan, 1.0, np.nan, 2.0])
    order = gj.argsort(gj.tensor(f), descending=descending).tolist()
    assert order == ([1, 3, 0, 4, 2] if descending else [2, 0, 4, 1, 3])


def test_partition_puts_kth_in_place():
    a = rand(3, 7)
    got = gj.partition(gj.tensor(a), 3, axis=1).numpy()
    want = np.partition(a, 3, axis=1)
    np.testing.assert_array_equal(got[:, 3], want[:, 3])
    assert (got[:, :3] <= got[:, 3:4]).all() and (got[:, 4:] >= got[:, 3:4]).all()
    with pytest.raises(ValueError, match="kth"):
        gj.partition(gj.tensor(a), 7)


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy(side):
    a = np.array([1.0, 2.0, 2.0, 3.0, np.nan])
    v = np.array([[0.0, 2.0, 2.5], [3.0, np.nan, 9.0]])
    got = run(lambda s, q: gj.searchsorted(s, q, side=side), a, v)
    np.testing.assert_array_equal(got, np.searchsorted(a, v, side=side))
    sorter = np.array([2, 0, 1])
    np.testing.assert_array_equal(
        gj.searchsorted(np.array([3, 1, 2]), [2], sorter=sorter).numpy(),
        np.searchsorted(np.array([3, 1, 2]), [2], sorter=sorter),
    )
    right = gj.searchsorted(gj.tensor(a), gj.tensor(v), right=side == "right")
    np.testing.assert_array_equal(right.numpy(), np.searchsorted(a, v, side=side))


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_any_all_match_numpy(axis):
    a = np.array([[0, 1, 2], [0, 0, 3]])
    for name in ("any", "all"):
        got = run(lambda x, name=name: getattr(gj, name)(x, axis, keepdims=True), a)
        want = getattr(np, name)(a, axis=axis, keepdims=True)
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, want)
    t = gj.tensor(a)
    assert t.any(1).tolist() == [True, True] and t.all(dim=0).tolist() == [False, False, True]
    assert gj.all(gj.tensor(np.zeros((0, 2))), dim=0).tolist() == [True, True]
    x = gj.placeholder("x", (None, 3))
    (every,) = gj.compile([x], [gj.all(x > -1, axis=0)], backend="cpu")(np.ones((4, 3)))
    assert every.tolist() == [True, True, True]


def test_pytorch_dim_0_or_minus_1_on_0d():
    t = gj.tensor(5.0)
    for dim in (0, -1):
        assert t.sum(dim).item() == 5.0 and t.mean(dim=dim).item() == 5.0
        assert t.max(dim).values.item() == 5.0 and t.max(dim).indices.item() == 0
        assert t.argmax(dim).item() == 0 and t.cumsum(dim).item() == 5.0
        assert gj.cumprod(t, dim=dim).shape == ()
        assert t.any(dim).item() is True
        assert t.sort(dim).values.item() == 5.0
    with pytest.raises(ValueError):
        t.sum(1)
    with pytest.raises(ValueError):
        gj.sum(np.float64(2.0), axis=0)  # numpy's axis= keeps numpy's rule


def test_max_with_axis_returns_values_and_indices_on_tensors():
    t = gj.tensor([[1.0, 5.0, 2.0], [4.0, 3.0, 6.0]])
    values, indices = t.max(axis=1)
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    assert t.min(axis=0, keepdims=True).values.shape == (1, 3)
    with pytest.raises(TypeError, match="amax"):
        t.max(axis=(0, 1))
    assert t.amax((0, 1)).item() == 6.0
    x = gj.placeholder("x", (2, 3))
    assert x.max(axis=1).shape == (2,)  # graph nodes keep numpy's meaning


# --------------------------------------------------------------------------------------------------
# derivatives


ZEROS_CASES = {
    "no zero": [1.5, -0.5, 2.0, 0.7, -1.2],
    "one zero": [1.5, 0.0, 2.0, 0.7, -1.2],
    "two zeros": [1.5, 0.0, 2.0, 0.0, -1.2],
    "three zeros": [0.0, 0.7, 0.0, 0.0, -1.2],
    "all zeros": [0.0, 0.0, 0.0, 0.0, 0.0],
}


@pytest.mark.parametrize("values", ZEROS_CASES.values(), ids=ZEROS_CASES.keys())
def test_cumprod_derivatives_through_zeros(values):
    x = np.array([values, values[::-1]])
    assert gradcheck(lambda v: gj.cumprod(v, axis=1), [x])  # fwd and rev, order 1 and 2
    assert gradcheck(lambda v: gj.cumprod(v, axis=0), [x.T.copy()])


def test_cumprod_gradient_at_zeros_is_the_product_of_the_others():
    t = gj.tensor([2.0, 0.0, 3.0, 0.0, 5.0], requires_grad=True)
    gj.sum(gj.cumprod(t, 0)).backward()
    # d/dx1: 2 + 2*3 + 0 + 0 ; d/dx3: 2*0*3 terms vanish; others through the zero vanish too
    np.testing.assert_allclose(t.grad.numpy(), [1.0, 8.0, 0.0, 0.0, 0.0])


def test_scan_derivatives_on_symbolic_shapes():
    x = rand(3, 4)
    lcse = OPS["logcumsumexp"]
    check_symbolic_derivatives(lambda v: gj.cumsum(v, 1), x, (None, 4))
    check_symbolic_derivatives(lambda v: gj.cumprod(v, 0), x, (None, 4))
    check_symbolic_derivatives(lambda v: apply(lcse, v, axis=1, reverse=True), x, (None, 4))
    check_symbolic_derivatives(lambda v: gj.cummax(v, 1).values, x, (None, 4))
    check_symbolic_derivatives(lambda v: gj.sort(v, axis=0, descending=True), x, (None, 4))


def test_sort_gradient_with_ties_goes_to_each_sorted_slot():
    a = np.array([3.0, 1.0, 3.0, 2.0, 1.0])
    w = np.array([1.0, 10.0, 100.0, 1000.0, 10000.0])
    for descending in (False, True):
        t = gj.tensor(a, requires_grad=True)
        gj.sum(gj.sort(t, descending=descending) * w).backward()
        order = np.argsort(-a if descending else a, kind="stable")
        want = np.zeros(5)
        want[order] = w
        np.testing.assert_array_equal(t.grad.numpy(), want)
    assert gradcheck(lambda v: gj.sort(v, axis=1), [rand(3, 5)])
    assert gradcheck(lambda v: gj.partition(v, 2), [rand(6)])
