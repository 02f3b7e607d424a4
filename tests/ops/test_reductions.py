"""Reductions, the statistics made of them (mean, var, std), softmax and size_of: values and dtypes
against numpy/scipy, shape rules (static and symbolic), build-time errors, and derivatives (order 1
and 2) against finite differences. One table of ops serves all of them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sps

import graphjit as gj
from graphjit.interp import evaluate
from graphjit.testing import gradcheck
from tests.ops.helpers import check_symbolic_derivatives, run

RNG = np.random.default_rng(0)


def rand(*shape: int, dtype: str = "float64") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def tol(dtype: str) -> dict[str, float]:
    return {"rtol": 2e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-12}


AXES = [None, 0, -1, 1, (0, 2), (-1, 0), ()]
NUMPY_REDUCTIONS = {
    "sum": (gj.sum, np.sum),
    "prod": (gj.prod, np.prod),
    "max": (gj.max, np.max),
    "min": (gj.min, np.min),
    "mean": (gj.mean, np.mean),
    "var": (gj.var, np.var),
    "std": (gj.std, np.std),
    "logsumexp": (gj.logsumexp, sps.logsumexp),
}


# --------------------------------------------------------------------------------------------------
# values


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(NUMPY_REDUCTIONS))
def test_reduction_matches_numpy(name, dtype, axis, keepdims):
    ours, ref = NUMPY_REDUCTIONS[name]
    a = rand(2, 3, 4, dtype=dtype)
    got = run(lambda x: ours(x, axis, keepdims=keepdims), a)
    want = np.asarray(ref(a, axis=axis, keepdims=keepdims))
    assert got.shape == want.shape
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, **tol(dtype))


@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_var_std_ddof(ddof):
    a = rand(4, 5)
    np.testing.assert_allclose(run(lambda x: gj.var(x, 1, ddof=ddof), a), np.var(a, 1, ddof=ddof))
    np.testing.assert_allclose(run(lambda x: gj.std(x, 0, ddof=ddof), a), np.std(a, 0, ddof=ddof))
    np.testing.assert_allclose(run(lambda x: gj.var(x, correction=ddof), a), np.var(a, ddof=ddof))
    np.testing.assert_allclose(run(lambda x: gj.var(x, unbiased=True), a), np.var(a, ddof=1))


@pytest.mark.parametrize(
    ("dtype", "fn", "want"),
    [
        ("bool", gj.sum, "int64"),
        ("int32", gj.sum, "int64"),
        ("int64", gj.prod, "int64"),
        ("int32", gj.prod, "int64"),
        ("int32", gj.max, "int32"),
        ("bool", gj.min, "bool"),
        ("int32", gj.mean, "float64"),
        ("bool", gj.mean, "float64"),
        ("int64", gj.var, "float64"),
        ("int32", gj.std, "float64"),
        ("int32", gj.logsumexp, "float64"),
        ("float32", gj.argmax, "int64"),
        ("int32", gj.argmin, "int64"),
    ],
)
def test_dtype_rules_follow_numpy(dtype, fn, want):
    a = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    got = run(lambda x: fn(x, 1), a)
    assert got.dtype == np.dtype(want)
    ref = sps.logsumexp if fn is gj.logsumexp else getattr(np, fn.__name__)
    np.testing.assert_allclose(got, ref(a, axis=1))


def test_impl_returns_arrays_not_scalars():
    a = rand(3, 4)
    for name in ["sum", "prod", "max", "min", "logsumexp"]:
        out = gj.ops.OPS[name].impl(a, axes=(0, 1), keepdims=False)
        assert isinstance(out, np.ndarray) and out.shape == ()
    out = gj.ops.OPS["argmax"].impl(a, axis=None, keepdims=False)
    assert isinstance(out, np.ndarray) and out.dtype == np.int64
    out = gj.ops.OPS["size_of"].impl(a, axes=(1,), dtype="float32")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out == 4


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name, axis, keepdims):
    a = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, -1.0, 2.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
    got = run(lambda x: getattr(gj, name)(x, axis, keepdims=keepdims), a)
    want = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)  # ties: the first index, as numpy


def test_nan_propagates_like_numpy():
    a = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]])
    for fn, ref in [(gj.max, np.max), (gj.min, np.min), (gj.sum, np.sum), (gj.mean, np.mean)]:
        np.testing.assert_array_equal(run(lambda x, fn=fn: fn(x, 1), a), ref(a, axis=1))
    np.testing.assert_array_equal(run(lambda x: gj.argmax(x, 1), a), np.argmax(a, 1))
    np.testing.assert_array_equal(run(lambda x: gj.argmin(x, 1), a), np.argmin(a, 1))
    np.testing.assert_allclose(run(lambda x: gj.logsumexp(x, 1), a), sps.logsumexp(a, 1))


def test_logsumexp_is_stable_and_handles_infinities():
    a = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0]])
    got = run(lambda x: gj.logsumexp(x, -1), a)
    with np.errstate(all="ignore"):
        want = sps.logsumexp(a, axis=-1)
    np.testing.assert_allclose(got, want)
    assert got[1] == -np.inf and np.isfinite(got[0])
    b = np.array([[np.inf, 1.0], [-np.inf, np.inf]])
    np.testing.assert_array_equal(run(lambda x: gj.logsumexp(x, 1), b), [np.inf, np.inf])


@pytest.mark.parametrize("axis", [-1, 0, (0, 1), None])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_and_log_softmax_match_scipy(axis, dtype):
    a = rand(3, 4, dtype=dtype) * 5
    sm = run(lambda x: gj.softmax(x, axis), a)
    lsm = run(lambda x: gj.log_softmax(x, axis), a)
    np.testing.assert_allclose(sm, sps.softmax(a, axis=axis), **tol(dtype))
    np.testing.assert_allclose(lsm, sps.log_softmax(a, axis=axis), **tol(dtype))


@pytest.mark.parametrize("axis", [1, 0])
def test_softmax_of_slices_with_infinities_and_nan_match_scipy(backend: str, axis: int) -> None:
    """A slice holding +inf is NaN throughout (scipy, PyTorch and jax agree for softmax, PyTorch
    for log_softmax); only -inf is NaN too; -inf beside numbers is a zero probability;
    logsumexp keeps numpy's answers."""
    inf, nan = np.inf, np.nan
    a = np.array([[inf, 1.0, 0.0], [-inf, -inf, -inf], [-inf, 2.0, 0.0], [nan, 1.0, 0.0]])
    a = a if axis == 1 else np.ascontiguousarray(a.T)
    x = gj.placeholder("x", a.shape)
    outs = [gj.softmax(x, axis), gj.log_softmax(x, axis), gj.logsumexp(x, axis)]
    got = gj.compile([x], outs, backend=backend)(a)
    with np.errstate(all="ignore"):
        wants = [sps.softmax(a, axis), sps.log_softmax(a, axis), sps.logsumexp(a, axis)]
    # PyTorch's log_softmax of a slice holding +inf is NaN throughout, as its softmax is
    # (scipy's is -inf beside the inf)
    wants[1] = np.where(np.isposinf(a).any(axis, keepdims=True), np.nan, wants[1])
    for g, w in zip(got, wants, strict=True):
        np.testing.assert_array_equal(g, w)


