"""tile, repeat, roll, rollaxis, tril, triu, kron, inner, cross, diff, gradient, select: values
against numpy (on graphs and eager tensors), shapes with None dims, errors, and derivatives by
finite differences (forward, reverse, second order)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.interp import evaluate
from graphjit.testing import gradcheck
from tests.ops.helpers import run

RNG = np.random.default_rng(7)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


VALUE_CASES = [
    ("tile", lambda m: m.tile, (2, 3), [(2,)], {}),
    ("tile", lambda m: m.tile, (2, 3), [(2, 1, 3)], {}),
    ("tile", lambda m: m.tile, (2, 3, 2), [(2, 1)], {}),
    ("tile", lambda m: m.tile, (3,), [0], {}),
    ("repeat", lambda m: m.repeat, (2, 3), [2], {}),
    ("repeat", lambda m: m.repeat, (2, 3), [[1, 0, 3]], {"axis": 1}),
    ("repeat", lambda m: m.repeat, (2, 3), [3], {"axis": -2}),
    ("roll", lambda m: m.roll, (3, 4), [1], {}),
    ("roll", lambda m: m.roll, (3, 4), [-5], {"axis": 1}),
    ("roll", lambda m: m.roll, (3, 4), [(1, 2)], {"axis": (0, 1)}),
    ("roll", lambda m: m.roll, (3, 4), [(1, 2)], {"axis": 1}),
    ("rollaxis", lambda m: m.rollaxis, (2, 3, 4), [2], {}),
    ("rollaxis", lambda m: m.rollaxis, (2, 3, 4), [0, 3], {}),
    ("rollaxis", lambda m: m.rollaxis, (2, 3, 4), [1, -1], {}),
    ("tril", lambda m: m.tril, (3, 4), [], {}),
    ("tril", lambda m: m.tril, (2, 3, 4), [-1], {}),
    ("triu", lambda m: m.triu, (4, 3), [1], {}),
    ("triu", lambda m: m.triu, (2, 3, 3), [], {"k": -2}),
    ("diff", lambda m: m.diff, (3, 5), [], {}),
    ("diff", lambda m: m.diff, (3, 5), [2], {"axis": 0}),
    ("diff", lambda m: m.diff, (3, 5), [3], {}),
    ("gradient", lambda m: m.gradient, (6,), [], {}),
    ("gradient", lambda m: m.gradient, (4, 5), [0.5], {"edge_order": 2}),
    ("gradient", lambda m: m.gradient, (4, 5), [2.0], {"axis": 1}),
]


@pytest.mark.parametrize(("name", "fn", "shape", "args", "kwargs"), VALUE_CASES)
def test_values_match_numpy(name, fn, shape, args, kwargs):
    x = rand(*shape)
    want = fn(np)(x, *args, **kwargs)
    got_graph = run(lambda p: _first(fn(gj)(p, *args, **kwargs)), x)
    np.testing.assert_allclose(got_graph, _first(want), rtol=1e-12)
    got_eager = fn(gj)(gj.tensor(x), *args, **kwargs)
    if isinstance(want, (list, tuple)):
        assert len(got_eager) == len(want)
        for g, w in zip(got_eager, want):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-12)
    else:
        np.testing.assert_allclose(got_eager.numpy(), want, rtol=1e-12)


def _first(v):
    return v[0] if isinstance(v, (list, tuple)) else v


def test_diff_prepend_append_and_bools():
    x = rand(3, 4)
    np.testing.assert_allclose(
        run(lambda p: gj.diff(p, prepend=0.5, append=x[:, :1], axis=1), x),
        np.diff(x, prepend=0.5, append=x[:, :1], axis=1),
    )
    b = np.array([True, True, False, True])
    np.testing.assert_array_equal(gj.diff(gj.tensor(b)).numpy(), np.diff(b))
    assert gj.diff(gj.placeholder("x", (None, 5))).shape == (None, 4)
    assert gj.diff(gj.placeholder("x", (None, 5)), axis=0).shape == (None, 5)


def test_products_match_numpy():
    a, b = rand(2, 3), rand(3, 2)
    np.testing.assert_allclose(run(gj.kron, a, b), np.kron(a, b), rtol=1e-12)
    v = rand(3)
    np.testing.assert_allclose(run(gj.kron, v, a), np.kron(v, a), rtol=1e-12)
    eager = gj.kron(gj.tensor(v), gj.tensor(a))  # a tensor's .type is PyTorch's method
    np.testing.assert_allclose(eager.numpy(), np.kron(v, a), rtol=1e-12)
    c = rand(4, 3)
    np.testing.assert_allclose(run(gj.inner, a, c), np.inner(a, c), rtol=1e-12)
    np.testing.assert_allclose(run(gj.inner, v, v), np.inner(v, v), rtol=1e-12)
    np.testing.assert_allclose(run(lambda p: gj.inner(p, 2.0), a), np.inner(a, 2.0))
    u, w = rand(4, 3), rand(3)
    np.testing.assert_allclose(run(gj.cross, u, w), np.cross(u, w), rtol=1e-12)
    p3, q3 = rand(3, 2), rand(2, 3)
    np.testing.assert_allclose(
        run(lambda p, q: gj.cross(p, q, axisa=0, axisb=1, axisc=0), p3, q3),
        np.cross(p3, q3, axisa=0, axisb=1, axisc=0),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="only 3-element vectors"):
        gj.cross(rand(2), rand(2))


def test_select_matches_numpy():
    x = rand(3, 4)
    conds = [x < -0.5, x > 0.5]
    choices = [x * 2, np.float64(3.0)]
    np.testing.assert_allclose(
        run(lambda p: gj.select([p < -0.5, p > 0.5], [p * 2, 3.0], default=-1.0), x),
        np.select(conds, choices, default=-1.0),
    )
    with pytest.raises(ValueError, match="must pair up"):
        gj.select([x > 0], [x, x])
    with pytest.raises(TypeError, match="must be bool"):
        gj.select([gj.tensor(x)], [x])


def test_triangles_keep_exact_zeros_and_dtypes():
    x = np.array([[np.inf, 1.0], [np.nan, 2.0]])
    np.testing.assert_array_equal(gj.tril(gj.tensor(x)).numpy(), np.tril(x))
    np.testing.assert_array_equal(gj.triu(gj.tensor(x)).numpy(), np.triu(x))
    i = np.arange(9).reshape(3, 3)
    assert gj.tril(gj.tensor(i)).dtype == "int64"
    np.testing.assert_array_equal(gj.triu(gj.tensor(i), diagonal=1).numpy(), np.triu(i, 1))


def test_none_dims():
    x = gj.placeholder("x", (None, 3))
    assert gj.tile(x, (2, 2)).shape == (None, 6)
    assert gj.repeat(x, 2, axis=1).shape == (None, 6)
    assert gj.roll(x, 1, axis=1).shape == (None, 3)
    assert gj.tril(gj.placeholder("m", (None, 3, 3))).shape == (None, 3, 3)
    a = np.arange(6.0).reshape(2, 3)
    (v,) = evaluate([gj.tile(x, (3, 1))], {x: a})
    np.testing.assert_array_equal(v, np.tile(a, (3, 1)))
    with pytest.raises(ValueError, match="needs a size fixed"):
        gj.roll(x, 1, axis=0)
    with pytest.raises(ValueError, match="needs a size fixed"):
        gj.repeat(x, 2, axis=0)
    with pytest.raises(ValueError, match="needs a size fixed"):
        gj.tril(gj.placeholder("m", (3, None)))


def test_errors():
    x = gj.tensor(rand(2, 3))
    with pytest.raises(ValueError, match="reps must be >= 0"):
        gj.tile(x, -1)
    with pytest.raises(ValueError, match="repeats must be >= 0"):
        gj.repeat(x, -1)
    with pytest.raises(ValueError, match="2 counts for an axis of size 3"):
        gj.repeat(x, [1, 2], axis=1)
    with pytest.raises(TypeError, match="known when the graph is built"):
        gj.repeat(x, gj.placeholder("r", (3,), "int64"), axis=1)
    for counts in (2**62, [1, 2**62, 2**62]):  # numpy's own sum of the counts wraps negative
        with pytest.raises(ValueError, match="elements along axis 1 are more than an array"):
            gj.repeat(x, counts, axis=1)
    with pytest.raises(ValueError, match="2 shifts for 3 axes"):
        gj.roll(x, (1, 2), axis=(0, 1, 1))
    with pytest.raises(TypeError, match="missing the shift"):
        gj.roll(x)
    with pytest.raises(ValueError, match="out of range"):
        gj.rollaxis(x, 0, 4)
    with pytest.raises(ValueError, match="at least 2 dims"):
        gj.tril(gj.tensor(rand(3)))
    with pytest.raises(TypeError, match="give k or diagonal"):
        gj.tril(x, 1, diagonal=1)
    with pytest.raises(ValueError, match="order must be"):
        gj.diff(x, -1)
    with pytest.raises(ValueError, match="edge_order=2 needs at least 3"):
        gj.gradient(gj.tensor(rand(2)), edge_order=2)
    with pytest.raises(TypeError, match="spacings must be"):
        gj.gradient(x, np.arange(2.0), np.arange(3.0))
    with pytest.raises(ValueError, match="needs a fixed shape"):
        gj.kron(gj.placeholder("a", (None,)), x)


GRAD_CASES = [
    (lambda p: gj.tile(p, (2, 2)), (2, 3)),
    (lambda p: gj.repeat(p, [2, 0, 1], axis=1), (2, 3)),
    (lambda p: gj.roll(p, (1, -1), axis=(0, 1)), (2, 3)),
    (lambda p: gj.tril(p, 1) + gj.triu(p, -1), (3, 4)),
    (lambda p: gj.kron(p, p[:1]), (2, 3)),
    (lambda p: gj.inner(p, p), (2, 3)),
    (lambda p: gj.cross(p, p[::-1]), (2, 3)),
    (lambda p: gj.diff(p, 2, axis=1, prepend=1.0), (2, 4)),
    (lambda p: gj.gradient(p, 0.5, edge_order=2)[1], (3, 4)),
    (lambda p: gj.select([p > 0], [p * p], default=p), (3, 2)),
    (lambda p: gj.rollaxis(p, 1), (2, 3)),
]


@pytest.mark.parametrize(("fn", "shape"), GRAD_CASES)
def test_derivatives_by_finite_differences(fn, shape):
    x = rand(*shape)
    if fn is GRAD_CASES[-2][0]:
        x = x + np.sign(x) * 0.1  # keep away from the kink at 0
    gradcheck(lambda p: fn(p) ** 2, [x])


def test_eager_gradients_match_the_graph():
    x = rand(3, 4)
    t = gj.tensor(x, requires_grad=True)
    (gj.tile(t, (1, 2)) ** 2 * gj.roll(gj.tensor(np.arange(8.0)), 1)).sum().backward()
    ph = gj.placeholder("x", (3, 4))
    loss = gj.sum(gj.tile(ph, (1, 2)) ** 2 * gj.roll(np.arange(8.0), 1))
    (g,) = evaluate(gj.grad(loss, [ph]), {ph: x})
    np.testing.assert_allclose(t.grad.numpy(), g)


def test_tile_too_large_to_build_names_itself() -> None:
    x = gj.placeholder("x", (3,))
    with pytest.raises(MemoryError, match=r"tile: repeating axis 0 \(size 1\) 1099511627776 times"):
        gj.tile(x, (2**40, 2**40))
