"""Elementwise ops: values and dtypes against numpy/scipy (float64, float32, ints, bool), numpy 2
promotion (python scalars weak), broadcasting (static and symbolic dims), derivatives against finite
differences (forward and reverse, order 2), exact conventions at kinks, NaN/inf propagation,
build-time errors, and the operators and reflected operators of graph nodes. The comparisons, logic
and where (graphjit/ops/comparison.py) are tested here too, sharing the tables of ops and inputs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sps

import graphjit as gj
from graphjit.ops import comparison, elementwise
from graphjit.testing import gradcheck

RNG = np.random.default_rng(0)


def real(shape, dtype="float64"):
    return RNG.uniform(-2.0, 2.0, shape).astype(dtype)


def positive(shape, dtype="float64"):
    return RNG.uniform(0.5, 2.0, shape).astype(dtype)


def away_from_zero(shape, dtype="float64"):
    """Values with |x| in [0.3, 1.5]: away from the kinks of abs/relu/sign at 0."""
    sign = np.where(RNG.uniform(size=shape) < 0.5, -1.0, 1.0)
    return (sign * RNG.uniform(0.3, 1.5, shape)).astype(dtype)


def near_zero(shape, dtype="float64"):
    """|x| <= 1.2: inside (-pi/2, pi/2) for tan, inside (-1, inf) for log1p."""
    return RNG.uniform(-0.9, 1.2, shape).astype(dtype)


def integral(shape, dtype="float64"):
    """Small whole numbers, so that comparisons and max/min see ties."""
    return RNG.integers(-2, 3, shape).astype(dtype)


def halves(shape, dtype="float64"):
    """Multiples of 0.5 (round's ties to even) mixed with other values."""
    return (
        RNG.integers(-6, 7, shape) / 2 + np.where(RNG.uniform(size=shape) < 0.5, 0, 0.2)
    ).astype(dtype)


def run(fn, *arrays):
    """``fn`` built on placeholders shaped like ``arrays``, compiled with the numpy backend and
    evaluated at them; checks that the static type agrees with the value."""
    phs = [gj.placeholder(f"a{i}", a.shape, a.dtype.name) for i, a in enumerate(arrays)]
    out = fn(*phs)
    assert isinstance(out, gj.Node)
    (value,) = gj.compile(phs, [out], backend="numpy")(*arrays)
    assert tuple(out.shape) == value.shape
    assert out.dtype == value.dtype.name
    return value


def evaluate(outputs, feed):
    """Outputs of a graph over the placeholders in ``feed``, via the numpy backend."""
    phs = list(feed)
    return gj.compile(phs, list(outputs), backend="numpy")(*(feed[p] for p in phs))


def tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-14}


# name -> (graphjit function, numpy/scipy reference, input generator)
UNARY = {
    "negative": (gj.negative, np.negative, real),
    "abs": (gj.abs, np.abs, real),
    "sign": (gj.sign, np.sign, integral),
    "exp": (gj.exp, np.exp, real),
    "exp2": (gj.exp2, np.exp2, real),
    "log": (gj.log, np.log, positive),
    "log2": (gj.log2, np.log2, positive),
    "log10": (gj.log10, np.log10, positive),
    "log1p": (gj.log1p, np.log1p, near_zero),
    "expm1": (gj.expm1, np.expm1, real),
    "sqrt": (gj.sqrt, np.sqrt, positive),
    "square": (gj.square, np.square, real),
    "reciprocal": (gj.reciprocal, np.reciprocal, positive),
    "sin": (gj.sin, np.sin, real),
    "cos": (gj.cos, np.cos, real),
    "tan": (gj.tan, np.tan, near_zero),
    "tanh": (gj.tanh, np.tanh, real),
    "arctan": (gj.arctan, np.arctan, real),
    "sigmoid": (gj.sigmoid, sps.expit, real),
    "relu": (gj.relu, lambda x: np.maximum(x, 0), integral),
    "softplus": (gj.softplus, lambda x: np.logaddexp(0, x), real),
    "erf": (gj.erf, sps.erf, real),
    "floor": (gj.floor, np.floor, halves),
    "ceil": (gj.ceil, np.ceil, halves),
    "round": (gj.round, np.round, halves),
}
# unary ops that keep an int input's dtype (the others compute in float64, as numpy's exp etc.)
INT_PRESERVING = {"negative", "abs", "sign", "square", "relu", "floor", "ceil", "round"}
# unary ops that numpy or graphjit do not define on bool
BOOL_REJECTED = {"negative", "sign", "square", "relu", "floor", "ceil", "round"}
PIECEWISE_CONSTANT = {"sign", "floor", "ceil", "round"}
# domains for gradient checks: away from kinks and singularities
GRAD_DOMAIN = {"abs": away_from_zero, "relu": away_from_zero, "tan": near_zero}

# name -> (graphjit function, numpy reference, generator of x, generator of y)
BINARY = {
    "add": (gj.add, np.add, real, real),
    "subtract": (gj.subtract, np.subtract, real, real),
    "multiply": (gj.multiply, np.multiply, real, real),
    "divide": (gj.divide, np.divide, real, positive),
    "power": (gj.power, np.power, positive, real),
    "maximum": (gj.maximum, np.maximum, integral, integral),
    "minimum": (gj.minimum, np.minimum, integral, integral),
    "fmax": (gj.fmax, np.fmax, integral, integral),
    "fmin": (gj.fmin, np.fmin, integral, integral),
}
COMPARISONS = {
    "less": (gj.less, np.less),
    "less_equal": (gj.less_equal, np.less_equal),
    "greater": (gj.greater, np.greater),
    "greater_equal": (gj.greater_equal, np.greater_equal),
    "equal": (gj.equal, np.equal),
    "not_equal": (gj.not_equal, np.not_equal),
}
LOGICAL = {
    "logical_and": (gj.logical_and, np.logical_and),
    "logical_or": (gj.logical_or, np.logical_or),
}
BROADCAST_SHAPES = [
    ((3, 1), (1, 4)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1, 3), (4, 1)),
]


