"""take, take_along_axis and their scatter-adds: values against numpy, shape rules (static and
symbolic), build-time and run-time bound errors, and derivatives (repeated indices accumulate)."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.interp import evaluate
from graphjit.testing import gradcheck
from tests.ops.helpers import run

RNG = np.random.default_rng(1)


def rand(*shape: int, dtype: str = "float64") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------------------------------
# values and shapes


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
@pytest.mark.parametrize(
    ("shape", "indices", "axis"),
    [
        ((5,), [0, 4, 4, -1], 0),
        ((3, 4), [[1, 1], [-1, 0]], 1),
        ((3, 4), [11, 0, -12], None),
        ((3, 4, 2), 2, 1),
        ((3, 4), [], 0),
        ((2, 3), np.array([2, 0], dtype=np.int32), -1),
    ],
)
def test_take_matches_numpy(shape, indices, axis, dtype):
    x = (rand(*shape) * 10).astype(dtype)
    got = run(lambda p: gj.take(p, indices, axis=axis), x)
    np.testing.assert_array_equal(got, np.take(x, indices, axis=axis))
    np.testing.assert_array_equal(
        gj.ops.OPS["take"].impl(x.reshape(-1), np.asarray(indices, np.int64), axis=0),
        np.take(x.reshape(-1), indices),
    )


def test_take_errors_and_symbolic_shapes():
    x = gj.placeholder("x", (None, 3))
    assert gj.take(x, [0, 2], axis=1).shape == (None, 2)
    assert gj.take(x, gj.placeholder("i", (None, 4), "int32"), dim=0).shape == (None, 4, 3)
    assert gj.take(x, 1).shape == ()
    with pytest.raises(TypeError, match="take: indices must be integers, got float64"):
        gj.take(x, [0.5], axis=1)
    with pytest.raises(TypeError, match="take: indices must be int32 or int64, got float64"):
        gj.take(x, gj.placeholder("f", (2,)), axis=1)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        gj.take(x, [0], axis=2)
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 1 with size 3"):
        gj.take(x, [-4], axis=1)
    # out of range on a dim known only at call time: numpy's IndexError when the graph runs
    y = gj.take(x, [5], axis=0)
    with pytest.raises(IndexError, match="take: index 5 is out of bounds for axis 0 with size 2"):
        evaluate([y], {x: np.zeros((2, 3))})


@pytest.mark.parametrize("backend", ["cpu", "numpy"])
def test_gathers_and_scatter_adds_out_of_bounds_name_the_index(backend: str) -> None:
    # the compiled bounds check names the index, the axis and its size, as numpy does
    x = gj.placeholder("x", (None, 3))
    i = gj.placeholder("i", (None,), "int64")
    j = gj.placeholder("j", (None, 1), "int64")
    data = np.zeros((2, 3))
    cases = [
        (gj.take(x, i, axis=0), np.array([1, -3, 0]), "take: index -3 is out of bounds for axis 0"),
        (gj.take(x, i, axis=1), np.array([0, 3]), "take: index 3 is out of bounds for axis 1"),
        (
            gj.add_at(x, i, 1.0, axis=0),
            np.array([2]),
            "add_at: index 2 is out of bounds for axis 0",
        ),
        (gj.take_along_axis(x, j, axis=1), np.array([[0], [-4]]), "take_along_axis: index -4 "),
        (gj.add_along_axis(x, j, 1.0, axis=1), np.array([[5], [0]]), "add_along_axis: index 5 "),
    ]
    for y, idx, message in cases:
        index = j if idx.ndim == 2 else i
        f = gj.compile([x, index], y, backend=backend)
        with pytest.raises(gj.errors.IndexOutOfBoundsError, match=message):
            f(data, idx)


def test_add_at_accumulates_repeated_indices():
    x = np.zeros((4, 2))
    v = np.arange(6.0).reshape(3, 2)
    got = run(lambda p, q: gj.add_at(p, [1, 1, -1], q), x, v)
    want = x.copy()
    np.add.at(want, [1, 1, -1], v)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        run(lambda p: gj.add_at(p, [0, 0], 1.0, axis=1), x), np.full((4, 2), [2.0, 0.0])
    )
    with pytest.raises(
        ValueError,
        match=r"add_at: values has shape \(4,\), expected one that "
        r"broadcasts to \(3, 2\)",
    ):
        gj.add_at(gj.placeholder("a", (4, 2)), [0, 1, 2], np.zeros(4))


def test_take_along_axis_and_add_along_axis():
    x = rand(3, 4)
    idx = np.array([[0, 3], [1, 1], [-1, 2]])
    np.testing.assert_array_equal(
        run(lambda p: gj.take_along_axis(p, idx, axis=1), x), np.take_along_axis(x, idx, axis=1)
    )
    col = np.array([[2], [0], [3]])
    np.testing.assert_array_equal(
        run(lambda p: gj.take_along_axis(p, col, dim=-1), x), np.take_along_axis(x, col, axis=-1)
    )
    row = np.array([[2, 0, 1, 1]])  # broadcasts over the other axis
    np.testing.assert_array_equal(
        run(lambda p: gj.take_along_axis(p, row, axis=0), x), np.take_along_axis(x, row, axis=0)
    )
    v = rand(3, 2)
    want = np.zeros((3, 4))
    np.add.at(want, (np.arange(3)[:, None], idx), v)
    got = run(lambda p, q: gj.add_along_axis(p, idx, q, axis=1), np.zeros((3, 4)), v)
    np.testing.assert_allclose(got, want)
    with pytest.raises(ValueError, match="indices must have the array's 2 dims"):
        gj.take_along_axis(gj.placeholder("a", (3, 4)), [0, 1], axis=1)
    with pytest.raises(ValueError, match=r"do not fit an array of shape \(3, 4\)"):
        gj.take_along_axis(gj.placeholder("b", (3, 4)), np.zeros((2, 1), np.int64), axis=1)
    assert gj.take_along_axis(
        gj.placeholder("c", (None, 5)), gj.placeholder("t", (None, 1), "int64"), axis=1
    ).shape == (None, 1)


# --------------------------------------------------------------------------------------------------
# derivatives


def test_a_none_dim_that_is_1_when_called_does_not_broadcast(backend: str) -> None:
    """Only dims that are 1 when the graph is built broadcast the values and indices of the
    scatter-adds and take_along_axis (the gradient sums exactly those): every backend refuses a
    None dim that is 1 at call time (the interpreter used to broadcast it silently)."""
    x = gj.placeholder("x", (4, 3))
    rows = gj.placeholder("rows", (None, 3), "int64")
    values = gj.placeholder("values", (None, 3))
    at = gj.placeholder("at", (2,), "int64")
    ones, zeros = np.ones((1, 3)), np.zeros((1, 3), int)
    cases = [  # the graph, and how many rows the None dim must have
        ([x, rows], gj.take_along_axis(x, rows, axis=1), [x, zeros], 4),
        ([x, rows, values], gj.scatter_add(x, 1, rows, values), [x, zeros.repeat(4, 0), ones], 4),
        ([x, at, values], gj.index_add(x, 0, at, values), [x, np.arange(2), ones], 2),
    ]
    for inputs, out, feeds, n in cases:
        f = gj.compile(inputs, [out], backend=backend)
        called = [rand(4, 3) if a is x else a for a in feeds]
        with pytest.raises(ValueError, match=out.op.name):
            f(*called)
        fitting = [a if a is called[0] or len(a) != 1 else a.repeat(n, 0) for a in called]
        assert f(*fitting)[0].shape == (4, 3)  # the same graph, called with the sizes it needs


def test_repeated_indices_write_their_last_value(backend: str) -> None:
    """put_along_axis, scatter, index_copy and index_put with a repeated index write the last of
    its values, as numpy's in-order writes do (the sum was written before)."""
    start = np.arange(8.0).reshape(2, 4) * 10
    idx = np.array([[1, 1, 3], [0, -4, 2]])  # -4 is 0 again
    values = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    want = start.copy()
    np.put_along_axis(want, idx, values, axis=1)
    x = gj.placeholder("x", (2, 4))
    i = gj.placeholder("i", (2, 3), "int64")
    v = gj.placeholder("v", (2, 3))
    outs = [gj.put_along_axis(x, i, v, axis=1), gj.scatter(x, 1, i % 4, v)]
    rows = gj.placeholder("rows", (3,), "int64")
    outs += [gj.index_copy(x, 1, rows, v), gj.index_put(x, (rows % 2, rows), v[0])]
    got = gj.compile([x, i, v, rows], outs, backend=backend)(start, idx, values, idx[0])
    np.testing.assert_array_equal(got[0], want)
    np.testing.assert_array_equal(got[1], want)
    copied = start.copy()
    copied[:, idx[0]] = values  # numpy's fancy assignment: the last write wins
    np.testing.assert_array_equal(got[2], copied)
    put = start.copy()
    put[idx[0] % 2, idx[0]] = values[0]
    np.testing.assert_array_equal(got[3], put)


