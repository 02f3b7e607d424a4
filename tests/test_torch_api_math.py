"""The PyTorch-spelled elementwise math (graphjit/torch_api/arithmetic.py and the tensor methods)
against PyTorch itself: eager values and gradients, float64 and float32, functions and methods,
the ``//`` and ``%`` operators, and clamp with tensor bounds, including the gradient at the
bounds."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

torch = pytest.importorskip(
    "torch",
    reason="torch is not installed: the PyTorch comparison tests need it (pip install torch)",
)

RNG = np.random.default_rng(11)

# PyTorch 2.14 changed clamp's gradient where the input equals a bound; graphjit keeps the rule
# of PyTorch up to 2.13 (1 at a bound, as `grad * (lo <= x <= hi)`), pinned without torch in
# tests/tensor/test_torch_rules.py
_TORCH_VERSION = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2])
clamp_rule_of_torch_2_13 = pytest.mark.skipif(
    _TORCH_VERSION >= (2, 14),
    reason=f"PyTorch {torch.__version__} changed clamp's gradient at the bounds",
)


def uniform(lo, hi):
    return lambda shape: RNG.uniform(lo, hi, shape)


# name -> input generator; gj.<name>, torch.<name> and the method <name> of both are compared
UNARY = {
    "tan": uniform(-1.2, 1.2),
    "asin": uniform(-0.9, 0.9),
    "acos": uniform(-0.9, 0.9),
    "atan": uniform(-3, 3),
    "sinh": uniform(-3, 3),
    "cosh": uniform(-3, 3),
    "asinh": uniform(-3, 3),
    "acosh": uniform(1.2, 3),
    "atanh": uniform(-0.9, 0.9),
    "rsqrt": uniform(0.2, 3),
    "trunc": uniform(-4, 4),
    "frac": uniform(-4, 4),
    "log2": uniform(0.2, 3),
    "log10": uniform(0.2, 3),
    "sign": uniform(-2, 2),
    "erf": uniform(-2, 2),
    "erfc": uniform(-2, 2),
    "erfinv": uniform(-0.95, 0.95),
}
TOL = {"float64": {"rtol": 1e-12, "atol": 1e-12}, "float32": {"rtol": 1e-5, "atol": 1e-5}}


def pair(a, dtype):
    """The same values as a graphjit and a torch leaf tensor that require grad."""
    a = np.asarray(a, dtype=dtype)
    return gj.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def check(ours, theirs, dtype):
    if ours is None and theirs is not None:  # no gradient reached the leaf: torch says zeros
        np.testing.assert_array_equal(theirs.numpy(), 0)
        return
    assert ours.dtype == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL[dtype])


def backward_both(ours, theirs, weights):
    """Backward of sum(out * weights) in both libraries (weights make every element count)."""
    (ours * gj.tensor(weights.astype(ours.dtype))).sum().backward()
    (theirs * torch.tensor(weights.astype(ours.dtype))).sum().backward()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spelling", ["function", "method"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_match_torch(name, spelling, dtype):
    a = UNARY[name]((2, 3))
    x, tx = pair(a, dtype)
    if spelling == "function":
        out, tout = getattr(gj, name)(x), getattr(torch, name)(tx)
    else:
        out, tout = getattr(x, name)(), getattr(tx, name)()
    check(out, tout, dtype)
    backward_both(out, tout, RNG.uniform(0.5, 1.5, a.shape))
    check(x.grad, tx.grad, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_atan2_matches_torch(dtype):
    (y, ty), (x, tx) = pair(RNG.uniform(-2, 2, (2, 3)), dtype), pair(RNG.uniform(-2, 2, 3), dtype)
    for out, tout in [(gj.atan2(y, x), torch.atan2(ty, tx)), (y.atan2(x), ty.atan2(tx))]:
        check(out, tout, dtype)
    backward_both(gj.atan2(y, x), torch.atan2(ty, tx), RNG.uniform(0.5, 1.5, (2, 3)))
    check(y.grad, ty.grad, dtype)
    check(x.grad, tx.grad, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lerp_matches_torch_with_scalar_and_tensor_weights(dtype):
    s, e = RNG.uniform(-2, 2, (2, 4)), RNG.uniform(-2, 2, (2, 4))
    w = np.array([-0.3, 0.25, 0.5, 1.0])  # both of torch's formulas, and weight 1 exactly
    (x, tx), (y, ty), (v, tv) = pair(s, dtype), pair(e, dtype), pair(w, dtype)
    out, tout = gj.lerp(x, y, v), torch.lerp(tx, ty, tv)
    check(out, tout, dtype)
    np.testing.assert_array_equal(out.detach().numpy()[:, 3], e[:, 3].astype(dtype))
    backward_both(out, tout, RNG.uniform(0.5, 1.5, (2, 4)))
    for ours, theirs in [(x, tx), (y, ty), (v, tv)]:
        check(ours.grad, theirs.grad, dtype)
    check(x.lerp(y, 0.75), tx.lerp(ty, 0.75), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_floor_divide_and_remainder_operators_match_torch(dtype):
    a = np.array([[7.5, -7.5, 7.5, -7.5, 3.0, -3.0], [5.0, -5.0, 0.5, -0.5, 9.0, 0.0]])
    b = np.array([2.0, 2.0, -2.0, -2.0, 1.5, -1.5])
    if dtype == "int64":
        a, b = np.round(a * 2), np.round(b * 2)
    x, y = gj.tensor(a.astype(dtype)), gj.tensor(b.astype(dtype))
    tx, ty = torch.tensor(a.astype(dtype)), torch.tensor(b.astype(dtype))
    for out, tout in [
        (x // y, tx // ty),
        (x % y, tx % ty),
        (x // 3, tx // 3),
        (x % -3, tx % -3),
        (7 // y, 7 // ty),
        (7 % y, 7 % ty),
        (gj.remainder(x, y), torch.remainder(tx, ty)),
        (gj.floor_divide(x, y), torch.floor_divide(tx, ty)),
        (x.remainder(y), tx.remainder(ty)),
    ]:
        check(out, tout, dtype if dtype != "int64" else "float64")


def test_remainder_gradients_match_torch():
    a, b = RNG.uniform(-5, 5, (2, 3)), RNG.uniform(0.5, 2, 3) * np.array([1, -1, 1])
    (x, tx), (y, ty) = pair(a, "float64"), pair(b, "float64")
    backward_both(x % y, tx % ty, RNG.uniform(0.5, 1.5, (2, 3)))
    check(x.grad, tx.grad, "float64")
    check(y.grad, ty.grad, "float64")


@clamp_rule_of_torch_2_13
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clamp_with_tensor_bounds_matches_torch_at_and_between_the_bounds(dtype):
    a = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, 0.5, 3.0, -4.0]] * 2)
    lo = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    hi = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])  # the last three: min > max
    (x, tx), (p, tp), (q, tq) = pair(a, dtype), pair(lo, dtype), pair(hi, dtype)
    for out, tout in [
        (gj.clamp(x, p, q), torch.clamp(tx, tp, tq)),
        (x.clamp(p, q), tx.clamp(tp, tq)),
    ]:
        check(out, tout, dtype)
    backward_both(gj.clamp(x, p, q), torch.clamp(tx, tp, tq), np.ones(a.shape))
    for ours, theirs in [(x, tx), (p, tp), (q, tq)]:
        check(ours.grad, theirs.grad, dtype)


@clamp_rule_of_torch_2_13
@pytest.mark.parametrize("bounds", [(-0.5, None), (None, 0.5), (-0.5, 0.5)], ids=str)
def test_clamp_with_scalar_bounds_matches_torch(bounds):
    a = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    x, tx = pair(a, "float64")
    out, tout = x.clamp(*bounds), tx.clamp(*bounds)
    check(out, tout, "float64")
    backward_both(out, tout, np.ones(5))
    check(x.grad, tx.grad, "float64")


def test_domain_edges_match_torch():
    edges = np.array([-2.0, -1.0, -0.0, 0.0, 1.0, 2.0, np.inf, -np.inf, np.nan])
    with np.errstate(all="ignore"):
        for name in ["asin", "acos", "acosh", "atanh", "log10", "log2", "rsqrt", "erfinv", "frac"]:
            ours = getattr(gj, name)(gj.tensor(edges)).numpy()
            theirs = getattr(torch, name)(torch.tensor(edges)).numpy()
            np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0, err_msg=name)