def test_every_elementwise_function_is_covered():
    assert set(elementwise.__all__) == set(UNARY) | set(BINARY) | {
        "clip",
        "clamp",
        "astype",
        "true_divide",
        "absolute",
        "fabs",
        "around",
    }
    assert set(comparison.__all__) == set(COMPARISONS) | set(LOGICAL) | {"logical_not", "where"}
    assert gj.true_divide is gj.divide and gj.around is gj.round


# --------------------------------------------------------------------------------------------------
# values and dtypes


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_numpy(name, dtype):
    ours, ref, gen = UNARY[name]
    a = gen((2, 3), dtype)
    got = run(ours, a)
    want = np.asarray(ref(a))
    assert got.dtype == np.dtype(dtype) == want.dtype
    np.testing.assert_allclose(got, want, **tol(dtype))


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_on_ints(name, dtype):
    ours, ref, _ = UNARY[name]
    a = np.array([[1, 2, 3], [4, 1, 2]], dtype=dtype)
    if name in ("sign", "negative", "abs", "relu", "square"):
        a = a - 2  # negatives and zeros too
    got = run(ours, a)
    if name in INT_PRESERVING:
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, ref(a))
    else:
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, ref(a.astype(np.float64)), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(set(UNARY) - BOOL_REJECTED))
def test_unary_on_bool(name):
    ours, ref, _ = UNARY[name]
    a = np.array([True, False, True])
    with np.errstate(divide="ignore"):  # log(False), reciprocal(False)
        got = run(ours, a)
        want = ref(a.astype(np.float64))
    if name == "abs":
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, a)
    else:
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(BOOL_REJECTED))
def test_unary_rejects_bool_at_build_time(name):
    b = gj.placeholder("b", (3,), "bool")
    with pytest.raises(TypeError, match=name):
        UNARY[name][0](b)


def test_round_is_half_to_even_and_floor_ceil_on_negatives():
    a = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.2, 0.7])
    np.testing.assert_array_equal(run(gj.round, a), [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, -0.0, 1.0])
    np.testing.assert_array_equal(run(gj.floor, a), np.floor(a))
    np.testing.assert_array_equal(run(gj.ceil, a), np.ceil(a))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_numpy_with_broadcasting(name, shapes, dtype):
    ours, ref, gen_x, gen_y = BINARY[name]
    a, b = gen_x(shapes[0], dtype), gen_y(shapes[1], dtype)
    got = run(ours, a, b)
    want = ref(a, b)
    assert got.shape == want.shape
    assert got.dtype == np.dtype(dtype) == want.dtype
    np.testing.assert_allclose(got, want, **tol(dtype))


@pytest.mark.parametrize("scalar", [1.5, 2, True])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_with_python_scalars_keeps_float32(name, scalar):
    ours, ref, _, _ = BINARY[name]
    a = positive((2, 3), "float32")
    for fn, want in [
        (lambda x: ours(x, scalar), ref(a, scalar)),
        (lambda x: ours(scalar, x), ref(scalar, a)),
    ]:
        got = run(fn, a)
        assert got.dtype == np.float32 == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize(("dx", "dy"), [("int32", "int32"), ("int32", "int64"), ("int64", "int32")])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_on_ints_follows_numpy(name, dx, dy):
    ours, ref, _, _ = BINARY[name]
    a = np.array([[3, -2, 0], [5, 7, -1]], dtype=dx)
    b = np.array([2, 1, 3], dtype=dy)  # positive: ints to negative powers are an error
    got = run(ours, a, b)
    want = ref(a, b)
    # numpy divides ints into float64; everything else stays in the promoted int type
    assert (
        got.dtype == want.dtype == np.dtype("float64" if name == "divide" else np.result_type(a, b))
    )
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_match_numpy(name, shapes):
    ours, ref = COMPARISONS[name]
    a, b = integral(shapes[0]), integral(shapes[1])
    got = run(ours, a, b)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, ref(a, b))


@pytest.mark.parametrize(
    ("dx", "dy"),
    [("int32", "float32"), ("float32", "float64"), ("int64", "int32"), ("bool", "int32")],
)
@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_across_dtypes(name, dx, dy):
    ours, ref = COMPARISONS[name]
    a = np.array([[0, 1, 2], [3, 1, 0]]).astype(dx)
    b = np.array([1, 1, 0]).astype(dy)
    got = run(ours, a, b)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, ref(a, b))
    # a weak python float: an int32 node compares as float64 (1 < 1.5), not truncated to 1
    np.testing.assert_array_equal(run(lambda x: ours(x, 1.5), a), ref(a, 1.5))


@pytest.mark.parametrize("dtype", ["bool", "int32", "float64"])
@pytest.mark.parametrize("name", sorted(LOGICAL))
def test_logical_ops_cast_to_bool(name, dtype):
    ours, ref = LOGICAL[name]
    a = np.array([[0, 1, 2], [0, 0, -1]]).astype(dtype)
    b = np.array([True, False, True])
    got = run(ours, a, b)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, ref(a, b))
    got = run(gj.logical_not, a)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, np.logical_not(a))


@pytest.mark.parametrize("cond_dtype", ["bool", "int32", "float32"])
def test_where_matches_numpy_and_casts_the_condition(cond_dtype):
    c = np.array([[1, 0, 2, 0]]).T.astype(cond_dtype)  # (4, 1)
    a = real((1, 3))
    b = real((3,))
    got = run(gj.where, c, a, b)
    assert got.shape == (4, 3) and got.dtype == np.float64
    np.testing.assert_array_equal(got, np.where(c.astype(bool), a, b))


