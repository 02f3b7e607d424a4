"""graphjit.autodiff: grad / vjp / jvp / hvp as graphs, checked against closed forms and numpy."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit import ir
from graphjit.autodiff.sweep import unbroadcast
from graphjit.interp import evaluate


def _eval(outputs: list[gj.Node], feed: dict[gj.Node, np.ndarray]) -> list[np.ndarray]:
    return evaluate(outputs, feed)


# --------------------------------------------------------------------------------------------------
# the calling convention


def test_grad_list_in_list_out() -> None:
    x = gj.placeholder("x", shape=(3,))
    y = gj.placeholder("y", shape=(3,))
    f = gj.sum(x * y + gj.exp(x))
    grads = gj.grad(f, [x, y])
    assert isinstance(grads, list) and len(grads) == 2
    a, b = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 3.0])
    gx, gy = _eval(grads, {x: a, y: b})
    np.testing.assert_allclose(gx, b + np.exp(a), rtol=1e-14)
    np.testing.assert_allclose(gy, a, rtol=1e-14)
    one = gj.grad(f, (x,))
    assert isinstance(one, list) and len(one) == 1


def test_grad_single_in_single_out() -> None:
    x = gj.placeholder("x", shape=(2,))
    gx = gj.grad(gj.sum(gj.sin(x)), x)
    assert isinstance(gx, gj.Node)
    a = np.array([0.3, -1.2])
    np.testing.assert_allclose(_eval([gx], {x: a})[0], np.cos(a), rtol=1e-14)


def test_grad_of_non_scalar_raises_value_error() -> None:
    x = gj.placeholder("x", shape=(3,))
    with pytest.raises(ValueError, match=r"scalar.*\(3,\)"):
        gj.grad(gj.exp(x), [x])


def test_wrt_and_outputs_that_are_not_lists_are_named() -> None:
    # list(None) said only "'NoneType' object is not iterable"
    x = gj.placeholder("x", shape=(3,))
    with pytest.raises(TypeError, match="wrt must be a graph node or a list of them, got NoneType"):
        gj.grad(gj.sum(x), None)
    with pytest.raises(TypeError, match="wrt must be a graph node or a list of them, got str"):
        gj.grad(gj.sum(x), "x")
    with pytest.raises(TypeError, match="outputs must be a graph node or a list of them, got int"):
        gj.vjp(3, [x], [1.0])
    t = gj.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="grad: inputs must be a Tensor or a list of them, got"):
        gj.grad((t * 2).sum(), None)


def test_grad_needs_a_float_node() -> None:
    x = gj.placeholder("x", shape=(), dtype="int64")
    with pytest.raises(TypeError, match="float"):
        gj.grad(x * 2, [x])
    with pytest.raises(TypeError, match="graph node"):
        gj.grad(1.0, [x])


def test_unrelated_wrt_gets_zeros_of_its_shape() -> None:
    x = gj.placeholder("x", shape=(3,))
    w = gj.variable(np.ones((2, 4)), name="w")
    z = gj.placeholder("z", shape=(5,))
    gx, gw, gz = gj.grad(gj.sum(x * x), [x, w, z])
    gx_v, gw_v, gz_v = _eval([gx, gw, gz], {x: np.arange(3.0), z: np.ones(5)})
    np.testing.assert_array_equal(gx_v, [0.0, 2.0, 4.0])
    assert gw_v.shape == (2, 4) and not gw_v.any()
    assert gz_v.shape == (5,) and not gz_v.any()


def test_unrelated_wrt_with_a_none_dim_gets_zeros_of_its_call_time_shape() -> None:
    x = gj.placeholder("x", shape=(3,))
    z = gj.placeholder("z", shape=(None, 2))
    (gz,) = gj.grad(gj.sum(x), [z])
    (value,) = _eval([gz], {x: np.ones(3), z: np.ones((4, 2))})
    np.testing.assert_array_equal(value, np.zeros((4, 2)))


def test_grad_with_respect_to_int_input_is_zero() -> None:
    x = gj.placeholder("x", shape=(3,))
    k = gj.placeholder("k", shape=(3,), dtype="int64")
    gk, gx = gj.grad(gj.sum(x * k), [k, x])
    gk_v, gx_v = _eval([gk, gx], {x: np.ones(3), k: np.array([1, 2, 3])})
    np.testing.assert_array_equal(gx_v, [1.0, 2.0, 3.0])
    assert not gk_v.any()


def test_design_example_gradient() -> None:
    x = gj.placeholder("x", shape=(None, 3), dtype="float64")
    w = gj.variable(np.array([0.5, -1.0, 2.0]), name="w")
    y = gj.sum(gj.tanh(x @ w) * 2.0)
    (gw,) = gj.grad(y, [w])
    xs = np.linspace(-1, 1, 12).reshape(4, 3)
    y_v, gw_v = _eval([y, gw], {x: xs})
    t = np.tanh(xs @ w.get_value())
    np.testing.assert_allclose(y_v, np.sum(t * 2.0), rtol=1e-14)
    np.testing.assert_allclose(gw_v, xs.T @ (2.0 * (1 - t * t)), rtol=1e-13)


def test_reused_node_accumulates() -> None:
    x = gj.placeholder("x", shape=())
    u = gj.sin(x)
    f = u * u + u  # d/dx = (2 sin x + 1) cos x
    (g,) = gj.grad(f, [x])
    a = 0.7
    np.testing.assert_allclose(_eval([g], {x: np.array(a)})[0], (2 * np.sin(a) + 1) * np.cos(a))


# --------------------------------------------------------------------------------------------------
# higher order


def test_second_and_third_derivatives() -> None:
    x = gj.placeholder("x", shape=())
    f = x**3 + gj.sin(x)
    d1 = gj.grad(f, x)
    d2 = gj.grad(d1, x)
    d3 = gj.grad(d2, x)
    a = 0.4
    v1, v2, v3 = _eval([d1, d2, d3], {x: np.array(a)})
    np.testing.assert_allclose(v1, 3 * a**2 + np.cos(a), rtol=1e-14)
    np.testing.assert_allclose(v2, 6 * a - np.sin(a), rtol=1e-14)
    np.testing.assert_allclose(v3, 6 - np.cos(a), rtol=1e-14)


def test_hessian_vector_products_two_ways() -> None:
    # f(w) = sum(sin(w) * w): H = diag(2 cos w - w sin w)
    w = gj.variable(np.array([0.3, -0.8, 1.5]), name="w")
    v = gj.placeholder("v", shape=(3,))
    f = gj.sum(gj.sin(w) * w)
    (gw,) = gj.grad(f, [w])
    (hv_design,) = gj.grad(gj.sum(gw * v), [w])  # the DESIGN.md spelling
    hv_helper = gj.hvp(f, w, v)
    vec = np.array([1.0, 2.0, -0.5])
    a, b = _eval([hv_design, hv_helper], {v: vec})
    wv = w.get_value()
    want = (2 * np.cos(wv) - wv * np.sin(wv)) * vec
    np.testing.assert_allclose(a, want, rtol=1e-13)
    np.testing.assert_allclose(b, want, rtol=1e-13)


def test_hessian_of_quadratic_form_is_symmetric_matrix() -> None:
    a_mat = np.array([[2.0, 1.0], [0.5, 3.0]])
    x = gj.placeholder("x", shape=(2,))
    f = gj.sum(x * (gj.constant(a_mat) @ x))  # x^T A x: Hessian A + A^T
    rows = [gj.hvp(f, [x], [gj.constant(e)])[0] for e in np.eye(2)]
    hess = np.stack(_eval(rows, {x: np.array([0.3, -0.2])}))
    np.testing.assert_allclose(hess, a_mat + a_mat.T, rtol=1e-14)


# --------------------------------------------------------------------------------------------------
# forward mode, and its agreement with reverse mode


def test_jvp_matches_closed_form() -> None:
    x = gj.placeholder("x", shape=(3,))
    y = gj.exp(x) * x
    t = gj.jvp(y, x, gj.constant([1.0, 0.0, 2.0]))
    assert isinstance(t, gj.Node)
    a = np.array([0.1, 0.5, -0.3])
    np.testing.assert_allclose(
        _eval([t], {x: a})[0], (np.exp(a) * (1 + a)) * [1.0, 0.0, 2.0], rtol=1e-14
    )


def test_jvp_and_vjp_agree(rng: np.random.Generator) -> None:
    # <u, J v> computed by forward mode equals <J^T u, v> computed by reverse mode
    a_mat = rng.standard_normal((4, 3))
    x = gj.placeholder("x", shape=(3,))
    b = gj.placeholder("b", shape=(4,))
    y = gj.tanh(gj.constant(a_mat) @ x + b) * gj.sum(x * x)
    u = rng.standard_normal(4)
    v = rng.standard_normal(3)
    vb = rng.standard_normal(4)
    (jv,) = gj.jvp([y], [x, b], [v, vb])
    ju_x, ju_b = gj.vjp([y], [x, b], [u])
    xs, bs = rng.standard_normal(3), rng.standard_normal(4)
    jv_v, jux_v, jub_v = _eval([jv, ju_x, ju_b], {x: xs, b: bs})
    np.testing.assert_allclose(u @ jv_v, jux_v @ v + jub_v @ vb, rtol=1e-12)
    # and both agree with the finite-difference Jacobian
    y_fn = lambda xv, bv: np.tanh(a_mat @ xv + bv) * np.sum(xv * xv)  # noqa: E731
    eps = 1e-6
    fd = (y_fn(xs + eps * v, bs + eps * vb) - y_fn(xs - eps * v, bs - eps * vb)) / (2 * eps)
    np.testing.assert_allclose(jv_v, fd, rtol=1e-6, atol=1e-9)


def test_vjp_single_and_list_forms() -> None:
    x = gj.placeholder("x", shape=(2,))
    y = x * x
    g = gj.vjp(y, x, gj.constant([1.0, 10.0]))
    assert isinstance(g, gj.Node)
    (g2,) = gj.vjp([y], [x], [np.array([1.0, 10.0])])
    a = np.array([3.0, 4.0])
    v1, v2 = _eval([g, g2], {x: a})
    np.testing.assert_allclose(v1, [6.0, 80.0])
    np.testing.assert_allclose(v2, [6.0, 80.0])


def test_vjp_and_jvp_check_their_vectors() -> None:
    x = gj.placeholder("x", shape=(2,))
    with pytest.raises(ValueError, match="cotangents"):
        gj.vjp([x * 2, x * 3], [x], [np.ones(2)])
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(3,\)"):
        gj.vjp([x * 2], [x], [np.ones(3)])
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(5,\)"):
        gj.jvp([x * 2], [x], [np.ones(5)])


# --------------------------------------------------------------------------------------------------
# broadcasting: gradients are summed back to each input's shape


def test_broadcasting_gradients_are_unbroadcast() -> None:
    x = gj.placeholder("x", shape=(3, 1))
    y = gj.placeholder("y", shape=(1, 4))
    b = gj.placeholder("b", shape=(4,))
    s = gj.placeholder("s", shape=())
    f = gj.sum((x * y + b + s) ** 2)
    gx, gy, gb, gs = gj.grad(f, [x, y, b, s])
    assert [g.shape for g in (gx, gy, gb, gs)] == [(3, 1), (1, 4), (4,), ()]
    xv = np.array([[0.1], [0.2], [0.3]])
    yv = np.array([[1.0, 2.0, 3.0, 4.0]])
    bv = np.array([0.5, -0.5, 1.0, 0.0])
    sv = np.array(0.25)
    r = 2 * (xv * yv + bv + sv)
    got = _eval([gx, gy, gb, gs], {x: xv, y: yv, b: bv, s: sv})
    want = [(r * yv).sum(1, keepdims=True), (r * xv).sum(0, keepdims=True), r.sum(0), r.sum()]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-14)


def test_bias_gradient_over_a_none_batch_dim() -> None:
    x = gj.placeholder("x", shape=(None, 3))
    bias = gj.variable(np.zeros(3), name="bias")
    (gb,) = gj.grad(gj.sum(gj.tanh(x + bias)), [bias])
    assert gb.shape == (3,)
    xs = np.arange(15.0).reshape(5, 3) / 10
    np.testing.assert_allclose(_eval([gb], {x: xs})[0], (1 - np.tanh(xs) ** 2).sum(0), rtol=1e-14)


def test_unbroadcast_sums_leading_and_size_one_axes() -> None:
    g = gj.placeholder("g", shape=(2, 3, 4))
    like = gj.placeholder("like", shape=(3, 1))
    out = unbroadcast(g, like)
    assert out.shape == (3, 1)
    gv = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(_eval([out], {g: gv})[0], gv.sum(0).sum(1, keepdims=True))
    assert unbroadcast(like, like) is like


# --------------------------------------------------------------------------------------------------
# conventions at kinks (as JAX)


def _grad_at(fn, values: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    x = gj.placeholder("x", shape=values.shape)
    (g,) = gj.grad(gj.sum(fn(x)), [x])
    return _eval([g], {x: values})[0]


def test_relu_and_abs_have_zero_gradient_at_zero() -> None:
    vals = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(_grad_at(gj.relu, vals), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(_grad_at(gj.abs, vals), [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("fn", [gj.floor, gj.ceil, gj.round, gj.sign])
def test_piecewise_constant_ops_have_zero_gradient(fn) -> None:  # type: ignore[no-untyped-def]
    vals = np.array([-1.5, -0.2, 0.0, 0.7, 2.5])
    np.testing.assert_array_equal(_grad_at(fn, vals), np.zeros(5))


def test_maximum_and_minimum_split_ties_evenly() -> None:
    x = gj.placeholder("x", shape=(3,))
    y = gj.placeholder("y", shape=(3,))
    for fn in (gj.maximum, gj.minimum):
        gx, gy = gj.grad(gj.sum(fn(x, y)), [x, y])
        a, b = np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.0, 4.0])
        gx_v, gy_v = _eval([gx, gy], {x: a, y: b})
        want_x = [1.0, 0.5, 0.0] if fn is gj.maximum else [0.0, 0.5, 1.0]
        np.testing.assert_array_equal(gx_v, want_x)
        np.testing.assert_array_equal(gy_v, 1.0 - np.array(want_x))


def test_max_reduction_splits_ties_evenly() -> None:
    np.testing.assert_allclose(_grad_at(gj.max, np.array([1.0, 3.0, 3.0, 0.0])), [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(_grad_at(gj.min, np.array([1.0, 0.0, 3.0, 0.0])), [0, 0.5, 0, 0.5])


def test_where_sends_gradient_only_to_the_chosen_branch() -> None:
    x = gj.placeholder("x", shape=(3,))
    y = gj.placeholder("y", shape=(3,))
    gx, gy = gj.grad(gj.sum(gj.where(x > y, x * 2, y * 3)), [x, y])
    gx_v, gy_v = _eval([gx, gy], {x: np.array([1.0, 0.0, 5.0]), y: np.array([0.0, 1.0, 6.0])})
    np.testing.assert_array_equal(gx_v, [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(gy_v, [0.0, 3.0, 3.0])


def test_gradient_graph_is_a_plain_graph() -> None:
    x = gj.placeholder("x", shape=(2,))
    (g,) = gj.grad(gj.sum(gj.exp(x)), [x])
    assert isinstance(g, gj.Node)
    assert ir.leaves([g], "placeholder") == [x]
    # hash-consing: the gradient reuses the forward exp(x) node
    assert any(n is gj.exp(x) for n in ir.toposort([g]))


def test_concrete_vectors_for_none_dims() -> None:
    # a numpy tangent or cotangent has a fixed shape; it may stand for a None dim
    x = gj.placeholder("x", shape=(None, 2))
    y = gj.exp(x)
    t = gj.jvp(y, x, np.ones((3, 2)))
    g = gj.vjp(y, x, np.full((3, 2), 2.0))
    assert t.shape == g.shape == (None, 2)
    t_v, g_v = _eval([t, g], {x: np.zeros((3, 2))})
    np.testing.assert_array_equal(t_v, np.ones((3, 2)))
    np.testing.assert_array_equal(g_v, np.full((3, 2), 2.0))
    with pytest.raises(ValueError, match="while evaluating"):  # the sizes must agree at call time
        _eval([t], {x: np.zeros((4, 2))})
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(3, 3\), expected \(None, 2\)"):
        gj.jvp(y, x, np.ones((3, 3)))


def test_gradients_of_unstable_expressions_are_stable_too() -> None:
    """The stability rewrites apply before differentiating (wrt leaves): the gradient of
    log(softmax(x)) does not go through 1 / softmax(x), which is inf where softmax underflows."""
    x = gj.placeholder("x", (None,))
    cases = [
        (
            gj.sum(gj.log(gj.softmax(x))),
            lambda v: 1 - v.size * np.exp(v - v.max()) / np.exp(v - v.max()).sum(),
        ),
        (gj.sum(gj.log(gj.sigmoid(x))), lambda v: 1 - np.exp(-np.logaddexp(0, -v))),
    ]
    v = np.array([1000.0, 0.0, -1000.0])
    for y, want in cases:
        (g,) = gj.grad(y, [x])
        value, got = gj.compile([x], [y, g], backend="numpy")(v)
        assert np.isfinite(value)
        np.testing.assert_allclose(got, want(v), rtol=1e-12, atol=1e-300)


def test_gradient_with_respect_to_an_intermediate_node_differentiates_as_written() -> None:
    x = gj.placeholder("x", (3,))
    s = gj.softmax(x)
    (g,) = gj.grad(gj.sum(gj.log(s)), [s])  # s must stay in the graph: no rewriting here
    v = np.array([0.1, 0.2, 0.3])
    got = gj.compile([x], [g], backend="numpy")(v)[0]
    e = np.exp(v - v.max())
    np.testing.assert_allclose(got, 1 / (e / e.sum()))