def test_softmax_is_stable_and_defaults_to_last_axis():
    a = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -1002.0]])
    np.testing.assert_allclose(run(gj.softmax, a), sps.softmax(a, axis=-1))
    np.testing.assert_allclose(run(gj.log_softmax, a), sps.log_softmax(a, axis=-1))
    np.testing.assert_allclose(run(lambda x: gj.softmax(x, dim=0), a), sps.softmax(a, axis=0))
    ints = run(gj.softmax, np.array([[1, 2, 3]], dtype=np.int32))
    assert ints.dtype == np.float64


def test_pytorch_spellings():
    a = rand(2, 3, 4)
    np.testing.assert_allclose(
        run(lambda x: gj.sum(x, dim=1, keepdim=True), a), a.sum(1, keepdims=True)
    )
    np.testing.assert_allclose(run(lambda x: gj.mean(x, dim=(0, 2)), a), a.mean((0, 2)))
    np.testing.assert_allclose(run(lambda x: gj.max(x, dim=-1), a), a.max(-1))
    np.testing.assert_array_equal(
        run(lambda x: gj.argmax(x, dim=2, keepdim=True), a), a.argmax(2, keepdims=True)
    )
    np.testing.assert_allclose(run(lambda x: x.sum(1), a), a.sum(1))
    np.testing.assert_allclose(run(lambda x: x.var(0, ddof=1), a), a.var(0, ddof=1))


def test_sum_dtype_argument_and_constants():
    a = np.arange(6, dtype=np.int32)
    got = run(lambda x: gj.sum(x, dtype="float32"), a)
    assert got.dtype == np.float32 and got == 15
    (val,) = evaluate([gj.sum(gj.constant([[1.0, 2.0], [3.0, 4.0]]), 0)])
    np.testing.assert_array_equal(val, [4.0, 6.0])