@pytest.mark.parametrize(
    ("dx", "y", "want"),
    [
        ("float32", 0.0, "float32"),  # a weak python float keeps float32
        ("float32", np.float64(0), "float64"),
        ("int32", 1.5, "float64"),
        ("int32", 0, "int32"),
        ("int32", np.zeros(3, "int64"), "int64"),
        ("int32", np.zeros(3, "float32"), "float64"),
        ("bool", False, "bool"),
    ],
)
def test_where_promotes_its_branches(dx, y, want):
    a = np.array([1, 2, 3]).astype(dx)
    c = np.array([True, False, True])
    got = run(lambda c_, x: gj.where(c_, x, y), c, a)
    assert got.dtype == np.dtype(want) == np.where(c, a, y).dtype
    np.testing.assert_array_equal(got, np.where(c, a, y))


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_clip_matches_numpy(dtype):
    a = (np.arange(-4, 4).reshape(2, 4) * 0.7).astype(dtype)
    for lo, hi in [(-1, 2), (-1, None), (None, 2)]:
        got = run(lambda x, lo=lo, hi=hi: gj.clip(x, lo, hi), a)
        want = np.clip(a, lo, hi)
        assert got.dtype == np.dtype(dtype) == want.dtype
        np.testing.assert_array_equal(got, want)
    lo_arr = np.array([-1.0, 0.0, -2.0, 0.5])
    np.testing.assert_array_equal(
        run(lambda x: gj.clip(x, lo_arr, 1.5), a), np.clip(a, lo_arr, 1.5)
    )
    np.testing.assert_array_equal(run(lambda x: x.clip(0, 1), a), np.clip(a, 0, 1))


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("float64", "float32"),
        ("float32", "float64"),
        ("float64", "int32"),
        ("float32", "int64"),
        ("int64", "int32"),
        ("int32", "float32"),
        ("float64", "bool"),
        ("bool", "float32"),
        ("bool", "int64"),
    ],
)
def test_astype_matches_numpy(src, dst):
    a = np.array([[-2.7, -0.5, 0.0], [0.4, 1.0, 3.9]]).astype(src)
    for spelling in (dst, np.dtype(dst), np.dtype(dst).type):
        got = run(lambda x, s=spelling: gj.astype(x, s), a)
        assert got.dtype == np.dtype(dst)
        np.testing.assert_array_equal(got, a.astype(dst))  # float -> int truncates toward zero
    np.testing.assert_array_equal(run(lambda x: x.astype(dst), a), a.astype(dst))


def test_astype_to_the_same_dtype_is_the_node_itself_and_python_types_map():
    x = gj.placeholder("x", (3,), "float32")
    assert gj.astype(x, "float32") is x
    assert gj.astype(x, float).dtype == "float64"
    assert gj.astype(x, int).dtype == "int64"
    assert gj.astype(x, bool).dtype == "bool"


@pytest.mark.parametrize(
    ("shape_x", "shape_y", "want", "sizes"),
    [
        ((None, 3), (3,), (None, 3), [((5, 3), (3,)), ((1, 3), (3,))]),
        ((None, 1), (1, 4), (None, 4), [((2, 1), (1, 4)), ((7, 1), (1, 4))]),
        ((None, None), (None, None), (None, None), [((2, 3), (2, 3)), ((4, 1), (4, 1))]),
        ((None,), (), (None,), [((0,), ()), ((6,), ())]),
    ],
)
def test_symbolic_dims(shape_x, shape_y, want, sizes):
    x = gj.placeholder("x", shape_x)
    y = gj.placeholder("y", shape_y)
    outs = [x + y, gj.maximum(x, y), gj.where(x < y, gj.exp(x), y), gj.clip(x * y, -1, 1)]
    for out in outs:
        assert out.shape == want
    f = gj.compile([x, y], outs, backend="numpy")
    for sx, sy in sizes:  # one compiled function serves every size of the None dims
        a, b = real(sx), real(sy)
        got = f(a, b)
        wants = [a + b, np.maximum(a, b), np.where(a < b, np.exp(a), b), np.clip(a * b, -1, 1)]
        for g, w in zip(got, wants):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# numpy 2 dtype promotion (python scalars are weak)


@pytest.mark.parametrize(
    ("dx", "other", "want"),
    [
        ("float32", 2.5, "float32"),
        ("float32", 2, "float32"),
        ("float32", True, "float32"),
        ("float32", np.float64(2), "float64"),
        ("float32", np.float32(2), "float32"),
        ("float32", np.int64(2), "float64"),
        ("float32", np.ones(3), "float64"),
        ("float32", np.ones(3, "float32"), "float32"),
        ("float32", np.ones(3, "int32"), "float64"),
        ("float64", np.ones(3, "float32"), "float64"),
        ("int32", 1.5, "float64"),
        ("int32", 1, "int32"),
        ("int32", True, "int32"),
        ("int32", np.ones(3, "int64"), "int64"),
        ("int64", np.ones(3, "int32"), "int64"),
        ("int32", np.ones(3, "float32"), "float64"),
        ("int64", np.ones(3, "float32"), "float64"),
        ("bool", np.ones(3, "bool"), "bool"),
        ("bool", True, "bool"),
        ("bool", 1, "int64"),
        ("bool", 1.5, "float64"),
        ("bool", np.ones(3, "int32"), "int32"),
        ("bool", np.ones(3, "float32"), "float32"),
    ],
)
@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "divide"])
def test_promotion_follows_numpy_2(name, dx, other, want):
    ours, ref, _, _ = BINARY[name]
    a = np.array([1, 3, 2]).astype(dx)  # no zeros: divide is in the table
    x = gj.placeholder("x", (3,), dx)
    want_dtype = "float64" if name == "divide" and want in ("bool", "int32", "int64") else want
    for node, expected in [(ours(x, other), ref(a, other)), (ours(other, x), ref(other, a))]:
        assert node.dtype == want_dtype == expected.dtype.name
        (value,) = gj.compile([x], [node], backend="numpy")(a)
        assert value.dtype == expected.dtype
        np.testing.assert_array_equal(value, expected)


