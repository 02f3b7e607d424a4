"""Elementwise math beyond the basics (graphjit/ops/trig.py, special.py, rounding.py, floating.py,
and log10, fmax, fmin, clamp, fabs in elementwise.py): values and dtypes against numpy/scipy on
graphs (interpreter and CPU backend) and eager tensors, broadcasting, numpy's answers at the domain
edges, derivatives against finite differences (forward and reverse, order 2), and the gradient
conventions at kinks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sps

import graphjit as gj
from graphjit.testing import gradcheck

RNG = np.random.default_rng(7)


def uniform(lo, hi):
    def gen(shape, dtype="float64"):
        return RNG.uniform(lo, hi, shape).astype(dtype)

    return gen


def away_from_zero(shape, dtype="float64"):
    sign = np.where(RNG.uniform(size=shape) < 0.5, -1.0, 1.0)
    return (sign * RNG.uniform(0.3, 1.5, shape)).astype(dtype)


real = uniform(-2, 2)

# name -> (graphjit function, numpy/scipy reference, input generator)
UNARY = {
    "sinh": (gj.sinh, np.sinh, real),
    "cosh": (gj.cosh, np.cosh, real),
    "arcsin": (gj.arcsin, np.arcsin, uniform(-0.9, 0.9)),
    "arccos": (gj.arccos, np.arccos, uniform(-0.9, 0.9)),
    "arcsinh": (gj.arcsinh, np.arcsinh, real),
    "arccosh": (gj.arccosh, np.arccosh, uniform(1.2, 3)),
    "arctanh": (gj.arctanh, np.arctanh, uniform(-0.9, 0.9)),
    "log10": (gj.log10, np.log10, uniform(0.1, 3)),
    "erfc": (gj.erfc, sps.erfc, real),
    "erfinv": (gj.erfinv, sps.erfinv, uniform(-0.95, 0.95)),
    "deg2rad": (gj.deg2rad, np.deg2rad, uniform(-400, 400)),
    "rad2deg": (gj.rad2deg, np.rad2deg, real),
    "fabs": (gj.fabs, np.fabs, real),
    "trunc": (gj.trunc, np.trunc, uniform(-4, 4)),
    "nan_to_num": (gj.nan_to_num, np.nan_to_num, real),
    "real": (gj.real, np.real, real),
    "imag": (gj.imag, np.imag, real),
    "conj": (gj.conj, np.conj, real),
    "angle": (gj.angle, np.angle, real),
}
# name -> (graphjit function, numpy reference, generator of x, generator of y)
BINARY = {
    "arctan2": (gj.arctan2, np.arctan2, real, real),
    "hypot": (gj.hypot, np.hypot, real, real),
    "logaddexp": (gj.logaddexp, np.logaddexp, real, real),
    "logaddexp2": (gj.logaddexp2, np.logaddexp2, real, real),
    "remainder": (gj.remainder, np.remainder, uniform(-5, 5), away_from_zero),
    "floor_divide": (gj.floor_divide, np.floor_divide, uniform(-5, 5), away_from_zero),
    "copysign": (gj.copysign, np.copysign, real, real),
    "heaviside": (gj.heaviside, np.heaviside, real, real),
}
PIECEWISE_CONSTANT = {"trunc", "floor_divide", "angle", "imag"}
BROADCAST_SHAPES = [((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 3)), ((2, 1, 3), (4, 1))]


def tol(dtype):
    return {"rtol": 2e-6, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-14}


def run(fn, *arrays, backend="numpy"):
    """``fn`` on placeholders shaped like ``arrays``, compiled and evaluated at them; the static
    type must agree with the value."""
    phs = [gj.placeholder(f"a{i}", a.shape, a.dtype.name) for i, a in enumerate(arrays)]
    out = fn(*phs)
    (value,) = gj.compile(phs, [out], backend=backend)(*arrays)
    assert tuple(out.shape) == value.shape
    assert out.dtype == value.dtype.name
    return value


def test_the_new_names_are_public_and_aliases_are_the_same_functions():
    for name in [*UNARY, *BINARY, "isnan", "isinf", "isfinite", "signbit", "isclose", "fmax"]:
        assert callable(getattr(gj, name)), name
    assert gj.mod is gj.remainder and gj.absolute is gj.abs and gj.conjugate is gj.conj
    assert gj.degrees is gj.rad2deg and gj.radians is gj.deg2rad
    assert gj.real_if_close(np.ones(2)).tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------------------------------
# values


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_numpy(name, dtype, backend):
    ours, ref, gen = UNARY[name]
    a = gen((2, 3), dtype)
    got = run(ours, a, backend=backend)
    want = np.asarray(ref(a))
    assert got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, **tol(dtype))


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_numpy_with_broadcasting(name, shapes, dtype, backend):
    ours, ref, gen_x, gen_y = BINARY[name]
    a, b = gen_x(shapes[0], dtype), gen_y(shapes[1], dtype)
    if name == "heaviside":
        a = np.round(a).astype(dtype)  # zeros too, where h0 is the answer
    got = run(ours, a, b, backend=backend)
    want = ref(a, b)
    assert got.shape == want.shape
    assert got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, **tol(dtype))


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_ints_follow_numpy(dtype, backend):
    a = np.array([[7, -7, 0], [5, -6, 9]], dtype=dtype)
    b = np.array([2, -3, 4], dtype=dtype)
    for fn, ref in [
        (gj.remainder, np.remainder),
        (gj.floor_divide, np.floor_divide),
        (gj.fmax, np.fmax),
        (gj.fmin, np.fmin),
        (gj.hypot, np.hypot),
        (gj.arctan2, np.arctan2),
        (gj.copysign, np.copysign),
        (gj.heaviside, np.heaviside),
    ]:
        got, want = run(fn, a, b, backend=backend), ref(a, b)
        assert got.dtype == want.dtype, fn.__name__
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=fn.__name__)
    for fn, ref in [(gj.trunc, np.trunc), (gj.fabs, np.fabs), (gj.log10, np.log10)]:
        with np.errstate(divide="ignore", invalid="ignore"):
            got, want = run(fn, np.abs(a) + 1, backend=backend), ref(np.abs(a) + 1)
        assert got.dtype == want.dtype, fn.__name__
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=fn.__name__)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_int_division_by_zero_gives_numpy_zero(backend):
    a = np.array([5, -5, 0], dtype="int64")
    b = np.zeros(3, dtype="int64")
    np.testing.assert_array_equal(run(gj.remainder, a, b, backend=backend), [0, 0, 0])
    np.testing.assert_array_equal(run(gj.floor_divide, a, b, backend=backend), [0, 0, 0])


def test_rounding_ops_reject_bool_at_build_time():
    b = gj.placeholder("b", (3,), "bool")
    for build in (
        lambda: gj.trunc(b),
        lambda: gj.floor_divide(b, b),
        lambda: gj.remainder(b, b),
        lambda: gj.clamp(b, 0, 1),
    ):
        with pytest.raises(TypeError, match="bool"):
            build()


def test_wrong_arity_is_a_type_error():
    x = gj.placeholder("x", (3,))
    with pytest.raises(TypeError):
        gj.sinh(x, x)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        gj.arctan2(x)  # type: ignore[call-arg]


EDGES = np.array([-2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize(
    ("fn", "ref"),
    [
        (gj.arcsin, np.arcsin),
        (gj.arccos, np.arccos),
        (gj.arccosh, np.arccosh),
        (gj.arctanh, np.arctanh),
        (gj.log10, np.log10),
        (gj.erfinv, sps.erfinv),
        (gj.erfc, sps.erfc),
        (gj.sinh, np.sinh),
        (gj.cosh, np.cosh),
        (gj.arcsinh, np.arcsinh),
        (gj.trunc, np.trunc),
        (gj.angle, np.angle),
        (gj.nan_to_num, np.nan_to_num),
        (gj.isnan, np.isnan),
        (gj.isinf, np.isinf),
        (gj.isfinite, np.isfinite),
        (gj.signbit, np.signbit),
    ],
    ids=lambda f: getattr(f, "__name__", ""),
)
def test_domain_edges_give_numpys_nan_and_inf(fn, ref, backend):
    # arccosh below 1, log10 of 0, arctanh at +-1, erfinv at +-1: nan or inf, never an error
    with np.errstate(all="ignore"):
        want = ref(EDGES)
        got = run(fn, EDGES, backend=backend)
    assert got.dtype == want.dtype
    assert_same_floats(got, want)


def assert_same_floats(got, want, err_msg=""):
    """nan, +-inf and signed zeros where numpy has them; finite values to 1 ulp (libm and numpy's
    own loops may round differently)."""
    np.testing.assert_allclose(got, want, rtol=3e-16, atol=0, err_msg=err_msg)
    numbers = ~np.isnan(np.asarray(want, dtype=float))
    np.testing.assert_array_equal(np.signbit(got)[numbers], np.signbit(want)[numbers], err_msg)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_binary_edges_match_numpy(backend):
    a, b = np.meshgrid(EDGES, EDGES)
    a, b = a.ravel(), b.ravel()
    for fn, ref in [
        (gj.remainder, np.remainder),
        (gj.floor_divide, np.floor_divide),
        (gj.logaddexp, np.logaddexp),
        (gj.logaddexp2, np.logaddexp2),
        (gj.fmax, np.fmax),
        (gj.fmin, np.fmin),
        (gj.heaviside, np.heaviside),
        (gj.copysign, np.copysign),
        (gj.arctan2, np.arctan2),
        (gj.hypot, np.hypot),
    ]:
        with np.errstate(all="ignore"):
            want = ref(a, b)
            got = run(fn, a, b, backend=backend)
        assert_same_floats(got, want, err_msg=fn.__name__)


def test_floor_divide_and_remainder_recompose_and_follow_the_divisor():
    a = np.array([7.5, -7.5, 7.5, -7.5, 3.0, -3.0])
    b = np.array([2.0, 2.0, -2.0, -2.0, 1.5, -1.5])
    q = run(lambda x, y: x // y, a, b)
    r = run(lambda x, y: x % y, a, b)
    np.testing.assert_array_equal(q, [3.0, -4.0, -4.0, 3.0, 2.0, 2.0])
    np.testing.assert_array_equal(r, [1.5, 0.5, -0.5, -1.5, 0.0, -0.0])
    np.testing.assert_array_equal(q * b + r, a)
    x = gj.placeholder("x", (6,))
    assert (7 // x).op.name == "floor_divide" and (7 % x).op.name == "remainder"
    np.testing.assert_array_equal(run(lambda x: 7 % x, b), np.remainder(7, b))


def test_isclose_and_allclose_follow_numpy():
    a = np.array([1.0, 1.0 + 1e-9, np.inf, -np.inf, np.nan, 0.0, 1e-9, 2.0])
    b = np.array([1.0, 1.0, np.inf, np.inf, np.nan, 1e-9, 0.0, 2.1])
    np.testing.assert_array_equal(run(gj.isclose, a, b), np.isclose(a, b))
    for kwargs in ({"equal_nan": True}, {"rtol": 0.1}, {"atol": 0.0}):
        got = run(lambda x, y, kw=kwargs: gj.isclose(x, y, **kw), a, b)
        np.testing.assert_array_equal(got, np.isclose(a, b, **kwargs))
    ints = np.array([1, 2, 3])
    np.testing.assert_array_equal(run(gj.isclose, ints, ints + 0), [True, True, True])
    assert gj.allclose(gj.tensor(a[:2]), a[:2] + 1e-12) is True
    assert gj.allclose(a, b) is False and gj.allclose(a, a, equal_nan=True) is True
    assert gj.tensor([1.0, 2.0]).allclose(gj.tensor([1.0, 2.0 + 1e-10]))
    with pytest.raises(TypeError, match="graph nodes"):
        gj.allclose(gj.placeholder("p", (2,)), a[:2])


def test_nan_to_num_replacements_and_gradient():
    a = np.array([np.nan, np.inf, -np.inf, 1.5], dtype="float32")
    got = run(lambda x: gj.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0), a)
    np.testing.assert_array_equal(got, np.nan_to_num(a, nan=-1.0, posinf=9.0, neginf=-9.0))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(run(gj.nan_to_num, a), np.nan_to_num(a))
    t = gj.tensor(a.astype("float64"), requires_grad=True)
    gj.nan_to_num(t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [0.0, 0.0, 0.0, 1.0])


def test_real_valued_complex_functions():
    a = np.array([-1.5, -0.0, 0.0, 2.0], dtype="float32")
    np.testing.assert_array_equal(run(gj.angle, a), np.angle(a))
    np.testing.assert_allclose(run(lambda x: gj.angle(x, deg=True), a), np.angle(a, deg=True))
    assert run(gj.imag, a).dtype == np.float32
    i = np.array([1, -2], dtype="int32")
    assert run(gj.real, i).dtype == np.int32 and run(gj.conj, i).dtype == np.int32
    np.testing.assert_array_equal(run(gj.angle, i), np.angle(i))
    with pytest.raises((TypeError, ValueError)):
        gj.real(np.array([1 + 2j]))  # no complex dtype: a clear error, not a silent cast


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_clamp_values_with_array_and_tensor_bounds(dtype):
    a = (np.arange(-4, 4).reshape(2, 4) * 0.7).astype(dtype)
    lo = np.array([-1, 0, -2, 1]).astype(dtype)
    hi = np.array([1, 0, 2, 0]).astype(dtype)  # the last column has lo > hi: hi wins, as numpy
    for lo_, hi_ in [(lo, hi), (-1, None), (None, 2), (lo, None)]:
        got = run(lambda x, lo_=lo_, hi_=hi_: gj.clamp(x, lo_, hi_), a)
        np.testing.assert_array_equal(got, np.clip(a, lo_, hi_))
        assert got.dtype == np.dtype(dtype)
    t = gj.tensor(a).clamp(gj.tensor(lo), gj.tensor(hi))
    np.testing.assert_array_equal(t.numpy(), np.clip(a, lo, hi))
    with pytest.raises(ValueError, match="min, max or both"):
        gj.clamp(gj.tensor(a))


def test_clamp_propagates_nan_from_x_and_bounds():
    a = np.array([np.nan, 0.5, 0.5])
    got = run(lambda x: gj.clamp(x, np.array([0.0, np.nan, 0.0]), 1.0), a)
    np.testing.assert_array_equal(got, [np.nan, np.nan, 0.5])


# --------------------------------------------------------------------------------------------------
# derivatives


GRAD_DOMAIN = {"fabs": away_from_zero, "trunc": uniform(0.1, 0.9), "angle": away_from_zero}


@pytest.mark.parametrize("name", sorted(set(UNARY) - {"real", "conj"}))
def test_unary_gradcheck(name):
    ours, _, gen = UNARY[name]
    a = GRAD_DOMAIN.get(name, gen)((2, 3))
    if name == "deg2rad":
        a = a / 100
    assert gradcheck(ours, [a], order=2)


@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((2, 3), (3,))], ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradcheck(name, shapes):
    ours, _, gen_x, gen_y = BINARY[name]
    a, b = gen_x(shapes[0]), gen_y(shapes[1])
    if name in ("copysign", "heaviside"):
        a = away_from_zero(shapes[0])
    assert gradcheck(ours, [a, b], order=2)


def test_gradcheck_of_torch_spelled_composites():
    a, b = uniform(0.5, 2)((2, 3)), real((2, 3))
    assert gradcheck(gj.rsqrt, [a], order=2)
    assert gradcheck(gj.frac, [a * 3 + 0.1], order=2)
    w = np.array([0.1, 0.5, 0.9])
    assert gradcheck(lambda s, e, w_: gj.lerp(s, e, w_), [a, b, w], order=2)
    assert gradcheck(lambda x: gj.clamp(x, -0.5, 0.5), [away_from_zero((4,))], order=2)


def grad_of(fn, *arrays):
    """Reverse-mode gradients of sum(fn(*xs)) and the jvp along ones, evaluated at ``arrays``."""
    xs = [gj.placeholder(f"x{i}", a.shape) for i, a in enumerate(arrays)]
    y = fn(*xs)
    grads = gj.grad(gj.sum(y), xs)
    t = gj.jvp(y, xs, [np.ones(a.shape) for a in arrays])
    return gj.compile(xs, [*grads, t], backend="numpy")(*arrays)


def test_clamp_gradient_at_the_bounds_follows_pytorch():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 0.5, 3.0])
    lo = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    hi = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])  # the last two: lo > hi
    gx, glo, ghi, t = grad_of(gj.clamp, x, lo, hi)
    np.testing.assert_array_equal(gx, [0, 1, 1, 1, 0, 0, 0])  # x keeps it at the bounds
    np.testing.assert_array_equal(glo, [1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(ghi, [0, 0, 0, 0, 1, 1, 1])  # crossed bounds: hi is the answer
    np.testing.assert_array_equal(t, gx + glo + ghi)
    # equal bounds above x: the answer is the lower bound's value (PyTorch 2.13 gave the gradient
    # to neither, so a bound moving with its twin had no derivative)
    gx, glo, ghi, t = grad_of(gj.clamp, np.array([-1.0, 0.5]), np.array([0.0, 0.5]), np.zeros(2))
    np.testing.assert_array_equal(gx, [0, 0])
    np.testing.assert_array_equal(glo, [1, 0])
    np.testing.assert_array_equal(ghi, [0, 1])
    np.testing.assert_array_equal(t, gx + glo + ghi)
    # the fuzzer's case: the first element of logcumsumexp(v) is v's own, so both bounds move
    # together there and the derivative of clamp(c, logcumsumexp(v), v) is 1 where c is below
    v = gj.placeholder("v", (2,))
    (dv,) = gj.grad(gj.sum(gj.clamp(0.0, gj.logcumsumexp(v, dim=0), v)), [v])
    np.testing.assert_array_equal(gj.compile([v], dv, backend="numpy")(np.array([1.0, 2.0]))[0], 1)
    # clip keeps JAX's even split at the bounds
    (gclip, _) = grad_of(lambda v: gj.clip(v, 0.0, 1.0), x[:5])
    np.testing.assert_array_equal(gclip, [0, 0.5, 1, 0.5, 0])


def test_piecewise_constant_ops_have_zero_gradient():
    a = np.array([-1.5, -0.5, 0.0, 0.3, 2.0])
    b = np.array([1.5, -0.5, 2.0, 0.7, 0.6])
    for fn in (gj.trunc, gj.angle, gj.imag):
        g, t = grad_of(fn, a)
        np.testing.assert_array_equal(g, np.zeros(5))
        np.testing.assert_array_equal(t, np.zeros(5))
    ga, gb, t = grad_of(gj.floor_divide, a, b)
    np.testing.assert_array_equal(ga + gb + t, np.zeros(5))


def test_conventions_at_kinks():
    # copysign'(0) = 0 (as abs'(0)) and no gradient to the sign source; heaviside: only h0 at 0
    gx, gy, _ = grad_of(gj.copysign, np.array([0.0, 2.0, -2.0]), np.array([-1.0, -1.0, -1.0]))
    np.testing.assert_array_equal(gx, [0.0, -1.0, 1.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0, 0.0])
    gx, gh, _ = grad_of(gj.heaviside, np.array([-1.0, 0.0, 1.0]), np.array([0.5, 0.5, 0.5]))
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gh, [0.0, 1.0, 0.0])
    # hypot at the origin: 0, as abs'(0); fmax/fmin: the non-nan input gets it, ties split
    gx, gy, _ = grad_of(gj.hypot, np.array([0.0, 3.0]), np.array([0.0, 4.0]))
    np.testing.assert_array_equal(gx, [0.0, 0.6])
    np.testing.assert_array_equal(gy, [0.0, 0.8])
    gx, gy, _ = grad_of(gj.fmax, np.array([np.nan, 1.0, 2.0]), np.array([1.0, 1.0, np.nan]))
    np.testing.assert_array_equal(gx, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(gy, [1.0, 0.5, 0.0])
    # remainder: d/da = 1, d/db = -floor(a / b)
    ga, gb, _ = grad_of(gj.remainder, np.array([7.5, -7.5]), np.array([2.0, 2.0]))
    np.testing.assert_array_equal(ga, [1.0, 1.0])
    np.testing.assert_array_equal(gb, [-3.0, 4.0])


# --------------------------------------------------------------------------------------------------
# eager tensors and methods


def test_tensor_methods_and_operators_agree_with_the_functions():
    a = np.array([[0.3, -0.7, 1.6], [-2.4, 0.9, 0.1]])
    b = np.array([0.6, -1.1, 0.5])
    t, u = gj.tensor(a), gj.tensor(b)
    np.testing.assert_array_equal((t // u).numpy(), np.floor_divide(a, b))
    np.testing.assert_array_equal((t % u).numpy(), np.remainder(a, b))
    np.testing.assert_array_equal((2.0 % t).numpy(), np.remainder(2.0, a))
    np.testing.assert_array_equal((3 // t).numpy(), np.floor_divide(3, a))
    for name, ref in [
        ("sinh", np.sinh),
        ("arcsinh", np.arcsinh),
        ("asinh", np.arcsinh),
        ("log10", lambda v: np.log10(np.abs(v))),
        ("trunc", np.trunc),
        ("isnan", np.isnan),
        ("signbit", np.signbit),
    ]:
        arg = np.abs(a) if name == "log10" else a
        got = getattr(gj.tensor(arg), name)().numpy()
        np.testing.assert_allclose(got, ref(a), rtol=1e-12, err_msg=name)
        node = getattr(gj.placeholder("p", (2, 3)), name)()
        assert isinstance(node, gj.Node)
    np.testing.assert_allclose(t.atan2(u).numpy(), np.arctan2(a, b), rtol=1e-12)
    np.testing.assert_allclose(t.hypot(u).numpy(), np.hypot(a, b), rtol=1e-12)
    np.testing.assert_allclose(t.fmax(u).numpy(), np.fmax(a, b), rtol=1e-12)


def test_out_argument_and_float_promotion():
    out = gj.zeros(3)
    assert gj.arcsinh(np.array([0.0, 1.0, 2.0]), out=out) is out
    np.testing.assert_allclose(out.numpy(), np.arcsinh([0.0, 1.0, 2.0]))
    x = gj.placeholder("x", (3,), "float32")
    for fn in (gj.sinh, gj.erfc, gj.deg2rad, gj.angle, gj.nan_to_num):
        assert fn(x).dtype == "float32", fn.__name__
    assert gj.logaddexp(x, 1.0).dtype == "float32" and gj.remainder(x, 2).dtype == "float32"
    i = gj.placeholder("i", (3,), "int32")
    assert gj.sinh(i).dtype == "float64" and gj.remainder(i, 2).dtype == "int32"
    assert gj.deg2rad(i).dtype == "float64" and gj.trunc(i).dtype == "int32"
    assert math.isclose(float(gj.rad2deg(gj.tensor(math.pi)).item()), 180.0)