@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "cumprod", "mean", "nansum", "nanprod"])
@pytest.mark.parametrize("dtype", ["int8", "int32", "uint8"])
def test_an_integer_dtype_argument_is_the_results_dtype(name: str, dtype: str) -> None:
    """numpy computes in the ``dtype`` given (an int8 sum wraps) and returns it; graphjit
    accumulated in int64 and returned that."""
    a = np.array([[100, 100, 100], [7, -3, 9]])
    if dtype == "uint8":
        a = np.abs(a)
    got = run(lambda x: getattr(gj, name)(x, axis=1, dtype=dtype), a)
    want = getattr(np, name)(a, axis=1, dtype=dtype)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------------------------------
# shape rules and errors


def test_equal_reductions_are_one_node():
    x = gj.placeholder("x", (2, 3))
    assert gj.sum(x, -1) is gj.sum(x, 1)
    assert gj.max(x, (1, 0)) is gj.max(x)
    assert gj.softmax(x) is gj.softmax(x, 1)


@pytest.mark.parametrize("fn", [gj.sum, gj.prod, gj.max, gj.min, gj.mean, gj.var, gj.logsumexp])
def test_bad_axis_raises_at_build_time(fn):
    x = gj.placeholder("x", (2, 3))
    name = fn.__name__
    with pytest.raises(ValueError, match=f"{name}: axis 3 is out of range for an array of 2 dims"):
        fn(x, 3)
    with pytest.raises(ValueError, match=f"{name}: axis -3 is out of range"):
        fn(x, (0, -3))
    with pytest.raises(ValueError, match="repeated axis"):
        fn(x, (1, -1))
    with pytest.raises(TypeError, match="axis or dim"):
        fn(x, 0, dim=1)


def test_argmax_errors():
    x = gj.placeholder("x", (2, 3))
    with pytest.raises(TypeError, match="argmax: axis must be an int or None"):
        gj.argmax(x, (0, 1))
    with pytest.raises(ValueError, match="argmin: axis 2 is out of range"):
        gj.argmin(x, 2)


def test_softmax_errors():
    with pytest.raises(ValueError, match="softmax: axis 2 is out of range"):
        gj.softmax(gj.placeholder("x", (2, 3)), 2)
    with pytest.raises(ValueError, match="log_softmax: axis 1 is out of range for a 0-d array"):
        gj.log_softmax(gj.placeholder("s", ()), 1)
    s = gj.placeholder("s", ())
    (zero,) = evaluate([gj.log_softmax(s)], {s: np.float64(3.0)})
    assert zero == 0.0  # a 0-d array is its own slice (axis -1, 0 or None), as PyTorch's


def test_infer_rejects_unnormalised_axes():
    t = gj.TensorType((2, 3))
    with pytest.raises(ValueError, match="sum: axes must be a sorted tuple"):
        gj.ops.OPS["sum"].infer(t, axes=(1, 0), keepdims=False)
    with pytest.raises(ValueError, match="max: axes must be"):
        gj.ops.OPS["max"].infer(t, axes=(2,), keepdims=False)


def test_symbolic_shapes():
    x = gj.placeholder("x", (None, 3, "n"))
    assert gj.sum(x, 1).shape == (None, "n")
    assert gj.sum(x, 0, keepdims=True).shape == (1, 3, "n")
    assert gj.max(x, (0, 2)).shape == (3,)
    assert gj.argmax(x, 2, keepdims=True).shape == (None, 3, 1)
    assert gj.argmax(x).shape == ()
    assert gj.logsumexp(x, -1).shape == (None, 3)
    assert gj.softmax(x).shape == (None, 3, "n")
    assert gj.mean(x).shape == () and gj.mean(x).dtype == "float64"
    assert gj.size_of(x, (0, 2), "int64").dtype == "int64"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # var with ddof=1 of one row: 0/0, as numpy
@pytest.mark.parametrize("n", [1, 4, 7])
def test_mean_var_over_unknown_axis_counts_at_call_time(n):
    x = gj.placeholder("x", (None, 3))
    outs = [
        gj.mean(x, 0),
        gj.var(x, 0, ddof=1),
        gj.std(x),
        gj.size_of(x, (0,)),
        gj.size_of(x, None, "int32"),
    ]
    a = rand(n, 3)
    mean, var, std, count, total = evaluate(outs, {x: a})
    np.testing.assert_allclose(mean, a.mean(0))
    np.testing.assert_allclose(var, a.var(0, ddof=1))
    np.testing.assert_allclose(std, a.std())
    assert count == n and count.dtype == np.float64
    assert total == 3 * n and total.dtype == np.int32


def test_mean_float32_over_unknown_axis_stays_float32():
    x = gj.placeholder("x", (None, 3), "float32")
    m = gj.mean(x, 0)
    assert m.dtype == "float32"
    a = rand(5, 3, dtype="float32")
    np.testing.assert_allclose(evaluate([m], {x: a})[0], a.mean(0), rtol=1e-6)