def test_bool_plus_bool_is_logical_or_and_times_is_and():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    got = run(lambda x, y: x + y, a, b)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, a + b)
    np.testing.assert_array_equal(got, [True, True, True, False])
    np.testing.assert_array_equal(run(lambda x, y: x * y, a, b), [True, False, False, False])
    np.testing.assert_array_equal(run(gj.maximum, a, b), np.maximum(a, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        got = run(lambda x, y: x / y, a, b)
        want = a / b
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "args",
    [
        (np.dtype("float32"), 2.5),
        (np.dtype("float32"), np.float64(2)),
        (np.dtype("int32"), 1.5),
        (np.dtype("int32"), 1),
        (np.dtype("int32"), np.dtype("int64")),
        (np.dtype("bool"), np.dtype("bool")),
        (np.dtype("bool"), 1),
        (np.dtype("bool"), 1.0),
        (np.dtype("int64"), np.dtype("float32")),
        (np.dtype("float32"), np.dtype("float64"), 3),
    ],
)
def test_result_dtype_is_numpy_result_type(args):
    want = np.result_type(*args).name
    nodes = [gj.placeholder("p", (2,), a) if isinstance(a, np.dtype) else a for a in args]
    assert gj.result_dtype(nodes) == want
    # and the ops agree with it
    out = nodes[0]
    for other in nodes[1:]:
        out = gj.add(out, other)
    assert out.dtype == want


# --------------------------------------------------------------------------------------------------
# derivatives against finite differences (forward and reverse mode, order 2)


@pytest.mark.parametrize("name", sorted(set(UNARY) - PIECEWISE_CONSTANT))
def test_unary_gradcheck(name):
    ours, _, gen = UNARY[name]
    gen = GRAD_DOMAIN.get(name, gen if gen is not integral else real)
    assert gradcheck(ours, [gen((2, 3))], order=2)


@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 3))], ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradcheck(name, shapes):
    ours, _, gen_x, gen_y = BINARY[name]
    if name in ("maximum", "minimum", "fmax", "fmin"):
        a, b = real(shapes[0]), real(shapes[1])
        while np.min(np.abs(a[..., None] - b[..., None])) <= 1e-3:  # a tie: finite differences
            a, b = real(shapes[0]), real(shapes[1])  # straddle the kink, so draw again
        assert np.min(np.abs(a[..., None] - b[..., None])) > 1e-3  # no ties
    else:
        a, b = gen_x(shapes[0]), gen_y(shapes[1])
    assert gradcheck(ours, [a, b], order=2)


def test_gradcheck_of_compositions_with_scalars_and_where_and_clip():
    c = np.array([[True, False, True], [False, False, True]])
    a, b = real((2, 3)), real((3,))
    assert gradcheck(lambda x, y: gj.where(c, gj.sin(x) * y, y * y - x), [a, b])
    assert gradcheck(lambda x, y: gj.where(x > y, x * x, 2.0 * y), [a, b])
    assert gradcheck(lambda x: gj.clip(x, -0.5, 0.5) * x, [away_from_zero((2, 3)) * 0.5 + 0.1])
    lo, hi = -np.ones(3) * 0.2, np.ones(3) * 0.4
    assert gradcheck(gj.clip, [np.array([-1.0, 0.0, 1.0]), lo, hi])
    assert gradcheck(lambda x: 2.0**x - 1.5 / x + x**3 - (1 - x) ** 2, [positive((4,))])
    assert gradcheck(lambda x: gj.astype(x, "float64") * 3.0, [real((3,))])


def test_astype_gradients_exact():
    x = gj.placeholder("x", (3,), "float64")
    x32 = gj.placeholder("x32", (3,), "float32")
    a = np.array([0.5, -1.25, 2.0])
    (g,) = gj.grad(gj.sum(gj.astype(x, "float32") * a.astype("float32")), [x])
    (g_int,) = gj.grad(gj.sum(gj.astype(gj.astype(x, "int32"), "float64") + x * 0), [x])
    (g32,) = gj.grad(gj.sum(gj.astype(x32, "float64") * 2.0), [x32])
    t = gj.jvp(gj.astype(x, "float32"), [x], [np.full(3, 2.0)])
    assert g.dtype == "float64" and g32.dtype == "float32" and t.dtype == "float32"
    gv, gi, tv = evaluate([g, g_int, t], {x: a})
    (g32v,) = evaluate([g32], {x32: a.astype("float32")})
    np.testing.assert_array_equal(gv, a)
    np.testing.assert_array_equal(gi, np.zeros(3))
    np.testing.assert_array_equal(g32v, np.full(3, 2.0, "float32"))
    np.testing.assert_array_equal(tv, np.full(3, 2.0, "float32"))


def test_broadcast_gradient_has_the_input_shape_and_sums():
    x = gj.placeholder("x", (3, 1))
    y = gj.placeholder("y", (1, 4))
    gx, gy = gj.grad(gj.sum(x * y), [x, y])
    assert gx.shape == (3, 1) and gy.shape == (1, 4)
    a, b = real((3, 1)), real((1, 4))
    gxv, gyv = evaluate([gx, gy], {x: a, y: b})
    np.testing.assert_allclose(gxv, np.broadcast_to(b.sum(axis=1, keepdims=True), (3, 1)))
    np.testing.assert_allclose(gyv, np.broadcast_to(a.sum(axis=0, keepdims=True), (1, 4)))
    # a (3,) operand against a (2, 3) one: the gradient sums over the leading axis
    u = gj.placeholder("u", (2, 3))
    v = gj.placeholder("v", (3,))
    (gv,) = gj.grad(gj.sum(u / v), [v])
    c, d = real((2, 3)), positive((3,))
    (gvv,) = evaluate([gv], {u: c, v: d})
    np.testing.assert_allclose(gvv, -(c / d**2).sum(axis=0), rtol=1e-12)


