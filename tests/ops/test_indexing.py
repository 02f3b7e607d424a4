"""getitem (``x[...]``): values against numpy, shape rules (static and symbolic), build-time
errors, boolean masks and derivatives. The gathers it uses are tested in test_gather.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphjit as gj
from graphjit.interp import evaluate
from graphjit.testing import gradcheck

RNG = np.random.default_rng(1)


class _Index:
    def __getitem__(self, index):
        return index


I = _Index()  # noqa: E741 - I[1:, None] spells an index the way it is written


def rand(*shape: int, dtype: str = "float64") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def run(fn, *arrays: np.ndarray, shapes=None) -> np.ndarray:
    """``fn`` on placeholders of ``shapes`` (default: the arrays'), evaluated at ``arrays``."""
    shapes = shapes or [a.shape for a in arrays]
    phs = [gj.placeholder(f"a{i}", s, a.dtype.name) for i, (a, s) in enumerate(zip(arrays, shapes))]
    out = fn(*phs)
    (value,) = evaluate([out], dict(zip(phs, arrays)))
    assert len(out.shape) == value.ndim
    assert all(d is None or d == v for d, v in zip(out.shape, value.shape)), out.shape
    assert out.dtype == value.dtype.name
    return value


INDICES = [
    I[1],
    I[-1],
    I[1, 2],
    I[-4, -1, 0],
    I[1:3],
    I[::-1],
    I[::-2, 1:, :-1],
    I[3:0:-2],
    I[-2:, ::3],
    I[10:],  # empty, as numpy
    I[:, None],
    I[None, ..., None],
    I[..., 2],
    I[1, ..., ::-1],
    I[...],
    I[()],
    I[[0, 2, 2, -1]],
    I[:, [4, 0, 0]],
    I[..., [[1, 0], [5, 5]]],
    I[1:, [2, 0], ::-1],
    I[0, [1, 2]],  # adjacent advanced indices: the array's dims stay in place
    I[:, 0, [1, 2]],
    I[0, :, [1, 2]],  # separated: the array's dims come first
    I[[1, 2], None, 0],
    I[[1, 2], ..., 0],
    I[np.array([3, 1]), None],
    I[np.int64(2), 1:3],
    I[np.array(1)],
    I[[]],
    I[np.array([True, False, True, True])],
    I[:, [True, False, True, False, False]],
    I[np.ones((4, 5), dtype=bool) & (np.arange(5) % 2 == 0)],
    I[1:, np.ones((5, 6), dtype=bool)],
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_getitem_matches_numpy(index, dtype):
    x = rand(4, 5, 6, dtype=dtype)
    got = run(lambda p: p[index], x)
    want = x[index]
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "index",
    [
        I[0],
        I[-1],
        I[1:3, 0],
        I[::-1, [2, 2]],
        I[None, 2:, ..., -1],
        I[:, 1, [0, 3]],
        I[0, :, [0, 1]],
        I[np.int64(-2)],
    ],
    ids=repr,
)
def test_getitem_on_unknown_dims(index):
    x = rand(4, 5, 6)
    got = run(lambda p: p[index], x, shapes=[(None, None, 6)])
    np.testing.assert_array_equal(got, x[index])


def test_getitem_symbolic_shapes():
    x = gj.placeholder("x", (None, 5, "n"))
    assert x[0].shape == (5, "n")
    assert x[:, 1:4].shape == (None, 3, "n")
    assert x[..., None].shape == (None, 5, "n", 1)
    assert x[:, [0, 0, 1]].shape == (None, 3, "n")
    assert x[2, :, [0, 1]].shape == (2, 5)
    assert x[0, :, gj.placeholder("i", (None, 2), "int64")].shape == (None, 2, 5)
    assert x[:, 0, gj.placeholder("j", (None, 2), "int64")].shape == (None, None, 2)
    assert x[...].shape == x.shape


def test_getitem_with_index_nodes():
    x = rand(6, 3)
    idx = np.array([5, 0, 5, -1])
    np.testing.assert_array_equal(run(lambda p, i: p[i], x, idx.astype(np.int32)), x[idx])
    np.testing.assert_array_equal(run(lambda p, i: p[1:, i], x, np.array(-1)), x[1:, -1])


def test_getitem_with_a_0d_index_node_checks_its_bound_when_the_graph_runs():
    x = gj.placeholder("x", (3,))
    y = x[gj.constant(np.int64(5))]  # known now, but checked by the take op, not at build
    assert y.shape == ()
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        evaluate([y], {x: np.zeros(3)})


def test_getitem_errors_at_build_time():
    x = gj.placeholder("x", (3, None))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 0 with size 3"):
        x[-4]
    with pytest.raises(IndexError, match="take: index 7 is out of bounds for axis 0 with size 3"):
        x[[0, 7]]
    with pytest.raises(
        IndexError, match="too many indices for array: array is 2-dimensional, but 3 were indexed"
    ):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    # several integer arrays broadcast together (numpy's advanced indexing); shapes that do not
    # broadcast are numpy's IndexError
    with pytest.raises(IndexError, match="could not be broadcast together"):
        x[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match="only integers, slices"):
        x[1.5]
    with pytest.raises(IndexError, match="must be integers, got float64"):
        x[np.array([0.5])]
    with pytest.raises(TypeError, match="slice start must be an int"):
        x[gj.placeholder("i", (), "int64") :]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    with pytest.raises(IndexError, match="python bool index"):
        x[True]


def test_getitem_boolean_masks():
    x = gj.placeholder("x", (3, None))
    with pytest.raises(TypeError, match="boolean graph node cannot index a graph"):
        x[x > 0]
    with pytest.raises(TypeError, match="needs the dims it covers to be fixed"):
        x[:, np.array([True, False])]
    with pytest.raises(
        IndexError, match="size of axis is 3 but size of corresponding boolean axis is 2"
    ):
        x[np.array([True, False])]
    # a mask known now is the integer positions of its true elements
    assert x[np.array([True, False, True])].shape == (2, None)


# --------------------------------------------------------------------------------------------------
# derivatives


@pytest.mark.parametrize(
    "index",
    [
        I[1],
        I[-1, ::-2],
        I[1:3, None, ::2],
        I[..., [0, 0, 5, 0]],
        I[[3, 3, 0], 1:],
        I[0, :, [1, 1]],
        I[np.array([True, False, True, True])],
    ],
    ids=repr,
)
def test_getitem_gradients(index):
    gradcheck(lambda p: p[index] * p[index], [rand(4, 5, 6)])


# --------------------------------------------------------------------------------------------------
# property: any numpy-valid index of these kinds agrees with numpy, on fixed and on unknown dims

SHAPE = (4, 5, 6)
bounds = st.one_of(st.none(), st.integers(-8, 8))
items = st.one_of(
    st.integers(-6, 5),
    st.builds(slice, bounds, bounds, st.sampled_from([None, -3, -2, -1, 1, 2, 3])),
    st.none(),
    st.just(Ellipsis),
)
arrays = st.lists(st.integers(-4, 3), max_size=3)


@settings(max_examples=200)
@given(st.lists(items, max_size=4), st.one_of(st.none(), st.tuples(st.integers(0, 4), arrays)))
def test_getitem_property(index_items, array):
    if array is not None:
        index_items.insert(min(array[0], len(index_items)), array[1])
    index = tuple(index_items)
    x = rand(*SHAPE)
    try:
        want = x[index]
    except IndexError:
        for shape in (SHAPE, (None, 5, None)):
            p = gj.placeholder("x", shape)
            with pytest.raises((IndexError, ValueError)):
                evaluate([p[index]], {p: x})
        return
    for shape in (SHAPE, (None, 5, None)):
        got = run(lambda p: p[index], x, shapes=[shape])
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "index",
    [
        (1, slice(None), 0),
        (slice(1, None), 0),
        (Ellipsis, None, 1),
        (None, 0, slice(None, None, -1), slice(1, 3)),
        -1,
        (slice(None, None, 2), np.int64(2)),
        (slice(5, 1, -2), Ellipsis),
    ],
)
def test_eager_basic_indexing_twice_matches_numpy_and_differentiates(index: object) -> None:
    """The second call replays the cached parse of the index: same values, same gradients."""
    a = np.arange(24.0).reshape(2, 3, 4)
    for _ in range(2):
        t = gj.tensor(a, requires_grad=True)
        r = t[index]
        np.testing.assert_array_equal(r.detach().numpy(), a[index])
        (r * r).sum().backward()
        want = np.zeros_like(a)
        want[index] = 2 * a[index]
        np.testing.assert_array_equal(t.grad.numpy(), want)