def test_size_of_of_static_axes_is_a_node():
    x = gj.placeholder("x", (2, 3))
    s = gj.size_of(x, (0, 1), "float32")
    assert s.shape == () and s.dtype == "float32"
    assert evaluate([s], {x: rand(2, 3)})[0] == 6


# --------------------------------------------------------------------------------------------------
# derivatives


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "mean", "var", "std", "logsumexp"])
def test_reduction_gradients(name, axis, keepdims):
    fn = getattr(gj, name)
    a = rand(2, 3, 2)
    gradcheck(lambda x: fn(x, axis, keepdims=keepdims) ** 2, [a])


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_gradients(name, axis):
    a = rand(3, 4)
    w = rand(3, 4)
    gradcheck(lambda x: gj.sum(getattr(gj, name)(x, axis) * w), [a])


def test_var_ddof_gradient():
    gradcheck(lambda x: gj.var(x, 1, ddof=1), [rand(3, 4)])


@pytest.mark.parametrize(
    "row",
    [
        [2.0, 0.0, 3.0, -1.5],  # one zero
        [0.0, 1.5, 0.0, 2.0],  # two zeros
        [0.0, 0.0, 0.0, 2.0],  # three zeros
        [1.0, 2.0, -3.0, 0.5],  # none
    ],
)
def test_prod_gradient_with_zeros(row):
    a = np.array([row, [1.0, 2.0, 3.0, 4.0]])
    gradcheck(lambda x: gj.prod(x, 1), [a])
    gradcheck(lambda x: gj.prod(x), [a])
    # the gradient's value: the product of the other elements
    x = gj.placeholder("x", a.shape)
    (g,) = gj.grad(gj.sum(gj.prod(x, 1)), [x])
    want = np.array([[np.prod(np.delete(r, j)) for j in range(r.size)] for r in a])
    np.testing.assert_allclose(evaluate([g], {x: a})[0], want)


def test_max_min_split_the_gradient_among_ties():
    a = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, 1.0, 1.0, 1.0]])
    x = gj.placeholder("x", a.shape)
    gmax, gmin = gj.grad(gj.sum(gj.max(x, 1)), [x])[0], gj.grad(gj.sum(gj.min(x, 1)), [x])[0]
    want_max = [[0, 0.5, 0.5, 0], [0.25] * 4, [1, 0, 0, 0]]
    want_min = [[0, 0, 0, 1], [0.25] * 4, [0, 1 / 3, 1 / 3, 1 / 3]]
    got_max, got_min = evaluate([gmax, gmin], {x: a})
    np.testing.assert_allclose(got_max, want_max)
    np.testing.assert_allclose(got_min, want_min)
    (gall,) = gj.grad(gj.max(x), [x])
    np.testing.assert_allclose(evaluate([gall], {x: a})[0], (a == 5.0).astype(float))
    t = gj.jvp(gj.max(x, 1), [x], [np.ones(a.shape)])
    np.testing.assert_allclose(evaluate([t], {x: a})[0], [1.0, 1.0, 1.0])


def test_gradients_keep_float32():
    x = gj.placeholder("x", (3, 4), "float32")
    for fn in [gj.sum, gj.mean, gj.max, gj.prod, gj.var, gj.logsumexp]:
        (g,) = gj.grad(fn(x), [x])
        assert g.dtype == "float32" and g.shape == (3, 4)
    (g,) = gj.grad(gj.sum(gj.softmax(x) ** 2), [x])
    assert g.dtype == "float32"


def test_argmax_and_size_of_have_zero_gradient():
    x = gj.placeholder("x", (3, 4))
    y = gj.sum(gj.argmax(x, 1).astype("float64") * gj.max(x, 1)) + gj.size_of(x)
    (g,) = gj.grad(y, [x])
    a = rand(3, 4)
    want = np.zeros_like(a)
    want[np.arange(3), a.argmax(1)] = a.argmax(1)
    np.testing.assert_allclose(evaluate([g], {x: a})[0], want)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: gj.sum(x, 0),
        lambda x: gj.mean(x, 0),
        lambda x: gj.mean(x),
        lambda x: gj.var(x, 0),
        lambda x: gj.std(x, 1, keepdims=True),
        lambda x: gj.prod(x, 0),
        lambda x: gj.max(x, 0),
        lambda x: gj.min(x, (0, 1)),
        lambda x: gj.logsumexp(x, 0),
        lambda x: gj.softmax(x, 0),
        lambda x: gj.log_softmax(x, 0),
    ],
)
def test_derivatives_over_unknown_dims(fn):
    check_symbolic_derivatives(fn, rand(4, 3), (None, 3))