def test_symbolic_dim_gradients():
    x = gj.placeholder("x", (None, 3))
    w = gj.placeholder("w", (3,))
    gx, gw = gj.grad(gj.sum(gj.tanh(x * w) + gj.maximum(x, 0.0)), [x, w])
    assert gx.shape == (None, 3) and gw.shape == (3,)
    f = gj.compile([x, w], [gx, gw], backend="numpy")
    for n in (1, 4):
        a, b = away_from_zero((n, 3)), real((3,))
        gxv, gwv = f(a, b)
        s = 1 - np.tanh(a * b) ** 2
        np.testing.assert_allclose(gxv, s * b + (a > 0), rtol=1e-12)
        np.testing.assert_allclose(gwv, (s * a).sum(axis=0), rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# conventions at kinks (exact values)


def grad_and_jvp(fn, a):
    """Reverse-mode gradient of sum(fn(x)) and the jvp of fn along ones, at ``a``."""
    x = gj.placeholder("x", a.shape)
    y = fn(x)
    (g,) = gj.grad(gj.sum(y), [x])
    t = gj.jvp(y, [x], [np.ones(a.shape)])
    return evaluate([g, t], {x: a})


def test_relu_and_abs_derivatives_at_zero_are_zero():
    a = np.array([0.0, -0.0, 0.5, -1.5])
    g, t = grad_and_jvp(gj.relu, a)
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(t, [0.0, 0.0, 1.0, 0.0])
    g, t = grad_and_jvp(gj.abs, a)
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, -1.0])
    np.testing.assert_array_equal(t, [0.0, 0.0, 1.0, -1.0])


@pytest.mark.parametrize("name", sorted(PIECEWISE_CONSTANT))
def test_piecewise_constant_ops_have_zero_gradient(name):
    a = np.array([-1.5, -0.5, 0.0, 0.3, 0.5, 2.0])
    g, t = grad_and_jvp(lambda x: UNARY[name][0](x) * x, a)  # product rule: only x's own term
    np.testing.assert_array_equal(g, UNARY[name][1](a))
    np.testing.assert_array_equal(t, UNARY[name][1](a))
    g, t = grad_and_jvp(UNARY[name][0], a)
    np.testing.assert_array_equal(g, np.zeros(6))
    np.testing.assert_array_equal(t, np.zeros(6))


@pytest.mark.parametrize(
    ("fn", "name"),
    [(gj.maximum, "maximum"), (gj.minimum, "minimum")],
)
def test_max_min_ties_split_the_gradient(fn, name):
    x = gj.placeholder("x", (4,))
    y = gj.placeholder("y", (4,))
    gx, gy = gj.grad(gj.sum(fn(x, y)), [x, y])
    t = gj.jvp(fn(x, y), [x, y], [np.ones(4), np.full(4, 3.0)])
    a = np.array([1.0, 2.0, 3.0, 0.0])
    b = np.array([1.0, 0.0, 5.0, 0.0])
    gxv, gyv, tv = evaluate([gx, gy, t], {x: a, y: b})
    x_wins = [0.5, 1.0, 0.0, 0.5] if name == "maximum" else [0.5, 0.0, 1.0, 0.5]
    np.testing.assert_array_equal(gxv, x_wins)
    np.testing.assert_array_equal(gyv, 1 - np.array(x_wins))
    np.testing.assert_array_equal(tv, np.array(x_wins) * 1 + (1 - np.array(x_wins)) * 3)


def test_max_with_itself_gets_the_whole_gradient():
    a = np.array([-1.0, 0.0, 2.0])
    g, t = grad_and_jvp(lambda x: gj.maximum(x, x), a)
    np.testing.assert_array_equal(g, np.ones(3))
    np.testing.assert_array_equal(t, np.ones(3))