def test_a_repeated_scatter_of_one_value_writes_that_value_and_only_the_last_gets_a_gradient():
    labels = gj.tensor(np.array([[1, 1, 3]]))
    assert gj.zeros(1, 4).scatter(1, labels, value=5.0).tolist() == [[0.0, 5.0, 0.0, 5.0]]
    src = gj.tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
    out = gj.zeros(1, 4).scatter(1, labels, src)
    assert out.tolist() == [[0.0, 2.0, 0.0, 3.0]]
    (out * gj.tensor(np.array([[1.0, 10.0, 100.0, 1000.0]]))).sum().backward()
    assert src.grad.tolist() == [[0.0, 10.0, 1000.0]]


def test_take_repeated_indices_accumulate_in_gradient():
    x = gj.placeholder("x", (4,))
    (g,) = gj.grad(gj.sum(gj.take(x, [0, 0, 2, 0, -1])), [x])
    (value,) = evaluate([g], {x: rand(4)})
    np.testing.assert_array_equal(value, [3.0, 0.0, 1.0, 1.0])
    (g2,) = gj.grad(gj.sum(x[[1, 1, 1]] * 2.0), [x])
    np.testing.assert_array_equal(evaluate([g2], {x: rand(4)})[0], [0.0, 6.0, 0.0, 0.0])


@pytest.mark.parametrize("axis", [0, 1, None])
def test_take_gradients(axis):
    idx = np.array([[2, 0], [2, 2]])
    gradcheck(lambda p: gj.take(p, idx, axis=axis) ** 2, [rand(3, 4)])


def test_scatter_gradients():
    idx = [0, 2, 2]
    gradcheck(lambda p, q: gj.add_at(p, idx, q, axis=1) ** 2, [rand(2, 3), rand(2, 3)])
    along = np.array([[0, 0], [2, 1]])
    gradcheck(lambda p: gj.take_along_axis(p, along, axis=1) ** 2, [rand(2, 3)])
    gradcheck(lambda p, q: gj.add_along_axis(p, along, q, axis=1) ** 2, [rand(2, 3), rand(2, 2)])