def test_clip_gradient_at_the_bounds_is_one_half():
    a = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    g, t = grad_and_jvp(lambda x: gj.clip(x, -1.0, 1.0), a)
    np.testing.assert_array_equal(g, [0.0, 0.5, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(t, [0.0, 0.5, 1.0, 0.5, 0.0])
    g, _ = grad_and_jvp(lambda x: gj.relu(x) + gj.clip(x, 0.0, None), np.array([0.0]))
    np.testing.assert_array_equal(g, [0.5])


@pytest.mark.parametrize(
    ("p", "grad_at_0", "second_at_0"),
    [(2, 0.0, 2.0), (3, 0.0, 0.0), (1, 1.0, 0.0), (0, 0.0, 0.0), (2.0, 0.0, 2.0)],
)
def test_power_derivatives_at_zero(p, grad_at_0, second_at_0):
    x = gj.placeholder("x", (3,))
    (g,) = gj.grad(gj.sum(x**p), [x])
    (h,) = gj.grad(gj.sum(g), [x])
    t = gj.jvp(x**p, [x], [np.ones(3)])
    a = np.array([0.0, 1.0, 2.0])
    gv, hv, tv = evaluate([g, h, t], {x: a})
    want_g = [grad_at_0, p * 1.0 ** max(p - 1, 0), p * 2.0 ** (p - 1) if p else 0.0]
    np.testing.assert_array_equal(gv, want_g)
    np.testing.assert_array_equal(tv, want_g)
    assert hv[0] == second_at_0
    assert np.all(np.isfinite(hv))


@pytest.mark.parametrize("p", [2, 3, 1, 0, 2.0, -1.5])
def test_power_derivatives_eager_match_the_graph(p):
    # an eager backward takes a known exponent's shortcut (y * x**(y-1) in two ops); its
    # first and second derivatives are the graph's, bit for bit, zero included
    a = np.array([0.0, 1.0, 2.0, 0.5])
    x = gj.placeholder("x", (4,))
    (g,) = gj.grad(gj.sum(x**p), [x])
    (h,) = gj.grad(gj.sum(g), [x])
    want_g, want_h = evaluate([g, h], {x: a})
    w = gj.tensor(a, requires_grad=True)
    (gw,) = gj.grad((w**p).sum(), [w], create_graph=True)
    (hw,) = gj.grad(gw.sum(), [w])
    np.testing.assert_array_equal(gw.numpy(), want_g)
    np.testing.assert_array_equal(hw.numpy(), want_h)


def test_eager_square_by_a_python_two_is_square():
    w = gj.tensor(np.array([1.5, -2.0, 0.0], np.float32), requires_grad=True)
    y = w**2
    assert y.dtype == "float32" and "Square" in type(y.grad_fn).__name__
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.array([3.0, -4.0, 0.0], np.float32))
    # as numpy: a bool or an int squared by power keeps numpy's types
    assert (gj.tensor(np.array([True, False])) ** 2).dtype == np.power(np.array([True]), 2).dtype
    i = gj.tensor(np.array([3, -4], np.int32)) ** 2
    assert i.dtype == "int32" and i.numpy().tolist() == [9, 16]
    assert (gj.tensor(np.array([3], np.int32)) ** 2.0).dtype == "float64"


def test_eager_backward_of_a_known_power_runs_few_kernels(monkeypatch):
    # each op an eager backward builds is a kernel call: x ** 3 takes two (3 * x**2), then the
    # product with the incoming gradient, where pow's general rule took seven
    from graphjit.ops import elementwise

    w = gj.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (w**3).sum()
    calls = []
    real = elementwise.apply
    monkeypatch.setattr(
        elementwise, "apply", lambda op, *a, **k: calls.append(op.name) or real(op, *a, **k)
    )
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 12.0])
    assert sorted(calls) == ["multiply", "multiply", "power"]


def test_power_exponent_gradient_at_zero_base():
    x = gj.placeholder("x", (3,))
    y = gj.placeholder("y", (3,))
    gx, gy = gj.grad(gj.sum(gj.power(x, y)), [x, y])
    a = np.array([0.0, 0.0, 2.0])
    b = np.array([2.0, 0.0, 3.0])
    gxv, gyv = evaluate([gx, gy], {x: a, y: b})
    np.testing.assert_array_equal(gxv, [0.0, 0.0, 12.0])
    np.testing.assert_allclose(gyv, [0.0, 0.0, 8.0 * np.log(2.0)], rtol=1e-15)


def test_where_routes_the_gradient_to_the_chosen_branch_only():
    c = gj.placeholder("c", (4,), "bool")
    x = gj.placeholder("x", (4,))
    y = gj.placeholder("y", (1,))
    gx, gy, gc = gj.grad(gj.sum(gj.where(c, x * 3.0, y * 5.0)), [x, y, c])
    t = gj.jvp(gj.where(c, x * 3.0, y * 5.0), [x, y], [np.ones(4), np.ones(1)])
    cv = np.array([True, False, True, False])
    gxv, gyv, gcv, tv = evaluate([gx, gy, gc, t], {c: cv, x: real((4,)), y: real((1,))})
    np.testing.assert_array_equal(gxv, [3.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(gyv, [10.0])  # summed over the broadcast
    np.testing.assert_array_equal(gcv, np.zeros(4))
    np.testing.assert_array_equal(tv, [3.0, 5.0, 3.0, 5.0])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: gj.less(x, 0.5).astype("float64"),
        lambda x: gj.equal(x, x * 1.0).astype("float64"),
        lambda x: gj.logical_not(x).astype("float64"),
        lambda x: gj.logical_and(x, x > 0).astype("float64"),
        lambda x: gj.astype(x, "int64").astype("float64"),
    ],
)
def test_boolean_and_integer_valued_paths_have_zero_gradient(fn):
    g, t = grad_and_jvp(fn, real((5,)))
    np.testing.assert_array_equal(g, np.zeros(5))
    np.testing.assert_array_equal(t, np.zeros(5))


# --------------------------------------------------------------------------------------------------
# NaN and inf propagate as numpy


SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_nan_and_inf_as_numpy(name, dtype):
    ours, ref, _ = UNARY[name]
    a = SPECIALS.astype(dtype)
    with np.errstate(all="ignore"):
        got = run(ours, a)
        want = ref(a)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sigmoid_and_softplus_do_not_overflow(dtype):
    a = np.array([-1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0], dtype=dtype)
    # no overflow inside (underflow to 0 is fine), as scipy's expit and numpy's logaddexp
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        sig = run(gj.sigmoid, a)
        soft = run(gj.softplus, a)
    np.testing.assert_allclose(sig, sps.expit(a), rtol=1e-6)
    np.testing.assert_allclose(soft, np.logaddexp(0, a), rtol=1e-6)
    np.testing.assert_array_equal(soft[-2:], a[-2:])  # softplus(x) == x for large x
    np.testing.assert_array_equal(sig[[0, -1]], [0.0, 1.0])


@pytest.mark.parametrize("name", sorted(BINARY) + sorted(COMPARISONS))
def test_binary_nan_and_inf_as_numpy(name):
    ours, ref = {**BINARY, **COMPARISONS}[name][:2]
    a, b = np.meshgrid(SPECIALS, SPECIALS)
    with np.errstate(all="ignore"):
        got = run(ours, a, b)
        want = ref(a, b)
    np.testing.assert_array_equal(got, want)


def test_documented_special_values():
    a = np.array([np.nan, 1.0, np.inf, 0.0])
    b = np.array([1.0, np.nan, np.nan, -0.0])
    with np.errstate(all="ignore"):
        assert np.isnan(run(gj.maximum, a, b)[:3]).all()
        assert np.isnan(run(gj.minimum, a, b)[:3]).all()
        np.testing.assert_array_equal(run(gj.exp, np.array([np.inf, -np.inf])), [np.inf, 0.0])
        np.testing.assert_array_equal(run(gj.log, np.array([0.0, -1.0]))[0], -np.inf)
        assert np.isnan(run(gj.log, np.array([-1.0]))[0])
        np.testing.assert_array_equal(
            run(lambda x: x / 0.0, np.array([1.0, -1.0])), [np.inf, -np.inf]
        )
        np.testing.assert_array_equal(run(lambda x: gj.clip(x, 0, 1), a), np.clip(a, 0, 1))
        np.testing.assert_array_equal(
            run(gj.where, np.array([True, False]), a[:2], b[:2]), [np.nan, np.nan]
        )


# --------------------------------------------------------------------------------------------------
# build-time errors


BROADCASTING_OPS = {
    **{name: spec[0] for name, spec in BINARY.items()},
    **{name: spec[0] for name, spec in COMPARISONS.items()},
    **{name: spec[0] for name, spec in LOGICAL.items()},
}


@pytest.mark.parametrize("name", sorted(BROADCASTING_OPS))
def test_shapes_that_do_not_broadcast_raise_when_built(name):
    x = gj.placeholder("x", (2, 3))
    y = gj.placeholder("y", (4,))
    with pytest.raises(ValueError, match=name) as info:
        BROADCASTING_OPS[name](x, y)
    msg = str(info.value)
    assert "(2, 3)" in msg and "(4,)" in msg
    # a None dim meets a fixed size it cannot stretch to, also at build time
    z = gj.placeholder("z", (None, 3))
    with pytest.raises(ValueError, match=name):
        BROADCASTING_OPS[name](z, gj.placeholder("w", (2, 4)))


def test_operators_and_where_check_shapes_when_built():
    x = gj.placeholder("x", (2, 3))
    y = gj.placeholder("y", (3, 2))
    for build in [
        lambda: x + y,
        lambda: x * y,
        lambda: x < y,
        lambda: x + np.ones(4),
        lambda: np.ones(4) - x,
        lambda: gj.clip(x, np.zeros(2), None),
    ]:
        with pytest.raises(ValueError, match=r"\(2, 3\)"):
            build()
    with pytest.raises(ValueError, match=r"where: .*\(2, 3\).*\(3, 2\)"):
        gj.where(x > 0, x, y)
    with pytest.raises(ValueError, match="where"):
        gj.where(gj.placeholder("c", (4,), "bool"), x, 0.0)


@pytest.mark.parametrize(
    ("build", "op"),
    [
        (lambda b: -b, "negative"),
        (lambda b: gj.negative(b), "negative"),
        (lambda b: b - b, "subtract"),
        (lambda b: gj.subtract(b, np.array([True, False, True])), "subtract"),
        (lambda b: b**b, "power"),
    ],
)
def test_bool_arithmetic_that_numpy_rejects_raises_type_error(build, op):
    b = gj.placeholder("b", (3,), "bool")
    with pytest.raises(TypeError, match=op):
        build(b)


def test_bool_minus_a_python_int_is_int64_as_numpy():
    a = np.array([True, False])
    got = run(lambda b: b - 1, a)
    assert got.dtype == (a - 1).dtype == np.int64
    np.testing.assert_array_equal(got, a - 1)


@pytest.mark.parametrize(
    "build",
    [
        lambda x: x + 1j,
        lambda x: 1j * x,
        lambda x: gj.multiply(x, np.array([1j, 2j, 3j])),
        lambda x: gj.exp(np.array([1j])),
        lambda x: gj.where(x > 0, x, 1j),
        lambda x: gj.maximum(x, complex(1, 1)),
        lambda x: x.astype("complex64"),
        lambda x: x.astype(np.complex128),
    ],
)
def test_complex_input_raises_type_error(build):
    x = gj.placeholder("x", (3,))
    with pytest.raises(TypeError, match="complex"):
        build(x)


def test_clip_without_bounds_raises():
    x = gj.placeholder("x", (3,))
    with pytest.raises(ValueError, match="clip"):
        gj.clip(x)
    with pytest.raises(ValueError, match="clip"):
        x.clip()


def test_unsupported_dtypes_and_values_raise_type_error():
    x = gj.placeholder("x", (3,))
    with pytest.raises(TypeError, match="uint16"):
        x.astype("uint16")
    with pytest.raises(TypeError):
        gj.add(x, None)
    with pytest.raises(TypeError):
        gj.add(x, "a")


# --------------------------------------------------------------------------------------------------
# == is identity on nodes; operators and reflected operators


def test_node_equality_is_identity_and_gj_equal_is_elementwise():
    x = gj.placeholder("x", (3,))
    x2 = gj.placeholder("x", (3,))  # same name, a different placeholder
    assert (x == x) is True
    assert (x == x2) is False
    assert (x != x2) is True
    assert (x == 1.0) is False
    assert len({x: 1, x2: 2}) == 2
    s = x + x2
    assert (s == gj.add(x, x2)) is True  # hash-consed: the same expression is the same node
    assert {s: "sum"}[gj.add(x, x2)] == "sum"
    e = gj.equal(x, x2)
    assert isinstance(e, gj.Node) and e.dtype == "bool" and e.shape == (3,)
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 0.0, 3.0])
    np.testing.assert_array_equal(evaluate([e], {x: a, x2: b})[0], [True, False, True])


OPERATORS = [
    ("+", lambda p, q: p + q),
    ("-", lambda p, q: p - q),
    ("*", lambda p, q: p * q),
    ("/", lambda p, q: p / q),
    ("**", lambda p, q: p**q),
    ("<", lambda p, q: p < q),
    ("<=", lambda p, q: p <= q),
    (">", lambda p, q: p > q),
    (">=", lambda p, q: p >= q),
]


@pytest.mark.parametrize("op", [o for _, o in OPERATORS], ids=[s for s, _ in OPERATORS])
def test_operators_on_nodes_arrays_and_scalars(op):
    a = positive((2, 3))
    b = positive((3,))
    x = gj.placeholder("x", (2, 3))
    y = gj.placeholder("y", (3,))
    cases = [
        (op(x, y), op(a, b)),
        (op(x, b), op(a, b)),
        (op(b, x), op(b, a)),  # ndarray on the left defers to the node (__array_priority__)
        (op(np.float64(1.5), x), op(np.float64(1.5), a)),
        (op(x, np.float32(1.5)), op(a, np.float32(1.5))),
        (op(2.5, x), op(2.5, a)),
        (op(x, 2), op(a, 2)),
        (op(3, y), op(3, b)),
    ]
    for node, want in cases:
        assert isinstance(node, gj.Node)
        assert node.dtype == want.dtype.name
        got = evaluate([node], {x: a, y: b})[0]
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_float32_node_with_numpy_arrays_and_scalars_on_the_left():
    a = positive((3,), "float32")
    x = gj.placeholder("x", (3,), "float32")
    assert (2.5 * x).dtype == "float32"
    assert (np.float64(2) * x).dtype == "float64"
    assert (np.float32(2) * x).dtype == "float32"
    assert (np.ones(3, "float32") + x).dtype == "float32"
    node = np.ones(3) + x
    assert isinstance(node, gj.Node) and node.dtype == "float64"
    np.testing.assert_allclose(evaluate([node], {x: a})[0], np.ones(3) + a, rtol=1e-12)


def test_unary_operators_matmul_and_logical_operators():
    x = gj.placeholder("x", (2, 3))
    v = gj.placeholder("v", (3,))
    b = gj.placeholder("b", (3,), "bool")
    a, w = real((2, 3)), real((3,))
    bv = np.array([True, False, True])
    c = np.array([False, False, True])
    assert (+x) is x
    outs = [-x, abs(x), x @ v, np.ones((4, 2)) @ x, v @ w, ~b, b & c, c | b, b & (v > 0)]
    wants = [-a, np.abs(a), a @ w, np.ones((4, 2)) @ a, w @ w, ~bv, bv & c, c | bv, bv & (w > 0)]
    assert all(isinstance(node, gj.Node) for node in outs)
    got = evaluate(outs, {x: a, v: w, b: bv})
    for g, want in zip(got, wants):
        assert g.dtype == want.dtype
        np.testing.assert_allclose(g, want, rtol=1e-12)


def test_methods_forward_to_the_functions():
    x = gj.placeholder("x", (2, 3))
    a = positive((2, 3))
    outs = [x.exp(), x.log(), x.tanh(), x.sqrt(), x.clip(0.7, 1.2), x.astype("int32")]
    wants = [np.exp(a), np.log(a), np.tanh(a), np.sqrt(a), np.clip(a, 0.7, 1.2), a.astype("int32")]
    for g, want in zip(evaluate(outs, {x: a}), wants):
        assert g.dtype == want.dtype
        np.testing.assert_allclose(g, want, rtol=1e-12)


@pytest.mark.parametrize(
    ("value", "message"),
    [("a", "array of numbers"), (None, "None is not an array value"), ({}, "holds objects")],
)
def test_non_numeric_operands_raise_type_error_naming_the_value(
    value: object, message: str
) -> None:
    x = gj.placeholder("x", (3,))
    with pytest.raises(TypeError, match=message):
        x + value  # type: ignore[operator]
    with pytest.raises(TypeError, match=message):
        gj.ones(3) * value  # type: ignore[operator]


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("n", [2**31, -(2**31) - 1, 2**40, 2**63, -(2**63) - 1, 2**70, -(2**70)])
def test_comparing_ints_with_python_ints_outside_their_range_follows_numpy(
    dtype: str, n: int
) -> None:
    """numpy compares exactly (NEP 50); only arithmetic with such an int raises."""
    v = np.array([-5, 0, 7], dtype=dtype)
    x = gj.placeholder("x", (3,), dtype)
    fns = [gj.less, gj.less_equal, gj.greater, gj.greater_equal, gj.equal, gj.not_equal]
    for fn in fns:
        want = getattr(np, fn.__name__)(v, n), getattr(np, fn.__name__)(n, v)
        graphs = [fn(x, n), fn(n, x)]
        got = gj.compile([x], graphs, backend="numpy")(v)
        eager = [fn(gj.tensor(v), n).numpy(), fn(n, gj.tensor(v)).numpy()]
        for w, g, e in zip(want, got, eager):
            np.testing.assert_array_equal(g, w, err_msg=f"{fn.__name__} {n}")
            np.testing.assert_array_equal(e, w, err_msg=f"{fn.__name__} {n} (eager)")


def test_arithmetic_with_an_int_that_does_not_fit_raises_a_clear_value_error() -> None:
    x = gj.placeholder("x", (3,), "int32")
    for bad in (lambda: x + 2**40, lambda: gj.tensor(np.arange(3, dtype="int32")) * 2**40):
        with pytest.raises(ValueError, match=r"does not fit in int32.*astype"):
            bad()
    with pytest.raises(OverflowError):  # numpy's exception type too
        x - 2**40
